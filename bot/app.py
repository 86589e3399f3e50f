"""``build_application(settings)``: the PTB application with its services and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from telegram import (
    Bot,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, ExtBot
from telegram.request import BaseRequest, HTTPXRequest

from bot.commands import command_menus
from bot.config import ConfigError, Settings
from bot.context import BotData, NewsApp, NewsContext
from bot.handlers import register
from bot.handlers.channels import connect_channel, refresh_counts
from bot.inbox import Inbox, InboxQueue, InboxRequest
from bot.metrics import Metrics
from bot.ordering import MAX_CONCURRENT_UPDATES, ChatOrderedProcessor
from bot.outbox import Outbox
from bot.request import Pacer, ResilientRequest
from bot.webserver import run_webhook
from storage import ImportReport, NewsbotError, Store, import_sources, load_bundled_sample
from storage.text import is_valid, valid_text

log = logging.getLogger(__name__)

OFFLINE_TOKEN = "1:offline"
CHANNEL_COUNT_SECONDS = 60  # how stale a channel card's comment count may get
INDEX_SECONDS = 1.0  # how long a new comment may wait to be found by /search
JOB_TAKEOVER_SECONDS = 30.0  # how soon a job of a worker that died is taken over
TOKEN_REJECTED = "Telegram rejected the token: check TELEGRAM_BOT_TOKEN"
# An unreachable Bot API at start: the first pause, then twice as long, up to the longest.
START_BACKOFF = (1.0, 60.0)
# The update types the handlers use; getUpdates / setWebhook ask for these only.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
    Update.CHAT_MEMBER,  # promotions and demotions: moderator rights follow at once
]


class NewsApplication(Application[ExtBot[None], NewsContext, Any, Any, BotData, Any]):
    """The PTB application, which makes every update's text valid before any handler reads it.

    JSON may carry a lone surrogate (``"\\ud800"``), which no encoder accepts: such an
    update is rebuilt with U+FFFD in its place, whichever way it arrived.
    """

    async def process_update(self, update: object) -> None:
        """Handle one update, its text made valid first; count it and its handling time."""
        started = time.perf_counter()
        if isinstance(update, Update) and not _valid_update(update):
            update = Update.de_json(_valid_json(update.to_dict()), self.bot)
        await super().process_update(update)
        self.bot_data.metrics.handled(update, time.perf_counter() - started)


def _valid_update(update: Update) -> bool:
    """Whether every text the handlers read from the update can be encoded."""
    message = update.effective_message
    texts = [
        message.text if message else None,
        message.caption if message else None,
        update.callback_query.data if update.callback_query else None,
        update.inline_query.query if update.inline_query else None,
    ]
    if message is not None and message.reply_to_message is not None:
        texts += [message.reply_to_message.text, message.reply_to_message.caption]
    for user in (update.effective_user, update.effective_sender):
        if user is not None and hasattr(user, "first_name"):
            texts += [user.first_name, user.last_name, user.username]
    for chat in (update.effective_chat, message.sender_chat if message else None):
        if chat is not None:
            texts += [chat.title, chat.first_name, chat.last_name, chat.username]
    return all(is_valid(text) for text in texts if text)


def _valid_json(value: Any) -> Any:
    """The JSON value with every string made valid."""
    if isinstance(value, str):
        return valid_text(value)
    if isinstance(value, dict):
        return {key: _valid_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_valid_json(item) for item in value]
    return value


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    store: Store | None = None,
) -> NewsApp:
    """Build the bot: typed context, HTML defaults, resilient requests, every handler.

    Updates from different chats are handled concurrently, those of one chat in
    order (``bot.ordering``). Every update is kept in the database's inbox before
    Telegram is told it arrived (``bot.inbox``), and what the bot sends on its own
    goes through the outbox (``bot.outbox``), paced as Telegram asks.

    ``request`` replaces the HTTP transport (the offline stand-in in tests and
    ``newsbot chat``). A ``store`` passed in is used as is and left open;
    otherwise ``post_init`` opens ``settings.db_path`` and ``post_shutdown`` closes it.
    """
    inbox = Inbox()
    pacer = Pacer()
    metrics = Metrics()
    builder = (
        ApplicationBuilder()
        .application_class(NewsApplication)
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(settings.base_url)
        .context_types(ContextTypes(context=NewsContext, bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # A connection for every update handled at once, and a few for feed pushes.
        .request(
            ResilientRequest(
                request or HTTPXRequest(connection_pool_size=MAX_CONCURRENT_UPDATES + 8),
                pacer=pacer,
                metrics=metrics,
            )
        )
        # A fetched batch of updates is stored before the next getUpdates confirms it.
        .get_updates_request(InboxRequest(get_updates_request or request or HTTPXRequest(), inbox))
        # A webhook's update is stored before the webhook answers Telegram.
        .update_queue(InboxQueue(inbox))
        # Chats are served side by side, each chat's updates in the order they came.
        .concurrent_updates(ChatOrderedProcessor(inbox=inbox))
        .post_init(post_init)
        .post_stop(post_stop)
        .post_shutdown(post_shutdown)
    )
    app: NewsApp = builder.build()
    app.bot_data.settings = settings
    app.bot_data.store = store
    app.bot_data.inbox = inbox
    app.bot_data.metrics = metrics
    app.bot_data.outbox = Outbox(app.bot, app.bot_data.open_store, pacer, metrics=metrics)
    register(app)
    return app


async def open_store(app: NewsApp) -> Store:
    """Open the database named in the settings (once), loading the sample into an empty one."""
    data = app.bot_data
    if data.store is None:
        data.store = await Store.open(data.valid_settings().db_path)
        data.owns_store = True
    store = data.store
    if await store.article_count() == 0:
        article_id = await load_bundled_sample(store)
        log.info("empty database: loaded the bundled sample article as id %s", article_id)
    inbox = app.bot_data.inbox
    if inbox is not None:
        inbox.attach(store)
    return store


async def post_init(app: NewsApp) -> None:
    """Open the store, queue the updates a crash left unhandled, register the command
    menus, start the outbox, and feed polling when FEEDS is set."""
    await open_store(app)
    data = app.bot_data
    if data.inbox is not None:
        await data.inbox.replay(app.update_queue, app.bot)
    if data.outbox is not None:
        await data.outbox.start()
    private, group = command_menus()
    await app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())
    settings = app.bot_data.valid_settings()
    store = app.bot_data.open_store()
    for channel in settings.channels:
        answer = await connect_channel(app.bot, store, channel)
        log.info("CHANNEL_IDS %s: %s", channel, html.unescape(answer))
    if settings.feeds:
        app.bot_data.feed_task = asyncio.create_task(poll_feeds(app, settings))
    app.bot_data.channel_task = asyncio.create_task(keep_channel_counts(app))
    app.bot_data.index_task = asyncio.create_task(keep_search_index(app))


async def post_stop(app: NewsApp) -> None:
    """Stop feed polling and the outbox before the bot's connections close (``run_polling``
    and ``run_webhook`` close them before ``post_shutdown``): a delivery taken on then
    could not be sent, and would count as maybe sent, so never sent again."""
    data = app.bot_data
    if data.inbox is not None:
        await data.inbox.stop()
    for task in (data.feed_task, data.channel_task, data.index_task):
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    data.feed_task = data.channel_task = data.index_task = None
    if data.outbox is not None:
        await data.outbox.stop()


async def post_shutdown(app: NewsApp) -> None:
    """Stop feed polling and the outbox (if ``post_stop`` did not); write the inbox's
    handled marks; close the store if this application opened it."""
    data = app.bot_data
    await post_stop(app)
    if data.inbox is not None:
        await data.inbox.flush()
    if data.owns_store and data.store is not None:
        store, data.store, data.owns_store = data.store, None, False
        await store.close()


async def keep_search_index(app: NewsApp) -> None:
    """Every second, index for search what waits for it: the comments posted since (a
    batch is one write)."""
    while True:
        await asyncio.sleep(INDEX_SECONDS)
        try:
            await app.bot_data.open_store().index_waiting()
        except Exception:  # a bad round must not stop the next (search indexes them too)
            log.exception("could not index new comments for search")


async def one_worker(app: NewsApp, job: str, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` (a job that never ends) in one worker of those sharing the database:
    this one, unless another runs it; then look again now and then, and take over when
    that worker is gone. A database out of reach for a while is looked at again then."""
    while True:
        try:
            async with app.bot_data.open_store().held(job) as mine:
                if mine:
                    await work()
        except Exception as exc:  # a job nobody looks for again would never be taken over
            log.warning("could not look for the %s job: %s; looking again later", job, exc)
        await asyncio.sleep(JOB_TAKEOVER_SECONDS)


