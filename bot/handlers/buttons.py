"""Inline button presses: one handler decodes the data and hands over to the right place."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.articles import send_article_card, send_timeline
from bot.handlers.comments import ask_for_comment, ask_for_reply, send_comment_page
from bot.handlers.common import chat_id_of, reply


async def on_button(update: Update, context: NewsContext) -> None:
    """Answer every button press; a stale or unknown button gets a short answer."""
    query = update.callback_query
    if query is None:
        return
    data = keyboards.decode(query.data)
    if data is None:
        await query.answer("This button is no longer valid.")
        return
    if data.action == keyboards.REPLY:
        await ask_for_reply(update, context, comment_id=data.args[0])
        return
    article_id = data.args[0]
    if data.action == keyboards.WRITE:
        await ask_for_comment(update, context, article_id)
        return
    if data.action in (keyboards.COMMENTS, keyboards.PAGE):
        edit = data.action == keyboards.PAGE
        await send_comment_page(update, context, article_id, data.args[1], edit=edit)
        return
    article = await context.store.article(article_id, chat_id_of(update))
    if article is None:
        await query.answer("That article is no longer available.")
        return
    await query.answer()
    if data.action == keyboards.OPEN:
        await send_article_card(update, context, article)
    elif data.action == keyboards.FULL:
        await reply(update, render.full_text(article))
    elif data.action == keyboards.TIMELINE:
        await send_timeline(update, context, article)
