"""/subscribe and /unsubscribe, and following a group that became a supergroup.

New articles reach the chats that asked through the outbox (``bot.outbox``).
"""

from __future__ import annotations

import logging

from telegram import Update

from bot.context import NewsContext
from bot.handlers.common import reply

log = logging.getLogger(__name__)


async def subscribe(update: Update, context: NewsContext) -> None:
    """``/subscribe``: push new articles to this chat."""
    await _set(update, context, True)


async def unsubscribe(update: Update, context: NewsContext) -> None:
    """``/unsubscribe``: stop pushing new articles to this chat."""
    await _set(update, context, False)


async def _set(update: Update, context: NewsContext, subscribed: bool) -> None:
    chat = update.effective_chat
    message = update.effective_message
    if chat is None:
        return
    # In a forum, /subscribe sent inside a topic sends new articles to that topic.
    topic = message.message_thread_id if message and message.is_topic_message else None
    stored = await context.store.save_chat(chat.id, chat.type, chat.title)
    if stored.subscribed == subscribed and (not subscribed or stored.topic_id == topic):
        state = "already subscribed" if subscribed else "not subscribed"
        await reply(update, f"This {'topic' if topic else 'chat'} is {state}.")
        return
    await context.store.set_subscribed(chat.id, subscribed, topic)
    if subscribed:
        where = "in this topic" if topic else "here"
        await reply(
            update, f"Subscribed: new articles will be posted {where}. /unsubscribe stops."
        )
    else:
        await reply(update, "Unsubscribed: no more new articles here.")


async def on_migrate(update: Update, context: NewsContext) -> None:
    """A group became a supergroup (a new chat id): move its comments, settings and bans."""
    message = update.effective_message
    if message is None:
        return
    if message.migrate_to_chat_id is not None:
        old_id, new_id = message.chat_id, message.migrate_to_chat_id
    elif message.migrate_from_chat_id is not None:
        old_id, new_id = message.migrate_from_chat_id, message.chat_id
    else:
        return
    moved = await context.store.move_chat(old_id, new_id)
    log.info("group %s is now supergroup %s: %d comments moved", old_id, new_id, moved)
