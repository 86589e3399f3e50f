"""Soak benchmark: `newsbot run` killed with SIGKILL again and again while readers comment.

The bot runs as a real subprocess against the offline Bot API served over loopback
HTTP with Telegram's getUpdates semantics (an update comes again until a later
offset confirms it). READERS readers in CHATS groups send COMMENTS comments
(``/comment 1 ...``, each text unique); SUBSCRIBERS private chats have sent
/subscribe, and ARTICLES new articles are imported with `newsbot import` while
the bot runs (or lies dead). At KILLS random moments the bot is killed with
SIGKILL and started again. When everything has settled, it prints:

    submitted, stored, lost, doubled, confirmed, confirmed twice,
    pushes owed, pushes sent, pushes lost, pushes doubled

A comment is confirmed by the bot's "✅ Comment #N posted" answer to its message.
Every figure but submitted, stored, confirmed and the pushes owed and sent should be 0.

    python bench/soak.py                      # 2,000 comments, 20 kills (about 2 minutes)
    python bench/soak.py --comments 300 --kills 5
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from bot.offline import OfflineBotAPI, OfflineChat
from bot.offline.server import OfflineServer

TOKEN = "4242:soak-test-token"
MARK = "soak"


class Bot:
    """`newsbot run` as a subprocess, started again after each kill."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0

    async def start(self) -> None:
        """Start the bot (its output goes to the log)."""
        with self.log.open("a") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "bot", "run", env=self.env, stdout=out, stderr=out
            )
        self.starts += 1

    async def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.process is not None and self.process.returncode is None:
            self.process.send_signal(signal.SIGKILL)
            await self.process.wait()

    async def stop(self) -> int:
        """SIGTERM, as an operator stops it; its exit status."""
        assert self.process is not None
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(self.process.wait(), 60)
        return self.process.returncode or 0


