"""The error handler: no handler error stops the bot; it is logged and reported.

An operator's log, not a wall: a network error or a database fault is one line;
only an error in the code gets its traceback. Reports to ADMIN_CHAT_ID go out at
most once a minute (``bot.reports``); errors in between are counted, grouped by
kind, and told with the next report.
"""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.context import NewsContext
from bot.request import never_sent
from storage.errors import DatabaseFault, database_fault

log = logging.getLogger(__name__)
ADMIN_REPORT_LIMIT = 3500
APOLOGY = "Sorry, something went wrong on my side. Please try again later."


async def report_error(update: object, context: NewsContext) -> None:
    """Log the error with the update that caused it, tell the reader, tell the admin chat."""
    error = context.error
    where = _describe(update)
    fault = _fault_of(error, context)
    if fault is not None:
        if fault is not error:  # a read that failed; a write's fault the store has logged
            log.error("%s, while handling %s", fault, where)
        await _tell_reader(update, fault.reader_text)
    elif isinstance(error, NetworkError | RetryAfter):
        log.warning("%s: %s, while handling %s", type(error).__name__, error, where)
        if isinstance(error, RetryAfter | BadRequest) or never_sent(error):
            await _tell_reader(update, APOLOGY)
        # Else the answer was cut off on its way back (a timeout, a dropped connection):
        # it may well have arrived, and "Sorry" after it would be wrong.
    else:
        log.error("error while handling %s", where, exc_info=error)
        await _tell_reader(update, APOLOGY)
    if error is not None:
        await _report_to_admins(context, error, fault, where)


def _fault_of(error: BaseException | None, context: NewsContext) -> DatabaseFault | None:
    store = context.bot_data.store
    if error is None or store is None:
        return error if isinstance(error, DatabaseFault) else None
    return database_fault(error, store.path)


async def _tell_reader(update: object, text: str) -> None:
    if not isinstance(update, Update) or update.effective_message is None:
        return
    try:
        await update.effective_message.reply_text(text, do_quote=False)
    except TelegramError as exc:
        log.warning("could not tell the reader about the error: %s", exc)


def _kind(error: BaseException) -> str:
    """What groups repeats of one error: its class and the first line of its message."""
    first_line = str(error).strip().split("\n", 1)[0]
    return f"{type(error).__name__}: {first_line}"[:160]


async def _report_to_admins(
    context: NewsContext, error: BaseException, fault: DatabaseFault | None, where: str
) -> None:
    admin_chat = context.settings.admin_chat_id if context.bot_data.settings else None
    if admin_chat is None:
        return
    held = context.bot_data.admin_reports.admit(_kind(error), context.now())
    if held is None:
        return
    if fault is not None or isinstance(error, NetworkError | RetryAfter):
        detail = str(fault or _kind(error))
    else:
        detail = "".join(traceback.format_exception(None, error, error.__traceback__))
    since = ""
    if held:
        lines = "\n".join(f"{n}× {html.escape(kind[:80])}" for kind, n in held[:10])
        more = f"\n… and {len(held) - 10} more kinds" if len(held) > 10 else ""
        since = f"\n{sum(n for _, n in held)} more since the last report:\n{lines}{more}"
    text = (
        f"⚠️ <b>newsbot error</b> while handling {html.escape(where)}\n"
        f"<pre>{html.escape(detail[-(ADMIN_REPORT_LIMIT - len(since)) :])}</pre>{since}"
    )
    try:
        await context.bot.send_message(admin_chat, text)
    except TelegramError as exc:
        log.warning("could not report the error to ADMIN_CHAT_ID: %s", exc)


def _describe(update: object) -> str:
    if update is None:  # getUpdates itself failed (run_polling's error callback)
        return "polling for updates"
    if not isinstance(update, Update):
        return repr(update)[:200]
    parts = [f"update {update.update_id}"]
    if update.effective_chat:
        parts.append(f"chat {update.effective_chat.id}")
    if update.effective_user:
        parts.append(f"user {update.effective_user.id}")
    message = update.effective_message
    if message is not None and message.text:
        parts.append(f"text {message.text[:80]!r}")
    if update.callback_query is not None:
        parts.append(f"button {update.callback_query.data!r}")
    return ", ".join(parts)
