"""The webhook server: updates in, each kept in the inbox before Telegram is answered.

    POST /<token>   an update from Telegram: 200 once it is in the inbox; 403 when
                    WEBHOOK_SECRET is set and the X-Telegram-Bot-Api-Secret-Token
                    header does not match; 400 for a body that is not an update; 503
                    when it could not be stored (Telegram sends it again)
    GET /healthz    200 "ok"; 503 and the reason when the database does not answer or
                    its schema is not the one this newsbot expects (``storage.health``)
    GET /metrics    the application's metrics in Prometheus' text format (``bot.metrics``)

Several processes can serve one database: each binds WEBHOOK_PORT with SO_REUSEPORT
when WEBHOOK_REUSE_PORT is on (the kernel spreads connections over them), or its own
port behind a reverse proxy. Each sets the webhook at start, which Telegram takes as
often as it is asked.

``serve_webhook`` runs the application in the order python-telegram-bot's
``run_webhook`` does, this server in place of its updater's: initialize, post_init,
listen, setWebhook, start; once stopped, the server stops taking requests first, then
the application stops (handling what it took), post_stop, shutdown, post_shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import re
import signal
import socket
from collections.abc import Iterator, Sequence

import tornado.httpserver
import tornado.web
from telegram import Update

from bot.config import ConfigError, Settings
from bot.context import NewsApp
from bot.metrics import EXPOSITION_TYPE
from storage import health

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
PLAIN_TEXT = "text/plain; charset=utf-8"
HEALTH_SECONDS = 2.0  # longest the database may take to answer /healthz and /metrics
DRAIN_SECONDS = 5.0  # how long a stopping server lets updates under way be answered


class WebhookServer:
    """The HTTP side of one worker: Telegram's updates, /healthz and /metrics."""

    def __init__(self, app: NewsApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.secret = settings.webhook_secret
        self.port = settings.webhook_port  # the port bound, once started (0 picks one)
        self._storing = 0  # updates being stored and not yet answered
        self._idle = asyncio.Event()  # set while none is
        self._idle.set()
        routes = [
            (rf"/{re.escape(settings.token or '')}/?", UpdateHandler, {"server": self}),
            (r"/healthz", HealthHandler, {"server": self}),
            (r"/metrics", MetricsHandler, {"server": self}),
        ]
        # No line a request: the webhook's path holds the token, and Telegram calls often.
        self.routes = tornado.web.Application(routes, log_function=lambda handler: None)
        self._http: tornado.httpserver.HTTPServer | None = None

    async def start(self) -> None:
        """Listen on WEBHOOK_LISTEN:WEBHOOK_PORT (sharing it when WEBHOOK_REUSE_PORT is on)."""
        settings = self.settings
        where = f"{settings.webhook_listen}:{settings.webhook_port}"
        try:
            listener = bind(
                settings.webhook_listen, settings.webhook_port, settings.webhook_reuse_port
            )
        except OSError as exc:
            raise ConfigError(f"cannot listen on {where}: {exc.strerror or exc}") from None
        self.port = listener.getsockname()[1]
        self._http = tornado.httpserver.HTTPServer(self.routes)
        self._http.add_socket(listener)
        log.info("webhook server listening on %s:%d", settings.webhook_listen, self.port)

    async def stop(self) -> None:
        """Stop taking requests; let updates under way be answered, then close every
        connection."""
        http, self._http = self._http, None
        if http is None:
            return
        http.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), DRAIN_SECONDS)
        await http.close_all_connections()

    @contextlib.contextmanager
    def storing(self) -> Iterator[None]:
        """While an update is being stored: a stopping server waits for its answer."""
        self._storing += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._storing -= 1
            if not self._storing:
                self._idle.set()

    async def health(self) -> str | None:
        """None when the database serves this newsbot; otherwise why not."""
        store = self.app.bot_data.store
        if store is None:
            return "the database is not open"
        try:
            return await asyncio.wait_for(health.check(store), HEALTH_SECONDS)
        except TimeoutError:
            return f"the database did not answer within {HEALTH_SECONDS:g}s"

    async def metrics(self) -> bytes:
        """The metrics, the backlogs read from the store just now (NaN if it does not
        answer: no stale figure is shown)."""
        metrics = self.app.bot_data.metrics
        store = self.app.bot_data.store
        try:
            if store is None:
                raise LookupError("the database is not open")
            await asyncio.wait_for(metrics.read_backlog(store), HEALTH_SECONDS)
        except Exception as exc:  # the other figures still help while the database is away
            log.warning("metrics: cannot read the backlogs: %s", exc)
            metrics.inbox_waiting.set(math.nan)
            metrics.outbox_queued.set(math.nan)
        return metrics.exposition()


