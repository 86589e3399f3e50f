"""The news desk's channel end to end: connecting it, publishing, and its discussion group."""

from __future__ import annotations

import dataclasses

from bot.app import post_init, post_shutdown
from bot.handlers.channels import publish_card, refresh_counts
from bot.offline import OfflineChat, OfflineUser
from storage import Store
from storage import channels as channel_store
from tests.conftest import ADMIN_ID, Driver, buttons, only_text, push_new_article, sent

DEEP = "https://t.me/NewsTestBot?start="


def _newsroom(driver: Driver) -> tuple[OfflineUser, OfflineChat, OfflineChat]:
    """A moderator, a channel the bot administers, and its discussion group (bot admin)."""
    admin = OfflineUser(ADMIN_ID, "Editor")
    driver.api.users[ADMIN_ID] = admin
    channel = driver.api.channel("Daily News", username="dailynews", owner=admin)
    group = driver.api.group("Daily News Chat", supergroup=True, owner=admin)
    driver.api.set_admins(group, driver.api.bot_user, owner=admin)
    driver.api.link_discussion(channel, group)
    return admin, channel, group


async def _published(driver: Driver, store: Store, channel: OfflineChat) -> int:
    """Connect the channel, publish article 1 there and deliver its forward; the forward's id."""
    await channel_store.connect_channel(store, channel.id, channel.title)
    post_id = await publish_card(driver.app.bot, store, channel.id, 1)
    assert post_id is not None
    [forward] = driver.api.pending_updates()
    await driver.feed(forward)
    return int(forward["message"]["message_id"])


async def test_a_moderator_connects_and_disconnects_a_channel(
    driver: Driver, store: Store
) -> None:
    admin, channel, _ = _newsroom(driver)
    reader = driver.api.user("Reader")
    refused = only_text(await driver.say(reader, reader, "/connect @dailynews"))
    assert refused == "Only the bot's own moderators (ADMIN_IDS) can do that."
    done = only_text(await driver.say(admin, admin, "/connect @dailynews"))
    assert done.startswith("📣 Connected “Daily News”: new articles will be published there.")
    assert "discussion group" in done
    again = only_text(await driver.say(admin, admin, "/connect dailynews"))
    assert again == "“Daily News” is already connected."
    [connected] = await channel_store.connected_channels(store)
    assert (connected.id, connected.title) == (channel.id, "Daily News")
    gone = only_text(await driver.say(admin, admin, "/disconnect @dailynews"))
    assert gone == "Disconnected: no more new articles will be published there."
    assert await channel_store.connected_channels(store) == []


async def test_connect_says_what_is_missing(driver: Driver, store: Store) -> None:
    admin, _, group = _newsroom(driver)
    driver.api.channel("Not Mine", username="notmine", bot_is_admin=False)
    assert only_text(await driver.say(admin, admin, "/connect @nowhere")).startswith(
        "I can't see the channel @nowhere."
    )
    assert only_text(await driver.say(admin, admin, "/connect @notmine")) == (
        "I am not an admin of “Not Mine”: add me as one (with the right to post) first."
    )
    assert only_text(await driver.say(admin, admin, f"/connect {group.id}")) == (
        "“Daily News Chat” is not a channel. /connect takes a channel."
    )
    assert only_text(await driver.say(admin, admin, "/connect")).startswith("Usage: /connect")


async def test_a_published_card_links_to_the_bot(driver: Driver, store: Store) -> None:
    _, channel, _ = _newsroom(driver)
    await publish_card(driver.app.bot, store, channel.id, 1)
    [card] = sent(driver.api.calls, "sendMessage")
    assert card["chat_id"] == channel.id
    assert "💬 5 comments · id 1" in card["text"]
    assert buttons(card) == [[("Open in the bot", DEEP + "a1"), ("💬 Comments (5)", DEEP + "c1")]]
    reader = driver.api.user("Reader")
    page = only_text(await driver.say(reader, reader, "/start c1"))
    assert page.startswith("<b>Comments on")


