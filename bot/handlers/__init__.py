"""``register(app)``: the only place handlers are added, in the order they are tried."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot import commands, keyboards, permissions
from bot.context import NewsApp
from bot.handlers import (
    articles,
    channels,
    comments,
    common,
    errors,
    inline,
    subscriptions,
)


def register(app: NewsApp) -> None:
    """Add every handler to the application."""
    # Group 0: commands. CommandHandler answers /cmd and /cmd@ThisBot, never /cmd@OtherBot.
    for command in commands.COMMANDS:
        app.add_handler(
            CommandHandler(
                command.name, commands.guarded(command), filters=~filters.UpdateType.EDITED
            )
        )
    # Still group 0, tried after the commands: a command the bot does not know.
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, articles.unknown_command)
    )
    # A group upgraded to a supergroup: its discussion follows it to the new chat id.
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, subscriptions.on_migrate))
    # A member promoted, demoted or gone: their moderator rights change at once.
    app.add_handler(
        ChatMemberHandler(permissions.note_member_change, ChatMemberHandler.CHAT_MEMBER)
    )
    # Buttons, one handler a kind; a press none of them takes is an old or forged button.
    buttons = {
        keyboards.OPEN: articles.press_open,
        keyboards.FULL: articles.press_full_text,
        keyboards.TIMELINE: articles.press_timeline,
        keyboards.COMMENTS: comments.press_comments,
        keyboards.PAGE: comments.press_comments,
        keyboards.WRITE: comments.press_comment,
        keyboards.REPLY: comments.press_reply,
    }
    for action, callback in buttons.items():
        app.add_handler(CallbackQueryHandler(callback, pattern=keyboards.pattern(action)))
    app.add_handler(CallbackQueryHandler(common.stale_button))
    app.add_handler(InlineQueryHandler(inline.answer_inline))
    # A channel post forwarded into its discussion group: a card of ours opens a thread.
    app.add_handler(MessageHandler(filters.IS_AUTOMATIC_FORWARD, channels.note_forward))
    # Plain text: the awaited comment, a reply to a card or comment, or a hint.
    app.add_handler(
        MessageHandler(
            filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE, comments.on_text
        )
    )
    # Edits of messages that became comments.
    app.add_handler(
        MessageHandler(filters.TEXT & filters.UpdateType.EDITED_MESSAGE, comments.on_edit)
    )
    app.add_error_handler(errors.report_error)
