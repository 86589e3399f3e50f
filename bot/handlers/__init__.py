"""``register(app)``: the only place handlers are added, in the order they are tried."""

from __future__ import annotations

from telegram.ext import (
    CallbackQueryHandler,
    CommandHandler,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.context import NewsApp
from bot.handlers import (
    articles,
    buttons,
    comments,
    errors,
    inline,
    moderation,
    subscriptions,
)


def register(app: NewsApp) -> None:
    """Add every handler to the application."""
    # Group 0: commands. CommandHandler answers /cmd and /cmd@ThisBot, never /cmd@OtherBot.
    commands = {
        "start": articles.start,
        "help": articles.show_help,
        "latest": articles.latest,
        "article": articles.show_article,
        "summary": articles.show_summary,
        "timeline": articles.show_timeline,
        "search": articles.search,
        "comments": comments.show_comments,
        "comment": comments.comment_command,
        "reply": comments.reply_command,
        "delete": comments.delete_comment,
        "cancel": comments.cancel,
        "hide": moderation.hide_comment,
        "unhide": moderation.unhide_comment,
        "ban": moderation.ban_user,
        "unban": moderation.unban_user,
        "scope": moderation.set_scope,
        "subscribe": subscriptions.subscribe,
        "unsubscribe": subscriptions.unsubscribe,
    }
    for name, callback in commands.items():
        app.add_handler(CommandHandler(name, callback, filters=~filters.UpdateType.EDITED))
    # Still group 0, tried after the commands: a command the bot does not know.
    app.add_handler(
        MessageHandler(filters.COMMAND & filters.UpdateType.MESSAGE, articles.unknown_command)
    )
    # A group upgraded to a supergroup: its discussion follows it to the new chat id.
    app.add_handler(MessageHandler(filters.StatusUpdate.MIGRATE, subscriptions.on_migrate))
    app.add_handler(CallbackQueryHandler(buttons.on_button))
    app.add_handler(InlineQueryHandler(inline.answer_inline))
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
