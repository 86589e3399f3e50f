"""Nothing lost, nothing doubled: the inbox, the outbox, safe retries and pacing.

A crash is played in-process: the task handling an update is cancelled at a
chosen point (a database statement held by a function the test plants), the
application is stopped, and a new one starts on the same database, as
``newsbot run`` would after ``kill -9``.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from telegram import Update
from telegram.request import BaseRequest

from bot.app import ALLOWED_UPDATES, build_application, open_store, post_init, post_shutdown
from bot.config import Settings
from bot.context import NewsApp
from bot.inbox import Inbox
from bot.offline import OfflineBotAPI, OfflineRequest
from bot.offline.server import OfflineServer
from bot.outbox import CHATS_AT_ONCE, PUSH_SETTLE, Outbox
from bot.request import Pacer
from storage import Store, import_sources, queues
from storage import channels as channel_store
from tests.conftest import Driver, buttons, only_text, outbox_of, until

CONFIRMED = "✅ Comment #"


class CrashPoint:
    """Holds the database statement a trigger names, so the test can crash the bot there."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.crashed = threading.Event()

    def __call__(self) -> None:
        self.reached.set()
        self.crashed.wait(10)
        raise RuntimeError("the process died here")

    async def plant(self, store: Store, trigger: str) -> None:
        await store.db.create_function("crash_point", 0, self)
        await store.db.execute(
            f"CREATE TEMP TRIGGER crash_point {trigger} BEGIN SELECT crash_point(); END"
        )

    async def crash(self, app: NewsApp, store: Store) -> None:
        """Once the statement is reached: the update's handling dies there, and the bot stops."""
        for _ in range(500):
            if self.reached.is_set():
                break
            await asyncio.sleep(0.01)
        assert self.reached.is_set(), "the crash point was never reached"
        for task in asyncio.all_tasks():
            if task.get_name().endswith("process_concurrent_update"):
                task.cancel()
        self.crashed.set()
        await asyncio.sleep(0.05)
        await store.db.execute("DROP TRIGGER temp.crash_point")
        await stop(app)


async def start(app: NewsApp) -> None:
    """What ``newsbot run`` does: post_init (replay, outbox), then long polling."""
    await app.initialize()
    await post_init(app)
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling(allowed_updates=ALLOWED_UPDATES, poll_interval=0)


async def stop(app: NewsApp) -> None:
    assert app.updater is not None
    await app.updater.stop()
    await app.stop()
    await post_shutdown(app)
    await app.shutdown()


@contextlib.asynccontextmanager
async def running(
    api: OfflineBotAPI, store: Store, settings: Settings, request: BaseRequest | None = None
) -> AsyncIterator[NewsApp]:
    app = build_application(settings, request=request or OfflineRequest(api), store=store)
    await start(app)
    try:
        yield app
    finally:
        await stop(app)


def confirmations(api: OfflineBotAPI, chat: Any) -> list[dict[str, Any]]:
    return [m for m in api.sent_messages(chat) if m["text"].startswith(CONFIRMED)]


# ---------------------------------------------------------------------- the inbox


