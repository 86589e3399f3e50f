"""What an operator and a reader see when things fail: database faults, network
errors, flood waits, a rejected token, an unreachable Bot API, the admin chat's reports."""

from __future__ import annotations

import dataclasses
import logging
import sqlite3
from pathlib import Path

import pytest
from telegram import Update
from telegram.error import NetworkError

from bot.app import TOKEN_REJECTED, build_application, reach_bot_api
from bot.config import ConfigError, Settings, configure_logging
from bot.handlers.errors import APOLOGY
from bot.offline import OfflineBotAPI, OfflineRequest
from storage import Store, load_bundled_sample
from storage.errors import DatabaseCorrupt, DatabaseFull
from tests.conftest import Clock, Driver, only_text
from tests.faults import damage_page, fill_up, make_room

TOKEN = "123456:AAHsecretsecretsecret"


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info is not None or r.exc_text]


@pytest.mark.sqlite_only("a full file")
async def test_a_full_disk_gets_the_reader_a_clear_reply_and_the_log_one_line(
    driver: Driver, store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    ada = driver.api.user("Ada")
    await driver.say(ada, ada, "/comment 1 Saved before the disk filled")
    await fill_up(store.db)
    chat = driver.chat_of(ada)
    for n in range(3):
        # Wider than a page (3 bytes a character): it needs new pages wherever it goes.
        text = f"/comment 1 Attempt {n} " + "漢" * 1500
        calls = await driver.feed(
            driver.api.send_text(chat, ada, text, queue=False), allow_errors=True
        )
        assert only_text(calls) == DatabaseFull.reader_text
    assert [type(e) for e in driver.errors] == [DatabaseFull] * 3
    faults = [r for r in caplog.records if "disk is full" in r.getMessage()]
    assert len(faults) == 1 and faults[0].levelno == logging.ERROR
    assert tracebacks(caplog) == []
    await make_room(store.db)
    calls = await driver.say(ada, ada, "/comment 1 After space was freed")
    assert only_text(calls).startswith("✅ Comment #")
    comments = await store.all_comments(1)
    assert [c.body for c in comments][-2:] == [
        "Saved before the disk filled",
        "After space was freed",
    ]


async def test_a_flood_wait_in_a_handler_is_one_warning_line(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    bo = driver.api.user("Bo")
    driver.api.fail_next("sendMessage", retry_after=3600)
    chat = driver.chat_of(bo)
    calls = await driver.feed(
        driver.api.send_text(chat, bo, "/help", queue=False), allow_errors=True
    )
    assert [m["text"] for m in driver.bot_messages(bo)] == [APOLOGY]
    assert [c.ok for c in calls if c.method == "sendMessage"] == [False, True]
    [line] = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert line.levelno == logging.WARNING
    assert line.getMessage().startswith(
        "RetryAfter: Flood control exceeded. Retry in 1:00:00, while handling update "
    )
    assert tracebacks(caplog) == []


async def test_a_network_error_in_a_handler_is_one_warning_line(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    cy = driver.api.user("Cy")
    driver.app.bot.request.backoff = 0.01  # type: ignore[attr-defined]
    driver.api.fail_next("sendMessage", network=True, times=4)  # more than are retried
    chat = driver.chat_of(cy)
    await driver.feed(driver.api.send_text(chat, cy, "/latest", queue=False), allow_errors=True)
    [line] = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert line.levelno == logging.WARNING
    message = line.getMessage()
    assert message.startswith("NotDelivered: ") and "planted" in message  # a NetworkError
    assert ", while handling update " in message and "\n" not in message
    assert tracebacks(caplog) == []
    assert driver.bot_messages(cy)[-1]["text"] == APOLOGY


async def test_admin_reports_come_at_most_once_a_minute_with_repeats_counted(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    admin_chat = api.group("Ops")
    settings = dataclasses.replace(settings, admin_chat_id=admin_chat.id)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    clock = Clock()
    app.bot_data.clock = clock
    reader = api.user("Reader")
    chat = api.private_chat(reader)

    async def latest() -> None:
        update = api.send_text(chat, reader, "/latest", queue=False)
        await app.process_update(Update.de_json(update, app.bot))

    async with app:
        await store.close()  # every query now fails
        for _ in range(5):
            await latest()
            clock.advance(10)
        assert len(api.sent_messages(admin_chat)) == 1
        clock.advance(20)  # a minute since the first report
        await latest()
    assert len(api.sent_messages(chat)) == 6  # every reader was answered
    first, second = (m["text"] for m in api.sent_messages(admin_chat))
    assert first.startswith("⚠️ newsbot error while handling update")
    assert "more since the last report" not in first
    closed = {
        "sqlite": "ValueError: Connection closed",
        "postgres": "InterfaceError: pool is closed",
    }
    assert second.endswith(f"\n4 more since the last report:\n4× {closed[store.engine]}")


async def test_an_unreachable_bot_api_at_start_is_tried_again_one_line_each(
    api: OfflineBotAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("getMe", network=True, times=3)
    username = await reach_bot_api(settings, OfflineRequest(api), backoff=(0.01, 0.02))
    assert username == "NewsTestBot"
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.app"]
    base = settings.base_url
    expected = [(1, "0.01"), (2, "0.02"), (3, "0.02")]
    assert len(lines) == len(expected)
    for line, (n, pause) in zip(lines, expected, strict=True):
        assert line.startswith(f"cannot reach the Bot API at {base} (") and "planted" in line
        assert line.endswith(f"); attempt {n}, next in {pause}s")
    assert tracebacks(caplog) == []


async def test_a_flood_wait_at_start_is_waited_out_with_one_line(
    api: OfflineBotAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    api.fail_next("getMe", retry_after=1)
    assert await reach_bot_api(settings, OfflineRequest(api)) == "NewsTestBot"
    assert [r.getMessage() for r in caplog.records] == [
        "the Bot API asks to wait 1s (flood control); attempt 1"
    ]


async def test_a_rejected_token_stops_the_start_with_one_line(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    api = OfflineBotAPI(token="123456:TheRightOne")
    settings = dataclasses.replace(settings, token=TOKEN)
    with pytest.raises(ConfigError) as rejected:
        await reach_bot_api(settings, OfflineRequest(api), backoff=(0.01, 0.02))
    assert str(rejected.value) == TOKEN_REJECTED
    assert caplog.records == []


def test_the_token_is_redacted_from_every_log_line(caplog: pytest.LogCaptureFixture) -> None:
    configure_logging(Settings(token=TOKEN, webhook_secret="hook-secret"))
    url = f"https://api.telegram.org/bot{TOKEN}/getMe"
    logging.getLogger("telegram.ext.Updater").warning("calling %s", url)
    logging.getLogger("tornado.access").error("POST /%s?s=hook-secret", TOKEN)
    try:
        raise RuntimeError(f"failed: {url}")
    except RuntimeError:
        logging.getLogger("bot").exception("handler crashed")
    assert len(caplog.records) == 3
    assert TOKEN not in caplog.text and "hook-secret" not in caplog.text
    assert "calling https://api.telegram.org/bot<secret>/getMe" in caplog.text
    assert "RuntimeError: failed: https://api.telegram.org/bot<secret>/getMe" in caplog.text
    # httpx logs each request's URL at INFO: not shown below WARNING.
    assert not logging.getLogger("httpx").isEnabledFor(logging.INFO)


async def test_a_damaged_page_met_while_reading_is_a_plain_reply_and_one_line(
    api: OfflineBotAPI, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    path = Path(settings.db_path)
    store = await Store.open(path)
    await load_bundled_sample(store)
    await store.close()
    with sqlite3.connect(path) as db:
        [(page,)] = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles'")
    damage_page(path, page)
    store = await Store.open(path)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    reader = api.user("Reader")
    try:
        async with app:
            update = api.send_text(api.private_chat(reader), reader, "/article 1", queue=False)
            await app.process_update(Update.de_json(update, app.bot))
    finally:
        await store.close()
    [reply] = api.sent_messages(api.private_chat(reader))
    assert reply["text"] == DatabaseCorrupt.reader_text
    [line] = [r for r in caplog.records if r.name == "bot.handlers.errors"]
    assert line.levelno == logging.ERROR
    assert line.getMessage() == (
        f"database {path}: it is damaged (database disk image is malformed), while handling "
        f"update {update['update_id']}, chat {reader.id}, user {reader.id}, text '/article 1'"
    )
    assert tracebacks(caplog) == []


async def test_a_failed_get_updates_is_one_warning_line(
    driver: Driver, caplog: pytest.LogCaptureFixture
) -> None:
    # run_polling hands getUpdates' errors to the error handlers with no update.
    await driver.app.process_error(None, NetworkError("httpx.ReadError: connection reset"))
    assert [(r.levelno, r.getMessage()) for r in caplog.records] == [
        (
            logging.WARNING,
            "NetworkError: httpx.ReadError: connection reset, while handling polling for updates",
        )
    ]
