import pytest

from core.settings import SANDBOX_OWNER_ID, SettingsError, load_settings

GOOD_TOKEN = "123456789:AAEabcdefghijklmnopqrstuvwxyz012345"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about defaults: CI's DATABASE_URL (PostgreSQL run) must not leak in."""
    from core.settings import Settings

    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


def settings(**kw: object):
    return load_settings(_env_file=None, **kw)


def test_defaults_serve_the_embedded_mode() -> None:
    s = settings()
    assert s.sandbox
    assert s.web_host == "127.0.0.1"
    assert s.web_port == 8080
    assert s.database_url == "sqlite://data/signaldesk.sqlite3"
    assert s.owners == frozenset({SANDBOX_OWNER_ID})


def test_a_real_token_turns_the_sandbox_off() -> None:
    s = settings(bot_token=GOOD_TOKEN, owner_ids="42")
    assert not s.sandbox
    assert s.token == GOOD_TOKEN
    assert s.owners == frozenset({42})
    assert GOOD_TOKEN not in repr(s)  # secrets never show up in reprs or logs


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"bot_token": "not-a-token"}, "BOT_TOKEN: must look like 123456789:"),
        ({"bot_token": "12:short"}, "BOT_TOKEN"),
        ({"owner_ids": "12, abc"}, "OWNER_IDS: must be positive Telegram user ids"),
        ({"owner_ids": "-5"}, "OWNER_IDS"),
        (
            {"database_url": "mysql://x/y"},
            "DATABASE_URL: must start with sqlite:// or postgres://",
        ),
        ({"database_url": "postgres:///nohost"}, "DATABASE_URL: PostgreSQL needs a host"),
        ({"web_port": 70000}, "WEB_PORT"),
        ({"webhook_url": "ftp://x"}, "WEBHOOK_URL: expected an http(s) URL"),
        ({"webhook_url": "https://example.com/hook"}, "WEBHOOK_URL is set but BOT_TOKEN is not"),
        (
            {"bot_token": GOOD_TOKEN, "webhook_url": "http://bot.example.com/hook"},
            "WEBHOOK_URL must be https:// for Telegram",
        ),
        ({"webhook_secret": "has space"}, "WEBHOOK_SECRET: Telegram allows 1-256 characters"),
        ({"webhook_secret": "sécret"}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "a" * 257}, "WEBHOOK_SECRET"),
        ({"webhook_secret": "semi;colon"}, "WEBHOOK_SECRET"),
        ({"log_level": "verbose"}, "LOG_LEVEL"),
        # Only ASCII digits are numbers: pydantic alone took "1_000", "+5", "inf" and "nan"
        # (OWNER_IDS: services.text.numbers, issue 9 item 3)
        ({"web_port": "\u0663"}, "WEB_PORT: must be a whole number in digits 0-9"),
        ({"web_port": "80_80"}, "WEB_PORT: must be a whole number"),
        ({"web_port": "+8080"}, "WEB_PORT: must be a whole number"),
        ({"throttle_burst": "1e1"}, "THROTTLE_BURST"),
        ({"throttle_rate": "inf"}, "THROTTLE_RATE: must be a number in digits 0-9"),
        ({"throttle_rate": "nan"}, "THROTTLE_RATE"),
        ({"replay_interval_s": "1e1"}, "REPLAY_INTERVAL_S"),
        ({"replay_interval_s": "\u0662"}, "REPLAY_INTERVAL_S"),
        ({"http_header_timeout_s": "0"}, "HTTP_HEADER_TIMEOUT_S"),
        ({"http_max_connections": "0"}, "HTTP_MAX_CONNECTIONS"),
        ({"http_max_connections": "1_000"}, "HTTP_MAX_CONNECTIONS"),
        ({"trusted_proxies": "10.0.0.0/33"}, "TRUSTED_PROXIES: not an IP address or network"),
        ({"trusted_proxies": "127.0.0.1, proxy.local"}, "TRUSTED_PROXIES: not an IP address"),
    ],
)
def test_bad_configuration_is_one_readable_line(overrides: dict, fragment: str) -> None:
    with pytest.raises(SettingsError) as info:
        settings(**overrides)
    message = str(info.value)
    assert fragment in message
    assert "\n" not in message
    assert message.startswith("invalid configuration: ")
    assert "configuration: configuration" not in message


