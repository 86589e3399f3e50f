"""The durable inbox: every update is in the database before Telegram hears it arrived.

Telegram drops an update once a later ``getUpdates`` offset confirms it (or,
with a webhook, once the HTTP request is answered). So the update is written
first:

* long polling: ``InboxRequest`` wraps the getUpdates transport and writes a
  fetched batch in one transaction before python-telegram-bot sees it (and so
  before its next call moves the offset past it);
* a webhook, or anything else putting updates on the application's queue:
  ``InboxQueue.put`` writes the update before the webhook handler answers.

``ChatOrderedProcessor`` asks ``Inbox.begin`` before it runs an update and
calls ``Inbox.done`` after: an update handled before (a redelivery, or one
handled again after a restart) is skipped. An update whose handling was cut
short by a crash is not marked, so the next start handles it again
(``Inbox.replay``), first and in order; handlers are written so that the second
time has the effect of one (a stored comment is confirmed once: its
confirmation is claimed in the outbox, not sent again).

Handled marks are written together, ``MARK_DELAY`` after the first of them (one
transaction for every update finished meanwhile, rather than one each): an
update handled in the last moments before a crash is handled again after it,
which a comment survives as above and a reading command answers again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from telegram import Update
from telegram._utils.defaultvalue import DEFAULT_NONE
from telegram._utils.types import ODVInput
from telegram.error import NetworkError
from telegram.request import BaseRequest, RequestData

from bot.request import WrappedRequest
from storage import Store, queues

log = logging.getLogger(__name__)

RECENT_LIMIT = 10_000  # ids of handled updates remembered in memory
MARK_DELAY = 0.02  # seconds a handled mark waits for others to share its transaction
MARK_RETRY = 1.0  # seconds before marks that could not be written are tried again
CLAIM_BATCH = 64  # updates claimed at once when several workers share the database
CLAIM_POLL = 0.25  # seconds between looks for updates no worker is handling


class Inbox:
    """What this process knows of the inbox table: stored, running and handled updates."""

    def __init__(self) -> None:
        self.store: Store | None = None
        self._stored: set[int] = set()  # written and not yet handled
        self._running: set[int] = set()
        self._handled: dict[int, None] = {}  # handled, oldest first (bounded)
        self._marks: list[int] = []  # handled, to be written in the next transaction
        self._marking: asyncio.Future[None] | None = None
        self._claiming: asyncio.Task[None] | None = None  # several workers: see ``claim``
        self._wake = asyncio.Event()
        self._stopping = False

    @property
    def claims(self) -> bool:
        """Whether updates are claimed before they are handled: several workers share
        the database, and each update goes to the one that claims it."""
        return self.store is not None and self.store.several_workers

    def attach(self, store: Store) -> None:
        """Start keeping updates in this store."""
        self.store = store

    async def store_batch(self, updates: list[dict[str, Any]]) -> None:
        """Write a fetched batch in one transaction (before it is confirmed to Telegram)."""
        if self.store is None:
            return
        rows = [
            _stored(u)
            for u in updates
            if isinstance(u, dict) and isinstance(u.get("update_id"), int)
        ]
        handled = await queues.store_updates(self.store, rows)
        for row in rows:
            if row.update_id in handled:
                self._remember_handled(row.update_id)
            else:
                self._stored.add(row.update_id)

    async def store_one(self, update: Update) -> None:
        """Write one update (a webhook's) unless it is stored already."""
        known = update.update_id in self._stored or update.update_id in self._handled
        if self.store is None or known:
            return
        handled = await queues.store_updates(self.store, [_stored(update.to_dict(), update)])
        if update.update_id in handled:
            self._remember_handled(update.update_id)
        else:
            self._stored.add(update.update_id)

    async def replay(self, queue: asyncio.Queue[object], bot: Any) -> int:
        """Queue the updates stored and not handled (a crash cut them short), in order.

        With several workers, claim them instead, now and from now on (``claim``).
        """
        if self.store is None:
            return 0
        if self.claims:
            if self._claiming is None:
                self._stopping = False
                self._claiming = asyncio.create_task(self.claim(queue, bot), name="inbox")
            return 0
        pending = await queues.unhandled_updates(self.store)
        self._queue(pending, queue, bot)
        if pending:
            log.info("handling %d updates left unhandled by the last run", len(pending))
        return len(pending)

    async def claim(self, queue: asyncio.Queue[object], bot: Any) -> None:
        """Claim the updates this worker may handle and queue them, forever.

        The database hands out an update only once every earlier update of its
        chat and its user is handled, and only to one worker (``Store.claim_updates``),
        so across workers a chat's updates are handled one at a time, in order. A
        worker looks again when an update arrives, when it finished some, and a few
        times a second for those a worker that died had claimed.
        """
        assert self.store is not None
        while not self._stopping:
            self._wake.clear()
            try:
                await self.store.stay_alive()
                claimed = await queues.claim_updates(self.store, CLAIM_BATCH)
            except Exception as exc:  # the database is away: look again soon
                log.warning("could not claim stored updates: %s", exc)
                claimed = []
            self._queue(claimed, queue, bot)
            if len(claimed) < CLAIM_BATCH and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), CLAIM_POLL)

    def _queue(
        self, stored: list[tuple[int, str]], queue: asyncio.Queue[object], bot: Any
    ) -> None:
        """Queue stored updates (id, JSON) to be handled, as updates this process stored."""
        for update_id, payload in stored:
            self._stored.add(update_id)
            queue.put_nowait(Update.de_json(json.loads(payload), bot))

    def wake(self) -> None:
        """Look for updates to claim now (one arrived, or others were handled)."""
        self._wake.set()

    async def stop(self) -> None:
        """Claim nothing more (the bot is stopping). A claim under way is finished and its
        updates queued: cut off, they would stay this worker's, and nobody's to handle."""
        task, self._claiming = self._claiming, None
        if task is not None:
            self._stopping = True
            self._wake.set()
            try:
                await task
            finally:
                self._stopping = False

    async def drain(self, queue: asyncio.Queue[object], bot: Any) -> None:
        """Claim nothing more, but what may be claimed now, and wait until the queue is
        handled: so it is while the application still runs, and is waited for when it
        stops (taken too late, an update waits for another worker, or the next start)."""
        if not self.claims:
            return
        await self.stop()
        assert self.store is not None
        self._queue(await queues.claim_updates(self.store, CLAIM_BATCH), queue, bot)
        await queue.join()

    def begin(self, update: object) -> bool:
        """Whether to handle this update: not if it was handled or is being handled."""
        if not isinstance(update, Update):
            return True
        update_id = update.update_id
        if update_id in self._handled or update_id in self._running:
            log.info("update %s was handled already: skipped", update_id)
            return False
        self._running.add(update_id)
        return True

    async def done(self, update: object) -> None:
        """Every handler is done with this update: mark it handled in the inbox."""
        if not isinstance(update, Update):
            return
        update_id = update.update_id
        try:
            if update_id in self._stored and self.store is not None:
                await self._mark(update_id)
                self._stored.discard(update_id)
        finally:
            self._running.discard(update_id)
            self._remember_handled(update_id)

    async def _mark(self, update_id: int) -> None:
        """Mark an update handled: written within ``MARK_DELAY``, with every other update
        finished meanwhile, in one transaction (one write for many chats at once)."""
        self._marks.append(update_id)
        if self._marking is None:
            self._marking = asyncio.ensure_future(self._write_marks())

    async def _write_marks(self) -> None:
        await asyncio.sleep(MARK_DELAY)
        await self.flush()

    async def flush(self) -> None:
        """Write the handled marks not written yet (at once: the bot is stopping)."""
        marks, self._marks, self._marking = self._marks, [], None
        if not marks or self.store is None:
            return
        try:
            await queues.mark_handled(self.store, marks)
        except Exception as exc:
            log.warning("could not mark %d updates handled: %s", len(marks), exc)
            if self.claims:  # still claimed by this worker, they would hold up their chats
                self._marks[:0] = marks
                self._marking = asyncio.ensure_future(self._retry_marks())
            return  # otherwise, unmarked, they are handled again after a restart
        self.wake()  # the next update of those chats may be claimed now

    async def _retry_marks(self) -> None:
        await asyncio.sleep(MARK_RETRY)
        await self.flush()

    def abandon(self, update: object) -> None:
        """Handling stopped short (cancelled): the update stays unhandled in the inbox."""
        if isinstance(update, Update):
            self._running.discard(update.update_id)

    def _remember_handled(self, update_id: int) -> None:
        self._handled[update_id] = None
        if len(self._handled) > RECENT_LIMIT:
            del self._handled[next(iter(self._handled))]


