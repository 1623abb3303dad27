"""Callback data for buttons that services put on outbox messages (signal cards).

These live in services, not beside the handlers, because the outbox renders keyboards when a
state change is committed, long before any handler runs; the handlers filter on the same
classes. Packing goes only through `CallbackData` (never hand-built strings).
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from services.text.numbers import SignalIdField


class SignalCB(CallbackData, prefix="sig"):
    action: str  # approve | reject | details | consent
    signal_id: SignalIdField  # range-checked: a forged id never reaches a query


class UpgradeCB(CallbackData, prefix="upg"):
    source: str  # where the user saw the upgrade button


class ConsentCB(CallbackData, prefix="consent"):
    """The "I understand and accept" button under the risk disclaimer shown for a signal:
    `version` is a short digest of the version the user read (`consent.version_tag`), so a
    version changed meanwhile is never accepted unseen, whatever characters it contains."""

    signal_id: int
    version: str


class HeldCB(CallbackData, prefix="held"):
    """Confirm / Discard under an outside producer's held signal (services.ingest)."""

    action: str  # confirm | discard
    held_id: SignalIdField
