"""Inline mode: ``@bot WORDS`` offers article cards to share into any chat."""

from __future__ import annotations

from telegram import (
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)

from bot import keyboards, render
from bot.context import NewsContext
from storage.models import Article

INLINE_RESULTS = 10


async def answer_inline(update: Update, context: NewsContext) -> None:
    """Offer matching articles (or the newest) as cards; only public comments count."""
    query = update.inline_query
    if query is None:
        return
    words = query.query.strip()
    if any(ch.isalnum() for ch in words):  # punctuation alone searches for nothing
        ids = [hit.article_id for hit in await context.store.search(words, None, INLINE_RESULTS)]
    else:
        ids = [line.id for line in await context.store.latest(INLINE_RESULTS)]
    results = []
    for article_id in ids:
        article = await context.store.article(article_id)
        if article is not None:
            results.append(await _result(context, article))
    await query.answer(results, cache_time=60, is_personal=False)


async def _result(context: NewsContext, article: Article) -> InlineQueryResultArticle:
    count = article.comment_count  # fetched for no chat: public comments only
    return InlineQueryResultArticle(
        id=f"a{article.id}",
        title=article.title[:200],
        description=article.summary[:200],
        input_message_content=InputTextMessageContent(render.article_card(article, count)),
        reply_markup=keyboards.open_in_bot(context.bot.username, article.id),
    )
