"""An in-process stand-in for the Telegram Bot API (end-to-end tests and ``newsbot chat``).

The real PTB ``Application`` is built with ``OfflineRequest(api)`` as its transport, so every
Bot API call the bot makes is answered here, in the Bot API's own JSON envelope, and PTB
raises ``BadRequest``/``Forbidden``/``RetryAfter`` itself, exactly as against Telegram::

    api = OfflineBotAPI(username="NewsTestBot")
    builder = ApplicationBuilder().token("1:offline").request(OfflineRequest(api))
    app = builder.get_updates_request(OfflineRequest(api)).build()
    alice = api.user("Alice")
    update = api.send_text(api.private_chat(alice), alice, "/start")
    await app.process_update(Update.de_json(update, app.bot))
    assert api.sent_messages(alice.id)[-1]["text"].startswith("Welcome")

``OfflineBotAPI`` keeps the server's state (users, chats, messages, admins, the update queue)
and a log of every call (``api.calls``); its ``send_text``/``press_button``/... methods act as
users. Error texts are Telegram's own where they are known (the HTML parser follows tdlib's
``parse_html``); where this stand-in is deliberately stricter than Telegram, the error says so.

Error answers follow the Bot API server: 400 "Bad Request: ...", 403 "Forbidden: ...",
404 for unknown methods, 409 "Conflict: ...", and 429 with ``parameters.retry_after`` when a
test plants one with ``fail_next`` or the flood limits are on (``rate_limits``). PTB 22's
``BadRequest`` shows the description with the first letter capitalised and the rest
lower-cased (``str.capitalize``).

The package, one job a module:

    state.py       users, chats and what the server holds about them; ApiCall, ApiError
    entities.py    Telegram's text rules: UTF-16, the HTML parse mode, bot commands
    checks.py      parameter checks shared by methods: texts, keyboards, threads
    core.py        ApiCore: the server's state and the helpers every part uses
    users.py       acting as Telegram's users (send_text, press_button, ...)
    methods/       the Bot API methods by kind: messages, callbacks, inline, chats,
                   commands, updates (getUpdates and webhooks)
    faults.py      fault planting: fail_next, drop_after_delivery, hold/release, redeliver
    limits.py      Telegram's flood limits (429 with retry_after), when asked for
    api.py         OfflineBotAPI: the parts put together, the method table, dispatch
    transport.py   OfflineRequest, the PTB transport (in-process)
    server.py      OfflineServer: the same API over loopback HTTP, for a bot in another
                   process (TELEGRAM_BASE_URL=http://127.0.0.1:PORT/bot)

Exceptions raised here::

    Exception
     ├── ApiError              a Bot API error answer (also recorded on ApiCall.error)
     ├── LookupError / ValueError / PermissionError   a test acting impossibly (pressing a
     │                         button that is not there, editing another user's message)
     └── ValueError
          └── EntityParseError parse_html() rejected the text ("can't parse entities" reason)
"""

from bot.offline.api import METHODS, OfflineBotAPI
from bot.offline.checks import MAX_TEXT_LENGTH
from bot.offline.core import CHANNEL_BOT, GROUP_ANONYMOUS_BOT
from bot.offline.entities import EntityParseError, find_bot_commands, parse_html, utf16_len
from bot.offline.limits import RateLimits
from bot.offline.methods.callbacks import QUERY_TOO_OLD
from bot.offline.methods.messages import NOT_MODIFIED
from bot.offline.methods.updates import POLL_TERMINATED, WEBHOOK_ACTIVE
from bot.offline.state import (
    JSON,
    ApiCall,
    ApiError,
    ChatRef,
    OfflineChat,
    OfflineUser,
    UserRef,
    bad_request,
)
from bot.offline.transport import OfflineRequest

__all__ = [
    "CHANNEL_BOT",
    "GROUP_ANONYMOUS_BOT",
    "JSON",
    "MAX_TEXT_LENGTH",
    "METHODS",
    "NOT_MODIFIED",
    "POLL_TERMINATED",
    "QUERY_TOO_OLD",
    "WEBHOOK_ACTIVE",
    "ApiCall",
    "ApiError",
    "ChatRef",
    "EntityParseError",
    "OfflineBotAPI",
    "OfflineChat",
    "OfflineRequest",
    "OfflineUser",
    "RateLimits",
    "UserRef",
    "bad_request",
    "find_bot_commands",
    "parse_html",
    "utf16_len",
]
