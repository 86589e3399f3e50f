"""Workers benchmark: 1, 2 and 4 webhook workers on one PostgreSQL database, 1 on SQLite.

Each configuration starts the offline Bot API over loopback HTTP (it plays Telegram and
receives the bot's sendMessage calls) and N real ``newsbot run`` processes serving the
webhook (WEBHOOK_URL set, no feeds): on PostgreSQL in a schema made for that
configuration (``?search_path=``, dropped at the end), on SQLite in a temporary file.
The first worker starts alone and loads the bundled sample article into the empty
database (so ``/article 1`` has an answer); the others start once its /healthz answers.

Then UPDATES updates from CHATS chats (half private chats, half supergroups with three
members each) are POSTed to the workers, each to one chosen at random, as a reverse
proxy would spread them (``--reuse-port``: every worker binds one port and the kernel
spreads the connections). At most CONCURRENCY POSTs are in flight, and a chat's next
update is POSTed only once its previous one was answered 200 (stored in the inbox), so
the order the bot must keep is the order of the update_ids. The mix: /latest,
/article 1, /comments 1 (reads) and /comment 1 <unique text> (writes).

The latency of an update runs from its POST starting to the bot's answer reaching the
offline API. An answer is matched to its update by the message it replies to (in
groups every answer quotes it), otherwise, in private chats, by its kind (a list of
articles, an article card, a comments page, a comment's confirmation) to the oldest
update of that kind in the chat not yet answered; two answers of one kind that swap in
a private chat therefore go unseen. Printed per configuration:

    updates/s   updates answered / seconds from the first POST to the last first answer
    p50, p99    latency in ms
    lost        updates with no answer GRACE seconds after the last POST
    doubled     updates answered more than once
    out-of-order  updates first answered after a later update of the same chat was

with updates/s as a ratio of the 1-worker SQLite run's, measured in the same run; then
the CPU seconds spent meanwhile by the workers, the PostgreSQL server processes serving
their connections (named by ``application_name``), this benchmark and everything else
on the machine, against its cores; last, per configuration, the p50 of each kind and
which kinds were lost, doubled or answered out of order, in groups or private chats.

    python bench/workers.py                              # 2,000 updates; SQLite x1, PG x1, 2, 4
    python bench/workers.py --workers 2 --no-sqlite-baseline --reuse-port
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import random
import resource
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bot.offline import OfflineBotAPI, OfflineChat, OfflineUser
from bot.offline.checks import decode_params
from bot.offline.server import OfflineServer
from bot.webserver import SECRET_HEADER

TOKEN = "5150:workers-bench-token"
SECRET = "workers-bench-secret"
DEFAULT_DB = "postgresql://postgres@127.0.0.1:5432/test"
GROUP_MEMBERS = 3
MIX = {"latest": 0.25, "article": 0.25, "comments": 0.2, "comment": 0.3}
COMMANDS = {"latest": "/latest", "article": "/article 1", "comments": "/comments 1"}
START_SECONDS = 60.0  # longest a worker may take to answer /healthz
STOP_SECONDS = 15.0  # how long a worker has after SIGTERM before SIGKILL
SETTLE_SECONDS = 2.0  # kept listening after the last answer, for late doubles


@dataclasses.dataclass
class Sent:
    """One update the benchmark sends: whose it is, what it asks, when its POST began."""

    update_id: int
    chat_id: int
    message_id: int
    kind: str
    body: bytes
    in_group: bool = False
    started: float | None = None


@dataclasses.dataclass(frozen=True)
class Answer:
    """One sendMessage as it reached the offline API."""

    at: float
    chat_id: int
    reply_to: int | None
    text: str


@dataclasses.dataclass
class Matched:
    """What the answers say about the updates: their answer times and the order broken."""

    times: dict[int, list[float]]  # update_id -> when each of its answers came
    # (where: "group" or "private", the kind answered late, the kind answered before it)
    overtaken: collections.Counter[tuple[str, str, str]]
    strays: int  # answers matching no update


@dataclasses.dataclass
class Result:
    """The figures of one configuration."""

    engine: str
    workers: int
    sent: int
    answered: int
    rate: float
    p50: float
    p99: float
    lost: collections.Counter[str]
    doubled: collections.Counter[str]
    kind_p50: dict[str, float]
    overtaken: collections.Counter[tuple[str, str, str]]
    strays: int
    resent: int
    wall: float
    cpu: dict[str, float]
    tracebacks: int


class AnswerLog(OfflineBotAPI):
    """The offline Bot API, noting when each sendMessage reached it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.answers: list[Answer] = []

    async def dispatch(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method.lower() == "sendmessage":
            self.answers.append(answer_of(time.monotonic(), decode_params(params)))
        return await super().dispatch(method, params)


def answer_of(at: float, params: Mapping[str, Any]) -> Answer:
    """A sendMessage call's chat, the message it replies to (if any) and its text."""
    reply = params.get("reply_parameters")
    reply_to = params.get("reply_to_message_id")
    if isinstance(reply, dict):
        reply_to = reply.get("message_id")
    return Answer(at, int(params["chat_id"]), int(reply_to) if reply_to else None, params["text"])


def kind_of_answer(text: str) -> str:
    """Which command an answer is the answer to, from its first words."""
    if text.startswith("<b>Latest articles"):
        return "latest"
    if text.startswith("<b>Comments on"):
        return "comments"
    if text.startswith("✅ Comment #"):
        return "comment"
    return "article"


def match_answers(sent: Sequence[Sent], answers: Iterable[Answer]) -> Matched:
    """Pair answers with updates: by the message replied to, else by kind in chat order."""
    by_message = {(s.chat_id, s.message_id): s for s in sent}
    waiting: dict[tuple[int, str], collections.deque[Sent]] = collections.defaultdict(
        collections.deque
    )
    for s in sorted(sent, key=lambda s: s.update_id):
        waiting[(s.chat_id, s.kind)].append(s)
    last_of_kind: dict[tuple[int, str], Sent] = {}
    times: dict[int, list[float]] = {s.update_id: [] for s in sent}
    latest_answered: dict[int, Sent] = {}  # chat -> the update answered with the highest id
    overtaken: collections.Counter[tuple[str, str, str]] = collections.Counter()
    strays = 0
    for answer in sorted(answers, key=lambda a: a.at):
        update = by_message.get((answer.chat_id, answer.reply_to or 0))
        if update is None:
            key = (answer.chat_id, kind_of_answer(answer.text))
            queue = waiting[key]
            while queue and times[queue[0].update_id]:  # answered already, by its quote
                queue.popleft()
            update = queue.popleft() if queue else last_of_kind.get(key)
        if update is None:
            strays += 1
            continue
        last_of_kind[(update.chat_id, update.kind)] = update
        first = not times[update.update_id]
        times[update.update_id].append(answer.at)
        if not first:
            continue
        ahead = latest_answered.get(update.chat_id)
        if ahead is not None and ahead.update_id > update.update_id:
            where = "group" if update.in_group else "private"
            overtaken[(where, update.kind, ahead.kind)] += 1
        else:
            latest_answered[update.chat_id] = update
    return Matched(times, overtaken, strays)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """The value below which ``fraction`` of the samples lie (nearest rank); NaN if none."""
    if not samples:
        return float("nan")
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def schema_url(url: str, schema: str) -> str:
    """The database URL with ``schema`` first on the search path, and as the name its
    connections give (so that their server processes can be told from others')."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}search_path={schema}&application_name={schema}"


def cpu_seconds(stat: str, ticks: int = os.sysconf("SC_CLK_TCK")) -> float:
    """User plus system CPU seconds from the text of a /proc/<pid>/stat (``ticks`` a second)."""
    fields = stat[stat.rindex(")") + 2 :].split()  # from the third field, the state, on
    return (int(fields[11]) + int(fields[12])) / ticks


def process_cpu(pid: int) -> float:
    """CPU seconds a process has used so far (0 if it is gone)."""
    try:
        return cpu_seconds(Path(f"/proc/{pid}/stat").read_text())
    except (OSError, ValueError):
        return 0.0


def machine_busy() -> float:
    """CPU seconds every core of this machine has been busy since boot (/proc/stat)."""
    fields = [int(n) for n in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and waiting for I/O
    return (sum(fields) - idle) / os.sysconf("SC_CLK_TCK")


def own_cpu() -> float:
    """CPU seconds this process has used so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def free_port() -> int:
    """A TCP port on loopback nobody listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def build_updates(api: OfflineBotAPI, count: int, chats: int, seed: int) -> list[Sent]:
    """``count`` updates from ``chats`` chats (half private, half groups), in update_id order."""
    rng = random.Random(seed)
    places: list[tuple[OfflineChat, list[OfflineUser]]] = []
    for n in range(chats):
        if n % 2 == 0:
            user = api.user(f"Reader{n}")
            places.append((api.private_chat(user), [user]))
        else:
            group = api.group(f"Group {n}", supergroup=True)
            api.set_admins(group, api.bot_user)
            members = [api.user(f"Member{n}-{m}") for m in range(GROUP_MEMBERS)]
            places.append((group, members))
    kinds, weights = list(MIX), list(MIX.values())
    sent = []
    for n in range(count):
        chat, members = rng.choice(places)
        kind = rng.choices(kinds, weights)[0]
        text = COMMANDS.get(kind) or f"/comment 1 bench comment {n} {secrets.token_hex(4)}"
        update = api.send_text(chat, rng.choice(members), text, queue=False)
        message = update["message"]
        body = json.dumps(update).encode()
        in_group = chat.type != "private"
        sent.append(
            Sent(update["update_id"], chat.id, message["message_id"], kind, body, in_group)
        )
    return sent


class Worker:
    """One ``newsbot run`` serving the webhook; its output goes to a log file."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env = {**env, "WEBHOOK_PORT": str(port)}
        self.port = port
        self.log = log
        self.process: asyncio.subprocess.Process | None = None

    async def start(self, folder: Path) -> None:
        """Start the process (in ``folder``, where no .env is read)."""
        with self.log.open("a") as out:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "bot",
                "run",
                env=self.env,
                cwd=folder,
                stdout=out,
                stderr=out,
            )

    def cpu(self) -> float:
        """CPU seconds it has used so far."""
        return process_cpu(self.process.pid) if self.process else 0.0

    async def stop(self) -> None:
        """SIGTERM, then SIGKILL if it has not ended within STOP_SECONDS."""
        process = self.process
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), STOP_SECONDS)
        except TimeoutError:
            process.kill()
            await process.wait()


