"""Messages sent on behalf of a chat are that chat's: authorship, deletes, bans, rate limits.

Telegram sends a message posted as a channel (or by a group's anonymous admin)
from one shared user, ``Channel_Bot`` (or ``GroupAnonymousBot``), with the real
speaker in ``sender_chat``.
"""

from __future__ import annotations

from typing import Any

from bot.offline import OfflineChat, OfflineUser
from storage import Store
from tests.conftest import Driver, only_text, texts

CHANNEL_BOT = OfflineUser(136817688, "Channel", username="Channel_Bot", is_bot=True)
ANONYMOUS_ADMIN = OfflineUser(1087968824, "Group", username="GroupAnonymousBot", is_bot=True)


def _speaking_as(driver: Driver, update: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The update, its message sent on behalf of ``chat``."""
    for kind in ("message", "edited_message"):
        if kind in update:
            update[kind]["sender_chat"] = chat
    return update


def _reply_from(update: dict[str, Any], chat: dict[str, Any]) -> dict[str, Any]:
    """The update, its replied-to message sent on behalf of ``chat``."""
    update["message"]["reply_to_message"]["sender_chat"] = chat
    update["message"]["reply_to_message"]["from"] = CHANNEL_BOT.to_dict()
    return update


async def _say_as(
    driver: Driver,
    group: OfflineChat,
    chat: dict[str, Any],
    text: str,
    *,
    via: OfflineUser = CHANNEL_BOT,
    reply_to: int | None = None,
) -> list[Any]:
    update = driver.api.send_text(group, via, text, queue=False, reply_to=reply_to)
    return await driver.feed(_speaking_as(driver, update, chat))


ALICE = {"id": -1009000000001, "type": "channel", "title": "Alice's channel"}
MALLORY = {"id": -1009000000002, "type": "channel", "title": "Mallory's channel"}


async def test_a_channel_deletes_its_own_comment_and_no_other(
    driver: Driver, store: Store
) -> None:
    group = driver.api.group("Discussion", supergroup=True)
    driver.api.users[CHANNEL_BOT.id] = CHANNEL_BOT
    assert only_text(await _say_as(driver, group, ALICE, "/comment 1 from Alice")).startswith(
        "✅ Comment #6"
    )
    [comment] = [c for c in await store.all_comments(1) if c.id == 6]
    assert (comment.user_id, comment.author) == (ALICE["id"], "Alice's channel")
    refused = only_text(await _say_as(driver, group, MALLORY, "/delete 6"))
    assert refused == "Comment #6 is not yours; you can delete only your own."
    assert only_text(await _say_as(driver, group, ALICE, "/delete 6")) == "🗑 Comment #6 deleted."


async def test_a_ban_and_a_rate_limit_hold_for_one_channel_only(
    driver: Driver, store: Store
) -> None:
    owner = driver.api.user("Owner")
    group = driver.api.group("Discussion", supergroup=True, owner=owner)
    driver.api.set_admins(group, owner, owner=owner)
    driver.api.users[CHANNEL_BOT.id] = CHANNEL_BOT
    for n in range(5):
        await _say_as(driver, group, MALLORY, f"/comment 1 spam {n}")
    slow = only_text(await _say_as(driver, group, MALLORY, "/comment 1 spam 6"))
    assert slow.startswith("Slow down")
    assert only_text(await _say_as(driver, group, ALICE, "/comment 1 hello")).startswith("✅")
    spam = next(m for m in driver.api.messages(group) if m.get("text") == "/comment 1 spam 0")
    ban = driver.api.send_text(group, owner, "/ban", reply_to=spam["message_id"], queue=False)
    banned = only_text(await driver.feed(_reply_from(ban, MALLORY)))
    assert banned == f"User {MALLORY['id']} is banned from commenting in this group."
    assert await store.ban_of(MALLORY["id"], group.id) == "here"
    assert await store.ban_of(CHANNEL_BOT.id, group.id) is None
    driver.clock.advance(61)
    assert only_text(await _say_as(driver, group, ALICE, "/comment 1 still here")).startswith("✅")
    refused = only_text(await _say_as(driver, group, MALLORY, "/comment 1 and again"))
    assert refused == "You are banned from commenting in this group."
    # The id the ban named is the one that lifts it.
    unban = only_text(await driver.say(group, owner, f"/unban {MALLORY['id']}"))
    assert unban == f"User {MALLORY['id']} is allowed to comment in this group again."
    assert await store.ban_of(MALLORY["id"], group.id) is None


async def test_a_channel_edits_its_comment_by_editing_its_message(
    driver: Driver, store: Store
) -> None:
    group = driver.api.group("Discussion", supergroup=True)
    driver.api.users[CHANNEL_BOT.id] = CHANNEL_BOT
    await _say_as(driver, group, ALICE, "/comment 1 frist")
    sent = next(m for m in driver.api.messages(group) if m.get("text") == "/comment 1 frist")
    update = driver.api.edit_text(group, sent["message_id"], CHANNEL_BOT, "/comment 1 first")
    calls = await driver.feed(_speaking_as(driver, update, ALICE))
    assert only_text(calls) == "✏️ Comment #6 updated."
    [comment] = [c for c in await store.all_comments(1) if c.id == 6]
    assert comment.body == "first"


async def test_a_groups_anonymous_admin_moderates_that_group(driver: Driver, store: Store) -> None:
    troll = driver.api.user("Troll")
    group = driver.api.group("Discussion", supergroup=True)
    driver.api.users[ANONYMOUS_ADMIN.id] = ANONYMOUS_ADMIN
    await driver.say(group, troll, "/comment 1 rude")
    as_group = {"id": group.id, "type": "supergroup", "title": "Discussion"}
    calls = await _say_as(driver, group, as_group, "/hide 6", via=ANONYMOUS_ADMIN)
    assert only_text(calls) == "Comment #6 is now hidden."
    # Posting as a different chat (a channel) is no admin right in this group.
    refused = await _say_as(driver, group, ALICE, "/unhide 6", via=CHANNEL_BOT)
    assert only_text(refused) == "Only moderators can do that."


async def test_a_channels_awaited_comment_is_its_own(driver: Driver, store: Store) -> None:
    owner = driver.api.user("Owner")
    group = driver.api.group("Discussion", supergroup=True, owner=owner)
    driver.api.set_admins(group, owner, driver.api.bot_user, owner=owner)  # the bot sees all
    driver.api.users[CHANNEL_BOT.id] = CHANNEL_BOT
    prompt = only_text(await _say_as(driver, group, ALICE, "/comment 1"))
    # No user to mention: the prompt names the channel, not Telegram's shared user.
    assert prompt.startswith("Alice&#x27;s channel, send your comment on")
    # Another channel's chatter (same Telegram user) neither answers nor cancels it.
    assert only_text(await _say_as(driver, group, MALLORY, "/cancel")) == "Nothing to cancel."
    assert texts(await _say_as(driver, group, MALLORY, "just chatting")) == []
    posted = only_text(await _say_as(driver, group, ALICE, "Our comment"))
    assert posted.startswith("✅ Comment #6 posted")
    [comment] = [c for c in await store.all_comments(1) if c.id > 5]
    assert (comment.user_id, comment.body) == (ALICE["id"], "Our comment")
