"""Updates through the running application: chats side by side, each chat in order."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from telegram import Update

from bot.ordering import ChatOrderedProcessor, order_keys
from tests.conftest import Driver

# These hold ChatOrderedProcessor, the order kept within one process. On PostgreSQL,
# which several workers may share, the inbox's claims keep it across them first
# (tests/bot/test_workers.py).
pytestmark = pytest.mark.sqlite_only("the order kept within one process")


async def queue(driver: Driver, update: dict[str, object]) -> None:
    """Hand an update to the running application, as the updater does."""
    await driver.app.update_queue.put(Update.de_json(update, driver.app.bot))


@contextlib.asynccontextmanager
async def running(driver: Driver, held: str) -> AsyncIterator[None]:
    """The application running on its update queue, Telegram holding calls of ``held``
    (until ``api.release``); on the way out every held call is answered."""
    driver.api.hold(held)
    await driver.app.start()
    try:
        yield
    finally:
        driver.api.release(held)
        await driver.app.stop()


async def settle() -> None:
    """Let every task that can run, run: an update not kept waiting would reach the API."""
    for _ in range(200):
        await asyncio.sleep(0)


async def test_a_chat_waiting_on_telegram_does_not_hold_up_another_chat(driver: Driver) -> None:
    api, app = driver.api, driver.app
    alice, bob = api.user("Alice"), api.user("Bob")
    alice_chat, bob_chat = api.private_chat(alice), api.private_chat(bob)
    async with running(driver, held="sendMessage"):  # Telegram is slow to answer
        await queue(driver, api.send_text(alice_chat, alice, "/help", queue=False))
        await queue(driver, api.send_text(alice_chat, alice, "/start", queue=False))
        await queue(driver, api.send_text(bob_chat, bob, "/latest", queue=False))
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", 2)
        # Bob's answer went out while Alice's first was still waiting ...
        first = [int(call.params["chat_id"]) for call in api.calls_to("sendMessage")]
        assert sorted(first) == sorted([alice_chat.id, bob_chat.id])
        # ... and Alice's /start stays behind her /help, however long that takes.
        await settle()
        assert len(api.calls_to("sendMessage")) == 2
        api.release("sendMessage")
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", 3)
    alice_texts = [message["text"] for message in api.sent_messages(alice_chat)]
    assert alice_texts[0].startswith("newsbot serves")
    assert alice_texts[1].startswith("Hello, Alice!")
    assert isinstance(app.update_processor, ChatOrderedProcessor)
    assert app.update_processor.waiting_chats == 0


async def test_a_comment_sent_right_after_pressing_comment_waits_for_the_prompt(
    driver: Driver,
) -> None:
    """The text after the Comment button becomes the comment even when both come at once."""
    api = driver.api
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    await driver.say(reader, reader, "/article 1")
    card = driver.last_id(reader)
    sent_before = len(api.calls_to("sendMessage"))
    async with running(driver, held="answerCallbackQuery"):  # the press is slow to be answered
        await queue(driver, api.press_button(chat, card, reader, "wr:1", queue=False))
        await queue(driver, api.send_text(chat, reader, "Posted in a hurry.", queue=False))
        async with asyncio.timeout(5):
            await api.wait_for_calls("answerCallbackQuery", 1)
        api.release("answerCallbackQuery")
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", sent_before + 2)  # prompt, confirmation
    prompt, confirmation = api.sent_messages(chat)[-2:]
    assert prompt["text"].startswith("Send your comment")
    assert confirmation["text"].startswith("✅ Comment #6 posted")
    [comment] = [c for c in await driver.app.bot_data.open_store().all_comments(1) if c.id == 6]
    assert comment.body == "Posted in a hurry."


def test_updates_keep_their_place_behind_their_chat_and_their_user(driver: Driver) -> None:
    api = driver.api
    alice = api.user("Alice")
    group = api.group("Desk")
    in_group = Update.de_json(api.send_text(group, alice, "/latest", queue=False), None)
    inline = Update.de_json(api.inline_query(alice, "drills", queue=False), None)
    assert order_keys(in_group) == [("chat", group.id), ("user", alice.id)]
    assert order_keys(inline) == [("user", alice.id)]
    assert order_keys("not an update") == []


async def test_one_reader_in_two_groups_is_served_in_order(driver: Driver) -> None:
    """Each reader's updates stay in order across chats (the rate limit counts them all)."""
    api = driver.api
    alice, bob = api.user("Alice"), api.user("Bob")
    desk, club = api.group("Desk"), api.group("Club")
    async with running(driver, held="sendMessage"):
        await queue(driver, api.send_text(desk, alice, "/help", queue=False))
        await queue(driver, api.send_text(club, alice, "/start", queue=False))
        await queue(driver, api.send_text(club, bob, "/start", queue=False))
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", 1)
        await settle()
        # Alice in the Club waits for Alice at the Desk; Bob waits for Alice in the Club.
        [waiting] = api.calls_to("sendMessage")
        assert int(waiting.params["chat_id"]) == desk.id
        api.release("sendMessage")
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", 3)
    club_texts = [message["text"] for message in api.sent_messages(club)]
    assert [text.split(",")[0] for text in club_texts] == ["Hello", "Hello"]
    assert "Alice" in club_texts[0] and "Bob" in club_texts[1]


async def test_a_chat_with_a_backlog_does_not_take_every_running_slot(driver: Driver) -> None:
    """Updates waiting for their chat's turn hold no slot: other chats still run."""
    api = driver.api
    alice, bob = api.user("Alice"), api.user("Bob")
    busy = api.group("Busy")
    await driver.say(busy, alice, "/article 1")
    card = driver.last_id(busy)
    async with running(
        driver, held="answerCallbackQuery"
    ):  # Telegram slow to answer one call in the busy group
        await queue(driver, api.press_button(busy, card, alice, "tl:1", queue=False))
        for n in range(100):  # more than the running slots, all behind the press
            await queue(driver, api.send_text(busy, api.user(f"M{n}"), "/help", queue=False))
        before = len(api.calls_to("sendMessage"))
        await queue(driver, api.send_text(api.private_chat(bob), bob, "/start", queue=False))
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", before + 1)
        [answer] = api.calls_to("sendMessage")[before:]
        assert int(answer.params["chat_id"]) == bob.id
    assert len(api.sent_messages(busy)) == 1 + 1 + 100  # card, timeline, every /help


async def test_a_readers_later_update_in_another_chat_waits_for_their_earlier_one(
    driver: Driver,
) -> None:
    """Vi's comment in the group waits behind Uma's press; Vi's private one waits for it."""
    api = driver.api
    uma, vi = api.user("Uma"), api.user("Vi")
    group = api.group("Desk")
    await driver.say(group, uma, "/article 1")
    card = driver.last_id(group)
    async with running(driver, held="answerCallbackQuery"):
        await queue(driver, api.press_button(group, card, uma, "tl:1", queue=False))
        await queue(driver, api.send_text(group, vi, "/comment 1 first", queue=False))
        await queue(
            driver, api.send_text(api.private_chat(vi), vi, "/comment 1 second", queue=False)
        )
        async with asyncio.timeout(5):
            await api.wait_for_calls("answerCallbackQuery", 1)
        await settle()
        assert not api.calls_to("sendMessage")[1:]  # nothing but the card went out yet
        api.release("answerCallbackQuery")
        async with asyncio.timeout(5):
            await api.wait_for_calls("sendMessage", 4)  # card, timeline, two confirmations
    store = driver.app.bot_data.open_store()
    bodies = [c.body for c in await store.all_comments(1) if c.origin == "chat"]
    assert bodies == ["first", "second"]
