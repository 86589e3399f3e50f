"""The newsbot command facing a broken setup: each fault is one line and an exit status,
never a traceback, and the token never reaches the output."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.offline import OfflineBotAPI
from bot.offline.server import OfflineServer
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


async def read_until(stream: asyncio.StreamReader, text: str) -> str:
    """Lines of ``stream`` up to and including the first that holds ``text``."""
    seen = ""
    while text not in seen:
        line = (await asyncio.wait_for(stream.readline(), 30)).decode()
        assert line, seen
        seen += line
    return seen


async def newsbot_run(db: Path) -> asyncio.subprocess.Process:
    env = dict(os.environ, NEWSBOT_DB=str(db), PYTHONUNBUFFERED="1", LOG_LEVEL="DEBUG")
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", env=env, stderr=asyncio.subprocess.PIPE
    )


async def test_an_unreachable_api_is_retried_and_a_rejected_token_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = OfflineServer(OfflineBotAPI(token="654321:SomeOtherBot"), port=free_port())
    monkeypatch.setenv("TELEGRAM_BASE_URL", server.base_url)
    process = await newsbot_run(tmp_path / "news.sqlite3")  # at DEBUG, the chattiest
    assert process.stderr is not None
    try:
        err = await read_until(process.stderr, "cannot reach the Bot API")
        async with server:  # now the API is up, and does not know the token
            err += (await asyncio.wait_for(process.stderr.read(), 30)).decode()
            assert await process.wait() == 2
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "Traceback" not in err
    lines = err.splitlines()
    attempts = [line for line in lines if "cannot reach the Bot API" in line]
    assert attempts[0].endswith(
        f" WARNING bot.app: cannot reach the Bot API at {server.base_url} "
        "(httpx.ConnectError: All connection attempts failed); attempt 1, next in 1s"
    )
    assert all(" WARNING " in line for line in attempts)
    assert lines[-1] == "newsbot: Telegram rejected the token: check TELEGRAM_BOT_TOKEN"


async def test_a_running_bot_never_logs_its_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = OfflineBotAPI(token=TOKEN, username="NewsroomBot")
    async with OfflineServer(api) as server:
        monkeypatch.setenv("TELEGRAM_BASE_URL", server.base_url)
        process = await newsbot_run(tmp_path / "news.sqlite3")
        assert process.stderr is not None
        try:
            err = await read_until(process.stderr, "starting as @NewsroomBot")
            reader = api.user("Reader")
            api.send_text(api.private_chat(reader), reader, "/start")
            for _ in range(300):
                if api.sent_messages(api.private_chat(reader)):
                    break
                await asyncio.sleep(0.05)
            assert api.sent_messages(api.private_chat(reader))
            process.send_signal(signal.SIGINT)
            err += (await asyncio.wait_for(process.stderr.read(), 30)).decode()
            assert await process.wait() == 0
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
    assert "getUpdates" in err  # the debug log was on
    assert TOKEN not in err and TOKEN.split(":")[1] not in err
    assert "Traceback" not in err
