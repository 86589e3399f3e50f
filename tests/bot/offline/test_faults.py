"""Fault planting: failed calls, as a test plants them."""

from __future__ import annotations

import datetime as dtm

import pytest
from telegram.error import NetworkError, RetryAfter

from bot.offline import OfflineBotAPI, OfflineChat
from tests.bot.offline.conftest import App


async def test_fail_next_raises_retry_after_once(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.fail_next("sendMessage", retry_after=3)

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(dm.id, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=3)
    failed = api.calls_to("sendMessage")[0]
    assert failed.error is not None and failed.error.parameters == {"retry_after": 3}

    assert (await app.bot.send_message(dm.id, "again")).text == "again"


async def test_fail_next_network_error_once(api: OfflineBotAPI, app: App, dm: OfflineChat) -> None:
    api.fail_next("sendMessage", network=True)

    with pytest.raises(NetworkError, match="planted network failure"):
        await app.bot.send_message(dm.id, "lost")
    assert api.calls_to("sendMessage")[0].network_error

    assert (await app.bot.send_message(dm.id, "again")).text == "again"
    assert [m["text"] for m in api.sent_messages(dm)] == ["again"]