class _Handler(tornado.web.RequestHandler):
    """A request to the webhook server; answers are plain text."""

    def initialize(self, server: WebhookServer) -> None:
        """Tornado's per-request set-up: the server the request came to."""
        self.server = server

    def answer(self, status: int, text: str | bytes = "", content_type: str = PLAIN_TEXT) -> None:
        """Finish the request with ``status`` and ``text``."""
        self.set_status(status)
        self.set_header("Content-Type", content_type)
        self.finish(text)


class UpdateHandler(_Handler):
    """Telegram's POST of one update."""

    async def post(self) -> None:
        """Check the secret, decode the update, keep it in the inbox, then answer 200."""
        if not self._secret_matches():
            self.answer(403, "wrong secret token")
            return
        update = parse_update(self.request.body, self.server.app)
        if update is None:
            log.warning("webhook: a request that is not a Telegram update (answered 400)")
            self.answer(400, "not a Telegram update")
            return
        try:
            with self.server.storing():
                # The application's queue is the inbox's (bot.inbox.InboxQueue): the update
                # is in the database before this returns, so before Telegram hears of it.
                await self.server.app.update_queue.put(update)
        except Exception as exc:
            log.warning("webhook: could not store update %s (%s)", update.update_id, exc)
            self.answer(503, "the update could not be stored; send it again")
            return
        self.answer(200)

    def _secret_matches(self) -> bool:
        secret = self.server.secret
        if secret is None:
            return True
        given = self.request.headers.get(SECRET_HEADER, "")
        return hmac.compare_digest(given.encode(), secret.encode())


class HealthHandler(_Handler):
    """``GET /healthz``: whether this worker can serve."""

    async def get(self) -> None:
        """200 "ok", or 503 and the reason in one line."""
        problem = await self.server.health()
        self.answer(503 if problem else 200, problem or "ok")


class MetricsHandler(_Handler):
    """``GET /metrics``: Prometheus' scrape."""

    async def get(self) -> None:
        """Every metric in the text exposition format."""
        self.answer(200, await self.server.metrics(), content_type=EXPOSITION_TYPE)


def bind(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A listening socket on ``host:port``; with ``reuse_port``, one other processes may
    bind too (SO_REUSEPORT), the kernel spreading connections over them."""
    if reuse_port and not hasattr(socket, "SO_REUSEPORT"):
        raise ConfigError("WEBHOOK_REUSE_PORT: this platform has no SO_REUSEPORT")
    family, kind, proto, _, address = socket.getaddrinfo(
        host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    listener = socket.socket(family, kind, proto)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # restarts at once
        if reuse_port:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        listener.setblocking(False)
        listener.bind(address)
        listener.listen(socket.SOMAXCONN)
    except BaseException:
        listener.close()
        raise
    return listener


def parse_update(body: bytes, app: NewsApp) -> Update | None:
    """The update a webhook request carries; None if it carries none."""
    try:
        data = json.loads(body)
    except ValueError:  # not JSON, or not UTF-8
        return None
    if not isinstance(data, dict) or not isinstance(data.get("update_id"), int):
        return None
    try:
        return Update.de_json(data, app.bot)
    except Exception:  # JSON in the wrong shape: python-telegram-bot's errors vary
        return None


async def serve_webhook(
    server: WebhookServer,
    allowed_updates: Sequence[str],
    stop: asyncio.Event,
    *,
    ready: asyncio.Event | None = None,
) -> None:
    """Run the application behind ``server`` until ``stop`` is set (``ready``: once it
    takes updates), starting and stopping both in order."""
    app, settings = server.app, server.settings
    try:
        await app.initialize()
        if app.post_init:
            await app.post_init(app)
        await server.start()
        await app.bot.set_webhook(
            url=f"{(settings.webhook_url or '').rstrip('/')}/{settings.token}",
            secret_token=settings.webhook_secret,
            allowed_updates=allowed_updates,
            max_connections=settings.webhook_max_connections,
        )
        await app.start()
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        await server.stop()
        if app.running:
            inbox = app.bot_data.inbox
            if inbox is not None:  # what this worker stored is handled before it stops
                await inbox.drain(app.update_queue, app.bot)
            await app.stop()
            if app.post_stop:
                await app.post_stop(app)
        await app.shutdown()
        if app.post_shutdown:
            await app.post_shutdown(app)


def run_webhook(app: NewsApp, settings: Settings, allowed_updates: Sequence[str]) -> None:
    """Serve the webhook until SIGTERM or Ctrl-C."""

    async def until_signalled() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await serve_webhook(WebhookServer(app, settings), allowed_updates, stop)

    asyncio.run(until_signalled())