async def until_healthy(
    http: httpx.AsyncClient, api: OfflineBotAPI, port: int, hooks: int
) -> None:
    """Wait until /healthz on ``port`` answers 200 and ``hooks`` workers have set the webhook
    (on a shared port /healthz may come from a worker already up)."""
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.TransportError):
            healthy = (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
            if healthy and len(api.calls_to("setWebhook")) >= hooks:
                return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"a worker on port {port} did not answer /healthz in {START_SECONDS:g} s")


def worker_env(db: str, base_url: str) -> dict[str, str]:
    """The environment of a worker: this one, less any bot settings, plus the bench's."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("WEBHOOK_", "TELEGRAM_", "FEED", "CHANNEL", "NEWSBOT_"))
    }
    return {
        **env,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base_url,
        "NEWSBOT_DB": db,
        "NO_PROXY": "127.0.0.1",
        "WEBHOOK_URL": "https://bench.example.org",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_SECRET": SECRET,
        "COMMENT_RATE_PER_MINUTE": "1000",
        "LOG_LEVEL": "WARNING",
    }


@dataclasses.dataclass
class Database:
    """The NEWSBOT_DB of one configuration and, on PostgreSQL, a connection to look on."""

    url: str
    schema: str | None = None
    admin: Any = None  # an asyncpg connection

    async def server_pids(self) -> list[int]:
        """The PostgreSQL server processes serving the workers' connections now."""
        if self.admin is None:
            return []
        rows = await self.admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE application_name = $1", self.schema
        )
        return [row["pid"] for row in rows]


