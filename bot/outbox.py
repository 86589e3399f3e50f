"""The durable outbox: what the bot sends on its own, and what it owes a reader.

Every delivery is a row in the database (``storage.queues``) before it is sent,
so a crash, a flood wait or Telegram failing loses none of them:

* an article saved by any path is queued once for each subscribed chat (a
  trigger does it, so ``newsbot import`` while the bot is stopped counts too);
  ``Outbox.run`` sends what is due every few seconds, at the pace Telegram asks
  (``bot.request.Pacer``), readers' owed answers before pushes;
* ``answer_once`` sends a reader's confirmation at most once: a redelivered
  update finds it claimed; if Telegram did not take it (a long flood wait, a 5xx,
  no connection), the outbox sends it later instead of the reader hearing "Sorry".

A delivery is marked ``sending`` (committed) just before its call and ``sent``
with Telegram's message id after. One found ``sending`` after a crash, or cut
off by a timeout or a dropped connection, may have arrived, so it is never sent
again (``unknown``): a reader never gets the same message twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import replace

from telegram import Bot, InlineKeyboardMarkup, Message, ReplyParameters, Update
from telegram.constants import ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot import keyboards, render
from bot.context import NewsContext
from bot.handlers.channels import publish_card
from bot.handlers.common import reply
from bot.metrics import Metrics
from bot.request import NotDelivered, Pacer, never_sent
from storage import Store, queues
from storage.queues import Delivery

log = logging.getLogger(__name__)

MAX_PUSHED = 5  # cards a chat gets in one round; then a pointer to /latest
ROUND_SECONDS = 1.0  # how often the outbox looks for due deliveries (one cheap query)
PUSH_SETTLE = 1.0  # a chat's new pushes wait until none is younger (a burst goes as one)
CHATS_AT_ONCE = 32  # chats sent to side by side
RETRY_SECONDS = 30.0  # first pause after Telegram failed; doubles up to an hour
SENT_DELAY = 0.25  # seconds a sent mark waits for others to share its write (one write)
SETTLE_ROUNDS = 30  # with several workers: how often (in rounds) to settle a dead one's sends
_STOP = "stop"


class Outbox:
    """Sends due deliveries: replies owed to readers first, then pushes, paced."""

    def __init__(
        self,
        bot: Bot,
        store_of: Callable[[], Store],
        pacer: Pacer,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.bot = bot
        self.clock = clock
        self.metrics = metrics or Metrics()
        self._store_of = store_of  # a callable: the store, once post_init opened it
        self.pacer = pacer
        self.per_second = pacer.per_second  # the whole bot's, shared by its workers
        self.wake = asyncio.Event()
        self._round = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._sent: list[tuple[int, int, float]] = []  # (delivery, message id, when)
        self._recording: asyncio.Future[None] | None = None

    @property
    def store(self) -> Store:
        """The open store."""
        return self._store_of()

    async def start(self) -> None:
        """Send due deliveries in the background from now on.

        A delivery a crash left being sent may have arrived: it is never sent again.
        """
        await self.settle(starting=True)
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="newsbot:outbox")

    async def settle(self, *, starting: bool = False) -> None:
        """Messages a crash cut short while they were being sent (by this worker's last
        run, or by another worker that died) may have arrived: never send them again."""
        interrupted = await queues.settle_interrupted(self.store, starting=starting)
        self.metrics.delivered("unknown", interrupted)
        if interrupted:
            log.warning(
                "%d messages were being sent when a worker stopped: not sent again", interrupted
            )

    def note_sent(self, delivery_id: int, message_id: int) -> None:
        """Record a message Telegram took, within ``SENT_DELAY``, with the others meanwhile.

        Until then the delivery reads "sending": after a crash it is never sent again
        (it arrived), only its message id is not kept.
        """
        self._sent.append((delivery_id, message_id, self.clock()))
        if self._recording is None:
            self._recording = asyncio.ensure_future(self._record_soon())

    async def _record_soon(self) -> None:
        await asyncio.sleep(SENT_DELAY)
        await self.record_sent()

    async def record_sent(self) -> None:
        """Write the sent marks noted and not written yet (at once: the bot is stopping)."""
        marks, self._sent, self._recording = self._sent, [], None
        if marks:
            try:
                await queues.mark_sent_many(self.store, marks)
            except Exception as exc:  # unrecorded, they read "sending": never sent again
                log.warning("could not record %d messages sent: %s", len(marks), exc)

    async def stop(self) -> None:
        """Stop sending (a delivery being sent is left as the crash rules say)."""
        await self.record_sent()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """Deliver what is due, then wait for the next round or a wake-up; forever."""
        rounds = 0
        while True:
            try:
                await self.deliver_due()
                rounds += 1
                if self.store.several_workers and rounds % SETTLE_ROUNDS == 0:
                    await self.settle()
                if rounds % 3600 == 1:  # about hourly
                    await queues.prune_inbox(self.store)
                    await queues.prune_deliveries(self.store)
            except Exception:  # the outbox must outlive one bad round
                log.exception("sending queued messages failed; trying again next round")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wake.wait(), ROUND_SECONDS)
            self.wake.clear()

    async def deliver_due(self, *, settle: float = PUSH_SETTLE) -> int:
        """Send every delivery due now, chats side by side; returns messages sent.

        One round at a time (the outbox's own, or a feed round's): two at once would
        send a chat's cards side by side, out of their order.
        """
        async with self._round:
            return await self._deliver_due(settle)

    async def _deliver_due(self, settle: float) -> int:
        sent = 0
        done: set[int] = set()
        gate = asyncio.Semaphore(CHATS_AT_ONCE)
        if self.store.several_workers:  # the bot's pace, shared by the workers sending
            self.pacer.per_second = max(1, self.per_second // await self.store.live_workers())

        async def one_chat(chat_id: int) -> int:
            async with gate:
                return await self.deliver_chat(chat_id)

        while True:
            now = self.clock()
            due = [
                (chat_id, owed)
                for chat_id, owed in await queues.due_chats(self.store, now, now - settle, 1000)
                if chat_id not in done
            ]
            if not due:
                return sent
            done.update(chat_id for chat_id, _ in due)
            # Chats owed an answer first: a reader waits for it; a push can wait.
            for owed in (True, False):
                chats = [chat_id for chat_id, owes in due if owes is owed]
                for count in await asyncio.gather(*(one_chat(chat_id) for chat_id in chats)):
                    sent += count

    async def deliver_chat(self, chat_id: int) -> int:
        """Send one chat's due deliveries in order: owed replies, then pushed cards.

        One worker at a time sends to a chat; one that finds another at it leaves the
        chat to it.
        """
        async with self.store.held(f"outbox:{chat_id}") as mine:
            return await self._deliver_chat(chat_id) if mine else 0

    async def _deliver_chat(self, chat_id: int) -> int:
        store = self.store
        due = await queues.queued_for(store, chat_id, self.clock())
        replies = [d for d in due if d.kind == "reply"]
        pushes = [d for d in due if d.kind == "push"]
        target = await queues.push_target(store, chat_id)
        if pushes and not target.subscribed:
            await queues.fail_queued_pushes(store, chat_id, "the chat unsubscribed")
            pushes = []
        cards = [d for d in pushes if d.article_id is not None]
        if len(cards) > MAX_PUSHED and target.chat_type != ChatType.CHANNEL:
            # A burst: the first cards given (a feed lists its newest first), and a pointer.
            folded = cards[MAX_PUSHED:]
            await queues.fold_pushes(
                store,
                chat_id,
                [d.id for d in folded],
                f"more:{folded[-1].id}",
                render.more_new_articles(len(folded)),
            )
            due = await queues.queued_for(store, chat_id, self.clock())
            pushes = [d for d in due if d.kind == "push"]
            cards = [d for d in pushes if d.article_id is not None]
        # Cards oldest first, so the newest ends at the bottom of the chat; pointers last.
        ordered = [*replies, *reversed(cards), *(d for d in pushes if d.article_id is None)]
        sent = 0
        for delivery in ordered:
            outcome = await self._deliver(delivery, target)
            self.metrics.delivered(outcome)
            if outcome == _STOP:
                break
            sent += outcome == "sent"
        return sent

    async def _deliver(self, delivery: Delivery, target: queues.PushTarget) -> str:
        """Send one delivery and record what became of it; ``_STOP`` ends the chat's round."""
        store = self.store
        chat_id = delivery.chat_id
        text, markup, reply_to, thread = await self._message(delivery)
        if delivery.kind == "push":
            thread = target.topic_id  # the forum topic /subscribe was sent in
        if text is None:
            await queues.mark_failed(store, delivery.id, "the article is gone")
            return "failed"
        if delivery.kind == "push":
            await self.pacer.push_slot(chat_id)
        if not await queues.start_sending(store, delivery.id):
            if delivery.kind == "push":
                self.pacer.release(chat_id)
            return "skipped"
        try:
            if target.chat_type == ChatType.CHANNEL and delivery.article_id is not None:
                # A channel's card opens the article in the bot; its post is recorded.
                published = await publish_card(self.bot, store, chat_id, delivery.article_id)
                if published is None:
                    await queues.mark_failed(store, delivery.id, "the article is gone")
                    return "failed"
                await queues.mark_sent(store, delivery.id, published, self.clock())
                return "sent"
            message = await self.bot.send_message(
                chat_id,
                text,
                reply_markup=markup,
                reply_parameters=(
                    ReplyParameters(reply_to, allow_sending_without_reply=True)
                    if reply_to
                    else None
                ),
                message_thread_id=thread,
            )
        except ChatMigrated as exc:  # the group became a supergroup: follow it
            await queues.postpone(store, delivery.id, 0, str(exc), None)
            await store.move_chat(chat_id, exc.new_chat_id)
            self.wake.set()
            return _STOP
        except Forbidden as exc:
            log.info("chat %s blocked or removed the bot: unsubscribing it", chat_id)
            await queues.mark_failed(store, delivery.id, str(exc))
            self.metrics.delivered("failed")
            if delivery.kind == "push":
                await store.set_subscribed(chat_id, False)
                await queues.fail_queued_pushes(store, chat_id, str(exc))
            return _STOP
        except BadRequest as exc:
            if delivery.kind == "push" and thread is not None and _topic_gone(exc):
                # The forum topic /subscribe named was deleted: its General topic then.
                log.info("chat %s: topic %s is gone; new articles go to General", chat_id, thread)
                await store.set_subscribed(chat_id, True, None)
                await queues.postpone(store, delivery.id, 0, str(exc), None)  # queued again
                return await self._deliver(delivery, replace(target, topic_id=None))
            return await record_failure(
                store, delivery.id, exc, self.pacer, delivery.attempts, self.clock()
            )
        except TelegramError as exc:
            return await record_failure(
                store, delivery.id, exc, self.pacer, delivery.attempts, self.clock()
            )
        await queues.mark_sent(store, delivery.id, message.message_id, self.clock())
        return "sent"

    async def _message(
        self, delivery: Delivery
    ) -> tuple[str | None, InlineKeyboardMarkup | None, int | None, int | None]:
        """The text, buttons, replied-to message and topic of a delivery."""
        if delivery.article_id is not None:
            article = await self.store.article(delivery.article_id, delivery.chat_id)
            if article is None:
                return None, None, None, None
            count = article.comment_count
            return (
                render.article_card(article, count),
                keyboards.article_buttons(article.id, count),
                None,
                None,
            )
        payload = delivery.payload or {}
        markup = payload.get("reply_markup")
        return (
            payload.get("text"),
            InlineKeyboardMarkup.de_json(markup, self.bot) if markup else None,
            payload.get("reply_to"),
            payload.get("thread_id"),
        )


