"""The webhook server, end to end over loopback HTTP: the real application on the offline
Bot API behind the real server, spoken to as Telegram and a monitoring system speak."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
import os
import signal
import socket
import sys
from asyncio.subprocess import PIPE
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import ALLOWED_UPDATES, build_application
from bot.config import ConfigError, Settings
from bot.context import NewsApp
from bot.offline import OfflineBotAPI, OfflineRequest
from bot.offline.server import OfflineServer
from bot.webserver import SECRET_HEADER, WebhookServer, serve_webhook
from storage import Store, db, queues
from tests.conftest import Driver, push_new_article, until

TOKEN = "123:hook-token"
SECRET = "s3cret_-"
HOOK = f"/{TOKEN}"


@pytest.fixture
def hook_settings(settings: Settings) -> Settings:
    """Webhook settings: loopback, a free port, a secret."""
    return dataclasses.replace(
        settings,
        token=TOKEN,
        webhook_url="https://bot.example.com/hook/",
        webhook_secret=SECRET,
        webhook_listen="127.0.0.1",
        webhook_port=0,
        webhook_max_connections=7,
    )


@dataclasses.dataclass
class Worker:
    """One running worker: its application, its server and an HTTP client for it."""

    app: NewsApp
    server: WebhookServer
    http: httpx.AsyncClient

    async def post_update(self, update: Any, secret: str | None = SECRET) -> httpx.Response:
        """POST ``update`` (JSON, or raw bytes) to the webhook as Telegram does."""
        return await post_update(self.http, update, secret)

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        """The samples of GET /metrics by (name, labels)."""
        answer = await self.http.get("/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"].startswith("text/plain")
        return {
            (sample.name, tuple(sorted(sample.labels.items()))): sample.value
            for family in text_string_to_metric_families(answer.text)
            for sample in family.samples
        }


async def post_update(
    http: httpx.AsyncClient, update: Any, secret: str | None = SECRET
) -> httpx.Response:
    """POST ``update`` (JSON, or raw bytes) to the webhook as Telegram does, on a new
    connection."""
    headers = {"Content-Type": "application/json", "Connection": "close"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    return await http.post(HOOK, content=body, headers=headers)


def client(server: WebhookServer) -> httpx.AsyncClient:
    """A client for the server on loopback (no proxy from the environment)."""
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", trust_env=False)


@contextlib.asynccontextmanager
async def running(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> AsyncIterator[tuple[Worker, asyncio.Event, asyncio.Task[None]]]:
    """``newsbot run`` with WEBHOOK_URL set, in this process: the worker, the event that
    stops it (SIGTERM's) and the task serving it; stopped at the end if still running."""
    app = build_application(settings, request=OfflineRequest(api), store=store)
    server = WebhookServer(app, settings)
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(serve_webhook(server, ALLOWED_UPDATES, stop, ready=ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([task, waiting], timeout=10, return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if task.done():
        task.result()  # it failed to start: say why
    assert ready.is_set(), "the worker did not start"
    async with client(server) as http:
        try:
            yield Worker(app, server, http), stop, task
        finally:
            stop.set()
            await task


@pytest.fixture
async def worker(
    api: OfflineBotAPI, store: Store, hook_settings: Settings
) -> AsyncIterator[Worker]:
    """A running worker on the test's database."""
    async with running(api, store, hook_settings) as (started, _, _):
        yield started


@contextlib.asynccontextmanager
async def listening(api: OfflineBotAPI, store: Store, settings: Settings) -> AsyncIterator[Worker]:
    """The server alone, in front of an application that holds ``store`` (not started)."""
    app = build_application(settings, request=OfflineRequest(api), store=store)
    server = WebhookServer(app, settings)
    await server.start()
    try:
        async with client(server) as http:
            yield Worker(app, server, http)
    finally:
        await server.stop()


async def inbox_ids(store: Store) -> list[int]:
    rows = await store._all("SELECT update_id FROM inbox ORDER BY update_id")
    return [int(row[0]) for row in rows]


# ---------------------------------------------------------------------- updates


async def test_an_update_posted_to_the_webhook_gets_the_bots_answer(
    api: OfflineBotAPI, store: Store, worker: Worker
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    update = api.send_text(chat, reader, "/start", queue=False)
    answer = await worker.post_update(update)
    assert answer.status_code == 200
    await until(lambda: len(api.sent_messages(chat)) == 1)
    assert "/latest" in api.sent_messages(chat)[0]["text"]
    assert await inbox_ids(store) == [update["update_id"]]
    # Every worker sets the webhook at start: the public URL, the secret, the connections.
    assert api.webhook is not None
    assert api.webhook["url"] == f"https://bot.example.com/hook/{TOKEN}"
    assert api.webhook["secret_token"] == SECRET
    assert api.webhook["max_connections"] == 7
    assert api.webhook["allowed_updates"] == ALLOWED_UPDATES


async def test_the_answer_comes_only_once_the_update_is_in_the_inbox(
    api: OfflineBotAPI, store: Store, worker: Worker
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    api.hold("sendMessage")  # the handler cannot finish: only the inbox has the update
    try:
        update = api.send_text(chat, reader, "/help", queue=False)
        assert (await worker.post_update(update)).status_code == 200
        stored = [update_id for update_id, _ in await queues.unhandled_updates(store)]
        assert stored == [update["update_id"]]
    finally:
        api.release("sendMessage")
    await until(lambda: len(api.sent_messages(chat)) == 1)


@pytest.mark.parametrize("secret", ["wrong", None])
async def test_a_wrong_or_missing_secret_is_refused_and_nothing_stored(
    api: OfflineBotAPI, store: Store, worker: Worker, secret: str | None
) -> None:
    reader = api.user("Reader")
    update = api.send_text(api.private_chat(reader), reader, "/start", queue=False)
    answer = await worker.post_update(update, secret=secret)
    assert answer.status_code == 403
    assert await inbox_ids(store) == []
    assert api.calls_to("sendMessage") == []


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe", b"[1, 2]", b'{"message": {}}', b'{"update_id": 5, "message": 1}'],
)
async def test_a_body_that_is_no_update_is_a_400_and_nothing_stored(
    api: OfflineBotAPI, store: Store, worker: Worker, body: bytes
) -> None:
    answer = await worker.post_update(body)
    assert answer.status_code == 400
    assert "Traceback" not in answer.text
    assert await inbox_ids(store) == []


async def test_an_update_that_cannot_be_stored_is_a_503_for_telegram_to_send_again(
    api: OfflineBotAPI, store: Store, hook_settings: Settings
) -> None:
    """The application's queue stores an update before taking it; here its store is shut."""
    reader = api.user("Reader")
    update = api.send_text(api.private_chat(reader), reader, "/start", queue=False)
    other = await Store.open(Path(hook_settings.db_path).with_name("other.sqlite3"))
    async with listening(api, other, hook_settings) as bare:
        assert bare.app.bot_data.inbox is not None
        bare.app.bot_data.inbox.attach(other)
        await other.close()
        answer = await bare.post_update(update)
    assert answer.status_code == 503


# ---------------------------------------------------------------------- health


async def test_healthz_is_ok_while_the_database_serves(worker: Worker) -> None:
    answer = await worker.http.get("/healthz")
    assert (answer.status_code, answer.text) == (200, "ok")


async def test_healthz_is_503_with_the_reason_when_the_database_is_closed(
    api: OfflineBotAPI, hook_settings: Settings, tmp_path: Path
) -> None:
    closed = await Store.open(tmp_path / "closed.sqlite3")
    async with listening(api, closed, hook_settings) as bare:
        assert (await bare.http.get("/healthz")).status_code == 200
        await closed.close()
        answer = await bare.http.get("/healthz")
    assert answer.status_code == 503
    assert answer.text.startswith("the database does not answer")
    assert "\n" not in answer.text


async def test_metrics_still_answer_when_the_database_does_not(
    api: OfflineBotAPI, hook_settings: Settings, tmp_path: Path
) -> None:
    """The backlog gauges read the database; without it they are unknown, not an error."""
    closed = await Store.open(tmp_path / "closed.sqlite3")
    async with listening(api, closed, hook_settings) as bare:
        assert (await bare.metrics())[("newsbot_inbox_waiting", ())] == 0
        await closed.close()
        samples = await bare.metrics()
    assert math.isnan(samples[("newsbot_inbox_waiting", ())])
    assert math.isnan(samples[("newsbot_outbox_queued", ())])


async def test_healthz_is_503_when_the_schema_is_behind_this_newsbot(
    api: OfflineBotAPI, hook_settings: Settings, tmp_path: Path
) -> None:
    latest = len(db.migrations())
    path = tmp_path / "older.sqlite3"
    older = Store(await db.connect(path, upto=latest - 1), str(path))
    try:
        async with listening(api, older, hook_settings) as bare:
            answer = await bare.http.get("/healthz")
    finally:
        await older.close()
    assert answer.status_code == 503
    assert answer.text == (
        f"the database schema is at version {latest - 1}, this newsbot expects {latest}"
    )


async def test_healthz_is_503_before_the_database_is_open(
    api: OfflineBotAPI, hook_settings: Settings
) -> None:
    app = build_application(hook_settings, request=OfflineRequest(api))
    server = WebhookServer(app, hook_settings)
    await server.start()
    try:
        async with client(server) as http:
            answer = await http.get("/healthz")
    finally:
        await server.stop()
    assert (answer.status_code, answer.text) == (503, "the database is not open")


# ---------------------------------------------------------------------- metrics


async def test_metrics_count_updates_by_kind_their_time_deliveries_and_flood_waits(
    api: OfflineBotAPI, store: Store, worker: Worker
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    api.fail_next("sendMessage", retry_after=0)  # a 429, waited out at once
    await worker.post_update(api.send_text(chat, reader, "/comment 1 Counted.", queue=False))
    await until(lambda: len(api.sent_messages(chat)) == 1)
    await worker.post_update(api.send_text(chat, reader, "/article 1", queue=False))
    await until(lambda: len(api.sent_messages(chat)) == 2)
    card = api.sent_messages(chat)[1]
    data = card["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    pressed = api.press_button(chat, card["message_id"], reader, data, queue=False)
    await worker.post_update(pressed)
    await until(lambda: len(api.calls_to("answerCallbackQuery")) == 1)
    await asyncio.sleep(0.05)  # the handler returns after its answer
    samples = await worker.metrics()
    assert samples[("newsbot_updates_total", (("kind", "message"),))] == 2
    assert samples[("newsbot_updates_total", (("kind", "callback_query"),))] == 1
    assert samples[("newsbot_update_seconds_count", ())] == 3
    assert samples[("newsbot_update_seconds_bucket", (("le", "+Inf"),))] == 3
    assert samples[("newsbot_update_seconds_sum", ())] > 0
    assert samples[("newsbot_deliveries_total", (("result", "sent"),))] == 1  # a confirmation
    assert samples[("newsbot_deliveries_total", (("result", "failed"),))] == 0
    assert samples[("newsbot_flood_waits_total", ())] == 1
    assert samples[("newsbot_outbox_queued", ())] == 0


async def test_metrics_read_the_backlogs_from_the_store_when_scraped(
    api: OfflineBotAPI, store: Store, worker: Worker
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    api.hold("sendMessage")
    try:
        await worker.post_update(api.send_text(chat, reader, "/help", queue=False))
        samples = await worker.metrics()
        assert samples[("newsbot_inbox_waiting", ())] == 1
    finally:
        api.release("sendMessage")
    await until(lambda: len(api.sent_messages(chat)) == 1)
    await asyncio.sleep(0.1)  # the handled mark is written with others, within 20 ms
    assert (await worker.metrics())[("newsbot_inbox_waiting", ())] == 0


async def test_pushes_are_counted_by_what_became_of_them(driver: Driver, store: Store) -> None:
    fans = [driver.api.user(f"Fan{n}") for n in range(3)]
    for fan in fans:
        await driver.say(fan, fan, "/subscribe")
    driver.api.block_bot(fans[0], queue=False)  # Telegram answers 403 from now on
    await push_new_article(driver, store, "Counted Story")
    registry = driver.app.bot_data.metrics.registry

    def deliveries(result: str) -> float | None:
        return registry.get_sample_value("newsbot_deliveries_total", {"result": result})

    assert (deliveries("sent"), deliveries("failed"), deliveries("unknown")) == (2, 1, 0)


async def test_each_application_counts_in_its_own_registry(
    api: OfflineBotAPI, store: Store, hook_settings: Settings
) -> None:
    first = build_application(hook_settings, request=OfflineRequest(api), store=store)
    second = build_application(hook_settings, request=OfflineRequest(api), store=store)
    first.bot_data.metrics.delivered("sent")
    sent = ("newsbot_deliveries_total", {"result": "sent"})
    assert first.bot_data.metrics.registry.get_sample_value(*sent) == 1
    assert second.bot_data.metrics.registry.get_sample_value(*sent) == 0


# ---------------------------------------------------------------------- workers


async def test_two_workers_share_one_port_with_reuse_port_and_both_answer(
    api: OfflineBotAPI, store: Store, hook_settings: Settings
) -> None:
    if not hasattr(socket, "SO_REUSEPORT"):
        pytest.skip("this platform has no SO_REUSEPORT")
    shared = dataclasses.replace(hook_settings, webhook_reuse_port=True)
    second_store = await Store.open(hook_settings.db_path)  # the same database
    try:
        async with running(api, store, shared) as (first, _, _):
            on_its_port = dataclasses.replace(shared, webhook_port=first.server.port)
            async with running(api, second_store, on_its_port) as (second, _, _):
                assert second.server.port == first.server.port
                readers = [api.user(f"Reader{n}") for n in range(40)]
                for reader in readers:  # a new connection each: the kernel picks a worker
                    update = api.send_text(api.private_chat(reader), reader, "/help", queue=False)
                    assert (await first.post_update(update)).status_code == 200

                # Each worker's own count (a GET on the shared port reaches either worker).
                def counts() -> list[float]:
                    return [handled_messages(w.app) for w in (first, second)]

                await until(lambda: sum(counts()) == 40)
                assert len(api.calls_to("sendMessage")) == 40
                assert min(counts()) > 0, f"one worker took every update: {counts()}"
    finally:
        await second_store.close()


def handled_messages(app: NewsApp) -> float:
    """How many message updates the application counted."""
    value = app.bot_data.metrics.registry.get_sample_value(
        "newsbot_updates_total", {"kind": "message"}
    )
    return value or 0.0


async def test_without_reuse_port_a_second_worker_on_the_same_port_fails_with_one_line(
    api: OfflineBotAPI, store: Store, hook_settings: Settings, worker: Worker
) -> None:
    taken = dataclasses.replace(hook_settings, webhook_port=worker.server.port)
    app = build_application(taken, request=OfflineRequest(api), store=store)
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{worker.server.port}"):
        await WebhookServer(app, taken).start()


# ---------------------------------------------------------------------- stopping


async def test_stopping_takes_no_more_requests_then_handles_what_it_took(
    api: OfflineBotAPI, store: Store, hook_settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    async with running(api, store, hook_settings) as (worker, stop, task):
        update = api.send_text(chat, reader, "/comment 1 Taken just before the stop.", queue=False)
        api.hold("sendMessage")
        assert (await worker.post_update(update)).status_code == 200
        stop.set()  # SIGTERM
        await until(lambda: not _accepts(worker))
        api.release("sendMessage")
        await task
        with pytest.raises(httpx.ConnectError):
            await worker.http.get("/healthz")
    # The update taken was handled and marked so before the application closed.
    assert len(api.sent_messages(chat)) == 1
    assert await queues.unhandled_updates(store) == []


def _accepts(worker: Worker) -> bool:
    """Whether the worker's port still takes connections."""
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", worker.server.port)) == 0


# ---------------------------------------------------------------------- newsbot run


async def test_newsbot_run_serves_the_webhook_and_stops_cleanly_on_sigterm(
    tmp_path: Path,
) -> None:
    """The real command in a process of its own, on the offline Bot API over loopback."""
    api = OfflineBotAPI(token=TOKEN, username="NewsTestBot")
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    with socket.socket() as probe:  # a free port for the worker
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with OfflineServer(api) as offline:
        process = await newsbot_run(offline, str(tmp_path / "news.sqlite3"), port, tmp_path, PIPE)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False
            ) as http:
                await until_healthy(http, process)
                update = api.send_text(chat, reader, "/start", queue=False)
                assert (await post_update(http, update)).status_code == 200
                await until(lambda: len(api.sent_messages(chat)) == 1, seconds=20)
                process.send_signal(signal.SIGTERM)
                _, errors = await asyncio.wait_for(process.communicate(), 60)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    log = errors.decode()
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert f"webhook server listening on 127.0.0.1:{port}" in log
    assert api.webhook is not None and api.webhook["url"] == f"https://bot.example.com/{TOKEN}"
    assert TOKEN not in log
    store = await Store.open(tmp_path / "news.sqlite3")
    try:
        assert await inbox_ids(store) == [update["update_id"]]
        assert await queues.unhandled_updates(store) == []
    finally:
        await store.close()


async def newsbot_run(
    offline: OfflineServer, db: str, port: int, folder: Path, stderr: int
) -> asyncio.subprocess.Process:
    """``newsbot run`` in a process of its own: a webhook worker on ``port`` with the
    database ``db``, talking to the offline Bot API over loopback."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": offline.base_url,
        "NEWSBOT_DB": db,
        "NO_PROXY": "127.0.0.1",
        "WEBHOOK_URL": "https://bot.example.com",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, cwd=folder, stderr=stderr
    )


async def until_healthy(http: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    """Wait until the worker answers /healthz with 200 (it starts in a few seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while True:
        assert process.returncode is None, "newsbot run stopped"
        with contextlib.suppress(httpx.TransportError):
            if (await http.get("/healthz")).status_code == 200:
                return
        assert loop.time() < deadline, "newsbot run did not start"
        await asyncio.sleep(0.1)


async def test_an_update_with_a_lone_surrogate_is_stored_and_answered(
    api: OfflineBotAPI, store: Store, worker: Worker
) -> None:
    """JSON may escape a lone surrogate ("\\ud800"), which no encoder takes."""
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    update = api.send_text(chat, reader, "/search x", queue=False)
    body = json.dumps(update).replace("/search x", "/search a\\ud800b").encode()
    assert (await worker.post_update(body)).status_code == 200
    await until(lambda: len(api.sent_messages(chat)) == 1)
    assert await inbox_ids(store) == [update["update_id"]]
