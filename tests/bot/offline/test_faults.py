"""Fault planting: failed calls, lost answers, held calls, and Telegram's flood limits."""

from __future__ import annotations

import asyncio
import datetime as dtm
from collections.abc import AsyncIterator

import httpx
import pytest
from telegram.error import NetworkError, RetryAfter, TimedOut

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser, RateLimits
from tests.bot.offline.conftest import App, build_app
from tests.conftest import Clock


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


async def test_a_connect_error_applies_nothing(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.fail_next("sendMessage", network=True)

    with pytest.raises(NetworkError, match=r"httpx\.ConnectError") as caught:
        await app.bot.send_message(dm.id, "lost")
    assert not isinstance(caught.value, TimedOut)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)
    (call,) = api.calls_to("sendMessage")
    assert call.network_error and not call.dropped and call.result is None
    assert api.sent_messages(dm) == []

    assert (await app.bot.send_message(dm.id, "again")).text == "again"
    assert [m["text"] for m in api.sent_messages(dm)] == ["again"]


async def test_a_timeout_after_delivery_leaves_the_message_sent(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.drop_after_delivery("sendMessage")

    with pytest.raises(TimedOut) as caught:
        await app.bot.send_message(dm.id, "arrived")
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)
    (call,) = api.calls_to("sendMessage")
    assert call.dropped and call.network_error and not call.ok
    assert call.result["text"] == "arrived"
    assert [m["text"] for m in api.sent_messages(dm)] == ["arrived"]

    assert (await app.bot.send_message(dm.id, "next")).text == "next"
    assert [m["text"] for m in api.sent_messages(dm)] == ["arrived", "next"]


async def test_a_dropped_connection_after_delivery_is_a_network_error(
    api: OfflineBotAPI, app: App, alice: OfflineUser, dm: OfflineChat
) -> None:
    message = await app.bot.send_message(dm.id, "draft")
    api.drop_after_delivery("editMessageText", timeout=False, times=2)

    for text in ("edited once", "edited twice"):
        with pytest.raises(NetworkError, match="RemoteProtocolError") as caught:
            await app.bot.edit_message_text(text, dm.id, message.message_id)
        assert not isinstance(caught.value, TimedOut)
        assert api.message(dm, message.message_id)["text"] == text

    assert (await app.bot.edit_message_text("done", dm.id, message.message_id)).text == "done"


async def test_faults_are_used_in_the_order_they_were_planted(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.fail_next("sendMessage", network=True)
    api.drop_after_delivery("sendMessage")
    api.fail_next("sendMessage", error_code=502, description="Bad Gateway")

    with pytest.raises(NetworkError, match="ConnectError"):
        await app.bot.send_message(dm.id, "1")
    with pytest.raises(TimedOut):
        await app.bot.send_message(dm.id, "2")
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await app.bot.send_message(dm.id, "3")
    await app.bot.send_message(dm.id, "4")

    assert [m["text"] for m in api.sent_messages(dm)] == ["2", "4"]


async def test_a_held_call_is_recorded_but_answered_only_on_release(
    api: OfflineBotAPI, app: App, dm: OfflineChat
) -> None:
    api.hold("sendMessage")
    sending = asyncio.create_task(app.bot.send_message(dm.id, "held"))
    await asyncio.wait_for(api.wait_for_calls("sendMessage", 1), 1)

    assert not sending.done() and api.sent_messages(dm) == []
    api.release("sendMessage")
    assert (await asyncio.wait_for(sending, 1)).text == "held"
    assert (await app.bot.send_message(dm.id, "later")).text == "later"


# ---- flood limits ---------------------------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    """The stand-in's clock, moved by hand."""
    return Clock()


@pytest.fixture
def limited(clock: Clock) -> OfflineBotAPI:
    """A stand-in that enforces Telegram's flood limits."""
    return OfflineBotAPI(username="NewsTestBot", clock=clock, rate_limits=RateLimits())


@pytest.fixture
async def limited_app(limited: OfflineBotAPI) -> AsyncIterator[App]:
    """The tiny bot on the rate-limited stand-in."""
    application = build_app(limited)
    async with application:
        yield application
    limited.check_methods_known()


async def flood_wait(app: App, chat_id: int, text: str) -> int:
    """Send, expecting a 429; the seconds Telegram asked to wait."""
    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(chat_id, text)
    retry_after = caught.value.retry_after
    assert isinstance(retry_after, dtm.timedelta)
    return int(retry_after.total_seconds())


async def test_one_message_a_second_in_a_chat(
    limited: OfflineBotAPI, limited_app: App, clock: Clock
) -> None:
    alice = limited.private_chat(limited.user("Alice"))
    bob = limited.private_chat(limited.user("Bob"))
    await limited_app.bot.send_message(alice.id, "1")
    await limited_app.bot.send_message(bob.id, "another chat is not limited")

    assert await flood_wait(limited_app, alice.id, "too soon") == 1
    clock.advance(0.5)
    assert await flood_wait(limited_app, alice.id, "still too soon") == 1
    clock.advance(0.5)
    await limited_app.bot.send_message(alice.id, "2")

    assert [m["text"] for m in limited.sent_messages(alice.id)] == ["1", "2"]
    assert limited.rate_limits is not None and limited.rate_limits.refused == 2
    assert [call.rate_limited for call in limited.calls_to("sendMessage")] == [
        False,
        False,
        True,
        True,
        False,
    ]


async def test_twenty_messages_a_minute_in_a_group(
    limited: OfflineBotAPI, limited_app: App, clock: Clock
) -> None:
    group = limited.group("Newsroom")
    for n in range(20):
        await limited_app.bot.send_message(group.id, f"m{n}")
        clock.advance(1)

    assert await flood_wait(limited_app, group.id, "m20") == 40  # m0 leaves the window at 60 s
    clock.advance(40)
    await limited_app.bot.send_message(group.id, "m20")
    assert len(limited.sent_messages(group)) == 21


async def test_thirty_messages_a_second_overall(
    limited: OfflineBotAPI, limited_app: App, clock: Clock
) -> None:
    readers = [limited.private_chat(limited.user(f"Reader {n}")) for n in range(31)]
    for reader in readers[:30]:
        await limited_app.bot.send_message(reader.id, "news")

    assert await flood_wait(limited_app, readers[30].id, "news") == 1
    assert limited.sent_messages(readers[30].id) == []
    clock.advance(1)
    await limited_app.bot.send_message(readers[30].id, "news")
    assert limited.rate_limits is not None and limited.rate_limits.refused == 1


async def test_without_rate_limits_nothing_is_refused(api: OfflineBotAPI, app: App) -> None:
    alice = api.private_chat(api.user("Alice"))
    for n in range(40):
        await app.bot.send_message(alice.id, f"m{n}")
    assert len(api.sent_messages(alice.id)) == 40