async def test_replies_in_the_discussion_become_comments(driver: Driver, store: Store) -> None:
    _, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    reader, other = driver.api.user("Reader"), driver.api.user("Other")
    calls = await driver.say(group, reader, "Well reported.", reply_to=forward_id)
    assert sent(calls) == []  # the discussion is its own record: nothing to confirm
    [comment] = [c for c in await store.all_comments(1) if c.id == 6]
    assert (comment.body, comment.author, comment.visibility) == (
        "Well reported.",
        "Reader",
        "public",
    )
    first = driver.api.messages(group)[-1]["message_id"]
    await driver.say(group, other, "I disagree.", reply_to=first)
    [answer] = [c for c in await store.all_comments(1) if c.id == 7]
    assert answer.parent_id == 6
    # The comments are seen wherever the article's are, also in a private chat.
    page = only_text(await driver.say(other, other, "/comments 1 2"))
    assert "Well reported." in page and "I disagree." in page
    # Editing the message edits the comment, without a word in the discussion.
    assert sent(await driver.edit(group, first, reader, "Very well reported.")) == []
    [edited] = [c for c in await store.all_comments(1) if c.id == 6]
    assert edited.body == "Very well reported."
    # The same limits as anywhere: a refusal is the one thing said in the discussion.
    refused = only_text(await driver.say(group, reader, "x" * 2001, reply_to=forward_id))
    assert refused.startswith("Your comment is 2001 characters")
    # Chatter outside a card's thread is not a comment.
    assert sent(await driver.say(group, reader, "Off topic")) == []
    assert len(await store.all_comments(1)) == 7


async def test_an_answer_to_the_bots_prompt_in_a_thread_is_what_was_asked_for(
    driver: Driver, store: Store
) -> None:
    _, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    reader = driver.api.user("Reader")
    await driver.say(group, reader, "First!", reply_to=forward_id)
    prompt = only_text(await driver.say(group, reader, "/reply 6", reply_to=forward_id))
    assert "send a reply to comment #6" in prompt
    prompt_id = driver.last_id(group)
    # A reply to the card meanwhile is a comment in the thread; the prompt still waits.
    assert sent(await driver.say(group, reader, "Meanwhile", reply_to=forward_id)) == []
    posted = await driver.say(group, reader, "An answer", reply_to=prompt_id)
    assert only_text(posted).startswith("✅ Reply #8 to #6 posted")
    comments = [(c.id, c.parent_id, c.body) for c in await store.all_comments(1) if c.id > 6]
    assert comments == [(7, None, "Meanwhile"), (8, 6, "An answer")]


async def test_a_discussion_comment_is_deleted_by_replying_to_it(
    driver: Driver, store: Store
) -> None:
    _, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    reader, other = driver.api.user("Reader"), driver.api.user("Other")
    await driver.say(group, reader, "Said too much.", reply_to=forward_id)
    said = driver.api.messages(group)[-1]["message_id"]
    refused = only_text(await driver.say(group, other, "/delete", reply_to=said))
    assert refused == "Comment #6 is not yours; you can delete only your own."
    assert only_text(await driver.say(group, reader, "/delete", reply_to=said)) == (
        "🗑 Comment #6 deleted."
    )
    [gone] = [c for c in await store.all_comments(1) if c.id == 6]
    assert (gone.status, gone.body) == ("deleted", "")
    # A reply to the bot's confirmation names the comment too.
    await driver.say(group, reader, "/comment 1 Again")
    deleted = await driver.say(group, reader, "/delete", reply_to=driver.last_id(group))
    assert only_text(deleted) == "🗑 Comment #7 deleted."


async def test_every_comment_in_a_discussion_group_is_as_public_as_its_thread(
    driver: Driver, store: Store
) -> None:
    admin, channel, group = _newsroom(driver)
    await _published(driver, store, channel)
    scope = only_text(await driver.say(group, admin, "/scope"))
    assert scope.startswith("This group's comments are public: every chat sees them.")
    posted = only_text(await driver.say(group, driver.api.user("Reader"), "/comment 1 Hi"))
    assert posted == "✅ Comment #6 posted on “Joint Anti-Missile Drills Conclude in Russia”."
    only_text(await driver.say(group, admin, "/scope group"))
    kept = only_text(await driver.say(group, driver.api.user("Other"), "/comment 1 Us"))
    assert kept.endswith("(visible in this group only).")


async def test_a_discussion_group_can_keep_its_comments(driver: Driver, store: Store) -> None:
    admin, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    only_text(await driver.say(group, admin, "/scope group"))
    await driver.say(group, driver.api.user("Reader"), "Just us.", reply_to=forward_id)
    [comment] = [c for c in await store.all_comments(1) if c.id == 6]
    assert comment.visibility == "group"


