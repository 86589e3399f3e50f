"""Several workers on one PostgreSQL database: each update handled once, a chat's in order,
a dead worker's work taken over, one poller, one sender to a chat, one pace.

Each worker here is a real application with a store of its own (its own connections and
worker lock), all on one schema and one offline Bot API, as processes behind a proxy
would be. A worker "dies" as a killed process does: its connections drop at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import socket
import time
from asyncio.subprocess import DEVNULL
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path
from typing import Any

import httpx
import pytest
from telegram import Update

from bot.app import build_application, one_worker, post_init, post_shutdown
from bot.config import Settings
from bot.context import NewsApp
from bot.offline import OfflineBotAPI, OfflineRequest
from bot.offline.server import OfflineServer
from bot.outbox import Outbox
from storage import Store, queues
from tests.bot.test_webserver import TOKEN, newsbot_run, post_update, until_healthy
from tests.conftest import NO_POSTGRES, POSTGRES_URL, postgres_schema, until

pytestmark = pytest.mark.skipif(not POSTGRES_URL, reason=NO_POSTGRES)


@dataclasses.dataclass
class Worker:
    app: NewsApp
    store: Store
    crashed: bool = False

    async def receive(self, update: dict[str, Any]) -> None:
        """The update reaches this worker (as a webhook POST does): stored, then claimed
        by whichever worker may handle it."""
        await self.app.update_queue.put(Update.de_json(update, self.app.bot))


@asynccontextmanager
async def cluster(
    api: OfflineBotAPI, settings: Settings, count: int
) -> AsyncIterator[tuple[str, list[Worker]]]:
    """``count`` running workers sharing one fresh schema; stopped (if alive) after."""
    async with postgres_schema() as url:
        workers = []
        try:
            for _ in range(count):
                store = await Store.open(url)
                app = build_application(settings, request=OfflineRequest(api), store=store)
                await app.initialize()
                await post_init(app)
                await app.start()
                workers.append(Worker(app, store))
            yield url, workers
        finally:
            for worker in workers:
                # A crashed worker's connections are gone: what it writes on the way fails.
                with contextlib.suppress(Exception) if worker.crashed else nullcontext():
                    if worker.app.running:
                        await worker.app.stop()
                    await post_shutdown(worker.app)
                    await worker.app.shutdown()
                    await worker.store.close()


async def crash(worker: Worker) -> None:
    """The worker stops claiming and sending, and its connections drop at once, as when
    its process dies (``test_an_update_a_killed_worker…`` kills a real one)."""
    worker.crashed = True
    inbox, outbox = worker.app.bot_data.inbox, worker.app.bot_data.outbox
    assert inbox is not None and outbox is not None
    await inbox.stop()
    worker.app.bot_data.outbox = None
    await outbox.stop()
    worker.store.pool.terminate()  # type: ignore[attr-defined]
    await asyncio.sleep(0.2)  # the server sees its connections close


def answers(api: OfflineBotAPI, chat: Any) -> list[str]:
    return [m["text"] for m in api.sent_messages(chat)]


async def test_a_chats_updates_spread_over_workers_are_handled_once_each_in_order(
    api: OfflineBotAPI, settings: Settings
) -> None:
    readers = [api.user(f"Reader{n}") for n in range(4)]
    async with cluster(api, settings, 3) as (_, workers):
        sent = 0
        for round_ in range(5):
            for n, reader in enumerate(readers):
                chat = api.private_chat(reader)
                update = api.send_text(chat, reader, f"/comment 1 Note {round_}", queue=False)
                await workers[(round_ + n) % len(workers)].receive(update)
                sent += 1
        await until(lambda: sum(len(answers(api, api.private_chat(r))) for r in readers) == sent)
        await asyncio.sleep(0.3)  # nothing more comes
        for reader in readers:
            texts = answers(api, api.private_chat(reader))
            assert len(texts) == 5, texts
            # Comment ids rise with the updates: each chat's were handled in order.
            numbers = [int(t.split("#")[1].split(" ")[0]) for t in texts]
            assert numbers == sorted(numbers), texts
        claimed = {
            row[0] for row in await workers[0].store._all("SELECT DISTINCT claimed_by FROM inbox")
        }
        assert len(claimed) > 1  # the work was shared
        assert await queues.unhandled_updates(workers[0].store) == []


async def test_a_later_update_of_a_chat_waits_for_the_earlier_one_on_another_worker(
    api: OfflineBotAPI, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    async with cluster(api, settings, 2) as (_, (first, second)):
        api.hold("sendMessage")
        await first.receive(api.send_text(chat, reader, "/help", queue=False))
        await api.wait_for_calls("sendMessage", 1)  # /help's answer, held on its way
        await second.receive(api.send_text(chat, reader, "/latest", queue=False))
        await asyncio.sleep(0.5)  # a few claim rounds of both workers
        assert len(api.calls_to("sendMessage")) == 1  # /latest waits its turn
        api.release("sendMessage")
        await until(lambda: len(answers(api, chat)) == 2)
        assert answers(api, chat)[0].startswith("newsbot serves")


async def test_an_update_a_killed_worker_was_handling_is_finished_by_another(
    tmp_path: Path, settings: Settings
) -> None:
    """A real ``newsbot run`` takes an update through its webhook and is killed (SIGKILL)
    with the answer on its way; a worker beside it finishes the work, doubling nothing."""
    api = OfflineBotAPI(token=TOKEN, username="NewsTestBot")
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = dataclasses.replace(settings, token=TOKEN)
    async with OfflineServer(api) as offline, cluster(api, settings, 1) as (url, (survivor,)):
        inbox = survivor.app.bot_data.inbox
        assert inbox is not None
        process = await newsbot_run(offline, url, port, tmp_path, DEVNULL)
        try:
            async with httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}", trust_env=False
            ) as http:
                await until_healthy(http, process)
                await inbox.stop()  # the worker in the process takes the update
                api.hold("sendMessage")
                comment = api.send_text(chat, reader, "/comment 1 Said once.", queue=False)
                assert (await post_update(http, comment)).status_code == 200
                await api.wait_for_calls("sendMessage", 1)  # the confirmation is on its way
                process.kill()  # ...when the worker dies
                await process.wait()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        # The sample's five comments fill page 1: the new one is on page 2.
        await survivor.receive(api.send_text(chat, reader, "/comments 1 2", queue=False))
        await inbox.replay(survivor.app.update_queue, survivor.app.bot)  # claims again
        api.release("sendMessage")  # the dead worker's call arrives after all
        await until(lambda: any("Said once." in text for text in answers(api, chat)), 20)
        await asyncio.sleep(0.5)  # nothing more comes
        texts = answers(api, chat)
        assert [t.startswith("✅") for t in texts] == [True, False], texts  # one each
        rows = await survivor.store._all("SELECT body FROM comments WHERE origin = 'chat'")
        assert [row[0] for row in rows] == ["Said once."]
        assert await queues.unhandled_updates(survivor.store) == []
        # Its confirmation, cut off mid-way, counts as maybe sent: never sent again.
        outbox = survivor.app.bot_data.outbox
        assert isinstance(outbox, Outbox)
        await outbox.settle()
        assert (await queues.delivery_counts(survivor.store))["unknown"] == 1


async def test_a_dead_workers_sends_are_settled_and_a_live_ones_are_left(
    api: OfflineBotAPI, settings: Settings
) -> None:
    async with cluster(api, settings, 2) as (_, (doomed, survivor)):
        now = time.time()
        for store, key in ((doomed.store, "dead"), (survivor.store, "alive")):
            await queues.claim_reply(store, 1, key, {"text": key}, now)
        await crash(doomed)
        outbox = survivor.app.bot_data.outbox
        assert isinstance(outbox, Outbox)
        await outbox.settle()
        assert (await queues.delivery(survivor.store, 1, "dead") or {})["state"] == "unknown"
        assert (await queues.delivery(survivor.store, 1, "alive") or {})["state"] == "sending"


async def test_one_worker_holds_a_job_and_another_gets_it_once_let_go(
    api: OfflineBotAPI, settings: Settings
) -> None:
    async with cluster(api, settings, 2) as (_, (first, second)):
        async with first.store.held("feeds") as mine:
            assert mine
            async with second.store.held("feeds") as theirs:
                assert not theirs
        async with second.store.held("feeds") as theirs:
            assert theirs  # let go: the next round of another worker takes it


async def test_deployments_sharing_a_database_have_workers_and_jobs_of_their_own(
    api: OfflineBotAPI, settings: Settings
) -> None:
    # Two deployments, each in a schema of its own on one database: each counts its own
    # workers, runs its own jobs and sends to its own chats, whatever ids the other's have.
    async with (
        cluster(api, settings, 2) as (_, (first, _second)),
        cluster(api, settings, 1) as (_, (other,)),
    ):
        assert (await first.store.live_workers(), await other.store.live_workers()) == (2, 1)
        for job in ("feeds", "outbox:10001"):
            async with first.store.held(job) as mine, other.store.held(job) as theirs:
                assert (mine, theirs) == (True, True), job


async def test_a_job_loop_outlives_a_database_it_cannot_reach(
    api: OfflineBotAPI, settings: Settings
) -> None:
    async with cluster(api, settings, 1) as (_, (worker,)):
        await crash(worker)  # its database is out of reach from now on
        loop = asyncio.create_task(one_worker(worker.app, "test job", asyncio.Event().wait))
        await asyncio.sleep(0.2)
        assert not loop.done()  # it looks again later, rather than stop looking for good
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


async def test_the_workers_share_the_bots_pace(api: OfflineBotAPI, settings: Settings) -> None:
    async with cluster(api, settings, 3) as (_, workers):
        assert await workers[0].store.live_workers() == 3
        outbox = workers[0].app.bot_data.outbox
        assert isinstance(outbox, Outbox)
        await outbox.deliver_due()
        assert outbox.pacer.per_second == 10  # 30 a second for the bot, 10 for each
        await crash(workers[2])
        await outbox.deliver_due()
        assert outbox.pacer.per_second == 15


async def test_a_worker_stopping_handles_what_it_stored_before_it_goes(
    api: OfflineBotAPI, settings: Settings
) -> None:
    reader = api.user("Reader")
    chat = api.private_chat(reader)
    async with cluster(api, settings, 1) as (_, (worker,)):
        inbox = worker.app.bot_data.inbox
        assert inbox is not None
        await inbox.stop()  # no claim round runs by itself from now on
        await worker.receive(api.send_text(chat, reader, "/start", queue=False))
        assert answers(api, chat) == []
        await inbox.drain(worker.app.update_queue, worker.app.bot)
        await worker.app.stop()
        assert len(answers(api, chat)) == 1
        await inbox.flush()
        rows = await worker.store._all("SELECT payload FROM inbox WHERE handled_at IS NULL")
        assert [json.loads(row[0])["update_id"] for row in rows] == []


async def test_a_worker_whose_lock_was_cut_works_on_under_a_new_number(
    api: OfflineBotAPI, settings: Settings
) -> None:
    """Its connection cut while it lives on, a worker is gone to the others: what it
    claims from then on must be its own again, or two workers would handle it."""
    readers = [api.user(f"Reader{n}") for n in range(6)]
    async with cluster(api, settings, 2) as (_, (cut, other)):
        before = cut.store.worker_id
        alive = cut.store._alive  # type: ignore[attr-defined]
        await other.store._all("SELECT pg_terminate_backend(?)", (alive.get_server_pid(),))
        await until(lambda: cut.store.worker_id != before)
        await until_live(other.store, 2)
        for reader in readers:  # both workers take updates again
            chat = api.private_chat(reader)
            await cut.receive(api.send_text(chat, reader, "/help", queue=False))
            await other.receive(api.send_text(chat, reader, "/latest", queue=False))
        await until(lambda: all(len(answers(api, api.private_chat(r))) == 2 for r in readers))
        await asyncio.sleep(0.5)  # nothing more comes: each update was handled once
        assert all(len(answers(api, api.private_chat(r))) == 2 for r in readers)


async def until_live(store: Store, count: int) -> None:
    """Wait until ``count`` workers hold their locks."""
    for _ in range(200):
        if await store.live_workers() == count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{await store.live_workers()} workers live, not {count}")
