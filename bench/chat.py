"""Chat benchmark: updates through the real application on the offline Bot API.

Sends UPDATES updates from USERS users (a mix of /latest, /article, /timeline,
/comments and presses of the card's buttons) through the real Application and
handlers against the corpus that ``bench/corpus.py --keep DIR`` builds, and, in
the same run, the same number of messages through a one-line echo bot on the
same stand-in as the baseline. Prints updates/s and p50 / p99 latency per
update for both, and the ratios; the "own" lines leave out the time the stand-in
spends answering Bot API calls (on Telegram that is the server's, not the bot's).

Each command is then measured against the floor: the same application with every
handler replaced by one that sends the real handler's reply, pre-rendered, and does
nothing else; the two take turns FLOOR_ROUNDS times and the medians are printed
(``--only-floor`` measures only this).

Then, as a deployed bot sees it, NETWORK_UPDATES updates are queued at once on
the running application with a simulated round trip (RTT_MS) on every Bot API
call: the echo bot one update at a time (python-telegram-bot's default) and 64
at once, against newsbot, which serves chats side by side (``bot.ordering``).

With ``--db postgresql://...`` the bot runs on PostgreSQL instead: the corpus is
exported from that folder and imported again (the same ids) into a fresh schema of
its own on the server, dropped at the end unless ``--keep`` (then its name is printed).

    python bench/corpus.py --keep /tmp/newsbot-corpus      # once, builds the corpus
    python bench/chat.py --corpus /tmp/newsbot-corpus [--db URL [--keep]]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import itertools
import json
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Awaitable
from dataclasses import replace
from pathlib import Path
from typing import Any

from engines import fresh_schema, vacuum_analyze
from telegram import InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from bot.app import build_application, open_store
from bot.config import Settings
from bot.offline import OfflineBotAPI, OfflineChat, OfflineRequest, OfflineUser
from storage import Store, queues
from storage.ingest import article_record
from storage.ingest.jsonl import parse_record
from storage.models import ParsedArticle

# Readers of this run alone: an earlier run's would have posted too often, or the same.
FIRST_USER_ID = 10**9 + int(time.time()) % 10**7 * 10**5


class TimedAPI(OfflineBotAPI):
    """The stand-in, keeping count of the time it spends answering (Telegram's share)."""

    def __init__(self, *, first_user: int = 0, **kwargs: Any) -> None:
        super().__init__(first_user_id=FIRST_USER_ID + first_user, **kwargs)
        self.server_time = 0.0

    async def dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        start = time.perf_counter()
        try:
            return await super().dispatch(method, params)
        finally:
            self.server_time += time.perf_counter() - start


def figures(label: str, samples: list[float], elapsed: float) -> dict[str, float]:
    """Print and return throughput and latency percentiles (ms)."""
    samples = sorted(samples)
    result = {
        "rate": len(samples) / elapsed,
        "p50": statistics.median(samples) * 1000,
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
    }
    print(
        f"{label:<10} {len(samples):,} updates in {elapsed:6.2f} s = {result['rate']:8,.0f}/s"
        f"   p50 {result['p50']:6.3f} ms   p99 {result['p99']:6.3f} ms"
    )
    return result


async def run_newsbot(
    store: Store, updates: int, users: int, articles: int, seed: int
) -> dict[str, float]:
    """The real bot: a mix of reading commands and button presses."""
    api = TimedAPI(username="BenchBot")
    settings = Settings(db_path=store.path)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    rng = random.Random(seed)
    people = [api.user(f"Reader{n}") for n in range(users)]
    chats = {user.id: api.private_chat(user) for user in people}
    cards: dict[int, tuple[int, int]] = {}  # user -> (card message id, article id)
    samples: list[float] = []
    own: list[float] = []  # the same, less the stand-in's time answering the Bot API calls
    kinds: dict[str, list[float]] = {}
    busy = 0.0
    async with app:
        for n in range(updates):
            user = people[n % users]
            chat = chats[user.id]
            update = _next_update(api, rng, user, chat, cards.get(user.id), articles)
            api.server_time = 0.0
            start = time.perf_counter()
            await app.process_update(Update.de_json(update, app.bot))
            took = time.perf_counter() - start
            samples.append(took)
            own.append(took - api.server_time)
            busy += took
            text = update.get("message", {}).get("text", "")
            kind = text.split()[0] if text else update["callback_query"]["data"].split(":")[0]
            kinds.setdefault(kind, []).append(took)
            if text.startswith("/article"):
                last = api.sent_messages(chat)[-1]
                cards[user.id] = (int(last["message_id"]), int(text.split()[1]))
    result = figures("newsbot", samples, busy)
    result["own"] = figures("  own", own, sum(own))["rate"]
    for kind, times in sorted(kinds.items()):
        print(f"  {kind:<10} {len(times):6,}  p50 {statistics.median(times) * 1000:6.3f} ms")
    return result


def _next_update(
    api: OfflineBotAPI,
    rng: random.Random,
    user: OfflineUser,
    chat: OfflineChat,
    card: tuple[int, int] | None,
    articles: int,
    *,
    queue: bool = False,
) -> dict[str, Any]:
    roll = rng.random()
    if card is not None and roll < 0.35:
        message_id, article_id = card
        data = rng.choice([f"tl:{article_id}", f"cm:{article_id}:1", f"full:{article_id}"])
        return api.press_button(chat, message_id, user, data, queue=queue)
    article_id = 1 + int(rng.paretovariate(1.2) * 50) % articles
    if roll < 0.5:
        text = f"/article {article_id}"
    elif roll < 0.65:
        text = f"/latest {rng.randint(3, 10)}"
    elif roll < 0.8:
        text = f"/timeline {article_id}"
    elif roll < 0.95:
        text = f"/comments {article_id} {rng.randint(1, 3)}"
    else:
        text = f"/comments 1 {rng.randint(1, 20_000)}"  # deep into the big thread
    return api.send_text(chat, user, text, queue=queue)


def echo_bot(api: OfflineBotAPI, concurrent: int = 1) -> Application[Any, Any, Any, Any, Any, Any]:
    """A one-line echo bot on the stand-in, as anyone would first write it."""
    request = OfflineRequest(api)
    builder = ApplicationBuilder().token("1:echo").request(request).get_updates_request(request)
    app = builder.concurrent_updates(concurrent).build()

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await update.message.reply_text(update.message.text)  # type: ignore[union-attr,arg-type]

    app.add_handler(MessageHandler(filters.TEXT, echo))
    return app


async def through_the_queue(
    app: Application[Any, Any, Any, Any, Any, Any], updates: list[dict[str, Any]]
) -> float:
    """Seconds the running application takes to handle ``updates`` queued at once."""
    await app.start()
    start = time.perf_counter()
    for update in updates:
        app.update_queue.put_nowait(Update.de_json(update, app.bot))
    await app.update_queue.join()  # every update handled
    took = time.perf_counter() - start
    await app.stop()
    return took


async def run_with_network(
    store: Store, updates: int, users: int, articles: int, rtt: float
) -> None:
    """Updates through the update queue with a network round trip on every Bot API call.

    What a deployed bot sees: python-telegram-bot's default handles one update at
    a time, so its rate is bounded by the round trip, not by the bot's own work.
    """
    print(f"with a {rtt * 1000:.0f} ms round trip per Bot API call, {updates:,} updates queued:")
    rates: dict[str, float] = {}
    for concurrent in (1, 64):
        api = OfflineBotAPI(username="EchoBot", latency=rtt)
        app = echo_bot(api, concurrent)
        people = [api.user(f"Echo{n}") for n in range(users)]
        batch = [
            api.send_text(api.private_chat(user), user, f"/article {n}", queue=False)
            for n, user in zip(range(updates), itertools.cycle(people), strict=False)
        ]
        async with app:
            took = await through_the_queue(app, batch)
        label = "echo, one at a time" if concurrent == 1 else f"echo, {concurrent} at once"
        rates[label] = updates / took
    api = OfflineBotAPI(username="BenchBot")
    app = build_application(Settings(db_path=store.path), request=OfflineRequest(api), store=store)
    rng = random.Random(7)
    people = [api.user(f"Reader{n}") for n in range(users)]
    chats = {user.id: api.private_chat(user) for user in people}
    async with app:
        cards = {}  # every reader has a card open, so presses are in the mix
        for user in people:
            article_id = 1 + user.id % articles
            text = f"/article {article_id}"
            await app.process_update(
                Update.de_json(api.send_text(chats[user.id], user, text, queue=False), app.bot)
            )
            cards[user.id] = (int(api.sent_messages(chats[user.id])[-1]["message_id"]), article_id)
        batch = [
            _next_update(api, rng, user, chats[user.id], cards[user.id], articles)
            for _, user in zip(range(updates), itertools.cycle(people), strict=False)
        ]
        api.latency = rtt
        took = await through_the_queue(app, batch)
    rates["newsbot, chats side by side"] = updates / took
    for label, rate in rates.items():
        print(f"  {label:<30} {rate:8,.0f} updates/s")
    print(
        "  newsbot / echo at once: "
        f"{rates['newsbot, chats side by side'] / rates['echo, 64 at once']:.2f}   "
        "newsbot / echo one at a time: "
        f"{rates['newsbot, chats side by side'] / rates['echo, one at a time']:.1f}"
    )


async def polled(
    store: Store, updates: int, users: int, articles: int, *, inbox: bool
) -> tuple[float, float]:
    """Updates/s through long polling, as ``newsbot run`` gets them: with the durable
    inbox (each fetched batch written in one transaction, each update marked handled),
    or with it detached. Returns (updates/s, updates per CPU second): the second holds
    still on a busy machine, where other processes take turns on the cores."""
    api = OfflineBotAPI(username="BenchBot")
    app = build_application(Settings(db_path=store.path), request=OfflineRequest(api), store=store)
    rng = random.Random(11)
    people = [api.user(f"Reader{n}") for n in range(users)]
    chats = {user.id: api.private_chat(user) for user in people}
    # The stand-in numbers its updates from 1 each run: forget the last run's.
    await queues.prune_inbox(store, now=time.time() + 10 * queues.INBOX_KEEP_SECONDS)
    async with app:
        await open_store(app)
        if not inbox:
            assert app.bot_data.inbox is not None
            app.bot_data.inbox.store = None
        cards = {}
        for user in people:
            article_id = 1 + user.id % articles
            text = f"/article {article_id}"
            await app.process_update(
                Update.de_json(api.send_text(chats[user.id], user, text, queue=False), app.bot)
            )
            cards[user.id] = (int(api.sent_messages(chats[user.id])[-1]["message_id"]), article_id)
        last = 0
        for _, user in zip(range(updates), itertools.cycle(people), strict=False):
            update = _next_update(
                api, rng, user, chats[user.id], cards[user.id], articles, queue=True
            )
            last = int(update["update_id"])
        assert app.updater is not None and app.bot_data.inbox is not None
        await app.start()
        # As ``newsbot run`` starts: where workers claim updates, this starts claiming.
        await app.bot_data.inbox.replay(app.update_queue, app.bot)
        start, cpu = time.perf_counter(), time.process_time()
        await app.updater.start_polling(poll_interval=0, timeout=1)
        while True:  # until a getUpdates confirms the last update: all are on the queue
            polls = api.calls_to("getUpdates")
            if any(int(call.params.get("offset") or 0) > last for call in polls):
                break
            await api.wait_for_calls("getUpdates", len(polls) + 1)
        await every_update_handled(app, store)
        took, cpu = time.perf_counter() - start, time.process_time() - cpu
        await app.updater.stop()
        await app.bot_data.inbox.stop()
        await app.stop()
        await app.bot_data.inbox.flush()
    return updates / took, updates / cpu


CLAIM_CHECK = 0.01  # seconds between looks at the inbox for updates not yet handled


async def every_update_handled(
    app: Application[Any, Any, Any, Any, Any, Any], store: Store
) -> None:
    """Wait until every polled update is handled. An empty queue says so with one worker;
    where workers claim updates (PostgreSQL), a stored update reaches the queue only once
    claimed, after its chat's earlier one is marked handled: wait for the inbox too."""
    await app.update_queue.join()
    inbox = app.bot_data.inbox
    while inbox is not None and inbox.claims and await queues.unhandled_updates(store):
        await asyncio.sleep(CLAIM_CHECK)
        await app.update_queue.join()


async def run_inbox_cost(
    store: Store, updates: int, users: int, articles: int, rounds: int = 3
) -> None:
    """The durable inbox's cost: long polling with it and without it, alternately."""
    rates: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    for _ in range(rounds):
        for inbox in (False, True):
            rates[inbox].append(await polled(store, updates, users, articles, inbox=inbox))
    print(f"through getUpdates, {updates:,} updates, best of {rounds} each:")
    best = {}
    for inbox in (False, True):
        wall = max(rate for rate, _ in rates[inbox])
        best[inbox] = max(per_cpu for _, per_cpu in rates[inbox])
        label = "with the inbox" if inbox else "without the inbox"
        print(f"  {label:<18} {wall:8,.0f} updates/s   {best[inbox]:8,.0f} updates per CPU second")
    print(f"  the inbox's cost: {1 - best[True] / best[False]:.1%} of throughput per CPU second")


async def run_echo(updates: int, users: int) -> dict[str, float]:
    """The baseline: a one-line echo handler on the same stand-in."""
    api = TimedAPI(username="EchoBot")
    app = echo_bot(api)
    people = [api.user(f"Echo{n}") for n in range(users)]
    chats = {user.id: api.private_chat(user) for user in people}
    own: list[float] = []
    samples: list[float] = []
    busy = 0.0
    async with app:
        for n in range(updates):
            user = people[n % users]
            update = api.send_text(chats[user.id], user, f"/article {n % 500}", queue=False)
            api.server_time = 0.0
            start = time.perf_counter()
            await app.process_update(Update.de_json(update, app.bot))
            took = time.perf_counter() - start
            samples.append(took)
            own.append(took - api.server_time)
            busy += took
    result = figures("echo", samples, busy)
    result["own"] = figures("  own", own, sum(own))["rate"]
    return result


# ---------------------------------------------------------------------- against the floor

RUN = time.strftime("%Y%m%d%H%M%S")
FLOOR_KINDS = ("/article", "/latest", "/timeline", "/comments", "Comments button", "/comment")


def _kind_update(
    api: OfflineBotAPI,
    kind: str,
    user: OfflineUser,
    chat: OfflineChat,
    card: tuple[int, str],
    n: int,
    articles: int,
) -> dict[str, Any]:
    """One update of a kind, about a spread of articles."""
    article_id = 1 + (n * 7919) % articles
    if kind == "Comments button":
        return api.press_button(chat, card[0], user, card[1], queue=False)
    text = {
        "/article": f"/article {article_id}",
        "/latest": "/latest 5",
        "/timeline": f"/timeline {article_id}",
        "/comments": f"/comments {article_id} 1",
        # A text of this run alone: an earlier run's same text would be refused as a duplicate.
        "/comment": f"/comment {article_id} A reader's comment, number {n} of run {RUN}.",
    }[kind]
    return api.send_text(chat, user, text, queue=False)


def floor_application(
    store: Store, api: OfflineBotAPI, replies: dict[str, tuple[str, Any]]
) -> Application[Any, Any, Any, Any, Any, Any]:
    """The real application (settings, request layer, processor, defaults) with every
    handler replaced by one that sends the reply the real handler sent, pre-rendered,
    and touches nothing else: the most this project's commands can reach."""
    app = build_application(Settings(db_path=store.path), request=OfflineRequest(api), store=store)
    for group, handlers in list(app.handlers.items()):
        for handler in list(handlers):
            app.remove_handler(handler, group)

    def sender(kind: str) -> Any:
        text, markup = replies[kind]

        async def send(update: Update, context: Any) -> None:
            if update.callback_query is not None:
                await update.callback_query.answer()
            await update.effective_message.reply_text(  # type: ignore[union-attr]
                text, reply_markup=markup, do_quote=update.callback_query is None
            )

        return send

    for kind in replies:
        if kind.startswith("/"):
            app.add_handler(CommandHandler(kind[1:], sender(kind)))
    if "Comments button" in replies:
        app.add_handler(CallbackQueryHandler(sender("Comments button")))
    return app


async def _run_kind(
    app: Application[Any, Any, Any, Any, Any, Any],
    api: TimedAPI,
    kind: str,
    updates: int,
    articles: int,
    first: int,
) -> tuple[float, list[float]]:
    """(updates/s less the stand-in's time, latencies) of ``updates`` of one kind."""
    people = [api.user(f"Floor{first + n}") for n in range(updates)]
    own: list[float] = []
    samples: list[float] = []
    store: Store = app.bot_data.open_store()
    for user in people:  # an earlier run's comments came from these very chats
        api.continue_chat(api.private_chat(user), await store.last_message_id(user.id))
    async with app:
        card_of: dict[int, tuple[int, str]] = {}
        if kind == "Comments button":  # each reader has a card to press under
            for user in people:
                chat = api.private_chat(user)
                await app.process_update(
                    Update.de_json(api.send_text(chat, user, "/article 1", queue=False), app.bot)
                )
                card = api.sent_messages(chat)[-1]
                data = next(
                    button["callback_data"]
                    for row in card["reply_markup"]["inline_keyboard"]
                    for button in row
                    if button.get("callback_data", "").startswith("cm:")
                )
                card_of[user.id] = (int(card["message_id"]), data)
        for n, user in enumerate(people):
            chat = api.private_chat(user)
            update = _kind_update(
                api, kind, user, chat, card_of.get(user.id, (0, "")), first + n, articles
            )
            api.server_time = 0.0
            start = time.perf_counter()
            await app.process_update(Update.de_json(update, app.bot))
            took = time.perf_counter() - start
            samples.append(took)
            own.append(took - api.server_time)
    return len(own) / sum(own), samples


FLOOR_ROUNDS = 5  # the real bot and the floor take turns, so both meet the same machine


async def run_against_floor(
    store: Store, updates: int, articles: int, rounds: int = FLOOR_ROUNDS
) -> None:
    """Each command through the real bot and through the floor, taking turns ``rounds``
    times in the same run (the machine's pace drifts): the median of each, and of the
    rounds' ratios; p99 is the real bot's over all its rounds."""
    print(
        f"each command, {updates:,} updates a round, against the floor (the same app and "
        f"replies), {rounds} rounds each in turn; medians:"
    )
    print(f"  {'command':<16} {'newsbot/s':>10} {'floor/s':>10} {'ratio':>6} {'p99 ms':>7}")
    first = 0
    replies: dict[str, tuple[str, Any]] = {}  # the real reply of each kind, for the floor
    for kind in FLOOR_KINDS:  # (the floor presses under the card /article sent)
        reals: list[float] = []
        floors: list[float] = []
        latencies: list[float] = []
        for _ in range(rounds):
            api = TimedAPI(username="BenchBot", first_user=first)
            app = build_application(
                Settings(db_path=store.path), request=OfflineRequest(api), store=store
            )
            real, samples = await _run_kind(app, api, kind, updates, articles, first)
            first += updates
            reals.append(real)
            latencies += samples
            floor_api = TimedAPI(username="BenchBot", first_user=first)
            replies[kind] = _last_reply(api, kind)
            floor_app = floor_application(store, floor_api, replies)
            floor, _ = await _run_kind(floor_app, floor_api, kind, updates, articles, first)
            first += updates
            floors.append(floor)
        ratio = statistics.median(r / f for r, f in zip(reals, floors, strict=True))
        p99 = sorted(latencies)[int(len(latencies) * 0.99)] * 1000
        print(
            f"  {kind:<16} {statistics.median(reals):10,.0f} "
            f"{statistics.median(floors):10,.0f} {ratio:6.2f} {p99:7.2f}"
        )


def _last_reply(api: OfflineBotAPI, kind: str) -> tuple[str, Any]:
    """The real bot's last reply (text, keyboard), for the floor to send pre-rendered."""
    reply = next(call for call in reversed(api.calls) if call.method == "sendMessage" and call.ok)
    if kind == "/comment" and not reply.params["text"].startswith("✅"):
        sys.exit(f"the comments were not posted: {reply.params['text']}")
    markup = reply.params.get("reply_markup")
    return reply.params["text"], InlineKeyboardMarkup.de_json(markup, None) if markup else None


async def copy_corpus(source: Path, target: str, batch_size: int = 200) -> Store:
    """The store at ``target`` holding the corpus at ``source``, exported and imported
    again as ``newsbot export`` and ``newsbot import`` do it (ids kept), then vacuumed
    and analysed."""
    print(f"copying the corpus at {source} to PostgreSQL ...", file=sys.stderr)
    started = time.perf_counter()
    corpus = await Store.open(source)
    store = await Store.open(target)
    batch: list[ParsedArticle] = []
    try:
        async for article, timeline, comments, key in corpus.export_rows():
            record = json.dumps(article_record(article, timeline, comments, key))
            batch.append(top_level(parse_record(record, "corpus")))
            if len(batch) == batch_size:
                await _save(store, batch)
                batch = []
        await _save(store, batch)
    finally:
        await corpus.close()
    await vacuum_analyze(target)
    print(f"copied in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return store


def top_level(parsed: ParsedArticle) -> ParsedArticle:
    """The article with its comments' ids dropped when none is a reply or a Telegram
    message (as in corpus.py's corpus): then they are saved in one batch, as corpus.py
    saved them, not one at a time as a merge is; they get the same ids, in order."""
    if any(c.parent_id is not None or c.message_id is not None for c in parsed.comments):
        return parsed
    return replace(parsed, comments=tuple(replace(c, id=None) for c in parsed.comments))


async def _save(store: Store, batch: list[ParsedArticle]) -> None:
    for result in await store.save_articles(batch):
        if isinstance(result, Exception):
            raise result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--corpus", default="/tmp/newsbot-corpus", help="folder of corpus.py")
    parser.add_argument("--updates", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--memory-updates", type=int, default=2_000)
    parser.add_argument("--network-updates", type=int, default=1_000)
    parser.add_argument("--rtt-ms", type=float, default=20.0, help="simulated round trip")
    parser.add_argument("--floor-updates", type=int, default=2_000, help="per command")
    parser.add_argument("--polled-updates", type=int, default=5_000)
    parser.add_argument("--only-inbox", action="store_true", help="measure the inbox's cost only")
    parser.add_argument(
        "--only-floor", action="store_true", help="measure each command against the floor only"
    )
    parser.add_argument("--db", metavar="URL", help="a postgresql:// server (default: SQLite)")
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL schema")
    args = parser.parse_args()
    db_path = Path(args.corpus) / "corpus.sqlite3"
    if not db_path.exists():
        sys.exit(f"no corpus at {db_path}: run  python bench/corpus.py --keep {args.corpus}")
    async with contextlib.AsyncExitStack() as schemas:
        if args.db:
            url = await schemas.enter_async_context(fresh_schema(args.db, args.keep))
            store = await copy_corpus(db_path, url)
        else:
            store = await Store.open(db_path)
        try:
            await measure(store, args)
        finally:
            await store.close()


async def measure(store: Store, args: argparse.Namespace) -> None:
    """Every figure of the benchmark, with the bot on ``store``."""
    articles = await store.article_count()
    print(f"corpus: {articles:,} articles; {args.updates:,} updates from {args.users:,} users")
    if args.only_inbox:
        await run_inbox_cost(store, args.polled_updates, args.users, articles)
        return
    if args.only_floor:
        await run_against_floor(store, args.floor_updates, articles)
        return
    echo = await run_echo(args.updates, args.users)
    news = await run_newsbot(store, args.updates, args.users, articles, seed=5)
    echo_peak = await peak_memory(run_echo(args.memory_updates, args.users))
    news_peak = await peak_memory(
        run_newsbot(store, args.memory_updates, args.users, articles, seed=6)
    )
    print(
        f"newsbot / echo throughput: {news['rate'] / echo['rate']:.2f} "
        f"(less the stand-in's own time: {news['own'] / echo['own']:.2f})   "
        f"p99: {news['p99']:.2f} ms vs {echo['p99']:.2f} ms"
    )
    print(
        f"peak Python memory over {args.memory_updates:,} updates: newsbot "
        f"{news_peak / 2**20:.1f} MiB, echo {echo_peak / 2**20:.1f} MiB "
        f"(ratio {news_peak / echo_peak:.2f})"
    )
    await run_against_floor(store, args.floor_updates, articles)
    await run_with_network(store, args.network_updates, args.users, articles, args.rtt_ms / 1000)
    await run_inbox_cost(store, args.polled_updates, args.users, articles)


async def peak_memory(run: Awaitable[dict[str, float]]) -> int:
    """Peak bytes allocated by Python while a run goes (its printout is dropped)."""
    tracemalloc.start()
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            await run
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


if __name__ == "__main__":
    asyncio.run(main())
