"""The handler data the middlewares read and write, typed: aiogram's keys and ours.

aiogram hands a middleware ``dict[str, Any]``; `typed` casts it once, at the boundary, to
`UpdateData` (aiogram's `MiddlewareData` and `I18nData`, plus `services.context.InjectedData`),
so every read and write below it is checked by mypy.
"""

from __future__ import annotations

from typing import Any, cast

from aiogram.dispatcher.middlewares.data import I18nData, MiddlewareData

from services.context import InjectedData


class UpdateData(MiddlewareData, I18nData, InjectedData, total=False):
    """A handler's data as this application's middlewares leave it."""


def typed(data: dict[str, Any]) -> UpdateData:
    """The same dict, typed (a cast: no copy, writes reach aiogram)."""
    return cast(UpdateData, data)
