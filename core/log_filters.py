"""Handler filters that keep a flood of identical problems from flooding the log.

- `RepeatFilter`: the same warning or error (logger, message template, exception type) at
  most once per interval; the next one that gets through carries ``repeated=N``, the number
  held back since the last. A client, an attacker or a dead dependency can make the same
  error happen thousands of times a second; one line a minute with a count says as much.
- `ClientErrorFilter`: aiohttp logs a request it cannot parse (a bad request line, a header
  too long) as "Error handling request" at ERROR with a traceback; it is the client's
  mistake, answered 400, so it becomes one WARNING line without the traceback.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

Key = tuple[str, int, str, str]


class RepeatFilter(logging.Filter):
    def __init__(
        self,
        interval_s: float = 60.0,
        *,
        level: int = logging.WARNING,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 10_000,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.level = level
        self.clock = clock
        self.max_keys = max_keys
        self._seen: dict[Key, list[float]] = {}  # key -> [last logged at, held back since]
        self._lock = threading.Lock()  # handlers call filters outside their own lock

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level or self.interval_s <= 0:
            return True
        exc_type = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else ""
        key = (record.name, record.levelno, str(record.msg), exc_type)
        now = self.clock()
        with self._lock:
            seen = self._seen.get(key)
            if seen is not None and now - seen[0] < self.interval_s:
                seen[1] += 1
                return False
            if seen is None and len(self._seen) >= self.max_keys:
                self._seen.clear()  # many distinct problems: start counting afresh
            self._seen[key] = [now, 0]
        if seen is not None and seen[1]:
            record.repeated = int(seen[1])
        return True


class ClientErrorFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "aiohttp.server" or not record.exc_info:
            return True
        exc = record.exc_info[1]
        if isinstance(exc, HttpProcessingError):
            record.levelno, record.levelname = logging.WARNING, "WARNING"
            record.msg, record.args = "malformed HTTP request refused: 400", ()
            record.error = f"{type(exc).__name__}: {str(exc).strip()[:200]}"
            record.exc_info, record.exc_text = None, None
        return True