async def test_a_card_published_before_the_bot_administered_the_discussion_takes_comments(
    driver: Driver, store: Store
) -> None:
    admin, channel, group = _newsroom(driver)
    driver.api.set_admins(group, owner=admin)  # the bot is no admin there yet
    await channel_store.connect_channel(store, channel.id, channel.title)
    post_id = await publish_card(driver.app.bot, store, channel.id, 1)
    assert post_id is not None and driver.api.pending_updates() == []  # the forward is unseen
    driver.api.set_admins(group, driver.api.bot_user, owner=admin)
    reader, other = driver.api.user("Reader"), driver.api.user("Other")
    forward_id = driver.api.forward_of(channel, post_id)
    await driver.say(group, reader, "Late but here.", reply_to=forward_id)
    first = driver.api.messages(group)[-1]["message_id"]
    await driver.say(group, other, "So am I.", reply_to=first)
    comments = [(c.id, c.parent_id, c.body) for c in await store.all_comments(1) if c.id > 5]
    assert comments == [(6, None, "Late but here."), (7, 6, "So am I.")]


async def test_a_forward_of_the_channels_own_post_opens_no_discussion(
    driver: Driver, store: Store
) -> None:
    _, channel, group = _newsroom(driver)
    _, forward = driver.api.post_in_channel(channel, "Our own announcement", queue=False)
    assert forward is not None
    await driver.feed(forward)
    forward_id = forward["message"]["message_id"]
    assert sent(await driver.say(group, driver.api.user("R"), "Nice", reply_to=forward_id)) == []
    assert len(await store.all_comments(1)) == 5


async def test_another_channels_repost_of_a_card_opens_no_discussion(
    driver: Driver, store: Store
) -> None:
    _, channel, _ = _newsroom(driver)
    await channel_store.connect_channel(store, channel.id, channel.title)
    post_id = await publish_card(driver.app.bot, store, channel.id, 1)
    elsewhere = driver.api.channel("Aggregator")
    their_group = driver.api.group("Aggregator Chat", supergroup=True)
    driver.api.set_admins(their_group, driver.api.bot_user)
    driver.api.link_discussion(elsewhere, their_group)
    # The aggregator forwards the card into its channel; Telegram's automatic forward of
    # that post into its discussion group names the card's own channel as the origin.
    _, forward = driver.api.post_in_channel(elsewhere, "Card", queue=False)
    assert forward is not None
    origin = {"type": "channel", "chat": channel.to_dict(), "message_id": post_id, "date": 0}
    forward["message"]["forward_origin"] = origin
    forward_id = forward["message"]["message_id"]
    driver.api.chats[their_group.id].messages[forward_id]["forward_origin"] = origin
    await driver.feed(forward)
    await driver.say(their_group, driver.api.user("Reader"), "Not here", reply_to=forward_id)
    assert len(await store.all_comments(1)) == 5


async def test_published_counts_are_kept_up_to_date(driver: Driver, store: Store) -> None:
    _, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    driver.api.clear_calls()
    assert await refresh_counts(driver.app.bot, store) == 0
    await driver.say(group, driver.api.user("Reader"), "First!", reply_to=forward_id)
    driver.api.clear_calls()
    assert await refresh_counts(driver.app.bot, store) == 1
    [edit] = sent(driver.api.calls, "editMessageText")
    assert edit["chat_id"] == channel.id and "💬 6 comments · id 1" in edit["text"]
    assert buttons(edit)[0][1] == ("💬 Comments (6)", DEEP + "c1")
    assert await refresh_counts(driver.app.bot, store) == 0


async def test_channel_ids_are_connected_at_start(driver: Driver, store: Store) -> None:
    _, channel, _ = _newsroom(driver)
    driver.api.channel("Not Mine", username="notmine", bot_is_admin=False)
    settings = driver.app.bot_data.valid_settings()
    driver.app.bot_data.settings = dataclasses.replace(
        settings, channels=("@dailynews", "@notmine")
    )
    await post_init(driver.app)
    await post_shutdown(driver.app)
    assert [c.id for c in await channel_store.connected_channels(store)] == [channel.id]


