"""/subscribe and /unsubscribe, pushing new articles to the chats that asked,
and following a group that became a supergroup."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from telegram import Bot, InlineKeyboardMarkup, Update
from telegram.error import ChatMigrated, Forbidden, TelegramError

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.common import reply
from storage import Store

log = logging.getLogger(__name__)

MAX_PUSHED = 5


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


async def push_articles(bot: Bot, store: Store, article_ids: Sequence[int]) -> int:
    """Send new articles' cards to every subscribed chat; returns messages sent.

    At most ``MAX_PUSHED`` cards a round, the first ones given (a feed lists its
    newest first), sent oldest first so the newest ends up at the bottom; a
    line then points to /latest for the rest. A chat that blocked or removed
    the bot is unsubscribed; a group that became a supergroup is followed
    there. Flood limits and dropped connections are handled by the request layer.
    """
    chosen = list(reversed(article_ids[:MAX_PUSHED]))
    more = len(article_ids) - len(chosen)
    sent = 0
    for chat_id in await store.subscribed_chats():
        try:
            try:
                sent += await _push_to(bot, store, chat_id, chosen, more)
            except ChatMigrated as exc:  # the group became a supergroup: follow it
                await store.move_chat(chat_id, exc.new_chat_id)
                sent += await _push_to(bot, store, exc.new_chat_id, chosen, more)
        except Forbidden:
            log.info("chat %s blocked or removed the bot: unsubscribing it", chat_id)
            await store.set_subscribed(chat_id, False)
    return sent


async def _push_to(bot: Bot, store: Store, chat_id: int, chosen: Sequence[int], more: int) -> int:
    """Send the chosen articles' cards, and the pointer to the rest, to one chat."""
    sent = 0
    stored = await store.chat(chat_id)
    topic = stored.topic_id if stored else None
    for article_id in chosen:
        article = await store.article(article_id, chat_id)
        if article is None:
            continue
        count = article.comment_count
        sent += await _send(
            bot,
            chat_id,
            render.article_card(article, count),
            keyboards.article_buttons(article.id, count),
            topic,
        )
    if more:
        sent += await _send(bot, chat_id, render.more_new_articles(more), None, topic)
    return sent


async def _send(
    bot: Bot,
    chat_id: int,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    topic: int | None = None,
) -> int:
    """Send one pushed message (into a forum's ``topic``); 1 if it went, 0 if refused (logged)."""
    try:
        await bot.send_message(chat_id, text, reply_markup=markup, message_thread_id=topic)
    except (Forbidden, ChatMigrated):
        raise
    except TelegramError:
        log.warning("could not push to chat %s", chat_id, exc_info=True)
        return 0
    return 1


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
