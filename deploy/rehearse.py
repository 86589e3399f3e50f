"""Rehearse deploy/ without Docker: nginx with deploy/nginx.conf in front of two real
``newsbot run`` workers, on one SQLite file, with the offline Bot API as Telegram.

    .venv/bin/python deploy/rehearse.py      # needs nginx and openssl on the PATH

nginx.conf's upstreams are pointed at loopback ports and its certificate at a
self-signed one made for the run; everything else is the file as shipped. Prints what
nginx and the workers answered: POSTs spread over both workers, /healthz hidden
outside, and the POSTs of a worker stopped with SIGTERM taken by the other.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bot.offline import OfflineBotAPI
from bot.offline.server import OfflineServer

TOKEN = "123:rehearsal-token"
SECRET = "rehearsal-secret"
WORKER_PORTS = (18601, 18602)
NGINX_PORT = 18443
HERE = Path(__file__).resolve().parent


def nginx_conf(folder: Path) -> Path:
    """deploy/nginx.conf for loopback, with a self-signed certificate, in ``folder``."""
    conf = (HERE / "nginx.conf").read_text()
    for n, port in enumerate(WORKER_PORTS, start=1):
        conf = conf.replace(f"worker{n}:8443", f"127.0.0.1:{port}")
    conf = conf.replace("listen 443 ssl", f"listen 127.0.0.1:{NGINX_PORT} ssl")
    conf = conf.replace("/etc/nginx/certs", str(folder))
    conf = f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\n" + conf
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=localhost", "-keyout", str(folder / "privkey.pem")),
            *("-out", str(folder / "fullchain.pem")),
        ],
        check=True,
        capture_output=True,
    )
    path = folder / "nginx.conf"
    path.write_text(conf)
    return path


async def start_worker(folder: Path, base_url: str, port: int) -> asyncio.subprocess.Process:
    """``newsbot run`` with a webhook on ``port``; its log goes to ``folder``."""
    env = {
        **os.environ,
        "TELEGRAM_BOT_TOKEN": TOKEN,
        "TELEGRAM_BASE_URL": base_url,
        "NEWSBOT_DB": str(folder / "news.sqlite3"),
        "NO_PROXY": "127.0.0.1",
        "WEBHOOK_URL": "https://bot.example.org",
        "WEBHOOK_LISTEN": "127.0.0.1",
        "WEBHOOK_PORT": str(port),
        "WEBHOOK_SECRET": SECRET,
    }
    with (folder / f"worker-{port}.log").open("w") as log:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", env=env, cwd=folder, stderr=log
        )


async def until_healthy(http: httpx.AsyncClient, port: int) -> None:
    """Wait until a worker's /healthz answers 200."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"the worker on port {port} did not start")


async def post_updates(api: OfflineBotAPI, public: httpx.AsyncClient, name: str, n: int) -> str:
    """``n`` readers send /help through nginx; the answers' statuses, counted."""
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json"}
    statuses: list[int] = []
    for i in range(n):
        reader = api.user(f"{name}{i}")
        update = api.send_text(api.private_chat(reader), reader, "/help", queue=False)
        answer = await public.post(f"/{TOKEN}", content=json.dumps(update), headers=headers)
        statuses.append(answer.status_code)
    return ", ".join(f"{statuses.count(s)} x {s}" for s in sorted(set(statuses)))


async def until_replies(api: OfflineBotAPI, count: int) -> int:
    """Wait (up to 20 s) for ``count`` replies in all; how many there are."""
    deadline = time.monotonic() + 20
    while (replies := len(api.calls_to("sendMessage"))) < count:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)
    return replies


async def handled_by(http: httpx.AsyncClient, port: int) -> str:
    """The messages a worker counted, from its /metrics."""
    text = (await http.get(f"http://127.0.0.1:{port}/metrics")).text
    found = re.search(r'newsbot_updates_total\{kind="message"\} (\S+)', text)
    return found.group(1) if found else "0"


async def rehearse(folder: Path, conf: Path) -> None:
    """Run nginx and both workers, post through nginx, stop a worker, post again."""
    api = OfflineBotAPI(token=TOKEN, username="RehearsalBot")
    nginx = await asyncio.create_subprocess_exec(
        "nginx", "-c", str(conf), "-p", str(folder), "-g", "daemon off;"
    )
    workers: list[asyncio.subprocess.Process] = []
    try:
        async with (
            OfflineServer(api) as offline,
            httpx.AsyncClient(trust_env=False) as direct,
            httpx.AsyncClient(
                base_url=f"https://127.0.0.1:{NGINX_PORT}", verify=False, trust_env=False
            ) as public,
        ):
            for port in WORKER_PORTS:  # one after the other: the first makes the database
                workers.append(await start_worker(folder, offline.base_url, port))
                await until_healthy(direct, port)
            print("GET /healthz through nginx:", (await public.get("/healthz")).status_code)
            print("GET of the webhook through nginx:", (await public.get(f"/{TOKEN}")).status_code)
            print("40 POSTs through nginx:", await post_updates(api, public, "Reader", 40))
            print("replies:", await until_replies(api, 40))
            for port in WORKER_PORTS:
                print(f"worker on {port} handled:", await handled_by(direct, port))
            workers[0].send_signal(signal.SIGTERM)
            print("first worker stopped by SIGTERM, exit status", await workers[0].wait())
            print("10 POSTs through nginx:", await post_updates(api, public, "Later", 10))
            print("replies:", await until_replies(api, 50))
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
                print("second worker stopped by SIGTERM, exit status", await worker.wait())
        nginx.send_signal(signal.SIGQUIT)
        await nginx.wait()


def main() -> None:
    """Check the configuration, rehearse, then look at the workers' logs."""
    with tempfile.TemporaryDirectory(prefix="newsbot-rehearsal-") as name:
        folder = Path(name)
        conf = nginx_conf(folder)
        checked = subprocess.run(
            ["nginx", "-t", "-c", str(conf), "-p", str(folder)], capture_output=True, text=True
        )
        print("nginx -t:", checked.stderr.strip().splitlines()[-1])
        asyncio.run(rehearse(folder, conf))
        for log in sorted(folder.glob("worker-*.log")):
            text = log.read_text()
            shown = TOKEN in text
            print(f"{log.name}: {text.count('Traceback')} tracebacks, token shown: {shown}")


if __name__ == "__main__":
    main()