@contextlib.asynccontextmanager
async def postgres_schema(url: str) -> AsyncIterator[Database]:
    """A fresh schema on the server at ``url``, dropped afterwards."""
    schema = f"bench_workers_{secrets.token_hex(6)}"
    admin = await asyncpg.connect(url)
    try:
        await admin.execute(f"CREATE SCHEMA {schema}")
        yield Database(schema_url(url, schema), schema, admin)
    finally:
        await admin.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await admin.close()


@contextlib.asynccontextmanager
async def database(engine: str, args: argparse.Namespace, folder: Path) -> AsyncIterator[Database]:
    """The database of one configuration, removed at the end."""
    if engine == "PostgreSQL":
        async with postgres_schema(args.db) as found:
            yield found
    else:
        yield Database(str(folder / "bench.sqlite3"))


class Sender:
    """POSTs the updates: a bounded number in flight, one at a time in each chat."""

    def __init__(self, http: httpx.AsyncClient, ports: Sequence[int], seed: int) -> None:
        self.http = http
        self.ports = ports
        self.rng = random.Random(seed)
        self.chat_locks: dict[int, asyncio.Lock] = collections.defaultdict(asyncio.Lock)
        self.resent = 0
        self.last_post = 0.0

    async def send_all(self, sent: Sequence[Sent], concurrency: int, deadline: float) -> None:
        """POST every update (in update_id order, each chat's one after another) until
        ``deadline``; those not sent by then keep ``started`` None."""
        pending = iter(sent)
        await asyncio.gather(*(self._send_from(pending, deadline) for _ in range(concurrency)))

    async def _send_from(self, pending: Iterator[Sent], deadline: float) -> None:
        for update in pending:
            if time.monotonic() > deadline:
                return
            async with self.chat_locks[update.chat_id]:
                await self._post(update, deadline)

    async def _post(self, update: Sent, deadline: float) -> None:
        """POST one update until a worker answers 200 (Telegram sends it again too)."""
        headers = {SECRET_HEADER: SECRET, "Content-Type": "application/json"}
        update.started = time.monotonic()
        while True:
            port = self.rng.choice(self.ports)
            with contextlib.suppress(httpx.TransportError):
                url = f"http://127.0.0.1:{port}/{TOKEN}"
                if (await self.http.post(url, content=update.body, headers=headers)).is_success:
                    break
            if time.monotonic() > deadline:
                break
            self.resent += 1
            await asyncio.sleep(0.1)
        self.last_post = time.monotonic()


