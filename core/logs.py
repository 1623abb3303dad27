"""Logging: JSON lines (production) or readable text (sandbox), a correlation id carried in a
context variable, secrets redacted, third-party chatter kept at WARNING."""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

from core.log_filters import ClientErrorFilter, RepeatFilter

correlation_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "correlation_id", default=None
)

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}
_SECRET_HINTS = ("token", "secret", "password", "master_key", "authorization")


_PREFIX = f"{os.getpid() % 0x10000:04x}{secrets.token_hex(2)}"
_COUNTER = itertools.count(1)


def new_correlation_id() -> str:
    """Unique per process run and cheap (no random bytes per update): prefix + counter."""
    return f"{_PREFIX}{next(_COUNTER):06x}"


def _redact(key: str, value: Any) -> Any:
    return "***" if any(h in key.lower() for h in _SECRET_HINTS) else value


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    """The `extra=` fields of a record, secrets redacted."""
    return {
        key: _redact(key, value)
        for key, value in record.__dict__.items()
        if key not in _STANDARD and key != "correlation_id" and not key.startswith("_")
    }


def _text_value(value: Any) -> str:
    text = str(value)
    if text and not any(c.isspace() or c in "\"'=" for c in text):
        return text
    return json.dumps(text, ensure_ascii=False)  # quoted and escaped: stays one line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, correlation id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        if cid:
            payload["correlation_id"] = cid
        payload.update(_extras(record))
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """The format string, then the extras as key=value (secrets redacted), then [correlation id];
    all on the first line, before any traceback."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        line = super().formatMessage(record)
        fields = " ".join(f"{k}={_text_value(v)}" for k, v in _extras(record).items())
        if fields:
            line = f"{line} {fields}"
        cid = getattr(record, "correlation_id", None) or correlation_id.get()
        return f"{line} [{cid}]" if cid else line


# Our own packages log at LOG_LEVEL; everything else (APScheduler's "Running job ..." lines,
# aiohttp's access log, aiogram's per-update lines, Tortoise, aiosqlite, ...) only from WARNING
# up, unless LOG_LEVEL=DEBUG asks for all of it. tests/core/test_logs.py checks this list
# against the packages pyproject.toml ships.
APP_LOGGERS = (
    "bot", "handlers", "middlewares", "webapp", "ea", "jobs", "services", "trading", "models",
    "core", "tgemu", "httpguard", "stripeemu", "__main__",
)  # fmt: skip
THIRD_PARTY_FLOOR = logging.WARNING


def setup_logging(
    level: str = "INFO", *, json_output: bool = True, repeat_interval_s: float = 60.0
) -> None:
    """One handler on stderr: JSON lines or readable text; app loggers at `level`, third-party
    ones at WARNING or above (at DEBUG everything is shown); identical warnings and errors at
    most once per `repeat_interval_s` (`core.log_filters`)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(ClientErrorFilter())
    handler.addFilter(RepeatFilter(repeat_interval_s))
    if json_output:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        msg = f"unknown log level {level!r}"
        raise ValueError(msg)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(numeric if numeric <= logging.DEBUG else max(numeric, THIRD_PARTY_FLOOR))
    for name in APP_LOGGERS:
        logging.getLogger(name).setLevel(numeric)