async def keep_channel_counts(app: NewsApp) -> None:
    """Every minute, edit the channel cards whose comment count changed (one worker)."""

    async def every_minute() -> None:
        while True:
            await asyncio.sleep(CHANNEL_COUNT_SECONDS)
            try:
                await refresh_counts(app.bot, app.bot_data.open_store())
            except Exception:  # a bad round must not stop the next
                log.exception("could not update the comment counts of channel posts")

    await one_worker(app, "channel counts", every_minute)


async def poll_feeds(app: NewsApp, settings: Settings) -> None:
    """Import FEEDS every FEED_POLL_MINUTES and push new articles to subscribers (one
    worker polls)."""

    async def every_round() -> None:
        while True:
            try:
                await poll_feeds_once(app, settings)
            except Exception:  # polling must outlive one bad round
                log.exception("feed polling failed; trying again next round")
            await asyncio.sleep(settings.feed_poll_minutes * 60)

    await one_worker(app, "feeds", every_round)


async def poll_feeds_once(app: NewsApp, settings: Settings) -> ImportReport:
    """One round of feed polling: import FEEDS, push what is new, log what failed.

    Saving an article queues it for every subscribed chat; the round then sends
    what is due at once rather than at the outbox's next round.
    """
    store = app.bot_data.open_store()
    # Feeds that did not change since the last round answer 304 and cost nothing.
    validators = app.bot_data.feed_validators
    report = await import_sources(store, settings.feeds, validators=validators)
    for error in report.errors:
        log.warning("feed import: %s", error)
    if report.new_ids:
        log.info("feeds: %s", report.closing_line())
        if app.bot_data.outbox is not None:
            await app.bot_data.outbox.deliver_due(settle=0)
    return report


