"""The error handler: no handler error stops the bot; it is logged and reported."""

from __future__ import annotations

import html
import logging
import traceback

from telegram import Update
from telegram.error import TelegramError

from bot.context import NewsContext

log = logging.getLogger(__name__)
ADMIN_REPORT_LIMIT = 3500


async def report_error(update: object, context: NewsContext) -> None:
    """Log the error with the update that caused it, tell the admin chat, apologise."""
    error = context.error
    where = _describe(update)
    log.error("error while handling %s", where, exc_info=error)
    if isinstance(update, Update) and update.effective_message is not None:
        try:
            await update.effective_message.reply_text(
                "Sorry, something went wrong on my side. Please try again later.",
                do_quote=False,
            )
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
    admin_chat = context.settings.admin_chat_id if context.bot_data.settings else None
    if admin_chat is not None and error is not None:
        trace = "".join(traceback.format_exception(None, error, error.__traceback__))
        text = (
            f"⚠️ <b>newsbot error</b> while handling {html.escape(where)}\n"
            f"<pre>{html.escape(trace[-ADMIN_REPORT_LIMIT:])}</pre>"
        )
        try:
            await context.bot.send_message(admin_chat, text)
        except TelegramError:
            log.warning("could not report the error to ADMIN_CHAT_ID", exc_info=True)


def _describe(update: object) -> str:
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