async def until_answered(api: AnswerLog, sent: Sequence[Sent], grace_end: float) -> None:
    """Wait until every update sent has an answer or ``grace_end`` passes, then a little
    more for answers that come twice."""
    started = [s for s in sent if s.started is not None]
    while time.monotonic() < grace_end:
        matched = match_answers(started, api.answers)
        if all(matched.times[s.update_id] for s in started):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(SETTLE_SECONDS)


async def run_configuration(
    engine: str, workers: int, args: argparse.Namespace, folder: Path
) -> Result:
    """Start ``workers`` workers on a fresh database, send the updates, stop everything."""
    api = AnswerLog(token=TOKEN, username="WorkersBenchBot")
    sent = build_updates(api, args.updates, args.chats, args.seed)
    place = folder / f"{engine.lower()}-{workers}"
    place.mkdir()
    started: list[Worker] = []
    limits = httpx.Limits(max_connections=args.concurrency)
    async with (
        OfflineServer(api) as offline,
        httpx.AsyncClient(trust_env=False, limits=limits, timeout=60) as http,
        database(engine, args, place) as db,
    ):
        env = worker_env(db.url, offline.base_url)
        shared = free_port()
        ports = [shared] * workers if args.reuse_port else [free_port() for _ in range(workers)]
        if args.reuse_port:
            env["WEBHOOK_REUSE_PORT"] = "on"
        try:
            for n, port in enumerate(ports, start=1):  # the first alone: it loads the sample
                worker = Worker(env, port, place / f"worker-{n}.log")
                started.append(worker)
                await worker.start(place)
                await until_healthy(http, api, port, hooks=n)
            return await measure(engine, api, sent, Watched(started, db), http, args)
        finally:
            await asyncio.gather(*(worker.stop() for worker in started))


