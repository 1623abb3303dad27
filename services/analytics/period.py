"""A reporting period typed in chat or the Mini App: a calendar month (``2026-11``) or the
last N days (``30d``); nothing means the last 30 days. Times are UTC, ``[start, end)``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from services.errors import InvalidInput

DEFAULT_DAYS = 30
MAX_DAYS = 3650  # ten years: more than any record we hold
_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits only: \d matches any script
_DAYS = re.compile(r"([0-9]{1,4})[dD]")
_SHOWN_MAX = 24  # characters of a bad argument repeated in the refusal


@dataclass(frozen=True, slots=True)
class Period:
    """``kind`` month: ``year``/``month`` set; days: ``days`` set (the last N days to ``end``);
    week: an ISO week (Monday 00:00 UTC to the next), ``year``/``week`` its ISO numbers."""

    kind: Literal["month", "days", "week"]
    start: datetime
    end: datetime
    year: int = 0
    month: int = 0
    days: int = 0
    week: int = 0

    @property
    def label(self) -> str:
        """``2026-11``, ``30d`` (the arguments that give the period again) or ``2026-W47``."""
        if self.kind == "month":
            return f"{self.year:04d}-{self.month:02d}"
        if self.kind == "week":
            return f"{self.year:04d}-W{self.week:02d}"
        return f"{self.days}d"


def last_days(days: int, now: datetime) -> Period:
    return Period("days", now - timedelta(days=days), now, days=days)


def last_week(now: datetime) -> Period:
    """The last complete ISO week before `now` (Monday 00:00 UTC to Monday 00:00 UTC)."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today - timedelta(days=today.weekday())
    start = end - timedelta(days=7)
    iso = start.isocalendar()
    return Period("week", start, end, year=iso.year, days=7, week=iso.week)


def month(year: int, month_number: int) -> Period:
    start = datetime(year, month_number, 1, tzinfo=UTC)
    nxt = datetime(year + month_number // 12, month_number % 12 + 1, 1, tzinfo=UTC)
    return Period("month", start, nxt, year=year, month=month_number)


def parse_period(text: str | None, now: datetime) -> Period:
    """``None``/empty: the last 30 days; ``YYYY-MM``: that month (2000-01 .. 2100-12); ``Nd``:
    the last N days (1 .. 3650). Anything else: `InvalidInput` ("analytics.bad_period")
    naming what was typed and both forms."""
    given = (text or "").strip()
    if not given:
        return last_days(DEFAULT_DAYS, now)
    found = _MONTH.fullmatch(given)
    if found and 2000 <= int(found.group(1)) <= 2100 and 1 <= int(found.group(2)) <= 12:
        return month(int(found.group(1)), int(found.group(2)))
    found = _DAYS.fullmatch(given)
    if found and 1 <= int(found.group(1)) <= MAX_DAYS:
        return last_days(int(found.group(1)), now)
    shown = given if len(given) <= _SHOWN_MAX else given[: _SHOWN_MAX - 1] + "…"
    raise InvalidInput("analytics.bad_period", given=shown, max_days=MAX_DAYS)
