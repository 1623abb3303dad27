"""Time conventions of the trading core: aware UTC datetimes outside, unix seconds inside."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_from_unix_s(seconds: int) -> datetime:
    """Aware UTC datetime for unix seconds. Reference: POSIX time, `datetime.fromtimestamp`."""
    return datetime.fromtimestamp(int(seconds), tz=UTC)


def require_aware(t: datetime, what: str = "time") -> None:
    """Raise ValueError for a naive datetime (attach `tzinfo=UTC` to fix it)."""
    if t.tzinfo is None or t.utcoffset() is None:
        msg = f"{what} {t.isoformat()} is naive: attach a timezone, e.g. t.replace(tzinfo=UTC)"
        raise ValueError(msg)


def to_unix_s(t: datetime) -> int:
    """Whole unix seconds for an AWARE datetime (naive raises ValueError)."""
    require_aware(t)
    return int(t.timestamp())