async def measure(
    engine: str,
    api: AnswerLog,
    sent: Sequence[Sent],
    watched: Watched,
    http: httpx.AsyncClient,
    args: argparse.Namespace,
) -> Result:
    """Send the updates to running workers and gather what came back."""
    workers = watched.workers
    ports = sorted({worker.port for worker in workers})
    sender = Sender(http, ports, args.seed)
    cpu_before = await watched.cpu()
    begin = time.monotonic()
    await sender.send_all(sent, args.concurrency, begin + args.seconds)
    await until_answered(api, sent, sender.last_post + args.grace)
    wall = time.monotonic() - begin
    cpu_after = await watched.cpu()
    cpu = {name: cpu_after[name] - before for name, before in cpu_before.items()}
    posted = [s for s in sent if s.started is not None]
    matched = match_answers(posted, api.answers)
    latency = {
        s.update_id: matched.times[s.update_id][0] - s.started
        for s in posted
        if matched.times[s.update_id]
    }
    latencies = list(latency.values())
    kind_p50 = {
        kind: percentile(
            [latency[s.update_id] for s in posted if s.kind == kind and s.update_id in latency],
            0.5,
        )
        * 1000
        for kind in MIX
    }
    firsts = [times[0] for times in matched.times.values() if times]
    span = (max(firsts) - begin) if firsts else float("nan")
    return Result(
        engine=engine,
        workers=len(workers),
        sent=len(posted),
        answered=len(latencies),
        rate=len(latencies) / span,
        p50=percentile(latencies, 0.5) * 1000,
        p99=percentile(latencies, 0.99) * 1000,
        lost=collections.Counter(s.kind for s in posted if not matched.times[s.update_id]),
        kind_p50=kind_p50,
        doubled=collections.Counter(s.kind for s in posted if len(matched.times[s.update_id]) > 1),
        overtaken=matched.overtaken,
        strays=matched.strays,
        resent=sender.resent,
        wall=wall,
        cpu=cpu,
        tracebacks=sum(w.log.read_text().count("Traceback") for w in workers),
    )


@dataclasses.dataclass
class Watched:
    """What the CPU time of a configuration is read from: its workers and its database."""

    workers: Sequence[Worker]
    database: Database

    async def cpu(self) -> dict[str, float]:
        """CPU seconds used so far by the workers, the PostgreSQL server processes serving
        them, this process, and the whole machine (``all``: every core, whoever used it)."""
        pids = await self.database.server_pids()
        return {
            "workers": sum(worker.cpu() for worker in self.workers),
            "postgres": sum(process_cpu(pid) for pid in pids),
            "bench": own_cpu(),
            "all": machine_busy(),
        }


def by_kind(counts: collections.Counter[str]) -> str:
    """``3 comment, 1 latest``: how many of each kind, the most first."""
    return ", ".join(f"{n} {kind}" for kind, n in counts.most_common())


def print_table(results: Sequence[Result], cores: int) -> None:
    """The figures of every configuration, updates/s against the SQLite baseline."""
    baseline = next((r.rate for r in results if r.engine == "SQLite"), None)
    print(
        f"{'engine':<11}{'workers':>8}{'updates/s':>11}{'vs SQLite':>10}{'p50 ms':>9}"
        f"{'p99 ms':>9}{'lost':>6}{'doubled':>9}{'out-of-order':>14}"
    )
    for r in results:
        ratio = f"{r.rate / baseline:.2f}x" if baseline else "-"
        print(
            f"{r.engine:<11}{r.workers:>8}{r.rate:>11,.0f}{ratio:>10}{r.p50:>9,.0f}"
            f"{r.p99:>9,.0f}{sum(r.lost.values()):>6}{sum(r.doubled.values()):>9}"
            f"{sum(r.overtaken.values()):>14}"
        )
    print_cpu(results, cores)
    print()
    for r in results:
        p50s = ", ".join(f"{kind} {ms:,.0f}" for kind, ms in r.kind_p50.items())
        notes = [f"{r.sent:,} sent, {r.answered:,} answered; p50 ms {p50s}"]
        if r.lost:
            notes.append(f"lost: {by_kind(r.lost)}")
        if r.doubled:
            notes.append(f"doubled: {by_kind(r.doubled)}")
        for (where, late, early), n in r.overtaken.most_common():
            notes.append(f"{n} {late} answered after a later {early} ({where})")
        if r.strays:
            notes.append(f"{r.strays} answers matching no update")
        if r.resent:
            notes.append(f"{r.resent} POSTs sent again")
        if r.tracebacks:
            notes.append(f"{r.tracebacks} tracebacks in the workers' logs")
        print(f"{r.engine} x{r.workers}: " + "; ".join(notes))


