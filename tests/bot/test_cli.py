"""The newsbot command: import, export, stats, backup, and chat --script."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.__main__ import ProgressBar, main
from storage import ImportReport, Store
from storage.importer import sample_path
from tests.conftest import NO_POSTGRES, POSTGRES_URL, FeedServer, postgres_schema
from tests.storage.test_moving import fill

SAMPLE = sample_path()


@pytest.fixture(autouse=True)
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every CLI test runs in its own folder with its own NEWSBOT_DB."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "cli.sqlite3"
    monkeypatch.setenv("NEWSBOT_DB", str(path))
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    return path


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_import_is_idempotent_and_reports_counts(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "import", str(SAMPLE))[:2] == (
        0,
        "1 new, 0 updated, 0 unchanged, 0 failed\n",
    )
    assert run(capsys, "import", str(SAMPLE))[:2] == (
        0,
        "0 new, 0 updated, 1 unchanged, 0 failed\n",
    )


def test_a_batch_with_bad_files_imports_the_rest_and_exits_1(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "good.txt").write_bytes(SAMPLE.read_bytes())
    (batch / "empty.txt").write_text("")
    (batch / "latin1.txt").write_bytes("Caf\xe9 news\nA paragraph.\n".encode("latin-1"))
    (batch / "broken.xml").write_text("<rss><channel><item><title>x</ti")
    code, out, err = run(capsys, "import", str(batch), str(tmp_path / "missing.txt"))
    assert code == 1
    assert out.startswith("1 new, 0 updated, 0 unchanged, ")
    assert "Traceback" not in err
    for name in ("empty.txt", "latin1.txt", "missing.txt"):
        assert any(name in line for line in err.splitlines() if line.startswith("error: "))


def test_export_then_import_into_a_new_database_is_lossless(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(capsys, "import", str(SAMPLE))
    code, first, _ = run(capsys, "export")
    assert code == 0
    [record] = [json.loads(line) for line in first.splitlines()]
    assert record["title"] == "Joint Anti-Missile Drills Conclude in Russia"
    assert len(record["comments"]) == 5
    assert {"date", "precision", "qualifier", "label", "sentence"} <= set(record["timeline"][0])
    dump = tmp_path / "dump.jsonl"
    assert run(capsys, "export", "--output", str(dump))[0] == 0
    assert dump.read_text() == first
    monkeypatch.setenv("NEWSBOT_DB", str(tmp_path / "second.sqlite3"))
    assert run(capsys, "import", str(dump))[:2] == (0, "1 new, 0 updated, 0 unchanged, 0 failed\n")
    assert run(capsys, "export")[1] == first


@pytest.fixture(params=["sqlite", "postgres"])
def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database to move to: a SQLite file, and a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield str(tmp_path / "moved.sqlite3")
        return
    if not POSTGRES_URL:
        pytest.skip(NO_POSTGRES)
    schema = postgres_schema()
    loop = asyncio.new_event_loop()
    try:
        yield loop.run_until_complete(schema.__aenter__())
    finally:
        loop.run_until_complete(schema.__aexit__(None, None, None))
        loop.close()


async def _filled(path: Path) -> None:
    store = await Store.open(path)
    try:
        await fill(store)
    finally:
        await store.close()


def test_backup_copies_a_sqlite_file_and_names_the_way_for_postgresql(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    new_database: str,
) -> None:
    monkeypatch.setenv("NEWSBOT_DB", new_database)
    target = tmp_path / "copy.sqlite3"
    code, _, err = run(capsys, "backup", str(target))
    if new_database.startswith("postgresql://"):
        assert (code, err) == (
            1,
            "newsbot: backup copies a SQLite database; back up PostgreSQL with pg_dump "
            "(or move the deployment with newsbot export --all)\n",
        )
        assert not target.exists()  # nothing half made stands in the way of the next try
    else:
        assert code == 0 and target.exists()


def test_a_deployment_moves_through_export_all_and_import(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    database: Path,
    new_database: str,
) -> None:
    asyncio.run(_filled(database))
    stats = run(capsys, "stats")[1]
    assert "chats             7" in stats and "banned users      1" in stats
    assert "deliveries        queued 3, sending 0, sent 2" in stats
    dump = tmp_path / "all.jsonl"
    assert run(capsys, "export", "--all", "--output", str(dump)) == (
        0,
        "",
        "exported 2 articles and 27 other records\n",
    )
    monkeypatch.setenv("NEWSBOT_DB", new_database)
    assert run(capsys, "import", str(dump))[:2] == (
        0,
        "2 new, 0 updated, 0 unchanged, 0 failed; 27 other records restored, 0 already here\n",
    )
    assert run(capsys, "stats")[1] == stats
    assert run(capsys, "export", "--all")[1] == dump.read_text()
    assert run(capsys, "import", str(dump))[:2] == (
        0,
        "0 new, 0 updated, 2 unchanged, 0 failed; 0 other records restored, 27 already here\n",
    )
    assert run(capsys, "stats")[1] == stats


def test_stats_and_backup(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Path
) -> None:
    run(capsys, "import", str(SAMPLE))
    code, out, _ = run(capsys, "stats")
    assert code == 0
    assert "articles          1" in out and "comments          5" in out
    assert "deliveries        queued 0, sending 0, sent 0, unknown 0, failed 0, folded 0" in out
    assert "channel -" not in out
    with sqlite3.connect(database) as db:  # a channel connected by /connect or CHANNEL_IDS
        db.execute(
            "INSERT INTO chats (id, type, title, subscribed, updated_at) "
            "VALUES (-1009, 'channel', 'Daily News', 1, '2025-12-05T09:00:00Z')"
        )
    out = run(capsys, "stats")[1]
    assert "channel -1009  Daily News (0 cards published)" in out
    target = tmp_path / "copy.sqlite3"
    assert run(capsys, "backup", str(target))[0] == 0
    with sqlite3.connect(target) as copy:
        assert copy.execute("SELECT count(*) FROM comments").fetchone() == (5,)
    code, _, err = run(capsys, "backup", str(target))
    assert code == 1 and "already exists" in err


def test_malformed_settings_stop_with_one_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ADMIN_IDS", "12,abc")
    code, _, err = run(capsys, "stats")
    assert code == 2
    assert err == "newsbot: ADMIN_IDS must be a whole number, not 'abc'\n"


def test_chat_script_prints_the_transcript(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    script = tmp_path / "demo.txt"
    script.write_text("/article 1\n#4\nGreat piece <b>really</b>\n/comments 1 2\n:bogus\n:help\n")
    code, out, _ = run(capsys, "chat", "--script", str(script))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].startswith("newsbot chat: you are You in a private chat with @NewsroomBot")
    assert "you> /article 1" in lines
    card = lines.index("you> /article 1")
    assert lines[card + 1] == "bot [2]:"
    assert lines[card + 2] == "  *Joint Anti-Missile Drills Conclude in Russia*"
    assert "  [1] Full text  [2] Timeline" in lines
    assert "  [3] Comments (5)  [4] Comment" in lines
    assert any("Send your comment on" in line for line in lines)
    assert "  ✅ Comment #6 posted on “Joint Anti-Missile Drills Conclude in Russia”." in lines
    assert "  Great piece <b>really</b>" in lines  # shown as text, not as markup
    assert "  (unknown key :bogus; :help lists them)" in lines
    keys = lines[lines.index("you> :help") + 1 :]
    assert "    #N            press button N of the newest message with buttons" in keys
    assert "    :quit         leave (so does end of input)" in keys


def test_chat_plays_a_channel_reader(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = tmp_path / "channel.txt"
    script.write_text(":channel\n:reply 1 What a story.\n/comments 1 2\n")
    code, out, _ = run(capsys, "chat", "--script", str(script))
    assert code == 0
    lines = out.splitlines()
    assert any(line.startswith("  (📣 Connected “Newsroom”") for line in lines)
    assert "channel [1]:" in lines
    assert "  *Joint Anti-Missile Drills Conclude in Russia*" in lines
    links = "https://t.me/NewsroomBot?start="
    assert f"  [1] Open in the bot <{links}a1>  [2] 💬 Comments (5) <{links}c1>" in lines
    assert (
        "discussion [1] (the post, forwarded by Telegram): reply with :reply 1 TEXT to "
        "comment on it"
    ) in lines
    page = lines[lines.index("you> /comments 1 2") :]
    assert "  What a story." in page and "  _6 comments · page 2 of 2_" in page


def test_a_second_chat_session_on_the_same_database_keeps_posting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, database: Path
) -> None:
    first = tmp_path / "first.txt"
    first.write_text("/comment 1 From the first session\n")
    second = tmp_path / "second.txt"
    second.write_text("/comment 1 From the second session\n")
    assert run(capsys, "chat", "--script", str(first))[0] == 0
    code, out, _ = run(capsys, "chat", "--script", str(second))
    assert code == 0
    assert "  ✅ Comment #7 posted on “Joint Anti-Missile Drills Conclude in Russia”." in out
    with sqlite3.connect(database) as db:
        bodies = [row[0] for row in db.execute("SELECT body FROM comments WHERE id > 5")]
    assert bodies == ["From the first session", "From the second session"]


def test_chat_in_a_group(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    script = tmp_path / "group.txt"
    script.write_text("/comment 1 group only\n/scope\n")
    code, out, _ = run(capsys, "chat", "--group", "--script", str(script))
    assert code == 0
    assert "(visible in this group only)" in out
    assert "This group's comments are seen in this group only." in out


def test_chat_with_a_missing_script(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "chat", "--script", "nope.txt")
    assert (code, err) == (2, "newsbot: no such script file: nope.txt\n")


class Terminal(io.StringIO):
    """Captured output that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_the_progress_bar_draws_on_a_terminal_after_a_moment() -> None:
    quick = Terminal()
    bar = ProgressBar(quick, enabled=True)
    bar(1, 4, ImportReport(new=1))
    bar.close()
    assert quick.getvalue() == ""  # an import that ends at once draws nothing
    slow = Terminal()
    bar = ProgressBar(slow, enabled=True)
    bar.started -= bar.DELAY
    bar(1, 4, ImportReport(new=3, failed=1))
    bar.close()
    assert slow.getvalue() == (
        "\r[#######.......................] 1/4 sources  3 new, 0 updated, 0 unchanged, 1 failed\n"
    )
    piped = io.StringIO()
    bar = ProgressBar(piped, enabled=True)
    bar.started -= bar.DELAY
    bar(1, 4, ImportReport())
    assert piped.getvalue() == ""