async def reach_bot_api(
    settings: Settings,
    request: BaseRequest | None = None,
    *,
    backoff: tuple[float, float] = START_BACKOFF,
) -> str:
    """Ask the Bot API who we are until it answers; the bot's username.

    An unreachable API is tried again with backoff, one WARNING line an attempt;
    a rejected token raises ``ConfigError`` at once.
    """
    pause, longest = backoff
    attempt = 1
    while True:
        bot = Bot(settings.token or OFFLINE_TOKEN, base_url=settings.base_url, request=request)
        try:
            async with bot:
                return bot.username
        except InvalidToken:
            raise ConfigError(TOKEN_REJECTED) from None
        except RetryAfter as exc:  # flood control: wait as long as Telegram asks
            wait = _seconds(exc.retry_after)
            log.warning("the Bot API asks to wait %gs (flood control); attempt %d", wait, attempt)
            await asyncio.sleep(wait)
            attempt += 1
            continue
        except NetworkError as exc:  # TimedOut too
            log.warning(
                "cannot reach the Bot API at %s (%s); attempt %d, next in %gs",
                settings.base_url,
                exc,
                attempt,
                pause,
            )
        except TelegramError as exc:  # an answer no retry changes
            raise NewsbotError(f"the Bot API refused to start the bot: {exc}") from None
        await asyncio.sleep(pause)
        pause = min(pause * 2, longest)
        attempt += 1


def _seconds(period: float | timedelta) -> float:
    return period.total_seconds() if isinstance(period, timedelta) else float(period)


def run_bot(settings: Settings, *, request: BaseRequest | None = None) -> None:
    """Run until Ctrl-C or SIGTERM: long polling, or a webhook when WEBHOOK_URL is set.

    Waits for the Bot API to answer first; a token Telegram rejects raises ``ConfigError``.
    """
    username = asyncio.run(reach_bot_api(settings, request))
    log.info("starting as @%s", username)
    app = build_application(settings, request=request)
    try:
        if settings.webhook_url:
            run_webhook(app, settings, ALLOWED_UPDATES)
        else:
            app.run_polling(allowed_updates=ALLOWED_UPDATES)
    except InvalidToken:
        raise ConfigError(TOKEN_REJECTED) from None
    except NetworkError as exc:
        raise NewsbotError(f"lost the Bot API while starting: {exc}") from None
    except TelegramError as exc:
        raise NewsbotError(f"the Bot API refused to start the bot: {exc}") from None
