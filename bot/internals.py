"""The one private attribute of aiogram the assembly reads, behind a function (STYLE 15).

aiogram's polling loop (3.31) starts a task per update and keeps it in the Dispatcher's
private ``_handle_update_tasks``; `stop_polling()` does not wait for them and no public API
lists them. The runner must wait for the updates it is still handling before it closes the
database, so it reads that set here and nowhere else; tests/bot/test_internals.py fails if
the attribute disappears or polling stops filling it.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiogram import Dispatcher


def polling_update_tasks(dp: Dispatcher) -> set[asyncio.Task[Any]]:
    """The tasks polling started for updates still being handled (a live set: copy it)."""
    tasks: set[asyncio.Task[Any]] = dp._handle_update_tasks
    return tasks