def chat_and_user(update: Update) -> tuple[int | None, int | None]:
    """The chat and the user an update keeps its place behind (``bot.ordering``)."""
    chat, user = update.effective_chat, update.effective_user
    return (chat.id if chat else None, user.id if user else None)


def _stored(data: dict[str, Any], update: Update | None = None) -> queues.StoredUpdate:
    """An update (its JSON, and the Update if at hand) as the inbox stores it."""
    chat, user = chat_and_user(update or Update.de_json(data, None))
    return queues.StoredUpdate(int(data["update_id"]), _payload(data), chat, user)


def _payload(update: dict[str, Any]) -> str:
    """An update as stored: JSON in ASCII, so that a lone surrogate ("\\ud800"), which
    JSON may carry and no encoder takes, is kept as its escape."""
    return json.dumps(update)


class InboxQueue(asyncio.Queue[object]):
    """The application's update queue: an update put on it is in the inbox first."""

    def __init__(self, inbox: Inbox) -> None:
        super().__init__()
        self.inbox = inbox

    async def put(self, item: object) -> None:
        """Store the update (if it is not already), then queue it; with several workers,
        leave it for the worker that claims it (``Inbox.claim``)."""
        if isinstance(item, Update):
            await self.inbox.store_one(item)
            if self.inbox.claims:
                self.inbox.wake()
                return
        await super().put(item)


class InboxRequest(WrappedRequest):
    """The getUpdates transport: a fetched batch is stored before anyone sees it.

    If the batch cannot be stored, the call fails as a network error: the
    updater asks again with the same offset, and Telegram sends the batch again.
    """

    def __init__(self, inner: BaseRequest, inbox: Inbox) -> None:
        super().__init__(inner)
        self.inbox = inbox

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = DEFAULT_NONE,
        write_timeout: ODVInput[float] = DEFAULT_NONE,
        connect_timeout: ODVInput[float] = DEFAULT_NONE,
        pool_timeout: ODVInput[float] = DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Pass the call on; store the updates a successful getUpdates returns."""
        code, payload = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        if code != 200 or not url.endswith("/getUpdates"):
            return code, payload
        try:
            result = json.loads(payload).get("result")
        except (ValueError, AttributeError):
            return code, payload  # python-telegram-bot reports what it cannot parse
        if isinstance(result, list) and result:
            try:
                await self.inbox.store_batch(result)
            except Exception as exc:
                log.warning("could not store fetched updates (%s): fetching them again", exc)
                raise NetworkError("the fetched updates could not be stored") from exc
        return code, payload
