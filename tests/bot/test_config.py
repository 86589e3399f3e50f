"""Settings: validated once, one clear line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.__main__ import main
from bot.config import ConfigError, load_settings


def test_defaults_without_a_token() -> None:
    settings = load_settings({}, env_file=None)
    assert settings.token is None
    assert settings.db_path == "newsbot.sqlite3"
    assert settings.comment_rate_per_minute == 5
    assert settings.comment_max_length == 2000


def test_values_are_parsed() -> None:
    settings = load_settings(
        {
            "TELEGRAM_BOT_TOKEN": "123:abc",
            "ADMIN_IDS": "1, 2;3",
            "ADMIN_CHAT_ID": "-1001",
            "FEEDS": "https://a.example/feed http://b.example/rss",
            "WEBHOOK_PORT": "8080",
            "WEBHOOK_LISTEN": "::1",
            "WEBHOOK_REUSE_PORT": "yes",
            "WEBHOOK_MAX_CONNECTIONS": "100",
            "LOG_LEVEL": "debug",
            "CHANNEL_IDS": "@dailynews, -1001234567890 evening_news",
        },
        env_file=None,
    )
    assert settings.admin_ids == {1, 2, 3}
    assert settings.admin_chat_id == -1001
    assert len(settings.feeds) == 2
    assert settings.webhook_port == 8080
    assert (settings.webhook_listen, settings.webhook_reuse_port) == ("::1", True)
    assert settings.webhook_max_connections == 100
    assert settings.log_level == "DEBUG"
    assert settings.channels == ("@dailynews", -1001234567890, "@evening_news")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ADMIN_IDS": "1,x"}, "ADMIN_IDS must be a whole number"),
        ({"WEBHOOK_PORT": "99999"}, "WEBHOOK_PORT must be between 1 and 65535"),
        ({"TELEGRAM_BASE_URL": "ftp://x"}, "TELEGRAM_BASE_URL must be an http(s) URL"),
        ({"TELEGRAM_BOT_TOKEN": "nocolon"}, "does not look like a bot token"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL must be one of"),
        ({"WEBHOOK_SECRET": "has space"}, "WEBHOOK_SECRET may hold only"),
        ({"WEBHOOK_LISTEN": "0.0.0.0:80"}, "WEBHOOK_LISTEN must be an IP address or a host"),
        ({"WEBHOOK_REUSE_PORT": "maybe"}, "WEBHOOK_REUSE_PORT must be on or off"),
        ({"WEBHOOK_MAX_CONNECTIONS": "0"}, "WEBHOOK_MAX_CONNECTIONS must be between 1 and 100"),
        ({"WEBHOOK_MAX_CONNECTIONS": "101"}, "WEBHOOK_MAX_CONNECTIONS must be between 1 and 100"),
        ({"CHANNEL_IDS": "@ok_name 12345"}, "CHANNEL_IDS takes @channel names or -100"),
    ],
)
def test_malformed_settings_name_themselves(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_settings(env, env_file=None)


def test_dotenv_file_is_read_and_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("NEWSBOT_DB=from-file.sqlite3\nLOG_LEVEL=ERROR\n")
    settings = load_settings({"LOG_LEVEL": "WARNING"}, env_file=env_file)
    assert settings.db_path == "from-file.sqlite3"
    assert settings.log_level == "WARNING"


def test_run_without_a_token_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "TELEGRAM_BOT_TOKEN is not set" in err
