"""Fixtures shared by every test: a fresh database, and the real bot on the offline Bot API."""

from __future__ import annotations

import asyncio
import hashlib
import http.server
import os
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import hypothesis
import pytest
from telegram import Update

from bot.app import build_application, open_store
from bot.config import Settings
from bot.context import NewsApp
from bot.offline import ApiCall, OfflineBotAPI, OfflineChat, OfflineRequest, OfflineUser
from bot.outbox import Outbox
from storage import Store
from storage.ingest import enrich, parse_text

ADMIN_ID = 999
# A read on the event loop must go through an index: one that would scan fails its test.
Store.strict_point_reads = True

# Property tests judge what the code does, not how fast a shared machine runs it.
hypothesis.settings.register_profile(
    "newsbot", deadline=None, suppress_health_check=[hypothesis.HealthCheck.too_slow]
)
# .ci/run uses "ci": the same examples on every run, so a red run can be replayed and a
# green commit stays green; day-to-day runs keep exploring new examples.
hypothesis.settings.register_profile(
    "ci", parent=hypothesis.settings.get_profile("newsbot"), derandomize=True
)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "newsbot"))


POSTGRES_URL = os.environ.get("NEWSBOT_TEST_POSTGRES", "")
NO_POSTGRES = "NEWSBOT_TEST_POSTGRES is not set: the PostgreSQL runs of these tests are skipped"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "sqlite_only(why): the test is about SQLite itself (its file, its threads)"
    )


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say once why the PostgreSQL runs were skipped, and how many."""
    skipped = [
        report
        for report in terminalreporter.stats.get("skipped", [])
        if NO_POSTGRES in str(report.longrepr)
    ]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} skipped: {NO_POSTGRES}.")


@asynccontextmanager
async def postgres_schema() -> AsyncIterator[str]:
    """A database URL whose tables live in a fresh schema of their own, dropped after."""
    import asyncpg

    name = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(POSTGRES_URL)
    try:
        await admin.execute(f"CREATE SCHEMA {name}")
        joiner = "&" if "?" in POSTGRES_URL else "?"
        yield f"{POSTGRES_URL}{joiner}search_path={name}"
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {name} CASCADE")
        await admin.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """An empty, migrated store: a SQLite file in this test's temporary folder, and (when
    NEWSBOT_TEST_POSTGRES names a server) a schema of its own on PostgreSQL."""
    if request.param == "sqlite":
        opened = await Store.open(tmp_path / "news.sqlite3")
        yield opened
        await opened.close()
        return
    only = request.node.get_closest_marker("sqlite_only")
    if only is not None:
        pytest.skip(f"about SQLite alone: {only.args[0]}")
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    async with postgres_schema() as url:
        opened = await Store.open(url)
        yield opened
        await opened.close()


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: float = 1_764_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Driver:
    """Acts as Telegram's users against the real application and returns the bot's calls."""

    api: OfflineBotAPI
    app: NewsApp
    clock: Clock
    errors: list[BaseException] = field(default_factory=list)

    def chat_of(self, chat: OfflineChat | OfflineUser) -> OfflineChat:
        """A chat, or the private chat of a user."""
        return self.api.private_chat(chat) if isinstance(chat, OfflineUser) else chat

    def bot_messages(self, chat: OfflineChat | OfflineUser) -> list[dict[str, Any]]:
        """The bot's messages in a chat (or a user's private chat), oldest first."""
        return self.api.sent_messages(self.chat_of(chat))

    def last_id(self, chat: OfflineChat | OfflineUser) -> int:
        """The id of the bot's newest message in a chat."""
        return int(self.bot_messages(chat)[-1]["message_id"])

    async def feed(self, update: dict[str, Any], *, allow_errors: bool = False) -> list[ApiCall]:
        """Deliver one update (as JSON); the Bot API calls the bot made in answer."""
        mark = len(self.api.calls)
        seen = len(self.errors)
        await self.app.process_update(Update.de_json(update, self.app.bot))
        if not allow_errors and len(self.errors) > seen:
            raise self.errors[-1]
        return self.api.calls[mark:]

    async def say(
        self, chat: OfflineChat | OfflineUser, user: OfflineUser, text: str, **kwargs: Any
    ) -> list[ApiCall]:
        """``user`` sends ``text`` in ``chat`` (a user means their private chat)."""
        where = self.chat_of(chat)
        return await self.feed(self.api.send_text(where, user, text, queue=False, **kwargs))

    async def press(
        self, chat: OfflineChat | OfflineUser, message_id: int, user: OfflineUser, data: str
    ) -> list[ApiCall]:
        """``user`` presses the button with ``data`` under the bot's message."""
        where = self.chat_of(chat)
        return await self.feed(self.api.press_button(where, message_id, user, data, queue=False))

    async def edit(
        self, chat: OfflineChat | OfflineUser, message_id: int, user: OfflineUser, text: str
    ) -> list[ApiCall]:
        """``user`` edits their message."""
        where = self.chat_of(chat)
        return await self.feed(self.api.edit_text(where, message_id, user, text, queue=False))