async def import_article(env: dict[str, str], folder: Path, n: int) -> None:
    """Write a new article and import it with `newsbot import`, as an operator would."""
    path = folder / f"soak-article-{n}.txt"
    path.write_text(
        f"Soak article number {n}\n\n"
        f"The soak test published article {n} while the bot was being killed. "
        "Readers who subscribed should get its card exactly once.\n"
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "import",
        "--quiet",
        str(path),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    await process.wait()


async def settle(api: OfflineBotAPI, quiet: float, limit: float) -> None:
    """Wait until the bot has made no call for ``quiet`` seconds (at most ``limit``)."""
    deadline = time.monotonic() + limit
    seen = len(api.calls)
    last_change = time.monotonic()
    while time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        if len(api.calls) != seen:
            seen, last_change = len(api.calls), time.monotonic()
        elif time.monotonic() - last_change >= quiet and not api.pending_updates():
            return


def count_stored(db_path: Path) -> collections.Counter[str]:
    """How many times each soak comment's text is stored."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT body FROM comments WHERE body LIKE ?", (f"{MARK} %",)).fetchall()
    return collections.Counter(row[0] for row in rows)


def article_ids(db_path: Path) -> dict[str, int]:
    """The soak articles' ids, by title."""
    with sqlite3.connect(db_path) as db:
        rows = db.execute("SELECT title, id FROM articles WHERE title LIKE 'Soak article %'")
        return {title: article_id for title, article_id in rows}


async def soak(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="newsbot-soak-"))
    db_path = work / "soak.sqlite3"
    api = OfflineBotAPI(token=TOKEN, username="SoakBot")
    async with OfflineServer(api) as server:
        env = {
            **os.environ,
            "TELEGRAM_BOT_TOKEN": TOKEN,
            "TELEGRAM_BASE_URL": server.base_url,
            "NEWSBOT_DB": str(db_path),
            "NO_PROXY": "127.0.0.1",
            "COMMENT_RATE_PER_MINUTE": "1000",
            "LOG_LEVEL": "WARNING",
        }
        bot = Bot(env, work / "newsbot.log")
        groups = [api.group(f"Soak group {n}", supergroup=True) for n in range(args.chats)]
        for group in groups:
            api.set_admins(group, api.bot_user)
        readers = [api.user(f"Reader{n}") for n in range(args.readers)]
        subscribers = [api.user(f"Subscriber{n}") for n in range(args.subscribers)]
        await bot.start()
        for user in subscribers:  # before the storm: their confirmation is not the test
            api.send_text(api.private_chat(user), user, "/subscribe")
        await settle(api, quiet=1.0, limit=60)

        kills = sorted(rng.sample(range(1, args.comments), args.kills))
        imports = sorted(rng.sample(range(1, args.comments), args.articles))
        sent: dict[str, tuple[OfflineChat, int]] = {}  # text -> (chat, its message id)
        started = time.monotonic()
        for n in range(args.comments):
            reader = readers[n % len(readers)]
            group = groups[n % len(groups)]
            text = f"{MARK} comment {n} from {reader.first_name}"
            update = api.send_text(group, reader, f"/comment 1 {text}")
            sent[text] = (group, int(update["message"]["message_id"]))
            if n in imports:
                await import_article(env, work, imports.index(n))
            if n in kills:
                await asyncio.sleep(rng.uniform(0, 0.3))  # somewhere in the bot's work
                await bot.kill()
                await asyncio.sleep(rng.uniform(0, 0.5))
                await bot.start()
            await asyncio.sleep(1 / args.rate)
        await settle(api, quiet=3.0, limit=300)
        status = await bot.stop()
        took = time.monotonic() - started

    stored = count_stored(db_path)
    confirmations: collections.Counter[tuple[int, int]] = collections.Counter()
    for group in groups:
        for message in api.sent_messages(group):
            replied = message.get("reply_to_message", {})
            if str(message.get("text", "")).startswith("✅ Comment #") and replied:
                confirmations[(group.id, int(replied["message_id"]))] += 1
    confirmed = sum(1 for chat, mid in sent.values() if confirmations[(chat.id, mid)] >= 1)
    twice = sum(1 for chat, mid in sent.values() if confirmations[(chat.id, mid)] >= 2)
    owed = article_ids(db_path)
    cards: collections.Counter[tuple[int, int]] = collections.Counter()
    for user in subscribers:
        for message in api.sent_messages(api.private_chat(user)):
            for article_id in owed.values():
                if f"· id {article_id}\n" in str(message.get("text", "")) + "\n":
                    cards[(user.id, article_id)] += 1
    pairs = [(user.id, a) for user in subscribers for a in owed.values()]
    figures = {
        "submitted": len(sent),
        "stored": sum(1 for text in sent if stored[text] >= 1),
        "lost": sum(1 for text in sent if stored[text] == 0),
        "doubled": sum(1 for text in sent if stored[text] > 1),
        "confirmed": confirmed,
        "not confirmed": len(sent) - confirmed,
        "confirmed twice": twice,
        "pushes owed": len(pairs),
        "pushes sent": sum(1 for pair in pairs if cards[pair] >= 1),
        "pushes lost": sum(1 for pair in pairs if cards[pair] == 0),
        "pushes doubled": sum(1 for pair in pairs if cards[pair] > 1),
    }
    print(
        f"soak: {args.comments:,} comments from {args.readers} readers in {args.chats} groups, "
        f"{bot.starts - 1} SIGKILLs, {args.articles} articles imported for "
        f"{args.subscribers} subscribers, in {took:.0f} s (exit status {status})"
    )
    for name, value in figures.items():
        print(f"  {name:<16} {value:6,}")
    print(f"  (database and log in {work})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comments", type=int, default=2_000)
    parser.add_argument("--readers", type=int, default=200)
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--subscribers", type=int, default=10)
    parser.add_argument("--articles", type=int, default=5)
    parser.add_argument("--rate", type=float, default=40.0, help="comments sent a second")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(soak(args))


if __name__ == "__main__":
    main()
