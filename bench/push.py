"""Push benchmark: one new article to 10,000 subscribed chats, paced as Telegram asks.

The stand-in enforces Telegram's flood limits (30 messages a second in all, one a
second in a chat, 20 a minute in a group) and answers 429 with retry_after past
them. An article is saved (which queues it for every subscribed chat) and the
outbox sends it; the benchmark prints the time to reach every chat against the
floor the limits allow (chats / 30 s), the 429s met, and the chats that got the
card never or twice (both must be 0).

    python bench/push.py                 # 10,000 chats: about six minutes
    python bench/push.py --chats 600     # a short run
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from bot.app import build_application, open_store
from bot.config import Settings
from bot.offline import OfflineBotAPI, OfflineRequest
from bot.offline.limits import RateLimits
from storage import Store, import_sources, queues


async def run(chats: int, groups: int, rtt: float, folder: Path) -> None:
    limits = RateLimits()
    api = OfflineBotAPI(username="PushBot", rate_limits=limits, latency=rtt)
    store = await Store.open(folder / "push.sqlite3")
    app = build_application(Settings(db_path=store.path), request=OfflineRequest(api), store=store)
    async with app:
        await open_store(app)
        ids = []
        for n in range(chats):
            if n < groups:
                owner = api.user(f"Editor{n}")
                group = api.group(f"Desk {n}", owner=owner)
                ids.append(group.id)
                await store.save_chat(group.id, "group", group.title)
            else:
                reader = api.user(f"Reader{n}")
                ids.append(api.private_chat(reader).id)
                await store.save_chat(reader.id, "private", None)
        for chat_id in ids:
            await store.set_subscribed(chat_id, True)
        story = folder / "story.txt"
        story.write_text("Harbour Reopens\n\nThe port reopened on 3 May 2024.\n", encoding="utf-8")
        await import_sources(store, [str(story)])  # queues it for every subscribed chat
        outbox = app.bot_data.outbox
        assert outbox is not None
        api.clear_calls()
        start = time.perf_counter()
        await outbox.deliver_due(settle=0)
        took = time.perf_counter() - start
        got = [len(api.sent_messages(chat_id)) for chat_id in ids]
        counts = await queues.delivery_counts(store)
    await store.close()
    floor = chats / 30
    print(
        f"{chats:,} subscribed chats ({groups:,} groups), one new article, rtt {rtt * 1000:.0f} ms"
    )
    print(
        f"  reached every chat in {took:7.1f} s   floor {floor:7.1f} s   ratio {took / floor:.2f}"
    )
    print(f"  429s met {limits.refused}   lost {got.count(0)}   doubled {sum(g > 1 for g in got)}")
    print("  deliveries: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(f"  pushes waited for room {outbox.pacer.waited:.1f} s in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--groups", type=int, default=0, help="how many of them are groups")
    parser.add_argument("--rtt-ms", type=float, default=0.0, help="simulated round trip")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(args.chats, args.groups, args.rtt_ms / 1000, Path(folder)))


if __name__ == "__main__":
    main()