async def until(condition: Any, seconds: float = 10.0) -> None:
    """Wait until ``condition()`` holds (a running bot works in the background)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not condition():
        assert loop.time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


def outbox_of(app: NewsApp) -> Outbox:
    """The application's outbox (``build_application`` makes it)."""
    assert app.bot_data.outbox is not None
    return app.bot_data.outbox


async def push_new_article(driver: Driver, store: Store, title: str) -> int:
    """Save a new article (which queues it for every subscribed chat) and send what is due."""
    text = f"{title}\n\nThe desk reported it in May 2024."
    await store.save_article(enrich(parse_text(text, f"{title}.txt")))
    return await outbox_of(driver.app).deliver_due(settle=0)


def sent(calls: list[ApiCall], method: str = "sendMessage") -> list[dict[str, Any]]:
    """The parameters of the calls of one method."""
    return [call.params for call in calls if call.method == method]


def texts(calls: list[ApiCall]) -> list[str]:
    """The texts the bot sent or edited in these calls."""
    return [
        call.params["text"] for call in calls if call.method in ("sendMessage", "editMessageText")
    ]


def only_text(calls: list[ApiCall]) -> str:
    """The one message text these calls sent (fails if there were more or none)."""
    found = texts(calls)
    assert len(found) == 1, found
    return found[0]


def buttons(params: dict[str, Any]) -> list[list[tuple[str, str]]]:
    """A sent message's inline keyboard as rows of (text, callback_data or url)."""
    markup = params.get("reply_markup") or {}
    return [
        [(b["text"], b.get("callback_data") or b.get("url", "")) for b in row]
        for row in markup.get("inline_keyboard", [])
    ]


class FeedServer:
    """A local HTTP server that serves the documents a test gives it (404 otherwise).

    Each answer carries an ETag, and a request that names it gets 304 Not Modified.
    """

    def __init__(self) -> None:
        self.documents: dict[str, bytes] = {}
        self.answers: list[tuple[str, int]] = []  # (path, status) of every request
        documents, answers = self.documents, self.answers

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = documents.get(self.path)
                if body is None:
                    answers.append((self.path, 404))
                    self.send_error(404)
                    return
                etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
                if self.headers.get("If-None-Match") == etag:
                    answers.append((self.path, 304))
                    self.send_response(304)
                    self.end_headers()
                    return
                answers.append((self.path, 200))
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", etag)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"

    def serve(self, path: str, body: bytes) -> str:
        """Serve ``body`` at ``path`` from now on; returns its URL."""
        self.documents[path] = body
        return self.base + path


@pytest.fixture
def feed_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FeedServer]:
    """A local HTTP server for feed URLs, stopped after the test."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):  # reach it directly
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    server = FeedServer()
    thread = threading.Thread(target=server.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.server.shutdown()
        server.server.server_close()


@pytest.fixture
def api() -> Iterator[OfflineBotAPI]:
    """The offline Bot API, with the bot @NewsTestBot; calling an unknown method fails a test."""
    offline = OfflineBotAPI(username="NewsTestBot")
    yield offline
    offline.check_methods_known()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for tests: a moderator id, the default limits."""
    return Settings(db_path=str(tmp_path / "news.sqlite3"), admin_ids=frozenset({ADMIN_ID}))


@pytest.fixture
async def driver(api: OfflineBotAPI, store: Store, settings: Settings) -> AsyncIterator[Driver]:
    """The real application on the offline Bot API, with the bundled sample as article 1."""
    app = build_application(settings, request=OfflineRequest(api), store=store)
    clock = Clock()
    app.bot_data.clock = clock
    driver = Driver(api, app, clock)

    async def record(update: object, context: Any) -> None:
        driver.errors.append(context.error)

    app.add_error_handler(record)
    async with app:
        await open_store(app)
        yield driver
