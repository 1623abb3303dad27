"""Owner-tunable settings kept in the database, with typed accessors and defaults."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from models.signals import AppSetting


class Visibility(StrEnum):
    FULL = "full"  # entry, stop and take-profit
    ENTRY_ONLY = "entry_only"  # the owner keeps stop/take-profit private


DEFAULTS: dict[str, Any] = {
    "signals.visibility": Visibility.FULL.value,
    "risk.disclaimer_version": "2026-11",
    "signals.free_delay_hours": 24,
    "miniapp.url": None,  # the Mini App page (set by the assembly at start): cards' Open app
}


async def get(key: str) -> Any:
    row = await AppSetting.get_or_none(key=key)
    if row is None:
        return DEFAULTS.get(key)
    return row.value["v"] if isinstance(row.value, dict) and "v" in row.value else row.value


async def put(key: str, value: Any) -> None:
    """Store any JSON value; wrapped as {"v": value} because the JSON field would take a bare
    string for already-encoded JSON."""
    await AppSetting.update_or_create(defaults={"value": {"v": value}}, key=key)


async def visibility() -> Visibility:
    return Visibility(await get("signals.visibility"))


async def disclaimer_version() -> str:
    return str(await get("risk.disclaimer_version"))


async def miniapp_url() -> str | None:
    """The Mini App page's URL, or None when this server has none (no PUBLIC_URL)."""
    value = await get("miniapp.url")
    return value if isinstance(value, str) and value else None


async def free_delay_hours() -> float:
    return float(await get("signals.free_delay_hours"))
