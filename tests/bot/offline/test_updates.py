"""getUpdates and webhooks: the queue, offsets, long polls."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time

import pytest
from telegram.error import Conflict

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from tests.bot.offline.conftest import App


async def test_get_updates_serves_the_queue_in_order_and_honours_offset(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    ids = [api.send_text(dm, alice, f"m{n}")["update_id"] for n in range(3)]

    first = await app.bot.get_updates(limit=2)
    assert [u.update_id for u in first] == ids[:2]
    assert [u.message.text for u in first if u.message] == ["m0", "m1"]

    rest = await app.bot.get_updates(offset=ids[1] + 1)
    assert [u.update_id for u in rest] == ids[2:]
    assert await app.bot.get_updates(offset=ids[2] + 1) == ()
    assert api.pending_updates() == []


async def test_long_poll_waits_for_an_update_instead_of_spinning(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    started = time.monotonic()
    assert await app.bot.get_updates(timeout=0.05) == ()
    assert time.monotonic() - started >= 0.04
    assert len(api.calls_to("getUpdates")) == 1

    poll = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    api.send_text(dm, alice, "wake up")
    updates = await asyncio.wait_for(poll, 1)
    assert [u.message.text for u in updates if u.message] == ["wake up"]


async def test_webhook_blocks_get_updates(api: OfflineBotAPI, app: App) -> None:
    assert await app.bot.set_webhook("https://bot.example.com/hook")
    assert (await app.bot.get_webhook_info()).url == "https://bot.example.com/hook"
    with pytest.raises(Conflict, match="webhook is active"):
        await app.bot.get_updates()
    assert await app.bot.delete_webhook()
    assert await app.bot.get_updates() == ()


async def test_a_second_long_poll_terminates_the_first(api: OfflineBotAPI, app: App) -> None:
    first = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    second = asyncio.create_task(app.bot.get_updates(timeout=0.05))

    with pytest.raises(Conflict, match="terminated by other getUpdates request"):
        await asyncio.wait_for(first, 1)
    assert await second == ()


async def test_real_polling_picks_up_an_update(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    assert app.updater is not None
    await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
    await app.start()
    try:
        api.send_text(dm, alice, "/start")
        for _ in range(200):
            if api.sent_messages(dm):
                break
            await asyncio.sleep(0.01)
    finally:
        await app.updater.stop()
        await app.stop()

    assert [m["text"] for m in api.sent_messages(dm)] == ["Welcome, Alice!"]
    assert api.calls_to("deleteWebhook"), "the updater's bootstrap clears any webhook"
    assert api.pending_updates() == [], "the final getUpdates confirmed what was processed"


async def test_an_update_comes_back_until_a_higher_offset_confirms_it(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    first = api.send_text(dm, alice, "one")["update_id"]
    second = api.send_text(dm, alice, "two")["update_id"]

    for offset in (None, 0, first):  # no offset, or one that confirms nothing yet
        again = await app.bot.get_updates(offset=offset)
        assert [u.update_id for u in again] == [first, second]

    assert [u.update_id for u in await app.bot.get_updates(offset=first + 1)] == [second]
    assert [u.update_id for u in await app.bot.get_updates()] == [second], "first is gone"
    assert await app.bot.get_updates(offset=second + 1) == ()
    assert await app.bot.get_updates() == ()


async def test_a_redelivered_update_keeps_its_id_until_confirmed_again(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    sent = api.send_text(dm, alice, "hello")
    (fetched,) = await app.bot.get_updates()
    assert await app.bot.get_updates(offset=fetched.update_id + 1) == ()

    again = api.redeliver(sent["update_id"])

    assert again == sent
    for _ in range(2):  # a restarted bot polls from offset 0 and gets it, until it confirms
        (update,) = await app.bot.get_updates(offset=0)
        assert update.update_id == sent["update_id"]
        assert update.message is not None and update.message.text == "hello"
    assert await app.bot.get_updates(offset=sent["update_id"] + 1) == ()
    with pytest.raises(LookupError):
        api.redeliver(sent["update_id"] + 100)


async def test_a_redelivered_update_wakes_a_long_poll_and_is_not_doubled(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    sent = api.send_text(dm, alice, "hello")
    api.redeliver(sent["update_id"])  # still pending: Telegram would send it once
    assert [u["update_id"] for u in api.pending_updates()] == [sent["update_id"]]
    await app.bot.get_updates(offset=sent["update_id"] + 1)

    poll = asyncio.create_task(app.bot.get_updates(timeout=5))
    await asyncio.sleep(0.01)
    api.redeliver(sent["update_id"])
    (update,) = await asyncio.wait_for(poll, 1)
    assert update.update_id == sent["update_id"]
