"""Callback data for buttons that billing services put on outbox messages (reminders, paused
terminals). They live in services, like `services.signals.callbacks`, because the outbox renders
keyboards when a change commits, long before a handler runs; the handlers filter on the same
classes. Packing goes only through `CallbackData`."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class RenewCB(CallbackData, prefix="renew"):
    """Renew `plan`: opens the /plans buying options."""

    plan: str  # a plan code (at most 32 characters)


class KeepCB(CallbackData, prefix="keep"):
    """Over the plan's terminal limit: keep the paused terminal `device_id` active, pausing the
    active terminal `instead` (empty: ask which one)."""

    device_id: str  # public id, dev_ + 12 characters
    instead: str = ""