def test_a_bad_webhook_secret_is_not_echoed() -> None:
    with pytest.raises(SettingsError) as info:
        settings(webhook_secret="leaky secret value")
    assert "leaky" not in str(info.value)


def test_model_level_errors_read_without_a_doubled_prefix() -> None:
    with pytest.raises(SettingsError) as info:
        settings(webhook_url="https://example.com/hook")
    assert str(info.value) == (
        "invalid configuration: WEBHOOK_URL is set but BOT_TOKEN is not: "
        "webhooks need a real bot token"
    )


@pytest.mark.parametrize(
    ("secret", "expected"),
    [("", None), ("a", "a"), ("A-z_0-9", "A-z_0-9"), ("x" * 256, "x" * 256)],
)
def test_webhook_secrets_telegram_accepts(secret: str, expected: str | None) -> None:
    s = settings(webhook_secret=secret)
    got = s.webhook_secret.get_secret_value() if s.webhook_secret else None
    assert got == expected


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"webhook_url": "https://bot.example.com/tg/hook"}, "/tg/hook"),
        # a local Bot API server (or our emulator) may call a plain-http webhook
        (
            {"webhook_url": "http://127.0.0.1:8080/hook", "telegram_api_base": "http://api:8081"},
            "/hook",
        ),
    ],
)
def test_webhook_url_schemes(overrides: dict, path: str) -> None:
    assert settings(bot_token=GOOD_TOKEN, **overrides).webhook_path == path


@pytest.mark.parametrize(
    ("given", "level"), [("info", "INFO"), ("Debug", "DEBUG"), (" warning ", "WARNING")]
)
def test_log_level_in_any_case(monkeypatch: pytest.MonkeyPatch, given: str, level: str) -> None:
    assert settings(log_level=given).log_level == level
    monkeypatch.setenv("LOG_LEVEL", given)
    assert settings().log_level == level


def test_environment_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BOT_TOKEN", GOOD_TOKEN)
    monkeypatch.setenv("OWNER_IDS", "1,2 3")
    monkeypatch.setenv("WEB_PORT", "9000")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@db:5432/sd")
    monkeypatch.setenv("WEBHOOK_URL", "https://bot.example.com/tg/hook")
    s = settings()
    assert s.owner_ids == (1, 2, 3)
    assert s.web_port == 9000
    assert s.webhook_path == "/tg/hook"


def test_env_file_is_read(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("OWNER_IDS=77\nLOG_LEVEL=DEBUG\n")
    monkeypatch.chdir(tmp_path)
    s = load_settings()
    assert s.owner_ids == (77,)
    assert s.log_level == "DEBUG"


def test_cli_reports_bad_configuration_in_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "BOT_TOKEN": "oops"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "run"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: invalid configuration: BOT_TOKEN: must look like 123456789:AAE... "
        "(digits, a colon, then the secret)"
    ]


def test_numbers_from_the_environment_are_plain_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEB_PORT", " 8081 ")  # surrounding spaces are not part of the number
    monkeypatch.setenv("MT5_SERVER_UTC_OFFSET_H", "-3.5")
    monkeypatch.setenv("HTTP_BODY_TIMEOUT_S", "12.5")
    s = settings()
    assert (s.web_port, s.mt5_server_utc_offset_h, s.http_body_timeout_s) == (8081, -3.5, 12.5)
    assert (s.http_header_timeout_s, s.http_keepalive_timeout_s) == (10.0, 75.0)
    assert s.http_max_connections == 10_000