def _topic_gone(exc: BadRequest) -> bool:
    """Whether Telegram refused a message because its forum topic no longer exists."""
    return "thread not found" in exc.message.lower()


async def record_failure(
    store: Store,
    delivery_id: int,
    exc: TelegramError,
    pacer: Pacer | None,
    attempts: int,
    now: float,
) -> str:
    """What a failed send means for its delivery: later, never again, or refused for good."""
    if isinstance(exc, RetryAfter):
        wait = exc.retry_after
        seconds = wait.total_seconds() if hasattr(wait, "total_seconds") else float(wait)
        if pacer is not None:
            pacer.pause(seconds)
        log.warning("flood limit of %.0fs: delivery %s postponed", seconds, delivery_id)
        await queues.postpone(store, delivery_id, now + seconds, str(exc), None)
        return _STOP
    if isinstance(exc, BadRequest):  # Telegram refused it (PTB counts it a NetworkError)
        log.warning("Telegram refused delivery %s: %s", delivery_id, exc)
    elif isinstance(exc, NotDelivered) or (
        isinstance(exc, NetworkError) and not isinstance(exc, TimedOut) and never_sent(exc)
    ):
        pause = min(3600.0, RETRY_SECONDS * 2 ** max(0, attempts - 1))
        log.warning(
            "Telegram did not take delivery %s (%s): again in %.0fs", delivery_id, exc, pause
        )
        await queues.postpone(store, delivery_id, now + pause, str(exc), None)
        return _STOP
    elif isinstance(exc, NetworkError):  # a timeout or a dropped connection: it may have arrived
        log.warning(
            "delivery %s may or may not have arrived (%s): not sent again", delivery_id, exc
        )
        await queues.mark_unknown(store, delivery_id, str(exc))
        return "unknown"
    await queues.mark_failed(store, delivery_id, str(exc))
    return "failed"