async def test_a_fetched_batch_is_stored_before_the_next_get_updates_confirms_it(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    api.hold("sendMessage")  # the handlers cannot finish: nothing is handled yet
    async with running(api, store, settings) as app:
        api.send_text(chat, reader, "/help")
        api.send_text(chat, reader, "/latest")
        ids = [u["update_id"] for u in api.pending_updates()]
        await until(
            lambda: any(c.params.get("offset") == ids[-1] + 1 for c in api.calls_to("getUpdates"))
        )
        # Telegram is now told both arrived: both are in the database already.
        assert [i for i, _ in await queues.unhandled_updates(store)] == ids
        api.release("sendMessage")
        await until(lambda: len(api.sent_messages(chat)) == 2)
        assert app.updater is not None
    await until(lambda: True)
    assert await queues.unhandled_updates(store) == []


async def test_an_update_handled_once_is_not_handled_again_when_redelivered(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    async with running(api, store, settings):
        update = api.send_text(chat, reader, "/help")
        await until(lambda: len(api.sent_messages(chat)) == 1)
        api.redeliver(update["update_id"])  # Telegram sends it again
        await until(lambda: not api.pending_updates())  # fetched, and confirmed
        await asyncio.sleep(0.05)
    # ... and again to the restarted bot, which polls from the start.
    api.redeliver(update["update_id"])
    async with running(api, store, settings):
        await until(lambda: not api.pending_updates())
        await asyncio.sleep(0.05)
    assert len(api.sent_messages(chat)) == 1
    assert await queues.unhandled_updates(store) == []


async def test_a_fetched_batch_with_a_lone_surrogate_is_stored_all_the_same(
    api: OfflineBotAPI, store: Store
) -> None:
    """JSON may escape a lone surrogate ("\\ud800"), which no encoder takes: a batch that
    could not be stored would be fetched again and again, and nothing after it handled."""
    reader = api.user("Reader")
    update = api.send_text(api.private_chat(reader), reader, "/search x", queue=False)
    update["message"]["text"] = "/search a\ud800b"
    inbox = Inbox()
    inbox.attach(store)
    await inbox.store_batch([update])
    [(update_id, payload)] = await queues.unhandled_updates(store)
    assert update_id == update["update_id"]
    assert json.loads(payload)["message"]["text"] == "/search a\ud800b"


async def test_a_webhook_update_is_stored_before_it_is_queued_and_replayed_after_a_crash(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    first = api.send_text(chat, reader, "/comment 1 Sent through the webhook.", queue=False)
    second = api.send_text(chat, reader, "/help", queue=False)
    app = build_application(settings, request=OfflineRequest(api), store=store)
    async with app:
        await open_store(app)
        # python-telegram-bot's webhook handler awaits this put before it answers Telegram.
        for update in (first, second):
            await app.update_queue.put(Update.de_json(update, app.bot))
        stored = [i for i, _ in await queues.unhandled_updates(store)]
        assert stored == [first["update_id"], second["update_id"]]
    # The bot died before handling them: the next start handles them first, in order.
    async with running(api, store, settings):
        await until(lambda: len(api.sent_messages(chat)) == 2)
    answers = [m["text"] for m in api.sent_messages(chat)]
    assert answers[0].startswith(CONFIRMED) and "/latest" in answers[1]
    assert await queues.unhandled_updates(store) == []


@pytest.mark.sqlite_only("a crash injected by a SQLite function")
async def test_a_comment_cut_off_by_a_crash_is_saved_and_confirmed_after_it(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    point = CrashPoint()
    # The comment and the claim of its confirmation are one write: dying at the claim
    # leaves neither, and the update unhandled in the inbox.
    await point.plant(store, "BEFORE INSERT ON main.deliveries")
    app = build_application(settings, request=OfflineRequest(api), store=store)
    await start(app)
    api.send_text(chat, reader, "/comment 1 Saved, then the bot died.")
    await point.crash(app, store)
    assert [c for c in await store.all_comments(1) if c.user_id == reader.id] == []
    assert confirmations(api, chat) == []
    async with running(api, store, settings):  # the restart handles what was left
        await until(lambda: len(confirmations(api, chat)) == 1)
        await asyncio.sleep(0.1)
    [comment] = [c for c in await store.all_comments(1) if c.user_id == reader.id]
    [confirmation] = confirmations(api, chat)
    assert confirmation["text"].startswith(f"{CONFIRMED}{comment.id} posted on")
    assert [c.id for c in await store.all_comments(1) if c.user_id == reader.id] == [comment.id]
    delivery = await queues.delivery(store, chat.id, f"comment:{comment.id}")
    assert delivery is not None and delivery["state"] == "sent"
    assert delivery["message_id"] == confirmation["message_id"]


@pytest.mark.sqlite_only("a crash injected by a SQLite function")
async def test_a_confirmation_sent_just_before_a_crash_is_not_sent_again(
    api: OfflineBotAPI, store: Store, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    point = CrashPoint()
    # Telegram has the confirmation; the bot dies before writing down that it went.
    await point.plant(store, "BEFORE UPDATE OF state ON main.deliveries WHEN new.state = 'sent'")
    app = build_application(settings, request=OfflineRequest(api), store=store)
    await start(app)
    api.send_text(chat, reader, "/comment 1 Confirmed, then the bot died.")
    await point.crash(app, store)
    assert len(confirmations(api, chat)) == 1
    async with running(api, store, settings):
        await asyncio.sleep(0.2)
    assert len(confirmations(api, chat)) == 1
    assert len([c for c in await store.all_comments(1) if c.user_id == reader.id]) == 1
    assert (await queues.delivery_counts(store))["unknown"] == 1


# ---------------------------------------------------------------------- retries


async def test_a_call_that_never_left_is_sent_again(driver: Driver) -> None:
    reader = driver.api.user("Reader")
    driver.app.bot.request.backoff = 0.01  # type: ignore[attr-defined]
    driver.api.fail_next("sendMessage", network=True, times=2)  # connect errors
    calls = await driver.say(reader, reader, "/help")
    assert [c.ok for c in calls] == [False, False, True]
    assert len(driver.bot_messages(reader)) == 1


async def test_a_call_that_may_have_arrived_is_not_sent_again(driver: Driver) -> None:
    reader = driver.api.user("Reader")
    driver.api.drop_after_delivery("sendMessage", timeout=False)
    calls = await driver.feed(
        driver.api.send_text(driver.api.private_chat(reader), reader, "/help", queue=False),
        allow_errors=True,
    )
    assert [c.dropped for c in calls if c.method == "sendMessage"][:1] == [True]
    helps = [m for m in driver.bot_messages(reader) if "/latest" in m["text"]]
    assert len(helps) == 1


@pytest.mark.parametrize("read_timeout", [True, False])
async def test_a_comment_whose_confirmation_may_have_arrived_is_not_confirmed_twice(
    driver: Driver, store: Store, read_timeout: bool
) -> None:
    reader = driver.api.user("Reader")
    chat = driver.api.private_chat(reader)
    driver.api.drop_after_delivery("sendMessage", timeout=read_timeout)
    calls = await driver.say(reader, reader, "/comment 1 Did that go through?")
    await outbox_of(driver.app).deliver_due(settle=0)
    assert len(calls) == 1  # no resend, and no apology: the comment was saved
    [confirmation] = driver.api.sent_messages(chat)
    assert confirmation["text"].startswith(CONFIRMED)
    assert (await queues.delivery_counts(store))["unknown"] == 1


@pytest.mark.parametrize(
    "failure", [{"error_code": 500}, {"error_code": 502}, {"retry_after": 120}]
)
async def test_a_saved_comment_is_confirmed_late_when_telegram_failed_not_apologised_for(
    driver: Driver, store: Store, failure: dict[str, int]
) -> None:
    reader = driver.api.user("Reader")
    chat = driver.api.private_chat(reader)
    driver.api.fail_next("sendMessage", **failure)
    comment = driver.api.send_text(chat, reader, "/comment 1 Worth the wait.", queue=False)
    calls = await driver.feed(comment)
    assert [c.ok for c in calls] == [False]  # Telegram did not take it; no "Sorry"
    assert driver.api.sent_messages(chat) == []
    outbox: Outbox = outbox_of(driver.app)
    assert await outbox.deliver_due() == 0  # not due yet
    outbox.clock = lambda: time.time() + 3600
    assert await outbox.deliver_due() == 1
    [confirmation] = driver.api.sent_messages(chat)
    assert confirmation["text"].startswith(CONFIRMED)
    # Late, it answers the comment's message, so the reader sees which comment it was.
    assert confirmation["reply_to_message"]["message_id"] == comment["message"]["message_id"]
    assert await outbox.deliver_due() == 0
    assert (await queues.delivery_counts(store))["sent"] == 1


# ---------------------------------------------------------------------- the outbox


def article_file(tmp_path: Path, title: str) -> Path:
    path = tmp_path / f"{title}.txt"
    path.write_text(f"{title}\n\nThe desk reported it in May 2024.\n", encoding="utf-8")
    return path


async def test_an_article_imported_while_the_bot_was_stopped_reaches_every_subscriber(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    fans = [driver.api.user(f"Fan{n}") for n in range(3)]
    for fan in fans:
        only_text(await driver.say(fan, fan, "/subscribe"))
    report = await import_sources(store, [str(article_file(tmp_path, "Harbour Reopens"))])
    [article_id] = report.new_ids
    outbox: Outbox = outbox_of(driver.app)
    assert await outbox.deliver_due(settle=0) == 3
    for fan in fans:
        [card] = driver.bot_messages(fan)[1:]
        assert card["text"].startswith("Harbour Reopens\n")
        delivery = await queues.delivery(store, fan.id, f"article:{article_id}")
        assert delivery == {
            "state": "sent",
            "message_id": card["message_id"],
            "attempts": 1,
            "error": None,
        }
    # Importing it again, or another round, sends nothing more.
    await import_sources(store, [str(article_file(tmp_path, "Harbour Reopens"))])
    assert await outbox.deliver_due(settle=0) == 0
    # A month on, what became of them is forgotten; nothing owed ever is.
    assert await queues.prune_deliveries(store) == 0
    assert await queues.prune_deliveries(store, now=time.time() + 31 * 24 * 3600) == 3


async def test_an_article_reaches_more_subscribers_than_are_sent_to_side_by_side(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    # Each chat sent to holds a lock (on PostgreSQL, a connection) while its round runs.
    fans = [driver.api.user(f"Fan{n}") for n in range(CHATS_AT_ONCE + 8)]
    for fan in fans:
        only_text(await driver.say(fan, fan, "/subscribe"))
    await import_sources(store, [str(article_file(tmp_path, "Harbour Reopens"))])
    outbox: Outbox = outbox_of(driver.app)
    assert await asyncio.wait_for(outbox.deliver_due(settle=0), 60) == len(fans)
    for fan in fans:
        assert driver.bot_messages(fan)[-1]["text"].startswith("Harbour Reopens\n")


async def test_the_running_bot_pushes_an_article_another_process_imported(
    api: OfflineBotAPI, store: Store, settings: Settings, tmp_path: Path
) -> None:
    fan = api.user("Fan")
    chat = api.private_chat(fan)
    async with running(api, store, settings) as app:
        api.send_text(chat, fan, "/subscribe")
        await until(lambda: len(api.sent_messages(chat)) == 1)
        other = await Store.open(store.path)  # `newsbot import` beside the running bot
        await import_sources(other, [str(article_file(tmp_path, "Late Story"))])
        await other.close()
        outbox_of(app).wake.set()  # rather than wait for the next round
        await until(lambda: len(api.sent_messages(chat)) == 2, seconds=10)
    assert api.sent_messages(chat)[1]["text"].startswith("Late Story\n")


async def test_a_long_flood_wait_postpones_a_push_and_loses_nothing(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    fans = [driver.api.user(f"Fan{n}") for n in range(2)]
    for fan in fans:
        only_text(await driver.say(fan, fan, "/subscribe"))
    await import_sources(store, [str(article_file(tmp_path, "Busy Day"))])
    driver.api.fail_next("sendMessage", retry_after=3600)
    outbox: Outbox = outbox_of(driver.app)
    outbox.pacer.max_pause = 0  # else other pushes wait a minute (see the pacing tests)
    assert await outbox.deliver_due(settle=0) == 1
    counts = await queues.delivery_counts(store)
    assert (counts["queued"], counts["sent"]) == (1, 1)
    assert await outbox.deliver_due(settle=0) == 0  # still waiting
    outbox.clock = lambda: time.time() + 3601
    assert await outbox.deliver_due(settle=0) == 1
    for fan in fans:
        assert [m["text"].split("\n")[0] for m in driver.bot_messages(fan)[1:]] == ["Busy Day"]


async def test_a_push_cut_off_by_a_crash_is_never_sent_twice(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    fans = [driver.api.user(f"Fan{n}") for n in range(2)]
    for fan in fans:
        only_text(await driver.say(fan, fan, "/subscribe"))
    await import_sources(store, [str(article_file(tmp_path, "Crash Story"))])
    outbox: Outbox = outbox_of(driver.app)
    driver.api.hold("sendMessage")
    mark = len(driver.api.calls_to("sendMessage"))
    pushing = asyncio.create_task(outbox.deliver_due(settle=0))
    await driver.api.wait_for_calls("sendMessage", mark + 2)
    pushing.cancel()  # the bot dies with both cards on the wire
    with contextlib.suppress(asyncio.CancelledError):
        await pushing
    driver.api.release("sendMessage")
    restarted = Outbox(driver.app.bot, lambda: store, Pacer())
    await restarted.start()
    await restarted.stop()
    assert await restarted.deliver_due(settle=0) == 0
    assert (await queues.delivery_counts(store))["unknown"] == 2
    assert len(driver.api.calls_to("sendMessage")) == mark + 2


# ---------------------------------------------------------------------- pacing


class FakeTime:
    """A clock that moves only when the pacer sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def test_pushes_keep_to_thirty_a_second_and_replies_take_their_share_first() -> None:
    fake = FakeTime()
    pacer = Pacer(clock=fake, sleep=fake.sleep, margin=0)
    for chat_id in range(1, 11):
        pacer.record(chat_id)  # ten replies to readers this second
    start = fake.now
    for chat_id in range(100, 120):
        await pacer.push_slot(chat_id)
    assert fake.now == start  # 10 replies + 20 pushes fit in the second
    await pacer.push_slot(121)
    assert fake.now - start == pytest.approx(1.0)  # the 31st waits for the next second


async def test_a_chat_gets_a_short_burst_then_one_a_second_and_a_group_twenty_a_minute() -> None:
    fake = FakeTime()
    pacer = Pacer(clock=fake, sleep=fake.sleep, margin=0)
    start = fake.now
    for _ in range(6):
        await pacer.push_slot(42)
    assert fake.now == start
    await pacer.push_slot(42)
    assert fake.now - start == pytest.approx(1.0)
    group = -100500
    start = fake.now
    for _ in range(21):
        await pacer.push_slot(group)
    assert fake.now - start == pytest.approx(60.0)


async def test_a_flood_wait_holds_every_push(driver: Driver) -> None:
    fake = FakeTime()
    pacer = Pacer(clock=fake, sleep=fake.sleep, margin=0)
    pacer.pause(5)
    start = fake.now
    await pacer.push_slot(7)
    assert fake.now - start == pytest.approx(5.0)
    pacer.pause(3600)  # a longer wait postpones the delivery that met it, not every push
    start = fake.now
    await pacer.push_slot(8)
    assert fake.now - start == pytest.approx(60.0)


async def test_a_connected_channel_gets_every_new_article_as_a_published_card(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    editor = driver.api.user("Editor")
    channel = driver.api.channel("Daily News", username="dailynews", owner=editor)
    await channel_store.connect_channel(store, channel.id, channel.title)
    paths = [str(article_file(tmp_path, f"Story {n}")) for n in range(1, 8)]
    report = await import_sources(store, paths)
    assert await outbox_of(driver.app).deliver_due(settle=0) == 7  # a channel gets no pointer
    posts = driver.api.messages(channel)
    assert [p["text"].split("\n")[0] for p in posts] == [f"Story {n}" for n in range(7, 0, -1)]
    assert buttons(posts[0])[0][0][1].startswith("https://t.me/NewsTestBot?start=")
    assert {post.article_id for post in await channel_store.stale_posts(store)} <= set(
        report.new_ids
    )


async def test_a_push_telegram_refuses_is_failed_not_retried(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    await store.save_chat(777, "private", None)  # a chat Telegram does not know (any more)
    await store.set_subscribed(777, True)
    await import_sources(store, [str(article_file(tmp_path, "Nowhere"))])
    outbox = outbox_of(driver.app)
    assert await outbox.deliver_due(settle=0) == 0
    assert await outbox.deliver_due(settle=0) == 0
    [refused] = driver.api.calls_to("sendMessage")
    assert not refused.ok
    counts = await queues.delivery_counts(store)
    assert (counts["failed"], counts["queued"], counts["unknown"]) == (1, 0, 0)


async def test_an_answer_owed_to_a_reader_goes_before_pushes(
    driver: Driver, store: Store, tmp_path: Path
) -> None:
    fans = [driver.api.user(f"Fan{n}") for n in range(3)]
    for fan in fans:
        only_text(await driver.say(fan, fan, "/subscribe"))
    reader = fans[2]
    await import_sources(store, [str(article_file(tmp_path, "Later Story"))])  # queued first
    driver.api.fail_next("sendMessage", error_code=500)
    await driver.say(reader, reader, "/comment 1 Owed an answer.")
    outbox = outbox_of(driver.app)
    outbox.clock = lambda: time.time() + 3600
    driver.api.clear_calls()
    assert await outbox.deliver_due(settle=0) == 4
    texts = [c.params["text"] for c in driver.api.calls_to("sendMessage")]
    assert texts[0].startswith(CONFIRMED)  # first of all, before any chat's push
    assert [t.split("\n")[0] for t in texts[1:]] == ["<b>Later Story</b>"] * 3


@pytest.mark.sqlite_only("a crash injected by a SQLite function")
async def test_a_push_queued_as_the_bot_stops_is_sent_at_the_next_start(
    api: OfflineBotAPI, store: Store, settings: Settings, tmp_path: Path
) -> None:
    """``run_polling`` closes the bot's HTTP connections before ``post_shutdown``: the
    outbox has stopped by then, so it takes on no delivery it can no longer send."""
    fan = api.user("Fan")
    chat = api.private_chat(fan)
    async with OfflineServer(api) as server:
        app = build_application(
            dataclasses.replace(settings, base_url=server.base_url), store=store
        )
        await start(app)
        api.send_text(chat, fan, "/subscribe")
        await until(lambda: len(api.sent_messages(chat)) == 1)
        # What run_polling does once it is told to stop, in its order.
        assert app.updater is not None
        await app.updater.stop()
        await app.stop()
        if app.post_stop is not None:
            await app.post_stop(app)
        await app.shutdown()
        await import_sources(store, [str(article_file(tmp_path, "Late Story"))])
        await asyncio.sleep(PUSH_SETTLE + 0.5)  # a round of the outbox once it settled
        outbox_of(app).wake.set()
        await asyncio.sleep(0.2)
        await post_shutdown(app)
    rows = await store._all("SELECT state FROM deliveries WHERE kind = 'push'")
    assert [tuple(row) for row in rows] == [("queued",)]  # not taken on, so not lost
    async with running(api, store, settings):
        await until(lambda: len(api.sent_messages(chat)) == 2)
