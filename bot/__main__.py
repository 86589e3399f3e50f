"""The ``newsbot`` command: run | chat | import | export | backup | stats."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.config import ConfigError, Settings, configure_logging, load_settings
from storage import DatabaseFault, ImportReport, NewsbotError, Store, import_sources, queues
from storage.channels import connected_channels
from storage.deployment import exported
from storage.ingest.jsonl import is_article

# 2: newsbot cannot work as set up: a bad setting, a rejected token, an unusable database.
EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
LISTED = 20  # problems listed one by one before the rest are counted


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="A Telegram bot for a news desk's articles, summaries, timelines and "
        "comments. The database is NEWSBOT_DB (default newsbot.sqlite3).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("run", help="run the bot (polling, or a webhook when WEBHOOK_URL is set)")
    chat = commands.add_parser(
        "chat", help="talk to the bot in this terminal, offline, against the local database"
    )
    chat.add_argument(
        "--script",
        metavar="FILE",
        help="run the lines of FILE and print the transcript ('-' reads standard input)",
    )
    chat.add_argument("--group", action="store_true", help="talk in a group instead of privately")
    imp = commands.add_parser("import", help="import articles from files, folders or feed URLs")
    imp.add_argument("sources", nargs="+", metavar="PATH_OR_URL")
    imp.add_argument("--quiet", action="store_true", help="no progress bar")
    exp = commands.add_parser("export", help="write every article as JSON Lines")
    exp.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of stdout")
    exp.add_argument(
        "--all",
        action="store_true",
        dest="everything",
        help="the whole deployment: after the articles, the chats, users, bans, moderation "
        "log, channels and outbox (to move to another database)",
    )
    backup = commands.add_parser("backup", help="make an online backup of the database")
    backup.add_argument("path", metavar="PATH")
    commands.add_parser("stats", help="counts of articles, comments, users and moderation")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(require_token=args.command == "run")
    except ConfigError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    configure_logging(settings)
    try:
        if args.command == "run":
            from bot.app import run_bot

            asyncio.run(Store.verify(settings.db_path))  # before any word with Telegram
            run_bot(settings)
            return EXIT_OK
        if args.command == "chat":
            from bot.terminal import run_chat

            return asyncio.run(run_chat(settings, script=args.script, group=args.group))
        return asyncio.run(_storage_command(args, settings))
    except (ConfigError, DatabaseFault) as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except NewsbotError as exc:
        print(f"newsbot: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


async def _storage_command(args: argparse.Namespace, settings: Settings) -> int:
    store = await Store.open(settings.db_path)
    try:
        if args.command == "import":
            return await _import(store, args.sources, quiet=args.quiet)
        if args.command == "export":
            return await _export(store, args.output, everything=args.everything)
        if args.command == "backup":
            await store.backup(args.path)
            print(f"backed up {settings.db_path} to {args.path}")
            return EXIT_OK
        stats = await store.stats()
        width = max(len(key) for key in stats)
        try:
            for key, value in stats.items():
                print(f"{key.replace('_', ' '):<{width}}  {value}", flush=True)
            # Messages sent on the bot's own (pushes) or owed to readers after a failure.
            sent = await queues.delivery_counts(store)
            counts = ", ".join(f"{k} {v}" for k, v in sent.items())
            print(f"{'deliveries':<{width}}  {counts}", flush=True)
            for channel in await connected_channels(store):
                posts = f"{channel.posts} card{'s' if channel.posts != 1 else ''} published"
                print(f"channel {channel.id}  {channel.title or ''} ({posts})", flush=True)
        except BrokenPipeError:  # `newsbot stats | head -3`
            _silence_stdout()
            return EXIT_FAILED
        return EXIT_OK
    finally:
        await store.close()


class ProgressBar:
    """A one-line progress bar on a terminal, once an import has run a moment.

    Silent when output is not a terminal, and for imports that end at once.
    """

    DELAY = 0.5

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self.started = time.monotonic()
        self.drawn = False

    def __call__(self, done: int, total: int, report: ImportReport) -> None:
        if not self.enabled or time.monotonic() - self.started < self.DELAY:
            return
        width = 30
        filled = width * done // max(total, 1)
        bar = "#" * filled + "." * (width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} sources  {report.closing_line()}")
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\n")


def _print_some(kind: str, lines: Sequence[str]) -> None:
    """The first ``LISTED`` lines of a kind on stderr, then how many more there were."""
    for line in lines[:LISTED]:
        print(f"{kind}: {line}", file=sys.stderr)
    if len(lines) > LISTED:
        print(f"{kind}: … and {len(lines) - LISTED} more", file=sys.stderr)


async def _import(store: Store, sources: Sequence[str], *, quiet: bool) -> int:
    bar = ProgressBar(sys.stderr, enabled=not quiet)
    try:
        report = await import_sources(store, sources, progress=bar, deployment=True)
    finally:
        bar.close()
    _print_some("warning", report.warnings)
    _print_some("error", report.errors)
    print(report.closing_line())
    return EXIT_FAILED if report.failed else EXIT_OK


async def _export(store: Store, output: str | None, *, everything: bool) -> int:
    if output is not None and not output.strip():
        print("newsbot: give the export a file name", file=sys.stderr)
        return EXIT_FAILED
    try:
        if output is None:
            count, others = await _write_export(store, sys.stdout, everything)
        else:
            target = ExportFile(output)
            try:
                count, others = await _write_export(store, target.stream, everything)
                target.commit()
            except BaseException:
                target.abort()
                raise
    except BrokenPipeError:  # `newsbot export | head`: the reader has had enough
        _silence_stdout()
        return EXIT_FAILED
    except OSError as exc:
        where = output if output is not None else "standard output"
        print(f"newsbot: cannot write {where}: {_reason(exc)}", file=sys.stderr)
        return EXIT_FAILED
    also = f" and {others} other record{'' if others == 1 else 's'}" if everything else ""
    print(f"exported {count} article{'' if count == 1 else 's'}{also}", file=sys.stderr)
    return EXIT_OK


class ExportFile:
    """Where ``export --output`` writes: beside the file, renamed over it when complete.

    So a failed export leaves no half file. A symbolic link is followed (the file
    it points to is replaced); a pipe or a device is written to directly. A new
    file gets the usual permissions, a replaced one keeps its own.
    """

    def __init__(self, output: str) -> None:
        self.target = Path(os.path.realpath(output))
        self.tmp: str | None = None
        if self.target.is_dir() or output.endswith(("/", os.sep)):
            raise IsADirectoryError(errno.EISDIR, "it is a folder; name a file", output)
        if self.target.exists() and not self.target.is_file():
            self.stream: TextIO = self.target.open("w", encoding="utf-8")
            return
        if not self.target.parent.is_dir():
            raise FileNotFoundError(errno.ENOENT, "its folder does not exist", output)
        fd, self.tmp = tempfile.mkstemp(prefix=".export-", dir=self.target.parent)
        umask = os.umask(0)
        os.umask(umask)
        mode = self.target.stat().st_mode & 0o777 if self.target.exists() else 0o666 & ~umask
        os.chmod(self.tmp, mode)
        self.stream = os.fdopen(fd, "w", encoding="utf-8")

    def commit(self) -> None:
        """Close the file and put it in place."""
        self.stream.close()
        if self.tmp is not None:
            os.replace(self.tmp, self.target)

    def abort(self) -> None:
        """Close and remove the unfinished file."""
        with contextlib.suppress(OSError):
            self.stream.close()
        if self.tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.tmp)


def _silence_stdout() -> None:
    """Point standard output at /dev/null, so flushing it at exit raises nothing more."""
    try:
        target = sys.stdout.fileno()
    except (OSError, ValueError):  # not a file (a test's capture): nothing to flush into
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, target)
    os.close(devnull)


def _reason(exc: OSError) -> str:
    """What went wrong, in a few words: 'permission denied', 'no space left on device'."""
    reason = exc.strerror or str(exc)
    return reason[0].lower() + reason[1:] if reason else type(exc).__name__


async def _write_export(store: Store, stream: TextIO, everything: bool) -> tuple[int, int]:
    """Write the export a line a record; how many articles, and how many other records."""
    articles = others = 0
    async for record in exported(store, everything):
        stream.write(json.dumps(record, ensure_ascii=False) + "\n")
        if is_article(record):
            articles += 1
        else:
            others += 1
    stream.flush()
    return articles, others


if __name__ == "__main__":
    raise SystemExit(main())