def test_import_from_a_feed_url(
    capsys: pytest.CaptureFixture[str], feed_server: FeedServer
) -> None:
    feed = (
        b'<rss version="2.0"><channel><title>Desk</title><item><title>Ports reopen</title>'
        b"<guid>https://desk.example/ports</guid><description>Ports reopened in June 2025."
        b"</description></item></channel></rss>"
    )
    url = feed_server.serve("/desk.rss", feed)
    assert run(capsys, "import", url)[:2] == (0, "1 new, 0 updated, 0 unchanged, 0 failed\n")
    code, out, err = run(capsys, "import", url, f"{feed_server.base}/gone.rss")
    assert (code, out) == (1, "0 new, 0 updated, 1 unchanged, 1 failed\n")
    assert err == f"error: {feed_server.base}/gone.rss: the server answered 404\n"
    [record] = [json.loads(line) for line in run(capsys, "export")[1].splitlines()]
    assert (record["title"], record["source"]) == ("Ports reopen", "Desk")
    assert [(e["date"], e["label"]) for e in record["timeline"]] == [("2025-06", "Ports reopened")]


def test_a_file_of_many_bad_lines_lists_twenty_and_counts_the_rest(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    dump = tmp_path / "bad.jsonl"
    dump.write_text("".join(f"{{broken {n}\n" for n in range(25)))
    code, out, err = run(capsys, "import", str(dump))
    assert (code, out) == (1, "0 new, 0 updated, 0 unchanged, 25 failed\n")
    lines = err.splitlines()
    assert len(lines) == 21
    assert lines[0].startswith(f"error: {dump}:1: not valid JSON")
    assert lines[-1] == "error: … and 5 more"


def test_export_and_backup_name_what_they_cannot_write(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    run(capsys, "import", str(SAMPLE))
    missing = tmp_path / "nowhere" / "dump.jsonl"
    assert run(capsys, "export", "-o", str(missing)) == (
        1,
        "",
        f"newsbot: cannot write {missing}: its folder does not exist\n",
    )
    assert run(capsys, "export", "-o", str(tmp_path)) == (
        1,
        "",
        f"newsbot: cannot write {tmp_path}: it is a folder; name a file\n",
    )
    if Path("/dev/full").exists():  # a device is written to, never replaced
        code, _, err = run(capsys, "export", "-o", "/dev/full")
        assert (code, err) == (1, "newsbot: cannot write /dev/full: no space left on device\n")
        assert Path("/dev/full").is_char_device()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".export-")] == []
    # A link is followed: the file it points to gets the export, the link stays.
    real, link = tmp_path / "real.jsonl", tmp_path / "link.jsonl"
    real.write_text("old\n")
    real.chmod(0o640)
    link.symlink_to(real)
    assert run(capsys, "export", "-o", str(link))[0] == 0
    assert link.is_symlink() and real.read_text().startswith('{"id": 1,')
    assert real.stat().st_mode & 0o777 == 0o640
    fresh = tmp_path / "fresh.jsonl"
    umask = os.umask(0o022)
    try:
        assert run(capsys, "export", "-o", str(fresh))[0] == 0
    finally:
        os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o644
    assert run(capsys, "export", "-o", "") == (1, "", "newsbot: give the export a file name\n")
    assert run(capsys, "export", "-o", f"{tmp_path}/new/")[0] == 1
    assert not (tmp_path / "new").exists()
    assert run(capsys, "backup", "") == (1, "", "newsbot: give the backup a file name\n")
    dangling = tmp_path / "dangling.sqlite3"
    dangling.symlink_to(tmp_path / "nowhere.sqlite3")
    assert run(capsys, "backup", str(dangling)) == (
        1,
        "",
        f"newsbot: {dangling} already exists; choose a new file name\n",
    )
    assert dangling.is_symlink()
    assert run(capsys, "backup", str(missing)) == (
        1,
        "",
        f"newsbot: cannot write the backup to {missing}: its folder does not exist\n",
    )


def test_export_into_a_closed_pipe_stops_quietly(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`newsbot export | head -1`: the reader has gone, and that is no error to report."""
    run(capsys, "import", str(SAMPLE))

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["export"]) == 1
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("module", ["bot.command", "storage.ingest.sources"])
def test_an_import_worker_starts_without_the_bot_or_the_database_code(module: str) -> None:
    """Each process an import starts runs the command's script again, then parses with
    ``storage.ingest.sources``: neither may load the CLI, the store or Telegram."""
    heavy = ("bot.__main__", "storage.store", "aiosqlite", "telegram")
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