def owed_answer(
    update: Update, text: str, markup: InlineKeyboardMarkup | None = None
) -> dict[str, object]:
    """What the outbox keeps of an answer owed to a reader: enough to send it later."""
    message = update.effective_message
    return {
        "text": text,
        "reply_markup": keyboards.as_json(markup) if markup is not None else None,
        "reply_to": message.message_id if message else None,
        "thread_id": message.message_thread_id if message and message.is_topic_message else None,
    }


async def answer_once(
    update: Update,
    context: NewsContext,
    key: str,
    text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    claimed: int | None = None,
) -> Message | None:
    """Send a reader an answer they are owed (a comment's confirmation) at most once.

    The first time it is claimed in the outbox (``claimed``: it was, with what it
    confirms) and sent as a reply; a redelivered update, or the same update handled
    again after a restart, finds it claimed and sends nothing. If Telegram did not
    take it, the outbox sends it later; if it may have arrived (a timeout), it is
    not sent again. Either way the reader is not told "Sorry": what they did was done.
    """
    chat = update.effective_chat
    if update.effective_message is None or chat is None:
        return None
    store = context.store
    delivery_id = claimed
    if delivery_id is None:
        payload = owed_answer(update, text, markup)
        delivery_id = await queues.claim_reply(store, chat.id, key, payload, time.time())
    if delivery_id is None:
        return None  # answered before, or queued to be
    outbox = context.bot_data.outbox
    try:
        sent = await reply(update, text, markup)
    except TelegramError as exc:
        outcome = await record_failure(
            store, delivery_id, exc, outbox.pacer if outbox else None, 1, time.time()
        )
        context.bot_data.metrics.delivered(outcome)
        if outcome == _STOP and outbox is not None:
            outbox.wake.set()
        return None
    if sent is not None:
        context.bot_data.metrics.delivered("sent")
        if outbox is not None:  # recorded with others in a moment: one write for many
            outbox.note_sent(delivery_id, sent.message_id)
        else:
            await queues.mark_sent(store, delivery_id, sent.message_id, time.time())
    return sent
