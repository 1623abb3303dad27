"""Log lines: extras in both formats, secrets redacted, one line before any traceback."""

from __future__ import annotations

import json
import logging
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.logs import APP_LOGGERS, JsonFormatter, TextFormatter, correlation_id, setup_logging
from core.settings import Settings, load_settings

TEXT = TextFormatter("%(levelname)s %(name)s: %(message)s")


def record(msg: str = "bot UI setup failed; will retry", **extra: object) -> logging.LogRecord:
    rec = logging.LogRecord("bot.app", logging.WARNING, __file__, 1, msg, (), None)
    rec.__dict__.update(extra)
    return rec


@pytest.mark.parametrize(
    ("extra", "tail"),
    [
        ({}, ""),
        ({"error": "Timeout"}, " error=Timeout"),
        ({"mode": "webhook", "port": 8080}, " mode=webhook port=8080"),
        ({"error": "Cannot connect to host"}, ' error="Cannot connect to host"'),
        ({"error": 'say "hi"\nbye'}, ' error="say \\"hi\\"\\nbye"'),
        ({"error": ""}, ' error=""'),
        (
            {"bot_token": "123:abc", "webhook_secret": "s3", "user": 7},
            " bot_token=*** webhook_secret=*** user=7",
        ),
        ({"_private": 1}, ""),
    ],
)
def test_text_lines_carry_the_extras(extra: dict, tail: str) -> None:
    assert (
        TEXT.format(record(**extra)) == f"WARNING bot.app: bot UI setup failed; will retry{tail}"
    )


def test_text_extras_and_correlation_id_precede_the_traceback() -> None:
    try:
        raise RuntimeError("boom")  # noqa: EM101, TRY301
    except RuntimeError:
        rec = record("failed", error="boom")
        rec.exc_info = sys.exc_info()
    token = correlation_id.set("abc123")
    try:
        first, *rest = TEXT.format(rec).splitlines()
    finally:
        correlation_id.reset(token)
    assert first == "WARNING bot.app: failed error=boom [abc123]"
    assert rest[0].startswith("Traceback") and rest[-1] == "RuntimeError: boom"


def test_json_lines_still_redact_secrets() -> None:
    line = json.loads(JsonFormatter().format(record(password="hunter2", error="x")))
    assert line["password"] == "***" and line["error"] == "x"
    assert "hunter2" not in json.dumps(line)


# -- configuration ----------------------------------------------------------------------------
THIRD_PARTY = ("apscheduler.executors.default", "apscheduler.scheduler", "aiohttp.access",
               "aiogram.event", "aiogram.dispatcher", "tortoise", "aiosqlite", "asyncpg")  # fmt: skip
OURS = ("bot.app", "services.signals.lifecycle", "jobs.trading_loop", "ea.client.terminal", "core.http.problems",
        "handlers.start", "trading.feeds", "middlewares.rbac", "models.signals")  # fmt: skip


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in (*APP_LOGGERS, *THIRD_PARTY)}
    yield
    root.handlers[:], level = saved
    root.setLevel(level)
    for name, value in levels.items():
        logging.getLogger(name).setLevel(value)


def settings_for(**env: object) -> Settings:
    return load_settings(_env_file=None, **env)


@pytest.mark.parametrize(
    ("env", "as_json"),
    [
        ({}, False),  # sandbox (no BOT_TOKEN): readable text at the console
        ({"bot_token": "123456789:" + "A" * 35}, True),  # production: JSON lines
        ({"log_json": True}, True),
        ({"log_json": "false", "bot_token": "123456789:" + "A" * 35}, False),
    ],
)
def test_log_format_defaults_to_text_in_sandbox_mode(env: dict, as_json: bool) -> None:
    assert settings_for(**env).log_as_json is as_json


@pytest.mark.usefixtures("restore_logging")
@pytest.mark.parametrize("level", ["INFO", "WARNING"])
def test_third_party_info_chatter_is_kept_at_warning(level: str) -> None:
    setup_logging(level, json_output=False)
    numeric = logging.getLevelName(level)
    for name in THIRD_PARTY:
        log = logging.getLogger(name)
        assert not log.isEnabledFor(logging.INFO), name
        assert log.isEnabledFor(logging.WARNING), name
    for name in OURS:
        log = logging.getLogger(name)
        assert log.isEnabledFor(numeric) and not log.isEnabledFor(numeric - 10), name


@pytest.mark.usefixtures("restore_logging")
def test_debug_shows_everything() -> None:
    setup_logging("DEBUG", json_output=True)
    for name in (*THIRD_PARTY, *OURS):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG), name


@pytest.mark.usefixtures("restore_logging")
def test_a_sandbox_console_shows_readable_lines_without_scheduler_noise(
    capsys: pytest.CaptureFixture[str],
) -> None:
    settings = settings_for()
    setup_logging(settings.log_level, json_output=settings.log_as_json)
    logging.getLogger("apscheduler.executors.default").info('Running job "sender" (trigger)')
    logging.getLogger("aiohttp.access").info("127.0.0.1 GET /ea/v1/commands 200")
    logging.getLogger("services.signals.lifecycle").info(
        "signal published", extra={"signal_id": 3}
    )
    logging.getLogger("apscheduler.scheduler").warning("job missed by 2 s")
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines
    assert lines[0].endswith("INFO services.signals.lifecycle: signal published signal_id=3")
    assert lines[1].endswith("WARNING apscheduler.scheduler: job missed by 2 s")
    assert not lines[0].startswith("{")


def test_every_shipped_package_logs_at_the_configured_level() -> None:
    config = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    shipped = [p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]]
    assert set(shipped) <= set(APP_LOGGERS)


def test_an_unknown_level_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown log level"):
        setup_logging("LOUD")
