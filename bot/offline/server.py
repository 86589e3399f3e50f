"""The offline Bot API over loopback HTTP, for a real ``newsbot run`` in another process.

    api = OfflineBotAPI(token="123:ABC")
    async with OfflineServer(api) as server:
        # run: TELEGRAM_BASE_URL=<server.base_url> TELEGRAM_BOT_TOKEN=123:ABC newsbot run
        api.send_text(api.private_chat(alice), alice, "/start")  # queued for its getUpdates

Calls are answered as the Bot API answers them: ``POST /bot<token>/<method>`` with form
fields (what PTB's ``HTTPXRequest`` sends), a JSON object or multipart fields (``GET`` with
query parameters works too); the answer is the Bot API's JSON envelope with its HTTP status.
The server listens on 127.0.0.1 only (clients that honour HTTP_PROXY need NO_PROXY=127.0.0.1).

It outlives its clients: one killed mid-request (``kill -9``) changes nothing but that
its answer goes nowhere; a call it made is applied or not exactly as it would be for a
connected client (a long poll just stops), and every user, chat, message and pending update
is kept for the next one.

Planted network faults (``faults.py``) close the connection without an answer, so the client
sees "Server disconnected": after a lost answer (``drop_after_delivery``) the call was
applied; after a planted connect error (``fail_next(network=True)``) it was not.
"""

from __future__ import annotations

import asyncio
import json
import socket
from types import TracebackType
from typing import Any, Final

import tornado.httpserver
import tornado.httputil
import tornado.netutil
import tornado.web
from telegram.error import NetworkError

from bot.offline.api import OfflineBotAPI
from bot.offline.state import JSON, encode

# Parameters whose values are text: kept as sent, even when they look like JSON ("42").
_TEXT_FIELDS: Final = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_query_id",
        "inline_message_id",
        "web_app_query_id",
        "url",
        "secret_token",
        "ip_address",
        "action",
        "language_code",
        "next_offset",
        "switch_pm_text",
        "switch_pm_parameter",
        "name",
        "title",
        "description",
        "short_description",
        "emoji",
        "business_connection_id",
        "message_effect_id",
    ]
)


def form_value(key: str, raw: str) -> Any:
    """A form field as the Bot API reads it: JSON-encoded unless it is text (or not JSON)."""
    if key in _TEXT_FIELDS:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # e.g. chat_id "@channel"
    return value if isinstance(value, int | float | bool | list | dict) else raw


class _BotApiHandler(tornado.web.RequestHandler):
    """``/bot<token>/<method>``: one Bot API call."""

    api: OfflineBotAPI
    long_poll: asyncio.Future[tuple[int, JSON]] | None

    def initialize(self, api: OfflineBotAPI) -> None:
        self.api = api
        self.long_poll = None

    def on_connection_close(self) -> None:
        """A client gone mid long poll stops it (its offset was applied when it came)."""
        if self.long_poll is not None:
            self.long_poll.cancel()

    async def post(self, token: str, method: str) -> None:
        await self._answer(token, method)

    async def get(self, token: str, method: str) -> None:
        await self._answer(token, method)

    async def _answer(self, token: str, method: str) -> None:
        if self.api.token is not None and token != self.api.token:
            self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
            return
        try:
            params = self._params()
        except ValueError:
            self._reply(400, {"ok": False, "error_code": 400, "description": "Bad Request"})
            return
        answering = asyncio.ensure_future(self.api.dispatch(method, params))
        if method.lower() == "getupdates":
            self.long_poll = answering
        try:
            status, body = await answering
        except asyncio.CancelledError:
            return  # the client is gone
        except NetworkError:  # a planted fault: the connection ends without an answer
            self.detach().close()
            return
        self._reply(status, body)

    def _params(self) -> JSON:
        content_type = self.request.headers.get("Content-Type", "")
        if content_type.startswith("application/json"):
            decoded = json.loads(self.request.body or b"{}")
            if not isinstance(decoded, dict):
                raise ValueError("a JSON body must be an object")
            return decoded
        arguments: dict[str, list[bytes]] = dict(self.request.query_arguments)
        files: dict[str, list[tornado.httputil.HTTPFile]] = {}
        tornado.httputil.parse_body_arguments(
            content_type, self.request.body, arguments, files, self.request.headers
        )
        return {key: form_value(key, values[-1].decode()) for key, values in arguments.items()}

    def _reply(self, status: int, body: JSON) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(encode(body))

    def log_exception(self, *args: Any) -> None:
        """Errors are the Bot API's answers, not the server's troubles: no log."""


class _NotFound(tornado.web.RequestHandler):
    """Any other path, answered as the Bot API server answers it."""

    def prepare(self) -> None:
        self.set_status(404)
        self.set_header("Content-Type", "application/json")
        self.finish(encode({"ok": False, "error_code": 404, "description": "Not Found"}))


def _no_access_log(handler: tornado.web.RequestHandler) -> None:
    """Log no requests."""


class OfflineServer:
    """Serves an ``OfflineBotAPI`` at ``http://127.0.0.1:<port>/bot<token>/<method>``."""

    def __init__(self, api: OfflineBotAPI, *, port: int = 0) -> None:
        """``port`` 0 picks a free port (see ``port`` and ``base_url`` once started)."""
        self.api = api
        self.port = port
        self._server: tornado.httpserver.HTTPServer | None = None

    @property
    def base_url(self) -> str:
        """The TELEGRAM_BASE_URL for a bot (PTB appends ``<token>/<method>``)."""
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        """Listen on 127.0.0.1 (only)."""
        application = tornado.web.Application(
            [(r"/bot([^/]+)/([A-Za-z0-9_]+)", _BotApiHandler, {"api": self.api})],
            default_handler_class=_NotFound,
            log_function=_no_access_log,  # request lines carry the bot token
        )
        sockets = tornado.netutil.bind_sockets(self.port, "127.0.0.1", family=socket.AF_INET)
        self.port = int(sockets[0].getsockname()[1])
        self._server = tornado.httpserver.HTTPServer(application, idle_connection_timeout=300)
        self._server.add_sockets(sockets)

    async def stop(self) -> None:
        """Stop listening and close every connection (the API's state stays)."""
        if self._server is not None:
            self._server.stop()
            await self._server.close_all_connections()
            self._server = None

    async def __aenter__(self) -> OfflineServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
