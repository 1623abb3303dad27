"""Log lines: extras in both formats, secrets redacted, one line before any traceback."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from bot.logs import JsonFormatter, TextFormatter, correlation_id

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
