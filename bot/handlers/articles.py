"""Reading commands: /start /latest /article /summary /timeline /search, and buttons."""

from __future__ import annotations

from telegram import Update

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.comments import send_comment_page
from bot.handlers.common import (
    argument_text,
    chat_id_of,
    find_article,
    in_group,
    no_article,
    parse_int,
    pressed,
    reply,
)
from storage.models import Article

LATEST_DEFAULT = 5
LATEST_MAX = 20
SEARCH_LIMIT = 8
TOPIC_EVENTS = 40


async def send_article_card(update: Update, context: NewsContext, article: Article) -> None:
    """Reply with an article card: title, date, summary and its buttons.

    ``article.comment_count`` must be the count this chat sees (``find_article`` does it).
    """
    count = article.comment_count
    await reply(
        update,
        render.article_card(article, count),
        keyboards.article_buttons(article.id, count),
    )


async def start(update: Update, context: NewsContext) -> None:
    """Welcome the reader, or open a deep link: ``/start a12`` (``c12``: its comments)."""
    payload = context.args[0] if context.args else ""
    if payload[:1] in ("a", "c") and (article_id := parse_int(payload[1:])) is not None:
        article = await context.store.article(article_id, chat_id_of(update))
        if article is not None and payload[0] == "c":  # a channel card's Comments button
            await send_comment_page(update, context, article_id, 1)
            return
        if article is not None:
            await send_article_card(update, context, article)
            return
        await reply(update, "That article link is no longer valid. Here is what is new:")
        await send_latest(update, context, LATEST_DEFAULT)
        return
    user = update.effective_user
    name = render.esc(user.first_name) if user else "there"
    await reply(
        update,
        f"Hello, {name}! I serve the news desk's articles: summaries, timelines of the "
        "events they report, and their comment sections.\n\n"
        "Try /latest for the newest articles, /search WORDS to find one, or /help for "
        "every command.",
    )


async def latest(update: Update, context: NewsContext) -> None:
    """List the newest articles, one line each, with buttons to open them."""
    raw = context.args[0] if context.args else ""
    count = LATEST_DEFAULT
    if raw:
        parsed = parse_int(raw, low=1, high=LATEST_MAX)
        if parsed is None or len(context.args or ()) > 1:
            await reply(update, f"Usage: /latest [N], with N from 1 to {LATEST_MAX}.")
            return
        count = parsed
    await send_latest(update, context, count)


async def send_latest(update: Update, context: NewsContext, count: int) -> None:
    """Send the newest articles, one line each, with buttons to open them."""
    articles = await context.store.latest(count)
    await reply(update, render.latest_text(articles), keyboards.latest_buttons(articles))


async def _article_from_args(update: Update, context: NewsContext, usage: str) -> Article | None:
    """The article named by the first argument, or a reply saying what is wrong."""
    raw = argument_text(update).split(maxsplit=1)
    if not raw:
        await reply(update, f"Usage: {usage}. Find ids with /latest or /search.")
        return None
    article = await find_article(update, context, raw[0])
    if article is None:
        await no_article(update, raw[0])
    return article


async def show_article(update: Update, context: NewsContext) -> None:
    """Reply with an article card: title, date, summary and its buttons."""
    article = await _article_from_args(update, context, "/article ID_OR_SLUG, e.g. /article 1")
    if article is not None:
        await send_article_card(update, context, article)


async def show_summary(update: Update, context: NewsContext) -> None:
    """Reply with an article's summary."""
    article = await _article_from_args(update, context, "/summary ID, e.g. /summary 1")
    if article is not None:
        await reply(update, render.summary_text(article))


async def show_timeline(update: Update, context: NewsContext) -> None:
    """Reply with an article's timeline, or the merged timeline of a topic."""
    wanted = argument_text(update)
    if not wanted:
        topics = await context.store.popular_tags(8)
        hint = f" Topics: {render.esc(', '.join(topics))}." if topics else ""
        await reply(update, f"Usage: /timeline ID_OR_TOPIC, e.g. /timeline 1.{hint}")
        return
    article = await find_article(update, context, wanted)
    if article is not None:
        await send_timeline(update, context, article)
        return
    topic = wanted.lstrip("#").strip().lower()
    timeline = await context.store.topic_timeline(topic, limit=TOPIC_EVENTS)
    if not timeline.events and "_" in topic:
        # Cards show the topic "sea of japan" as the hashtag #sea_of_japan.
        topic = topic.replace("_", " ")
        timeline = await context.store.topic_timeline(topic, limit=TOPIC_EVENTS)
    events = timeline.events
    if not events and await context.store.tag_exists(topic):
        await reply(update, f"No dated events in the articles on #{render.esc(topic)} yet.")
        return
    if not events:
        topics = await context.store.popular_tags(8)
        hint = f" Topics: {render.esc(', '.join(topics))}." if topics else ""
        await reply(update, f"No article or topic “{render.esc(wanted[:64])}”.{hint}")
        return
    # Buttons for the articles behind the newest events, which readers want first.
    article_ids = list(dict.fromkeys(item.article_id for item in reversed(events)))[:8]
    await reply(
        update,
        render.topic_timeline_text(timeline),
        keyboards.open_buttons(article_ids, label="Article", by_id=True),
    )


async def send_timeline(update: Update, context: NewsContext, article: Article) -> None:
    """Send an article's timeline."""
    events = await context.store.timeline(article.id)
    await reply(update, render.timeline_text(article, events))


async def search(update: Update, context: NewsContext) -> None:
    """Full-text search over titles, bodies and the comments this chat may see."""
    words = argument_text(update)
    if not words.strip() or not any(ch.isalnum() for ch in words):
        await reply(update, "Usage: /search WORDS, e.g. /search missile drills")
        return
    hits = await context.store.search(words, chat_id_of(update), limit=SEARCH_LIMIT)
    await reply(
        update,
        render.search_text(words, hits),
        keyboards.open_buttons([hit.article_id for hit in hits]),
    )


async def unknown_command(update: Update, context: NewsContext) -> None:
    """Answer a command the bot does not know with a pointer to /help.

    Another bot's command (``/cmd@OtherBot``) passes by; in a group, so does an
    unknown command not addressed to this bot by name, which may be for another bot.
    """
    message = update.effective_message
    word = (message.text or "").split(maxsplit=1)[0] if message and message.text else ""
    _, _, addressee = word.partition("@")
    mine = addressee.lower() == (context.bot.username or "").lower()
    if (addressee and not mine) or (in_group(update) and not mine):
        return
    await reply(update, "I don't know that command. /help lists what I can do.")


async def _pressed_article(update: Update, context: NewsContext) -> Article | None:
    """The article a pressed button names (the press answered), or None if it is gone."""
    data = await pressed(update)
    query = update.callback_query
    if data is None or query is None:
        return None
    article = await context.store.article(data.args[0], chat_id_of(update))
    if article is None:
        await no_article(update, data.args[0])
        return None
    await query.answer()
    return article


async def press_open(update: Update, context: NewsContext) -> None:
    """The Open button of a list: the article's card."""
    if article := await _pressed_article(update, context):
        await send_article_card(update, context, article)


async def press_full_text(update: Update, context: NewsContext) -> None:
    """The Full text button of a card: the article's text."""
    if article := await _pressed_article(update, context):
        await reply(update, render.full_text(article))


async def press_timeline(update: Update, context: NewsContext) -> None:
    """The Timeline button of a card: the article's dated events."""
    if article := await _pressed_article(update, context):
        await send_timeline(update, context, article)