def print_cpu(results: Sequence[Result], cores: int) -> None:
    """The CPU seconds each configuration used while it ran, by whom; ``others`` is what
    the rest of the machine used meanwhile, ``busy`` the share of every core in use."""
    print(f"\nCPU seconds while each ran ({cores} cores):")
    print(
        f"{'engine':<11}{'workers':>8}{'wall s':>8}{'workers':>9}{'postgres':>10}{'bench':>8}"
        f"{'others':>8}{'busy':>7}"
    )
    for r in results:
        cpu = r.cpu
        others = max(0.0, cpu["all"] - cpu["workers"] - cpu["postgres"] - cpu["bench"])
        print(
            f"{r.engine:<11}{r.workers:>8}{r.wall:>8.1f}{cpu['workers']:>9.1f}"
            f"{cpu['postgres']:>10.1f}{cpu['bench']:>8.1f}{others:>8.1f}"
            f"{cpu['all'] / (cores * r.wall):>7.0%}"
        )


async def bench(args: argparse.Namespace) -> None:
    """Run every configuration, the SQLite baseline first."""
    cores = os.cpu_count() or 1
    main_task = asyncio.current_task()
    assert main_task is not None
    # SIGTERM ends the run as Ctrl-C does: every worker stopped, the schema dropped.
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, main_task.cancel)
    configurations = [("SQLite", 1)] if args.sqlite_baseline else []
    configurations += [("PostgreSQL", n) for n in args.workers]
    folder = Path(tempfile.mkdtemp(prefix="newsbot-workers-"))
    print(
        f"workers: {args.updates:,} updates from {args.chats} chats, {args.concurrency} in "
        f"flight, {'one shared port' if args.reuse_port else 'a port per worker'}; "
        f"{cores} CPU cores"
    )
    results = []
    for engine, workers in configurations:
        result = await run_configuration(engine, workers, args, folder)
        results.append(result)
        print(
            f"  {engine} x{workers}: {result.rate:,.0f} updates/s, "
            f"p50 {result.p50:,.0f} ms, p99 {result.p99:,.0f} ms",
            flush=True,
        )
    print()
    print_table(results, cores)
    if any(r.tracebacks for r in results):
        print(f"(workers' logs in {folder})")
    else:
        shutil.rmtree(folder, ignore_errors=True)


def worker_counts(text: str) -> list[int]:
    """``1,2,4`` -> [1, 2, 4]."""
    counts = [int(part) for part in text.split(",") if part.strip()]
    if not counts or min(counts) < 1:
        raise argparse.ArgumentTypeError("a list of worker counts, each at least 1")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=worker_counts, default=[1, 2, 4])
    parser.add_argument("--db", default=DEFAULT_DB, help="the PostgreSQL server's URL")
    parser.add_argument("--sqlite-baseline", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--reuse-port", action="store_true", help="one port for every worker")
    parser.add_argument("--updates", type=int, default=2_000)
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=32, help="POSTs in flight at most")
    parser.add_argument("--seconds", type=float, default=120, help="longest sending may take")
    parser.add_argument("--grace", type=float, default=30, help="wait for answers after it")
    parser.add_argument("--seed", type=int, default=1)
    try:
        asyncio.run(bench(parser.parse_args()))
    except asyncio.CancelledError:
        raise SystemExit("workers: stopped by SIGTERM (its workers too)") from None


if __name__ == "__main__":
    main()
