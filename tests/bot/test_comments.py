"""Comments through the chat, end to end: every way to post, threads, groups, limits."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from bot.app import post_shutdown, post_stop
from bot.config import Settings
from bot.offline import OfflineUser
from storage import Store
from storage.models import Block, ParsedArticle
from tests.conftest import ADMIN_ID, Driver, buttons, only_text, outbox_of, sent, texts
from tests.faults import WriteLock
from tests.storage.test_jsonl import export_lines, save_lines

TITLE = "Joint Anti-Missile Drills Conclude in Russia"
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


def confirmation(comment_id: int, *, group_only: bool = False) -> str:
    where = " (visible in this group only)" if group_only else ""
    return f"✅ Comment #{comment_id} posted on “{TITLE}”{where}."


async def test_comment_command_posts_and_confirms(driver: Driver, store: Store) -> None:
    ann = driver.api.user("Ann", "Lee", username="annl")
    calls = await driver.say(ann, ann, "/comment 1 Good <b>reporting</b> & thanks")
    [params] = sent(calls)
    assert params["text"] == confirmation(6)
    assert buttons(params) == [[("Reply", "rp:6"), ("Comments", "cm:1:1")]]
    comment = await store.comment(6)
    assert comment is not None
    assert (comment.author, comment.user_id, comment.origin) == ("Ann Lee", ann.id, "chat")
    assert comment.body == "Good <b>reporting</b> & thanks"
    assert (comment.visibility, comment.chat_id) == ("public", ann.id)
    page = only_text(await driver.say(ann, ann, "/comments 1 2"))
    assert "<b>Ann Lee</b>" in page
    assert "Good &lt;b&gt;reporting&lt;/b&gt; &amp; thanks" in page


async def test_comment_button_prompts_and_takes_the_next_message(
    driver: Driver, store: Store
) -> None:
    bea = driver.api.user("Bea")
    await driver.say(bea, bea, "/article 1")
    calls = await driver.press(bea, driver.last_id(bea), bea, "wr:1")
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    prompt = sent(calls)[0]
    assert prompt["text"] == (
        f"Send your comment on “{TITLE}” as your next message. /cancel stops."
    )
    assert prompt["reply_markup"]["force_reply"] is True
    answer = await driver.say(bea, bea, "My two cents.", reply_to=driver.last_id(bea))
    assert only_text(answer) == confirmation(6)
    assert (await store.comment(6)).body == "My two cents."  # type: ignore[union-attr]
    # The wait is over: the next message is not a comment.
    after = only_text(await driver.say(bea, bea, "hello?"))
    assert after.startswith("To comment, press Comment under an article")


async def test_cancel_and_timeout_of_the_prompt(driver: Driver, store: Store) -> None:
    cy = driver.api.user("Cy")
    await driver.say(cy, cy, "/comment 1")
    assert only_text(await driver.say(cy, cy, "/cancel")) == "Cancelled: nothing was posted."
    assert only_text(await driver.say(cy, cy, "/cancel")) == "Nothing to cancel."
    await driver.say(cy, cy, "/comment 1")
    driver.clock.advance(10 * 60 + 1)
    late = only_text(await driver.say(cy, cy, "Too late?"))
    assert late.startswith("The wait for your comment ran out after 10 minutes")
    assert await store.comment(6) is None


async def test_reply_to_the_article_card_comments_on_it(driver: Driver, store: Store) -> None:
    dee = driver.api.user("Dee")
    await driver.say(dee, dee, "/article 1")
    calls = await driver.say(dee, dee, "Replying to the card", reply_to=driver.last_id(dee))
    assert only_text(calls) == confirmation(6)
    assert (await store.comment(6)).parent_id is None  # type: ignore[union-attr]


async def test_replies_thread_under_their_parent(driver: Driver, store: Store) -> None:
    eve = driver.api.user("Eve")
    fin = driver.api.user("Fin")
    calls = await driver.say(eve, eve, "/reply 2 I disagree, Raphael.")
    assert only_text(calls) == f"✅ Reply #6 to #2 posted on “{TITLE}”."
    # A reply to the bot's confirmation answers that comment.
    await driver.say(fin, fin, "/comment 1 Top level from Fin")
    confirm_id = driver.last_id(fin)
    calls = await driver.say(fin, fin, "And a follow-up", reply_to=confirm_id)
    assert only_text(calls) == f"✅ Reply #8 to #7 posted on “{TITLE}”."
    reply = await store.comment(8)
    assert reply is not None and reply.parent_id == 7
    page1 = only_text(await driver.say(eve, eve, "/comments 1"))
    raphael = page1.index("<b>Raphael</b>\n<i>#2")
    nested = page1.index("    ↳ <b>Eve</b>\n<i>      #6")
    assert raphael < nested < page1.index("<b>Donatello</b>\n<i>#3")
    assert "I disagree, Raphael." in page1
    page2 = only_text(await driver.say(eve, eve, "/comments 1 2"))
    assert "    ↳ <b>Fin</b>" in page2 and "And a follow-up" in page2
    unknown = only_text(await driver.say(eve, eve, "/reply 99 hi"))
    assert unknown == "No comment #99 here. Comment ids are shown in /comments."
    usage = only_text(await driver.say(eve, eve, "/reply x"))
    assert usage == "Usage: /reply CID TEXT, e.g. /reply 3 I agree."


async def test_the_reply_button_asks_for_a_reply_threaded_under_the_comment(
    driver: Driver, store: Store
) -> None:
    ora = driver.api.user("Ora")
    await driver.say(ora, ora, "/comment 1 First thoughts")
    confirmation_id = driver.last_id(ora)
    calls = await driver.press(ora, confirmation_id, ora, "rp:6")
    assert [c.method for c in calls] == ["answerCallbackQuery", "sendMessage"]
    assert sent(calls)[0]["text"] == (
        f"Send a reply to comment #6 on “{TITLE}” as your next message. /cancel stops."
    )
    answer = await driver.say(ora, ora, "Second thoughts", reply_to=driver.last_id(ora))
    assert only_text(answer) == f"✅ Reply #7 to #6 posted on “{TITLE}”."
    assert (await store.comment(7)).parent_id == 6  # type: ignore[union-attr]
    # Under a reply's confirmation too; a comment that is gone gets a short answer.
    await driver.say(ora, ora, "/reply 1 On the first")
    calls = await driver.press(ora, driver.last_id(ora), ora, "rp:8")
    assert "reply to comment #8" in sent(calls)[0]["text"]
    await driver.say(ora, ora, "/cancel")
    await store.set_comment_status(6, "hidden")
    calls = await driver.press(ora, confirmation_id, ora, "rp:6")
    assert [(c.method, c.params.get("text")) for c in calls] == [
        ("answerCallbackQuery", "That comment is no longer available.")
    ]


async def test_group_comments_never_leak_into_other_chats(driver: Driver, store: Store) -> None:
    gil = driver.api.user("Gil")
    a = driver.api.group("Group A")
    b = driver.api.group("Group B", supergroup=True)
    calls = await driver.say(a, gil, "/comment@NewsTestBot 1 zanzibar is group A only")
    assert only_text(calls) == confirmation(6, group_only=True)
    # Group A sees it: count, page, search.
    [card_a] = sent(await driver.say(a, gil, "/article 1"))
    assert "💬 6 comments" in card_a["text"]
    assert ("Comments (6)", "cm:1:1") in buttons(card_a)[1]
    assert "zanzibar" in only_text(await driver.say(a, gil, "/comments 1 2"))
    assert "(in a comment)" in only_text(await driver.say(a, gil, "/search zanzibar"))
    # Group B and a private chat do not: not in counts, pages, search, inline or buttons.
    for chat in (b, gil):
        [card] = sent(await driver.say(chat, gil, "/article 1"))
        assert "💬 5 comments" in card["text"]
        assert ("Comments (5)", "cm:1:1") in buttons(card)[1]
        page = only_text(await driver.say(chat, gil, "/comments 1 2"))
        assert "zanzibar" not in page and "page 1 of 1" in page
        assert "Nothing found" in only_text(await driver.say(chat, gil, "/search zanzibar"))
        assert only_text(await driver.say(chat, gil, "/reply 6 sneaky")).startswith(
            "No comment #6 here."
        )
    inline = await driver.feed(driver.api.inline_query(gil, "zanzibar", queue=False))
    assert inline[0].params["results"] == []
    inline_all = await driver.feed(driver.api.inline_query(gil, "", queue=False))
    assert (
        "💬 5 comments"
        in inline_all[0].params["results"][0]["input_message_content"]["message_text"]
    )


async def test_scope_public_is_for_group_admins(driver: Driver, store: Store) -> None:
    owner = driver.api.user("Owner")
    member = driver.api.user("Member")
    group = driver.api.group("Open Group", owner=owner)
    driver.api.set_admins(group, owner, owner=owner)
    refused = only_text(await driver.say(group, member, "/scope public"))
    assert refused == "Only the group's admins can change this chat's settings."
    done = only_text(await driver.say(group, owner, "/scope public"))
    assert done == "From now on, comments posted here are public: every chat sees them."
    calls = await driver.say(group, member, "/comment 1 now everyone sees this")
    assert only_text(calls) == confirmation(6)
    assert (await store.comment(6)).visibility == "public"  # type: ignore[union-attr]
    private = only_text(await driver.say(member, member, "/comments 1 2"))
    assert "now everyone sees this" in private
    in_private = only_text(await driver.say(owner, owner, "/scope public"))
    assert in_private.startswith("/scope works in groups")


async def test_a_public_reply_under_a_group_only_comment_stays_in_the_group(
    driver: Driver, store: Store
) -> None:
    """Counts, pages, search and answering agree: a reply is seen where its thread is."""
    owner = driver.api.user("Owner")
    kit = driver.api.user("Kit")
    group = driver.api.group("Club", owner=owner)
    driver.api.set_admins(group, owner, owner=owner)
    await driver.say(group, kit, "/comment 1 Only the club reads this")
    await driver.say(group, owner, "/scope public")
    calls = await driver.say(group, kit, "/reply 6 quokkas answer in the club")
    assert only_text(calls) == (
        f"✅ Reply #7 to #6 posted on “{TITLE}” (visible in this group only)."
    )
    # The club sees the thread: 7 comments, both on the page, the reply found.
    [card] = sent(await driver.say(group, kit, "/article 1"))
    assert "💬 7 comments" in card["text"]
    club_page = only_text(await driver.say(group, kit, "/comments 1 2"))
    assert "Only the club reads this" in club_page and "quokkas answer" in club_page
    assert "(in a comment)" in only_text(await driver.say(group, kit, "/search quokkas"))
    # Elsewhere neither is counted, shown, found or answerable, not even to its author.
    [card] = sent(await driver.say(kit, kit, "/article 1"))
    assert "💬 5 comments" in card["text"]
    assert "quokkas" not in only_text(await driver.say(kit, kit, "/comments 1 2"))
    assert "Nothing found" in only_text(await driver.say(kit, kit, "/search quokkas"))
    refused = only_text(await driver.say(kit, kit, "/reply 7 from outside"))
    assert refused.startswith("No comment #7 here.")
    inline = await driver.feed(driver.api.inline_query(kit, "quokkas", queue=False))
    assert inline[0].params["results"] == []


async def test_editing_the_message_edits_the_comment(driver: Driver, store: Store) -> None:
    hal = driver.api.user("Hal")
    await driver.say(hal, hal, "/comment 1 First version")
    message_id = driver.api.messages(driver.chat_of(hal))[-2]["message_id"]
    calls = await driver.edit(hal, message_id, hal, "/comment 1 Second version")
    assert only_text(calls) == "✏️ Comment #6 updated."
    comment = await store.comment(6)
    assert comment is not None and comment.body == "Second version" and comment.edited_at
    assert "· edited" in only_text(await driver.say(hal, hal, "/comments 1 2"))
    # Someone else's edit, or an edit to an unrelated message, changes nothing.
    await driver.say(hal, hal, "hello")
    plain_id = driver.api.messages(driver.chat_of(hal))[-2]["message_id"]
    assert await driver.edit(hal, plain_id, hal, "hello again") == []


async def test_authors_delete_their_own_comments_and_threads_keep_a_placeholder(
    driver: Driver, store: Store
) -> None:
    ian = driver.api.user("Ian")
    jan = driver.api.user("Jan")
    await driver.say(ian, ian, "/comment 1 Parent by Ian")
    await driver.say(jan, jan, "/reply 6 Child by Jan")
    refused = only_text(await driver.say(jan, jan, "/delete 6"))
    assert refused == "Comment #6 is not yours; you can delete only your own."
    assert only_text(await driver.say(ian, ian, "/delete 6")) == "🗑 Comment #6 deleted."
    page = only_text(await driver.say(jan, jan, "/comments 1 2"))
    assert "<i>#6 [deleted by its author]</i>" in page
    assert "Parent by Ian" not in page and "Child by Jan" in page
    assert only_text(await driver.say(ian, ian, "/delete 6")) == "No comment #6 here."
    assert only_text(await driver.say(ian, ian, "/delete")).startswith("Usage: /delete CID")


async def test_a_deleted_comment_keeps_no_text_and_an_export_cannot_bring_it_back(
    driver: Driver, store: Store
) -> None:
    lia = driver.api.user("Lia")
    await driver.say(lia, lia, "/comment 1 Regrettable words about capybaras")
    await driver.say(lia, lia, "/comment 1 Words a moderator hides")
    before = await export_lines(store)  # made while the comment still had its text
    assert only_text(await driver.say(lia, lia, "/delete 6")) == "🗑 Comment #6 deleted."
    moderator = OfflineUser(ADMIN_ID, "Mod")
    driver.api.users[ADMIN_ID] = moderator
    await driver.say(moderator, moderator, "/hide 7")
    deleted, hidden = await store.comment(6), await store.comment(7)
    assert deleted is not None and (deleted.status, deleted.body) == ("deleted", "")
    assert hidden is not None and hidden.body == "Words a moderator hides"  # for moderators
    assert await store.search("capybaras", None) == []
    # The export keeps only that it was deleted.
    [record] = [json.loads(line) for line in await export_lines(store)]
    [exported] = [c for c in record["comments"] if c["id"] == 6]
    assert (exported["status"], exported["body"]) == ("deleted", "")
    assert "capybaras" not in json.dumps(record)
    # Importing the older export (or the newer one) again leaves it erased.
    for lines in (before, await export_lines(store)):
        await save_lines(store, lines)
        again = await store.comment(6)
        assert again is not None and (again.status, again.body) == ("deleted", "")
    # Editing its message does not write the text back either.
    assert deleted.message_id is not None
    await driver.edit(lia, deleted.message_id, lia, "/comment 1 capybaras again")
    assert (await store.comment(6)).body == ""  # type: ignore[union-attr]


async def test_moderators_hide_and_ban(driver: Driver, store: Store) -> None:
    admin = OfflineUser(ADMIN_ID, "Admin")
    driver.api.users[ADMIN_ID] = admin
    troll = driver.api.user("Troll")
    reader = driver.api.user("Reader")
    await driver.say(troll, troll, "/comment 1 spam spam")
    assert only_text(await driver.say(reader, reader, "/hide 6")) == "Only moderators can do that."
    assert only_text(await driver.say(admin, admin, "/hide 6")) == "Comment #6 is now hidden."
    assert only_text(await driver.say(admin, admin, "/hide 6")) == "Comment #6 is already hidden."
    assert "spam spam" not in only_text(await driver.say(reader, reader, "/comments 1 2"))
    assert only_text(await driver.say(admin, admin, "/unhide 6")) == "Comment #6 is now shown."
    banned = only_text(await driver.say(admin, admin, f"/ban {troll.id}"))
    assert banned == f"User {troll.id} is banned from commenting."
    refused = only_text(await driver.say(troll, troll, "/comment 1 more spam"))
    assert refused == "You are banned from commenting."
    assert only_text(await driver.say(admin, admin, f"/unban {troll.id}")) == (
        f"User {troll.id} is allowed to comment again."
    )
    assert only_text(await driver.say(troll, troll, "/comment 1 sorry")) == confirmation(7)
    stats = await store.stats()
    assert (stats["moderation_hide"], stats["moderation_unhide"]) == (1, 1)
    assert (stats["moderation_ban"], stats["moderation_unban"]) == (1, 1)


async def test_group_admins_moderate_their_own_group_only(driver: Driver, store: Store) -> None:
    boss = driver.api.user("Boss")
    troll = driver.api.user("Troll")
    group = driver.api.group("Moderated", supergroup=True)
    other = driver.api.group("Elsewhere")
    driver.api.set_admins(group, boss)
    await driver.say(group, troll, "/comment 1 rude words")
    troll_message = driver.api.messages(group)[-2]["message_id"]
    await driver.say(other, troll, "/comment 1 rude words elsewhere")
    assert only_text(await driver.say(group, boss, "/hide 6")) == "Comment #6 is now hidden."
    out_of_reach = only_text(await driver.say(group, boss, "/hide 7"))
    assert out_of_reach == "No comment #7 that you can moderate here."
    assert only_text(await driver.say(other, boss, "/hide 7")) == "Only moderators can do that."
    # /ban as a reply to the troll's own message: banned in this group, and only here.
    calls = await driver.say(group, boss, "/ban", reply_to=troll_message)
    assert only_text(calls) == f"User {troll.id} is banned from commenting in this group."
    assert only_text(await driver.say(group, troll, "/comment 1 again")) == (
        "You are banned from commenting in this group."
    )
    assert only_text(await driver.say(other, troll, "/comment 1 fine here")).startswith("✅")
    assert only_text(await driver.say(troll, troll, "/comment 1 and here")).startswith("✅")
    # Each admin check was asked once and then cached: boss in group, troll in group
    # (admins cannot be banned), boss in other.
    assert len(driver.api.calls_to("getChatMember")) == 3
    assert only_text(await driver.say(group, boss, f"/ban {boss.id}")) == (
        "Moderators cannot be banned."
    )
    assert only_text(await driver.say(group, boss, f"/unban {troll.id}")) == (
        f"User {troll.id} is allowed to comment in this group again."
    )
    assert only_text(await driver.say(group, troll, "/comment 1 back")).startswith("✅")
    assert (await store.stats())["group_bans"] == 0


async def test_a_group_admin_cannot_ban_or_unban_beyond_the_group(
    driver: Driver, store: Store
) -> None:
    """Anyone can make a group and be its admin: that gives no power over other chats."""
    admin = OfflineUser(ADMIN_ID, "Admin")
    driver.api.users[ADMIN_ID] = admin
    troll, victim = driver.api.user("Troll"), driver.api.user("Victim")
    own = driver.api.group("Troll's own group", owner=troll)
    driver.api.set_admins(own, troll, owner=troll)
    assert only_text(await driver.say(admin, admin, f"/ban {troll.id}")) == (
        f"User {troll.id} is banned from commenting."
    )
    unban = only_text(await driver.say(own, troll, f"/unban {troll.id}"))
    assert unban == (
        f"User {troll.id} is allowed to comment in this group again. "
        "They are still banned everywhere by the bot's moderators."
    )
    assert only_text(await driver.say(own, troll, "/comment 1 I am back")) == (
        "You are banned from commenting."
    )
    await driver.say(own, troll, f"/ban {victim.id}")
    assert only_text(await driver.say(victim, victim, "/comment 1 mine")).startswith("✅")
    # A bot moderator's /unban lifts the ban everywhere.
    await driver.say(own, admin, f"/unban {troll.id}")
    assert only_text(await driver.say(own, troll, "/comment 1 really back")).startswith("✅")
    # In a group, a bot moderator's /unban also lifts that group's own ban.
    desk = driver.api.group("Desk")
    boss = driver.api.user("Boss")
    driver.api.set_admins(desk, boss)
    await driver.say(desk, boss, f"/ban {victim.id}")
    refused = only_text(await driver.say(desk, victim, "/comment 1 let me in"))
    assert refused == "You are banned from commenting in this group."
    await driver.say(desk, admin, f"/unban {victim.id}")
    assert only_text(await driver.say(desk, victim, "/comment 1 let me in")).startswith("✅")


async def test_ban_as_a_reply_to_the_bots_confirmation(driver: Driver, store: Store) -> None:
    admin = OfflineUser(ADMIN_ID, "Admin")
    driver.api.users[ADMIN_ID] = admin
    troll = driver.api.user("Troll")
    group = driver.api.group("G")
    await driver.say(group, troll, "/comment 1 bad")
    confirmation_id = driver.last_id(group)
    calls = await driver.say(group, admin, "/ban", reply_to=confirmation_id)
    assert only_text(calls) == f"User {troll.id} is banned from commenting."
    assert (await store.user(troll.id)).banned  # type: ignore[union-attr]


async def test_rate_limit_and_duplicates(driver: Driver) -> None:
    kit = driver.api.user("Kit")
    for n in range(5):
        assert only_text(await driver.say(kit, kit, f"/comment 1 number {n}")).startswith("✅")
    sixth = only_text(await driver.say(kit, kit, "/comment 1 number 5"))
    assert sixth == "Slow down: at most 5 comments a minute. Try again in a minute."
    driver.clock.advance(61)
    assert only_text(await driver.say(kit, kit, "/comment 1 number 5")).startswith("✅")
    duplicate = only_text(await driver.say(kit, kit, "/comment 1 number 5"))
    assert duplicate == "You just posted that same comment here."


async def test_the_same_comment_sent_twice_at_once_is_posted_once(driver: Driver) -> None:
    """The checks read inside the write that posts: the second cannot slip past them
    while the first is being written."""
    kit = driver.api.user("Kit")
    chat = driver.chat_of(kit)
    twice = [
        driver.api.send_text(chat, kit, "/comment 1 Said once.", queue=False) for _ in range(2)
    ]
    mark = len(driver.api.calls)
    await asyncio.gather(*(driver.feed(update) for update in twice))
    replies = sorted(texts(driver.api.calls[mark:]))
    assert len(replies) == 2
    assert replies[0] == "You just posted that same comment here."
    assert replies[1].startswith("✅ Comment #")
    stored = await driver.app.bot_data.open_store().all_comments(1)
    assert [c.body for c in stored].count("Said once.") == 1


@pytest.mark.sqlite_only("another program's write lock")
async def test_what_needs_no_write_is_answered_while_another_program_writes(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    store.write_wait = 0.5  # a posting would wait this long, then apologise
    ann = driver.api.user("Ann")
    answers = []
    with WriteLock(tmp_path / "news.sqlite3"):
        for text in ("/comment 999 Hello.", "/comment 1 " + "x" * 5000, "/comment 1 \u200b"):
            answers.append(only_text(await driver.say(ann, ann, text)))
    assert answers[0] == "No article “999”. Find one with /latest or /search."
    assert answers[1].startswith("Your comment is 5000 characters; the limit is")
    assert answers[2].startswith("An empty comment was not posted")


async def test_duplicates_are_counted_per_chat_and_not_after_a_delete(driver: Driver) -> None:
    gil = driver.api.user("Gil")
    desk, club = driver.api.group("Desk"), driver.api.group("Club")
    assert only_text(await driver.say(desk, gil, "/comment 1 Agreed.")).startswith("✅")
    assert only_text(await driver.say(club, gil, "/comment 1 Agreed.")).startswith("✅")
    assert only_text(await driver.say(club, gil, "/comment 1 Agreed.")) == (
        "You just posted that same comment here."
    )
    await driver.say(gil, gil, "/comment 1 Typo herre")
    await driver.say(gil, gil, "/delete 8")
    assert only_text(await driver.say(gil, gil, "/comment 1 Typo herre")).startswith("✅")


async def test_a_banned_author_cannot_edit_their_comments(driver: Driver, store: Store) -> None:
    admin = OfflineUser(ADMIN_ID, "Admin")
    driver.api.users[ADMIN_ID] = admin
    hal = driver.api.user("Hal")
    await driver.say(hal, hal, "/comment 1 nice article")
    own_message = driver.api.messages(driver.chat_of(hal))[-2]["message_id"]
    await driver.say(admin, admin, f"/ban {hal.id}")
    calls = await driver.edit(hal, own_message, hal, "/comment 1 SPAM SPAM buy now")
    assert only_text(calls) == "Comment #6 was not changed. You are banned from commenting."
    assert (await store.comment(6)).body == "nice article"  # type: ignore[union-attr]


async def test_a_refused_comment_is_written_again_as_a_reply_to_the_refusal(
    driver: Driver, store: Store
) -> None:
    group = driver.api.group("Newsroom", supergroup=True)
    gus = driver.api.user("Gus")
    await driver.say(group, gus, "/article 1")
    refused = await driver.say(group, gus, "x" * 2001, reply_to=driver.last_id(group))
    assert only_text(refused).startswith("Your comment is 2001 characters")
    assert buttons(sent(refused)[0]) == [[("Comment", "wr:1")]]
    posted = await driver.say(group, gus, "Shorter.", reply_to=driver.last_id(group))
    assert only_text(posted).startswith("✅ Comment #6 posted")
    # A refused reply, written again, answers the same comment.
    await driver.say(group, gus, "/reply 6 " + "y" * 2001)
    posted = await driver.say(group, gus, "Short reply.", reply_to=driver.last_id(group))
    assert only_text(posted).startswith("✅ Reply #7 to #6 posted")
    # A ban gives nothing to write again.
    await store.set_banned(gus.id, True, "Gus", chat_id=group.id)
    banned = await driver.say(group, gus, "/comment 1 Again")
    assert buttons(sent(banned)[0]) == []


async def test_length_empty_and_control_characters(driver: Driver, store: Store) -> None:
    liv = driver.api.user("Liv")
    too_long = only_text(await driver.say(liv, liv, "/comment 1 " + "x" * 2001))
    assert too_long == (
        "Your comment is 2001 characters; the limit is 2000. Shorten it and send it again."
    )
    await driver.say(liv, liv, "/comment 1")  # asks for the text
    blank = only_text(await driver.say(liv, liv, "\u200b\u200b"))
    assert blank == "An empty comment was not posted. Write some text."
    # Telegram turns most control characters into spaces; the bot strips what gets through.
    update = driver.api.send_text(driver.chat_of(liv), liv, "/comment 1 clean text", queue=False)
    update["message"]["text"] = "/comment 1 clean\x07 text\u200b\x00 \u202eRTL\r\nline"
    assert only_text(await driver.feed(update)) == confirmation(6)
    assert (await store.comment(6)).body == "clean text RTL\nline"  # type: ignore[union-attr]


async def test_bidirectional_controls_never_reach_names_or_comments(
    driver: Driver, store: Store
) -> None:
    """U+202E would show "Mo \u202egninrae" as "Mo earning"; such controls are removed."""
    mo = driver.api.user("Mo \u202egninrae\u202c", "\u2067Li")
    calls = await driver.say(mo, mo, "/comment 1 left \u202eright\n\u2066open isolate")
    assert only_text(calls) == confirmation(6)
    comment = await store.comment(6)
    assert comment is not None
    assert (comment.author, comment.body) == ("Mo gninrae Li", "left right\nopen isolate")
    assert (await store.user(mo.id)).display_name == "Mo gninrae Li"  # type: ignore[union-attr]
    page = only_text(await driver.say(mo, mo, "/comments 1 2"))
    assert not any(ch in page for ch in BIDI_CONTROLS)
    await driver.edit(mo, comment.message_id or 0, mo, "/comment 1 \u202dedited\u2069")
    assert (await store.comment(6)).body == "edited"  # type: ignore[union-attr]


async def test_a_redelivered_update_posts_and_confirms_once(driver: Driver, store: Store) -> None:
    mia = driver.api.user("Mia")
    update = driver.api.send_text(
        driver.chat_of(mia), mia, "/comment 1 only once please", queue=False
    )
    first = await driver.feed(copy.deepcopy(update))
    again = await driver.feed(copy.deepcopy(update))
    assert only_text(first) == confirmation(6)
    assert again == []
    assert len(await store.all_comments(1)) == 6
    # The same for the text sent after /comment ID asked for it.
    await driver.say(mia, mia, "/comment 1")
    update = driver.api.send_text(driver.chat_of(mia), mia, "my text", queue=False)
    first = await driver.feed(copy.deepcopy(update))
    again = await driver.feed(copy.deepcopy(update))
    assert only_text(first) == confirmation(7)
    assert again == []


async def test_comment_in_a_forum_topic_stays_in_the_topic(driver: Driver, store: Store) -> None:
    nia = driver.api.user("Nia")
    forum = driver.api.group("Forum", forum=True)
    topic = driver.api.create_topic(forum, "Drills", by=nia)
    await driver.say(forum, nia, "/article 1", thread_id=topic)
    card = driver.last_id(forum)
    prompt = await driver.press(forum, card, nia, "wr:1")
    [prompt_params] = sent(prompt)
    assert prompt_params["message_thread_id"] == topic
    assert prompt_params["text"].startswith(f'<a href="tg://user?id={nia.id}">Nia</a>, send')
    calls = await driver.say(forum, nia, "From the topic", reply_to=driver.last_id(forum))
    [params] = sent(calls)
    assert params["message_thread_id"] == topic
    assert params["text"] == confirmation(6, group_only=True)


async def test_display_names_are_kept_up_to_date(driver: Driver, store: Store) -> None:
    only_username = driver.api.user("", username="ghost")
    await driver.say(only_username, only_username, "/comment 1 who am I")
    assert (await store.comment(6)).author == "@ghost"  # type: ignore[union-attr]
    ola = driver.api.user("Ola")
    await driver.say(ola, ola, "/comment 1 first")
    renamed = OfflineUser(ola.id, "Ola", "Nordmann")
    driver.api.users[ola.id] = renamed
    await driver.say(renamed, renamed, "/comment 1 second")
    assert (await store.user(ola.id)).display_name == "Ola Nordmann"  # type: ignore[union-attr]
    # Her earlier comment goes by her new name too, as her messages do in Telegram.
    authors = [c.author for c in await store.all_comments(1) if c.user_id == ola.id]
    assert authors == ["Ola Nordmann", "Ola Nordmann"]
    page = only_text(await driver.say(renamed, renamed, "/comments 1 2"))
    assert page.count("<b>Ola Nordmann</b>") == 2


async def test_errors_in_handlers_are_reported_not_raised(driver: Driver, store: Store) -> None:
    pia = driver.api.user("Pia")
    await store.close()  # every query now fails
    update = driver.api.send_text(driver.chat_of(pia), pia, "/article 1", queue=False)
    calls = await driver.feed(update, allow_errors=True)
    assert texts(calls) == ["Sorry, something went wrong on my side. Please try again later."]
    assert driver.errors


async def test_edits_that_would_empty_or_overfill_a_comment_are_refused(
    driver: Driver, store: Store, settings: Settings
) -> None:
    kim = driver.api.user("Kim")
    await driver.say(kim, kim, "/comment 1 Original text")
    message_id = driver.api.messages(driver.chat_of(kim))[-2]["message_id"]
    assert await driver.edit(kim, message_id, kim, "/comment 1 Original text") == []
    assert only_text(await driver.edit(kim, message_id, kim, "/comment 1 \x00 ")) == (
        "Comment #6 was not changed: it cannot be empty."
    )
    limit = settings.comment_max_length
    assert only_text(await driver.edit(kim, message_id, kim, "x" * (limit + 1))) == (
        f"Comment #6 was not changed: the limit is {limit} characters."
    )
    comment = await store.comment(6)
    assert comment is not None and comment.body == "Original text" and comment.edited_at is None


async def test_moderation_commands_explain_what_they_need(driver: Driver, store: Store) -> None:
    admin = OfflineUser(ADMIN_ID, "Admin")
    driver.api.users[ADMIN_ID] = admin
    author = driver.api.user("Author")
    await driver.say(author, author, "/comment 1 To be deleted")
    await driver.say(author, author, "/delete 6")

    async def answer(text: str) -> str:
        return only_text(await driver.say(admin, admin, text))

    assert await answer("/hide") == "Usage: /hide CID, e.g. /hide 3"
    assert await answer("/unhide x") == "Usage: /unhide CID, e.g. /unhide 3"
    assert await answer("/hide 404") == "No comment #404 that you can moderate here."
    assert await answer("/hide 6") == "Comment #6 was deleted by its author."
    assert await answer("/unhide 1") == "Comment #1 is already visible."
    assert await answer("/ban") == ("Usage: reply /ban to a message of the user, or /ban USER_ID.")
    assert await answer("/ban nobody") == (
        "Usage: reply /ban to a message of the user, or /ban USER_ID."
    )
    assert await answer(f"/ban {ADMIN_ID}") == "Moderators cannot be banned."
    comment = await store.comment(6)
    assert comment is not None and comment.status == "deleted"


async def test_a_group_upgraded_to_a_supergroup_keeps_its_discussion(
    driver: Driver, store: Store
) -> None:
    boss, troll, gus = driver.api.user("Boss"), driver.api.user("Troll"), driver.api.user("Gus")
    group = driver.api.group("Desk", owner=boss)
    driver.api.set_admins(group, boss, owner=boss)
    await driver.say(group, gus, "/comment 1 Said in the old group")
    await driver.say(group, boss, f"/ban {troll.id}")
    await driver.say(group, boss, "/subscribe")
    supergroup, moved, arrived = driver.api.upgrade_to_supergroup(group, boss, queue=False)
    assert await driver.feed(moved) == []  # handled quietly
    assert await driver.feed(arrived) == []  # the second notice changes nothing more
    page = only_text(await driver.say(supergroup, gus, "/comments 1 2"))
    assert "Said in the old group" in page and "page 2 of 2" in page
    assert (await store.comment(6)).chat_id == supergroup.id  # type: ignore[union-attr]
    assert only_text(await driver.say(supergroup, troll, "/comment 1 hi")) == (
        "You are banned from commenting in this group."
    )
    assert await store.subscribed_chats() == [supergroup.id]
    # Message ids start afresh in the supergroup: its new comments are new.
    assert only_text(await driver.say(supergroup, gus, "/comment 1 Said anew")).startswith("✅")


async def test_confirmations_quote_a_very_long_title_shortened(
    driver: Driver, store: Store
) -> None:
    long_title = "word " * 1000
    saved = await store.save_article(
        ParsedArticle(
            title=long_title.strip(), blocks=(Block("paragraph", "Body."),), source_key="long"
        )
    )
    una = driver.api.user("Una")
    calls = await driver.say(una, una, f"/comment {saved.article_id} Nice piece")
    [params] = sent(calls)
    assert calls[0].ok and params["text"].startswith("✅ Comment #6 posted on “word word")
    assert len(params["text"]) < 300


@pytest.mark.sqlite_only("its database thread")
async def test_posting_a_comment_is_one_write_on_the_database_thread(
    driver: Driver, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The article and the text are checked on the event loop; the database thread is
    asked once, to check the limits and store the comment with the claim of its
    confirmation. That it was sent is recorded a moment later, with whatever else was
    sent meanwhile."""
    reader = driver.api.user("Reader")
    group = driver.api.group("Hops", supergroup=True)
    await driver.say(group, reader, "/comment 1 warming up")  # the first time opens things
    hops: list[object] = []
    queue = store.db._execute

    async def counted(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(fn)
        return await queue(fn, *args, **kwargs)

    monkeypatch.setattr(store.db, "_execute", counted)
    calls = await driver.say(group, reader, "/comment 1 counted")
    assert only_text(calls).startswith("✅ Comment #7")
    assert len(hops) == 1, hops
    await outbox_of(driver.app).record_sent()
    assert len(hops) == 2, hops
    row = await store._one("SELECT state, message_id FROM deliveries WHERE key = 'comment:7'")
    assert row is not None and tuple(row) == ("sent", driver.last_id(group))


async def test_a_confirmation_sent_while_the_bot_stops_is_recorded_as_sent(
    driver: Driver, store: Store
) -> None:
    reader = driver.api.user("Reader")
    await post_stop(driver.app)  # the outbox stops; a handler is still at work
    assert only_text(await driver.say(reader, reader, "/comment 1 Just in time.")).startswith(
        "✅ Comment #6"
    )
    await post_shutdown(driver.app)
    row = await store._one("SELECT state, message_id FROM deliveries WHERE key = 'comment:6'")
    assert row is not None and tuple(row) == ("sent", driver.last_id(reader))


async def test_a_comment_names_its_article_by_slug_or_is_told_there_is_none(
    driver: Driver,
) -> None:
    vic = driver.api.user("Vic")
    posted = only_text(
        await driver.say(vic, vic, "/comment joint-anti-missile-drills-conclude-in-russia Apt.")
    )
    assert posted.startswith(f"✅ Comment #6 posted on “{TITLE}”")
    missing = only_text(await driver.say(vic, vic, "/comment no-such-story Apt."))
    assert missing == "No article “no-such-story”. Find one with /latest or /search."