async def test_subscribe_inside_a_forum_topic_sends_new_articles_there(
    driver: Driver, store: Store
) -> None:
    owner = driver.api.user("Owner")
    forum = driver.api.group("Newsroom Forum", forum=True, owner=owner)
    driver.api.set_admins(forum, owner, owner=owner)
    news = driver.api.create_topic(forum, "News", by=owner)
    answer = only_text(await driver.say(forum, owner, "/subscribe", thread_id=news))
    assert answer == "Subscribed: new articles will be posted in this topic. /unsubscribe stops."
    [call] = [c for c in driver.api.calls if c.method == "sendMessage"][-1:]
    assert call.params["message_thread_id"] == news  # the answer stays in its topic too
    assert only_text(await driver.say(forum, owner, "/subscribe", thread_id=news)) == (
        "This topic is already subscribed."
    )
    driver.api.clear_calls()
    assert await push_new_article(driver, store, "Harbour Reopens") == 1
    [card] = sent(driver.api.calls)
    assert (card["chat_id"], card["message_thread_id"]) == (forum.id, news)
    # Sent again from the General topic, /subscribe moves the articles there.
    moved = only_text(await driver.say(forum, owner, "/subscribe"))
    assert moved == "Subscribed: new articles will be posted here. /unsubscribe stops."
    driver.api.clear_calls()
    await push_new_article(driver, store, "Harbour Closes")
    [card] = sent(driver.api.calls)
    assert "message_thread_id" not in card


async def test_new_articles_go_to_general_once_the_subscribed_topic_is_deleted(
    driver: Driver, store: Store
) -> None:
    owner = driver.api.user("Owner")
    forum = driver.api.group("Newsroom Forum", forum=True, owner=owner)
    driver.api.set_admins(forum, owner, owner=owner)
    news = driver.api.create_topic(forum, "News", by=owner)
    only_text(await driver.say(forum, owner, "/subscribe", thread_id=news))
    del driver.api.chats[forum.id].topics[news]  # an admin deletes the topic
    assert await push_new_article(driver, store, "Harbour Reopens") == 1
    card = driver.bot_messages(forum)[-1]
    assert "message_thread_id" not in card and card["text"].startswith("Harbour Reopens")


async def test_odd_channel_arguments_get_a_short_answer(driver: Driver, store: Store) -> None:
    admin, _, _ = _newsroom(driver)
    assert only_text(await driver.say(admin, admin, "/connect --5")).startswith(
        "I can't see the channel @--5."
    )
    long = only_text(await driver.say(admin, admin, "/connect &" + "x" * 4080))
    assert long.startswith("I can't see the channel @&amp;xxx") and len(long) < 300
    refused = only_text(await driver.say(admin, admin, "/disconnect --5"))
    assert refused == "No connected channel --5."
    connected = only_text(await driver.say(admin, admin, "/connect -1001000000001"))
    assert connected.startswith("📣 Connected “Daily News”")


async def test_a_channel_that_removed_the_bot_is_disconnected(
    driver: Driver, store: Store
) -> None:
    admin, channel, group = _newsroom(driver)
    forward_id = await _published(driver, store, channel)
    await driver.say(group, driver.api.user("Reader"), "First!", reply_to=forward_id)
    driver.api.kick_bot(channel, admin, queue=False)
    driver.api.clear_calls()
    assert await refresh_counts(driver.app.bot, store) == 0
    assert await channel_store.connected_channels(store) == []
    # Nothing more is tried there, round after round.
    driver.api.clear_calls()
    assert await refresh_counts(driver.app.bot, store) == 0
    assert driver.api.calls_to("editMessageText") == []


async def test_a_channels_title_is_shown_as_a_name(driver: Driver, store: Store) -> None:
    admin, _, _ = _newsroom(driver)
    driver.api.channel("<b>News\u202e & Co</b>", username="amp")
    done = only_text(await driver.say(admin, admin, "/connect @amp"))
    assert done.startswith("📣 Connected “&lt;b&gt;News &amp; Co&lt;/b&gt;”: new articles")
    [connected] = await channel_store.connected_channels(store)
    assert connected.title == "<b>News & Co</b>"
    listed = only_text(await driver.say(admin, admin, "/disconnect"))
    assert listed.endswith(f"Connected now: &lt;b&gt;News &amp; Co&lt;/b&gt; ({connected.id}).")
