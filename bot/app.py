"""``build_application(settings)``: the PTB application with its services and handlers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    LinkPreviewOptions,
    Update,
)
from telegram.constants import ParseMode
from telegram.ext import ApplicationBuilder, ContextTypes, Defaults
from telegram.request import BaseRequest, HTTPXRequest

from bot.config import Settings
from bot.context import SETTINGS_KEY, STORE_KEY, NewsApp, NewsContext
from bot.handlers import register
from bot.handlers.articles import COMMANDS, MODERATOR_COMMANDS
from bot.handlers.subscriptions import push_articles
from bot.ordering import MAX_CONCURRENT_UPDATES, ChatOrderedProcessor
from bot.request import ResilientRequest
from storage import ImportReport, Store, import_sources, load_bundled_sample

log = logging.getLogger(__name__)

OFFLINE_TOKEN = "1:offline"
OWNS_STORE_KEY = "owns_store"
FEED_TASK_KEY = "feed_task"
FEED_VALIDATORS_KEY = "feed_validators"
# The update types the handlers use; getUpdates / setWebhook ask for these only.
ALLOWED_UPDATES = [
    Update.MESSAGE,
    Update.EDITED_MESSAGE,
    Update.CALLBACK_QUERY,
    Update.INLINE_QUERY,
]


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    store: Store | None = None,
) -> NewsApp:
    """Build the bot: typed context, HTML defaults, resilient requests, every handler.

    Updates from different chats are handled concurrently, those of one chat in
    order (``bot.ordering``).

    ``request`` replaces the HTTP transport (the offline stand-in in tests and
    ``newsbot chat``). A ``store`` passed in is used as is and left open;
    otherwise ``post_init`` opens ``settings.db_path`` and ``post_shutdown`` closes it.
    """
    builder = (
        ApplicationBuilder()
        .token(settings.token or OFFLINE_TOKEN)
        .base_url(settings.base_url)
        .context_types(ContextTypes(context=NewsContext))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        # A connection for every update handled at once, and a few for feed pushes.
        .request(
            ResilientRequest(
                request or HTTPXRequest(connection_pool_size=MAX_CONCURRENT_UPDATES + 8)
            )
        )
        .get_updates_request(get_updates_request or request or HTTPXRequest())
        # Chats are served side by side, each chat's updates in the order they came.
        .concurrent_updates(ChatOrderedProcessor())
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    app: NewsApp = builder.build()
    app.bot_data[SETTINGS_KEY] = settings
    if store is not None:
        app.bot_data[STORE_KEY] = store
    register(app)
    return app


async def open_store(app: NewsApp) -> Store:
    """Open the database named in the settings (once), loading the sample into an empty one."""
    if STORE_KEY not in app.bot_data:
        settings: Settings = app.bot_data[SETTINGS_KEY]
        app.bot_data[STORE_KEY] = await Store.open(settings.db_path)
        app.bot_data[OWNS_STORE_KEY] = True
    store: Store = app.bot_data[STORE_KEY]
    if await store.article_count() == 0:
        article_id = await load_bundled_sample(store)
        log.info("empty database: loaded the bundled sample article as id %s", article_id)
    return store


def command_menus() -> tuple[list[BotCommand], list[BotCommand]]:
    """The command menus: one for private chats, one for groups (with moderation)."""
    private = [BotCommand(name, does) for name, _, does, _ in COMMANDS]
    group = private + [BotCommand(name, does) for name, _, does, _ in MODERATOR_COMMANDS]
    return private, group


async def post_init(app: NewsApp) -> None:
    """Open the store, register the command menus, start feed polling when FEEDS is set."""
    await open_store(app)
    private, group = command_menus()
    await app.bot.set_my_commands(private, scope=BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(group, scope=BotCommandScopeAllGroupChats())
    settings: Settings = app.bot_data[SETTINGS_KEY]
    if settings.feeds:
        app.bot_data[FEED_TASK_KEY] = asyncio.create_task(poll_feeds(app, settings))


async def post_shutdown(app: NewsApp) -> None:
    """Stop feed polling and close the store if this application opened it."""
    task: asyncio.Task[Any] | None = app.bot_data.pop(FEED_TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if app.bot_data.pop(OWNS_STORE_KEY, False):
        store: Store = app.bot_data.pop(STORE_KEY)
        await store.close()


async def poll_feeds(app: NewsApp, settings: Settings) -> None:
    """Import FEEDS every FEED_POLL_MINUTES and push new articles to subscribers."""
    while True:
        try:
            await poll_feeds_once(app, settings)
        except Exception:  # polling must outlive one bad round
            log.exception("feed polling failed; trying again next round")
        await asyncio.sleep(settings.feed_poll_minutes * 60)


async def poll_feeds_once(app: NewsApp, settings: Settings) -> ImportReport:
    """One round of feed polling: import FEEDS, push what is new, log what failed."""
    store: Store = app.bot_data[STORE_KEY]
    # Feeds that did not change since the last round answer 304 and cost nothing.
    validators = app.bot_data.setdefault(FEED_VALIDATORS_KEY, {})
    report = await import_sources(store, settings.feeds, validators=validators)
    for error in report.errors:
        log.warning("feed import: %s", error)
    if report.new_ids:
        log.info("feeds: %s", report.closing_line())
        await push_articles(app.bot, store, report.new_ids)
    return report


def run_bot(settings: Settings) -> None:
    """Run until Ctrl-C or SIGTERM: long polling, or a webhook when WEBHOOK_URL is set."""
    app = build_application(settings)
    if settings.webhook_url:
        app.run_webhook(
            listen="0.0.0.0",
            port=settings.webhook_port,
            url_path=settings.token or "",
            webhook_url=f"{settings.webhook_url.rstrip('/')}/{settings.token}",
            secret_token=settings.webhook_secret,
            allowed_updates=ALLOWED_UPDATES,
        )
    else:
        app.run_polling(allowed_updates=ALLOWED_UPDATES)
