"""Moderator rights follow Telegram: a demoted admin loses them, a promoted one gets them."""

from __future__ import annotations

from typing import Any

from bot.offline import OfflineChat, OfflineUser
from bot.permissions import REFUSAL_CACHE_SECONDS
from storage import Store
from tests.conftest import Driver, only_text


async def _member(driver: Driver, chat: OfflineChat, user: OfflineUser) -> dict[str, Any]:
    code, body = await driver.api.dispatch(
        "getChatMember", {"chat_id": chat.id, "user_id": user.id}
    )
    assert code == 200
    member: dict[str, Any] = body["result"]
    return member


async def _change_admins(
    driver: Driver, chat: OfflineChat, by: OfflineUser, user: OfflineUser, *admins: OfflineUser
) -> dict[str, Any]:
    """``by`` sets the group's admins; the chat_member update Telegram sends about ``user``."""
    old = await _member(driver, chat, user)
    driver.api.set_admins(chat, *admins, owner=by)
    new = await _member(driver, chat, user)
    driver.api.clear_calls()
    return {
        "update_id": 900_000 + user.id % 1000,
        "chat_member": {
            "chat": chat.to_dict(),
            "from": by.to_dict(),
            "date": int(driver.clock.now),
            "old_chat_member": old,
            "new_chat_member": new,
        },
    }


async def test_a_demoted_admin_loses_moderation_at_once(driver: Driver, store: Store) -> None:
    owner, boss, troll = (driver.api.user(n) for n in ("Owner", "Boss", "Troll"))
    group = driver.api.group("Newsroom", supergroup=True, owner=owner)
    driver.api.set_admins(group, boss, owner=owner)
    await driver.say(group, troll, "/comment 1 first")
    assert only_text(await driver.say(group, boss, "/hide 6")) == "Comment #6 is now hidden."
    await driver.feed(await _change_admins(driver, group, owner, boss))
    # Still within the time a "yes" is kept, but Telegram said Boss is no admin now.
    refused = only_text(await driver.say(group, boss, f"/ban {troll.id}"))
    assert refused == "Only moderators can do that."
    assert await store.ban_of(troll.id, group.id) is None
    assert only_text(await driver.say(group, boss, "/unhide 6")) == "Only moderators can do that."


async def test_a_promoted_admin_moderates_at_once(driver: Driver, store: Store) -> None:
    owner, fresh, troll = (driver.api.user(n) for n in ("Owner", "Fresh", "Troll"))
    group = driver.api.group("Newsroom", supergroup=True, owner=owner)
    await driver.say(group, troll, "/comment 1 first")
    assert only_text(await driver.say(group, fresh, "/hide 6")) == "Only moderators can do that."
    await driver.feed(await _change_admins(driver, group, owner, fresh, fresh))
    assert only_text(await driver.say(group, fresh, "/hide 6")) == "Comment #6 is now hidden."
    assert driver.api.calls_to("getChatMember") == []  # the update said so; nothing asked


async def test_a_refusal_is_kept_only_briefly(driver: Driver, store: Store) -> None:
    owner, fresh, troll = (driver.api.user(n) for n in ("Owner", "Fresh", "Troll"))
    group = driver.api.group("Newsroom", supergroup=True, owner=owner)
    await driver.say(group, troll, "/comment 1 first")
    assert only_text(await driver.say(group, fresh, "/hide 6")) == "Only moderators can do that."
    # Promoted without a chat_member update reaching the bot (it is no admin there).
    driver.api.set_admins(group, fresh, owner=owner)
    driver.clock.advance(REFUSAL_CACHE_SECONDS + 1)
    assert only_text(await driver.say(group, fresh, "/hide 6")) == "Comment #6 is now hidden."


async def test_a_ban_never_falls_on_a_newly_promoted_admin(driver: Driver, store: Store) -> None:
    owner, boss, fresh = (driver.api.user(n) for n in ("Owner", "Boss", "Fresh"))
    group = driver.api.group("Newsroom", supergroup=True, owner=owner)
    driver.api.set_admins(group, boss, owner=owner)
    await driver.say(group, fresh, "/comment 1 hello")  # Fresh is asked about: not an admin
    assert only_text(await driver.say(group, fresh, "/hide 6")) == "Only moderators can do that."
    driver.api.set_admins(group, boss, fresh, owner=owner)  # no update reaches the bot
    refused = only_text(await driver.say(group, boss, f"/ban {fresh.id}"))
    assert refused == "Moderators cannot be banned."
