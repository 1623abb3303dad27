"""The table of emulated Bot API methods (names are case-insensitive, as Telegram's)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tgemu.params import Params
from tgemu.state import Emulator

MethodHandler = Callable[[Emulator, Params], Awaitable[Any]]
METHODS: dict[str, MethodHandler] = {}


def method(*names: str) -> Callable[[MethodHandler], MethodHandler]:
    def register(handler: MethodHandler) -> MethodHandler:
        for name in names:
            METHODS[name.lower()] = handler
        return handler

    return register
