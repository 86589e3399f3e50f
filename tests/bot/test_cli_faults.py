"""The newsbot command facing a broken setup: each fault is one line and an exit status,
never a traceback, and the token never reaches the output."""

from __future__ import annotations

import http.server
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import main
from storage.importer import sample_path
from tests.faults import damage_page, read_only

TOKEN = "123456:AAHsecretsecretsecret"
SAMPLE = sample_path()


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Its own folder, no proxy between us and the local servers, a token for `run`."""
    monkeypatch.chdir(tmp_path)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("TELEGRAM_BASE_URL", f"http://127.0.0.1:{free_port()}/bot")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def newsbot(*args: str, db: Path, stdin: str = "") -> subprocess.Popen[str]:
    """``newsbot ARGS`` in a process of its own, as an operator runs it."""
    env = dict(os.environ, NEWSBOT_DB=str(db), PYTHONUNBUFFERED="1")
    return subprocess.Popen(
        [sys.executable, "-m", "bot", *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_missing_folder_is_one_line_for_every_command(tmp_path: Path) -> None:
    db = tmp_path / "gone" / "news.sqlite3"
    commands = [
        ["run"],
        ["chat", "--script", "-"],
        ["import", str(SAMPLE)],
        ["export"],
        ["backup", str(tmp_path / "copy.sqlite3")],
        ["stats"],
    ]
    running = [newsbot(*command, db=db) for command in commands]
    line = f"newsbot: database {db}: cannot be opened (its folder {db.parent} does not exist)\n"
    for command, process in zip(commands, running, strict=True):
        out, err = process.communicate("/latest\n", timeout=60)
        assert (command[0], process.returncode, err) == (command[0], 2, line)
        assert out == "" or command[0] == "chat"


def test_run_refuses_a_read_only_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "news.sqlite3"
    monkeypatch.setenv("NEWSBOT_DB", str(db))
    assert main(["import", str(SAMPLE)]) == 0
    capsys.readouterr()
    with read_only(db):
        code = main(["run"])
        assert main(["stats"]) == 0  # reading it is fine
    out, err = capsys.readouterr()
    assert (code, err) == (
        2,
        f"newsbot: database {db}: it is read-only (attempt to write a readonly database)\n",
    )
    assert out.startswith("articles ")


def test_run_refuses_a_damaged_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "news.sqlite3"
    monkeypatch.setenv("NEWSBOT_DB", str(db))
    assert main(["import", str(SAMPLE)]) == 0
    capsys.readouterr()
    damage_page(db, 4)
    assert main(["run"]) == 2
    _, err = capsys.readouterr()
    assert err.startswith(f"newsbot: database {db}: it is damaged (")
    assert err.count("\n") == 1


class RejectingBotAPI(http.server.BaseHTTPRequestHandler):
    """Telegram's answer to a token it does not know: 401 Unauthorized."""

    def do_POST(self) -> None:
        body = b'{"ok":false,"error_code":401,"description":"Unauthorized"}'
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def late_bot_api() -> Iterator[tuple[int, threading.Event]]:
    """A Bot API that is unreachable until the test sets the event, then rejects the token."""
    port = free_port()
    start = threading.Event()
    servers: list[http.server.HTTPServer] = []

    def serve() -> None:
        start.wait(60)
        server = http.server.HTTPServer(("127.0.0.1", port), RejectingBotAPI)
        servers.append(server)
        server.serve_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield port, start
    finally:
        start.set()
        for server in servers:
            server.shutdown()
            server.server_close()


def test_an_unreachable_api_is_retried_and_a_rejected_token_is_one_line(
    tmp_path: Path,
    late_bot_api: tuple[int, threading.Event],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    port, start = late_bot_api
    base = f"http://127.0.0.1:{port}/bot"
    monkeypatch.setenv("TELEGRAM_BASE_URL", base)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")  # even the chattiest log keeps the token out
    process = newsbot("run", db=tmp_path / "news.sqlite3")
    assert process.stderr is not None
    err = ""
    while "cannot reach the Bot API" not in err:  # the first attempt failed
        line = process.stderr.readline()
        assert line, err
        err += line
    start.set()  # now the API is up, and rejects the token
    err += process.communicate(timeout=60)[1]
    assert process.returncode == 2
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "Traceback" not in err
    lines = err.splitlines()
    attempts = [line for line in lines if "cannot reach the Bot API" in line]
    assert attempts[0].endswith(
        f" WARNING bot.app: cannot reach the Bot API at {base} "
        "(httpx.ConnectError: All connection attempts failed); attempt 1, next in 1s"
    )
    assert [" WARNING " in line for line in attempts] == [True] * len(attempts)
    assert lines[-1] == "newsbot: Telegram rejected the token: check TELEGRAM_BOT_TOKEN"
