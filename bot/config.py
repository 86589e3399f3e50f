"""Settings, read once from the environment and ``.env``, and validated."""

from __future__ import annotations

import ipaddress
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from dotenv import dotenv_values

from storage.commenting import Limits
from storage.errors import NewsbotError
from storage.limits import MAX_COMMENT

DEFAULT_BASE_URL = "https://api.telegram.org/bot"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
REDACTED = "<secret>"
# Libraries that log every request URL (the token inside it) or every SQL statement
# (readers' words inside it) below WARNING: kept at WARNING whatever LOG_LEVEL says.
CHATTY_LOGGERS = ("httpx", "httpcore", "tornado.access", "aiosqlite")


class ConfigError(NewsbotError):
    """A setting is missing or malformed; ``str()`` is the one line to show."""


@dataclass(frozen=True)
class Settings:
    """Everything newsbot reads from its environment."""

    token: str | None = None
    base_url: str = DEFAULT_BASE_URL
    db_path: str = "newsbot.sqlite3"
    admin_ids: frozenset[int] = field(default_factory=frozenset)
    admin_chat_id: int | None = None
    feeds: tuple[str, ...] = ()
    channels: tuple[str | int, ...] = ()
    feed_poll_minutes: int = 30
    webhook_url: str | None = None
    webhook_port: int = 8443
    webhook_secret: str | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_reuse_port: bool = False  # several processes share WEBHOOK_PORT (SO_REUSEPORT)
    webhook_max_connections: int = 40  # connections Telegram opens to the webhook at once
    log_level: str = "INFO"
    comment_rate_per_minute: int = 5
    comment_max_length: int = 2000

    @property
    def comment_limits(self) -> Limits:
        """The bounds a comment must keep."""
        return Limits(max_length=self.comment_max_length, per_minute=self.comment_rate_per_minute)


def _int(name: str, raw: str, *, low: int, high: int) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, not {value}")
    return value


def _chat_id(name: str, raw: str) -> int:
    return _int(name, raw, low=-(10**15), high=10**15)


def _channel(raw: str) -> str | int:
    if re.fullmatch(r"-100\d{5,15}", raw):
        return int(raw)
    if re.fullmatch(r"@?[A-Za-z][A-Za-z0-9_]{3,31}", raw):
        return "@" + raw.lstrip("@")
    raise ConfigError(f"CHANNEL_IDS takes @channel names or -100… ids, not {raw!r}")


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false, yes/no), not {raw!r}")


def _address(name: str, raw: str) -> str:
    """An IP address or a host name to listen on."""
    value = raw.strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        if re.fullmatch(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?", value):
            return value
    raise ConfigError(f"{name} must be an IP address or a host name, not {raw!r}")


def _url(name: str, raw: str) -> str:
    parsed = urlparse(raw.strip())
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(f"{name} must be an http(s) URL, not {raw!r}")
    return raw.strip()


def load_settings(
    environ: Mapping[str, str] | None = None,
    *,
    env_file: str | Path | None = ".env",
    require_token: bool = False,
) -> Settings:
    """Read settings from ``.env`` overlaid by the environment; raise ConfigError if bad."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        raw = values.get(name)
        return raw.strip() if raw is not None and raw.strip() else None

    token = get("TELEGRAM_BOT_TOKEN")
    if require_token and token is None:
        raise ConfigError("TELEGRAM_BOT_TOKEN is not set: put the token from @BotFather in .env")
    if token is not None and (":" not in token or " " in token):
        raise ConfigError("TELEGRAM_BOT_TOKEN does not look like a bot token (123456:ABC...)")

    admin_ids: set[int] = set()
    for part in (get("ADMIN_IDS") or "").replace(";", ",").split(","):
        if part.strip():
            admin_ids.add(_int("ADMIN_IDS", part, low=1, high=10**15))

    secret = get("WEBHOOK_SECRET")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise ConfigError("WEBHOOK_SECRET may hold only letters, digits, _ and - (1-256 of them)")
    raw_admin_chat = get("ADMIN_CHAT_ID")
    raw_base = get("TELEGRAM_BASE_URL")
    raw_webhook = get("WEBHOOK_URL")
    feeds = tuple(_url("FEEDS", f) for f in (get("FEEDS") or "").split() if f.strip(", "))
    channels = tuple(_channel(c) for c in re.split(r"[\s,]+", get("CHANNEL_IDS") or "") if c)
    level = (get("LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {level!r}")

    return Settings(
        token=token,
        base_url=_url("TELEGRAM_BASE_URL", raw_base) if raw_base else DEFAULT_BASE_URL,
        db_path=get("NEWSBOT_DB") or get("DATABASE_URL") or "newsbot.sqlite3",
        admin_ids=frozenset(admin_ids),
        admin_chat_id=_chat_id("ADMIN_CHAT_ID", raw_admin_chat) if raw_admin_chat else None,
        feeds=feeds,
        channels=channels,
        feed_poll_minutes=_int(
            "FEED_POLL_MINUTES", get("FEED_POLL_MINUTES") or "30", low=1, high=10_080
        ),
        webhook_url=_url("WEBHOOK_URL", raw_webhook) if raw_webhook else None,
        webhook_port=_int("WEBHOOK_PORT", get("WEBHOOK_PORT") or "8443", low=1, high=65_535),
        webhook_secret=secret,
        webhook_listen=_address("WEBHOOK_LISTEN", get("WEBHOOK_LISTEN") or "0.0.0.0"),
        webhook_reuse_port=_flag("WEBHOOK_REUSE_PORT", get("WEBHOOK_REUSE_PORT") or "off"),
        webhook_max_connections=_int(
            "WEBHOOK_MAX_CONNECTIONS", get("WEBHOOK_MAX_CONNECTIONS") or "40", low=1, high=100
        ),
        log_level=level,
        comment_rate_per_minute=_int(
            "COMMENT_RATE_PER_MINUTE", get("COMMENT_RATE_PER_MINUTE") or "5", low=1, high=1_000
        ),
        comment_max_length=_int(
            "COMMENT_MAX_LENGTH", get("COMMENT_MAX_LENGTH") or "2000", low=1, high=MAX_COMMENT
        ),
    )


class RedactSecrets(logging.Filter):
    """Replaces the bot token (and the webhook secret) in every log record, tracebacks too.

    Put on the handlers, so it sees the records of every library's logger.
    """

    def __init__(self, secrets: tuple[str, ...]) -> None:
        super().__init__()
        self.secrets = tuple(secret for secret in secrets if secret)

    def redact(self, text: str) -> str:
        """``text`` with every secret replaced."""
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message and traceback text; never drops a record."""
        message = record.getMessage()
        redacted = self.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


def configure_logging(settings: Settings) -> None:
    """Log at LOG_LEVEL to standard error, one line a record, with no secret in any line."""
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT)
    for name in CHATTY_LOGGERS:
        logging.getLogger(name).setLevel(
            max(logging.WARNING, logging.getLevelName(settings.log_level))
        )
    redactor = RedactSecrets((settings.token or "", settings.webhook_secret or ""))
    for handler in logging.getLogger().handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactSecrets)]:
            handler.removeFilter(old)
        handler.addFilter(redactor)
