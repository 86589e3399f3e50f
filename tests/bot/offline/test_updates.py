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
