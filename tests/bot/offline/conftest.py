"""A tiny bot on the offline Bot API, and the fixtures the stand-in's own tests share.

``api`` is the shared fixture of tests/conftest.py.
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.offline import OfflineBotAPI, OfflineChat, OfflineRequest, OfflineUser

App = Application[Any, Any, Any, Any, Any, Any]
Context = ContextTypes.DEFAULT_TYPE


@pytest.fixture(autouse=True)
def ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    """Opt in to PTB 22's timedelta periods, as the bot does.

    Without it, building a ``RetryAfter`` (or reading any period) emits a
    PTBDeprecationWarning, which the warnings-as-errors config turns into the raised error.
    """
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


# ---- a tiny bot -----------------------------------------------------------------------------


async def greet(update: Update, context: Context) -> None:
    """Welcome the user by name, in bold."""
    assert update.effective_message and update.effective_user
    name = html.escape(update.effective_user.first_name)
    await update.effective_message.reply_html(f"<b>Welcome</b>, {name}!")


async def send_buttons(update: Update, context: Context) -> None:
    """Reply with a two-row inline keyboard."""
    assert update.effective_message
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("Full text", callback_data="full:1"),
                InlineKeyboardButton("Timeline", callback_data="timeline:1"),
            ],
            [InlineKeyboardButton("Comments (5)", callback_data="comments:1")],
        ]
    )
    await update.effective_message.reply_text("Pick one", reply_markup=keyboard)


async def show_choice(update: Update, context: Context) -> None:
    """Answer the button press and edit the message in place, keeping its keyboard."""
    query = update.callback_query
    assert query and query.message
    await query.answer()
    assert isinstance(query.message, Message)
    await query.edit_message_text(
        f"You chose {query.data}", reply_markup=query.message.reply_markup
    )


async def echo(update: Update, context: Context) -> None:
    """Echo the text back in italics, escaped."""
    assert update.effective_message and update.effective_message.text
    text = html.escape(update.effective_message.text)
    await update.effective_message.reply_text(f"<i>{text}</i>", parse_mode=ParseMode.HTML)


def build_app(api: OfflineBotAPI) -> App:
    """The real PTB application, talking only to the offline API."""
    app = (
        ApplicationBuilder()
        .token("123:TEST")
        .request(OfflineRequest(api))
        .get_updates_request(OfflineRequest(api))
        .build()
    )
    app.add_handler(CommandHandler("start", greet))
    app.add_handler(CommandHandler("buttons", send_buttons))
    app.add_handler(CallbackQueryHandler(show_choice))
    app.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    return app


@pytest.fixture
async def app(api: OfflineBotAPI) -> AsyncIterator[App]:
    """An initialised application (getMe done), shut down after the test."""
    application = build_app(api)
    async with application:
        yield application


@pytest.fixture
def alice(api: OfflineBotAPI) -> OfflineUser:
    """A user."""
    return api.user("Alice", "Liddell", "alice")


@pytest.fixture
def dm(api: OfflineBotAPI, alice: OfflineUser) -> OfflineChat:
    """Alice's private chat with the bot."""
    return api.private_chat(alice)


async def process(app: App, update: dict[str, Any]) -> None:
    """Hand one update to the application, as the updater would."""
    await app.process_update(Update.de_json(update, app.bot))
