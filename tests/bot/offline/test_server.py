"""The offline Bot API served over loopback HTTP, talked to by a stock PTB ``Bot``."""

from __future__ import annotations

import asyncio
import datetime as dtm
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    EndPointNotFound,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import ApplicationBuilder, CommandHandler

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from bot.offline.server import OfflineServer, form_value
from tests.bot.offline.conftest import greet

TOKEN = "123:SERVED"


@pytest.fixture
async def server(
    api: OfflineBotAPI, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[OfflineServer]:
    """The stand-in on a free loopback port, reached directly (no proxy)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    async with OfflineServer(api) as served:
        yield served


@pytest.fixture
async def bot(server: OfflineServer) -> AsyncIterator[Bot]:
    """A stock PTB Bot (HTTPXRequest) whose base_url is the server."""
    async with Bot(TOKEN, base_url=server.base_url) as stock:
        yield stock


def test_form_fields_are_read_as_the_bot_api_reads_them() -> None:
    assert form_value("chat_id", "-1001") == -1001
    assert form_value("chat_id", "@channel") == "@channel"
    assert form_value("show_alert", "true") is True
    assert form_value("reply_markup", '{"inline_keyboard": []}') == {"inline_keyboard": []}
    assert form_value("text", "42") == "42"
    assert form_value("text", '{"a": 1}') == '{"a": 1}'
    assert form_value("callback_query_id", "7") == "7"


async def test_a_stock_bot_sends_and_reads_messages(
    api: OfflineBotAPI, bot: Bot, server: OfflineServer, alice: OfflineUser, dm: OfflineChat
) -> None:
    assert bot.username == "NewsTestBot"
    assert server.base_url.startswith("http://127.0.0.1:")
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("More", callback_data="1")]])

    sent = await bot.send_message(
        dm.id, "<b>42</b> &amp; more", parse_mode=ParseMode.HTML, reply_markup=keyboard
    )
    plain = await bot.send_message(dm.id, "42")

    assert sent.text == "42 & more" and sent.entities[0].type == "bold"
    assert plain.text == "42"
    stored = api.message(dm, sent.message_id)
    assert stored["reply_markup"] == {
        "inline_keyboard": [[{"text": "More", "callback_data": "1"}]]
    }
    assert [call.method for call in api.calls] == ["getMe", "sendMessage", "sendMessage"]
    assert api.calls[1].params["chat_id"] == dm.id


async def test_get_updates_over_http_follows_offsets(
    api: OfflineBotAPI, bot: Bot, alice: OfflineUser, dm: OfflineChat
) -> None:
    ids = [api.send_text(dm, alice, f"m{n}")["update_id"] for n in range(3)]

    assert [u.update_id for u in await bot.get_updates()] == ids
    assert [u.update_id for u in await bot.get_updates(offset=ids[0] + 1, limit=1)] == ids[1:2]
    rest = await bot.get_updates(offset=ids[1] + 1, allowed_updates=["message"])
    assert [u.message.text for u in rest if u.message] == ["m2"]
    assert await bot.get_updates(offset=ids[2] + 1, timeout=dtm.timedelta(seconds=0.05)) == ()


async def test_errors_arrive_as_the_bot_api_sends_them(
    api: OfflineBotAPI, bot: Bot, dm: OfflineChat
) -> None:
    with pytest.raises(BadRequest, match="Chat not found"):
        await bot.send_message(424242, "nobody")
    api.fail_next("sendMessage", retry_after=7)
    with pytest.raises(RetryAfter) as caught:
        await bot.send_message(dm.id, "flood")
    assert caught.value.retry_after == dtm.timedelta(seconds=7)
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("sendTeleportation", api_kwargs={"chat_id": dm.id})
    api.clear_calls()  # the unknown method was called on purpose


async def test_a_wrong_token_is_refused(server: OfflineServer) -> None:
    server.api.token = "999:RIGHT"
    with pytest.raises(InvalidToken):
        async with Bot("999:WRONG", base_url=server.base_url):
            pass
    async with Bot("999:RIGHT", base_url=server.base_url) as right:
        assert right.username == "NewsTestBot"


async def test_json_bodies_get_requests_and_other_paths(
    api: OfflineBotAPI, server: OfflineServer, dm: OfflineChat
) -> None:
    async with httpx.AsyncClient(base_url=server.base_url.removesuffix("/bot")) as client:
        sent = await client.post(f"/bot{TOKEN}/sendMessage", json={"chat_id": dm.id, "text": "7"})
        me = await client.get(f"/bot{TOKEN}/getMe")
        missing = await client.get("/favicon.ico")
        broken = await client.post(
            f"/bot{TOKEN}/sendMessage",
            content=b"[1]",
            headers={"Content-Type": "application/json"},
        )

    assert sent.status_code == 200 and sent.json()["result"]["text"] == "7"
    assert me.json()["result"]["username"] == "NewsTestBot"
    assert missing.status_code == 404 and missing.json()["description"] == "Not Found"
    assert broken.status_code == 400 and broken.json()["ok"] is False
    assert [m["text"] for m in api.sent_messages(dm)] == ["7"]


async def test_planted_network_faults_end_the_connection(
    api: OfflineBotAPI, bot: Bot, dm: OfflineChat
) -> None:
    api.fail_next("sendMessage", network=True)
    with pytest.raises(NetworkError) as never_arrived:
        await bot.send_message(dm.id, "not applied")
    api.drop_after_delivery("sendMessage")
    with pytest.raises(NetworkError) as answer_lost:
        await bot.send_message(dm.id, "applied")

    for caught in (never_arrived, answer_lost):
        assert not isinstance(caught.value, TimedOut)
        assert isinstance(caught.value.__cause__, httpx.RemoteProtocolError)
    assert [m["text"] for m in api.sent_messages(dm)] == ["applied"]
    assert (await bot.send_message(dm.id, "and on")).text == "and on"


async def test_the_server_outlives_clients_killed_mid_request(
    api: OfflineBotAPI, server: OfflineServer, bot: Bot, alice: OfflineUser, dm: OfflineChat
) -> None:
    # A request cut off in its body.
    with socket.create_connection(("127.0.0.1", server.port)) as raw:
        raw.sendall(
            f"POST /bot{TOKEN}/sendMessage HTTP/1.1\r\nHost: x\r\n"
            "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            "chat_id=".encode()
        )
    # A client gone while its sendMessage is being answered, and one gone mid long poll.
    api.hold("sendMessage")
    client = httpx.AsyncClient(base_url=server.base_url + TOKEN)
    sending = asyncio.create_task(
        client.post("/sendMessage", data={"chat_id": dm.id, "text": "x"})
    )
    polling = asyncio.create_task(client.post("/getUpdates", data={"timeout": "30"}))
    await asyncio.wait_for(api.wait_for_calls("getUpdates", 1), 2)
    assert api.polling
    await asyncio.wait_for(api.wait_for_calls("sendMessage", 1), 2)
    for task in (sending, polling):
        task.cancel()
    await asyncio.gather(sending, polling, return_exceptions=True)
    await client.aclose()
    for _ in range(200):  # the server notices the closed connection
        if not api.polling:
            break
        await asyncio.sleep(0.01)
    assert not api.polling
    api.release("sendMessage")
    update = api.send_text(dm, alice, "still here")

    # The call it made was applied, its long poll ended unanswered, and the next client
    # finds everything as it was.
    for _ in range(100):
        if api.calls_to("sendMessage")[0].result is not None:
            break
        await asyncio.sleep(0.01)
    assert [m["text"] for m in api.sent_messages(dm)] == ["x"]
    (dead_poll,) = api.calls_to("getUpdates")
    assert dead_poll.result is None and dead_poll.error is None
    (fetched,) = await bot.get_updates(timeout=dtm.timedelta(seconds=1))
    assert fetched.update_id == update["update_id"]
    assert (await bot.send_message(dm.id, "after")).text == "after"


async def test_a_stopped_server_starts_again_on_its_port_with_its_state(
    api: OfflineBotAPI, server: OfflineServer, alice: OfflineUser, dm: OfflineChat
) -> None:
    api.send_text(dm, alice, "kept")
    port = server.port
    await server.stop()
    await server.start()

    assert server.port == port
    async with Bot(TOKEN, base_url=server.base_url) as again:
        (update,) = await again.get_updates()
    assert update.message is not None and update.message.text == "kept"


async def test_a_polling_application_answers_over_http(
    api: OfflineBotAPI, server: OfflineServer, alice: OfflineUser, dm: OfflineChat
) -> None:
    app = ApplicationBuilder().token(TOKEN).base_url(server.base_url).build()
    app.add_handler(CommandHandler("start", greet))
    async with app:
        assert app.updater is not None
        await app.updater.start_polling(poll_interval=0, timeout=dtm.timedelta(seconds=1))
        await app.start()
        try:
            api.send_text(dm, alice, "/start")
            for _ in range(300):
                if api.sent_messages(dm):
                    break
                await asyncio.sleep(0.01)
        finally:
            await app.updater.stop()
            await app.stop()

    assert [m["text"] for m in api.sent_messages(dm)] == ["Welcome, Alice!"]
    assert api.pending_updates() == []


async def wait_for_bot_messages(api: OfflineBotAPI, chat: OfflineChat, count: int) -> None:
    """Wait (up to 30 s) until the bot has sent ``count`` messages to ``chat``."""
    for _ in range(3000):
        if len(api.sent_messages(chat)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"the bot sent {len(api.sent_messages(chat))} messages, not {count}")


async def test_newsbot_run_in_another_process_answers_and_survives_sigkill(
    tmp_path: Path, server: OfflineServer, api: OfflineBotAPI, alice: OfflineUser, dm: OfflineChat
) -> None:
    api.token = TOKEN
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": server.base_url,
        "NEWSBOT_DB": str(tmp_path / "news.sqlite3"),
        "NO_PROXY": "127.0.0.1",
    }
    log = tmp_path / "newsbot.log"

    async def start() -> asyncio.subprocess.Process:
        with log.open("a") as stderr:
            return await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=env, stdout=stderr, stderr=stderr
            )

    bot = await start()
    try:
        api.send_text(dm, alice, "/start")
        await wait_for_bot_messages(api, dm, 1)
        bot.send_signal(signal.SIGKILL)
        await bot.wait()

        bot = await start()
        api.send_text(dm, alice, "/help")
        await wait_for_bot_messages(api, dm, 2)
    finally:
        if bot.returncode is None:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.wait(), 30)

    assert bot.returncode == 0, log.read_text()
    assert api.unknown_calls == [], log.read_text()
    assert TOKEN not in log.read_text()
