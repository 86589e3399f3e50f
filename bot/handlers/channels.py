"""The news desk's channel: connecting it, publishing cards there, and its discussion.

A moderator connects a channel the bot administers (``/connect @channel``, or
the CHANNEL_IDS setting). New articles are then published there as cards with
buttons that open the article and its comments in the bot, and the bot keeps
each card's comment count up to date by editing it (at most once a minute).

Telegram forwards every channel post into the channel's linked discussion
group; when the forward of one of the bot's cards arrives, its thread there
becomes the article's discussion: every reply in it is a comment (see
``bot.handlers.comments``), a reply to a comment a threaded reply.
"""

from __future__ import annotations

import logging

from telegram import Bot, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import BadRequest, Forbidden, TelegramError

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.common import argument_text, forwarded_post, parse_chat_id, reply
from bot.identity import chat_name
from storage import Store
from storage import channels as channel_store

log = logging.getLogger(__name__)

USAGE = "Usage: /connect @channel (or its id), after making me an admin of the channel."


async def connect_channel(bot: Bot, store: Store, ref: str | int) -> str:
    """Connect the channel named by ``ref`` (``@name`` or id); what happened, in words."""
    try:
        chat = await bot.get_chat(ref)
    except (BadRequest, Forbidden):
        return (
            f"I can't see the channel {render.esc(str(ref)[:64])}. Add me to it as an admin "
            "(with the right to post), then try again."
        )
    name = chat_name(chat)  # bidirectional overrides and the like removed
    title = render.esc(name)
    if chat.type != ChatType.CHANNEL:
        return f"“{title}” is not a channel. /connect takes a channel."
    try:
        member = await bot.get_chat_member(chat.id, bot.id)
    except TelegramError:
        member = None
    if member is None or member.status != ChatMemberStatus.ADMINISTRATOR:
        return f"I am not an admin of “{title}”: add me as one (with the right to post) first."
    if getattr(member, "can_post_messages", None) is False:
        return f"I may not post in “{title}”: give me the right to post messages there."
    added = await channel_store.connect_channel(store, chat.id, name)
    if not added:
        return f"“{title}” is already connected."
    answer = f"📣 Connected “{title}”: new articles will be published there."
    if chat.linked_chat_id:
        answer += (
            " Replies to them in its discussion group become their comments: make me an "
            "admin of that group too, so I see them."
        )
    else:
        answer += " Link a discussion group to it in its settings so readers can comment."
    return answer


async def connect(update: Update, context: NewsContext) -> None:
    """``/connect @channel``: publish new articles in a channel the bot administers."""
    ref = argument_text(update).split(maxsplit=1)
    if not ref:
        await reply(update, USAGE)
        return
    target = parse_chat_id(ref[0]) or "@" + ref[0].removeprefix("@")
    await reply(update, await connect_channel(context.bot, context.store, target))


async def disconnect(update: Update, context: NewsContext) -> None:
    """``/disconnect @channel``: stop publishing there (its posts stay)."""
    ref = argument_text(update).split(maxsplit=1)
    if not ref:
        listed = await channel_store.connected_channels(context.store)
        names = ", ".join(f"{render.esc(c.title or '')} ({c.id})" for c in listed) or "none"
        await reply(update, f"Usage: /disconnect @channel. Connected now: {names}.")
        return
    channel_id = parse_chat_id(ref[0])
    if channel_id is None:
        try:
            channel_id = (await context.bot.get_chat("@" + ref[0].lstrip("@"))).id
        except TelegramError:
            channel_id = None
    if channel_id is None or not await channel_store.disconnect_channel(context.store, channel_id):
        await reply(update, f"No connected channel {render.esc(ref[0][:64])}.")
        return
    await reply(update, "Disconnected: no more new articles will be published there.")


async def publish_card(bot: Bot, store: Store, channel_id: int, article_id: int) -> int | None:
    """Publish an article's card in a channel; its message id (None if the article is gone).

    Errors are Telegram's to raise: the delivery that calls this decides what they mean.
    """
    article = await store.article(article_id)
    if article is None:
        return None
    count = article.comment_count  # read for no chat: the public comments
    sent = await bot.send_message(
        channel_id,
        render.article_card(article, count),
        reply_markup=keyboards.channel_buttons(bot.username, article.id, count),
    )
    await channel_store.record_post(store, channel_id, sent.message_id, article.id, count)
    return sent.message_id


async def refresh_counts(bot: Bot, store: Store) -> int:
    """Edit the published cards whose comment count changed; how many were edited."""
    edited = 0
    gone: set[int] = set()
    for post in await channel_store.stale_posts(store):
        article = await store.article(post.article_id)
        if article is None or post.channel_id in gone:
            continue
        count = article.comment_count
        try:
            await bot.edit_message_text(
                render.article_card(article, count),
                chat_id=post.channel_id,
                message_id=post.message_id,
                reply_markup=keyboards.channel_buttons(bot.username, article.id, count),
            )
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                log.warning("channel %s post %s: %s", post.channel_id, post.message_id, exc)
        except Forbidden:  # as a push would, stop publishing where the bot may not post
            log.warning("channel %s removed the bot: disconnecting it", post.channel_id)
            await channel_store.disconnect_channel(store, post.channel_id)
            gone.add(post.channel_id)
            continue
        await channel_store.set_shown_count(store, post.channel_id, post.message_id, count)
        edited += 1
    return edited


async def note_forward(update: Update, context: NewsContext) -> None:
    """A channel post arrived in its discussion group: if it is one of our cards, keep its
    thread, so replies there become the article's comments."""
    message = update.effective_message
    post = forwarded_post(message) if message is not None else None
    if message is not None and post is not None:  # kept only if the post is a card of ours
        await channel_store.open_thread(context.store, message.chat_id, message.message_id, *post)
