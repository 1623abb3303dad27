"""The injected keys (`services.context`) are real: the assembly and the middlewares set every
key declared, and every handler parameter that aiogram injects is a declared key of the type
declared (read from the handlers' signatures, so a new handler cannot ask for a key no one sets).
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Iterator
from typing import Any, get_args

from aiogram import Router
from aiogram.dispatcher.middlewares.data import I18nData, MiddlewareData
from aiogram.filters import Command
from aiogram.types import Message

from bot.app import build_i18n, create_dispatcher
from core.settings import load_settings
from handlers import build_root_router, detach_router
from services.context import AppDeps, InjectedData, UpdateContext
from tests.handlers.recording import make_bot, text_update

# Keys aiogram's filters add for the handler they pass (Command, CallbackData.filter()).
FILTER_KEYS = {"command", "callback_data"}
OURS = typing.get_type_hints(InjectedData)


def _keys(data: Any) -> set[str]:
    return set(data.__required_keys__ | data.__optional_keys__)


ALLOWED = _keys(InjectedData) | _keys(MiddlewareData) | _keys(I18nData) | FILTER_KEYS


def _routers(router: Router) -> Iterator[Router]:
    yield router
    for sub in router.sub_routers:
        yield from _routers(sub)


def _injected_parameters() -> list[tuple[str, inspect.Parameter]]:
    found = []
    for router in _routers(build_root_router()):
        for observer in router.observers.values():
            for handler in observer.handlers:
                params = list(inspect.signature(handler.callback).parameters.values())
                name = f"{handler.callback.__module__}.{handler.callback.__qualname__}"
                found += [(name, p) for p in params[1:]]  # the first is the event
    return found


def test_the_handlers_are_found() -> None:
    params = _injected_parameters()
    assert len({name for name, _ in params}) > 40
    assert {"user", "settings", "alerts", "user_cache", "first_contact"} <= {
        p.name for _, p in params
    }


def test_every_injected_parameter_is_a_declared_key_of_its_type() -> None:
    for handler, param in _injected_parameters():
        assert param.kind is not param.VAR_KEYWORD, f"{handler} takes **{param.name}"
        assert param.name in ALLOWED, f"{handler}: {param.name} is injected by no one"
        declared = OURS.get(param.name)
        if declared is None:
            continue
        annotation = str(param.annotation).removesuffix(" | None")
        # an optional key (`StripeBilling | None`) is declared by its non-None member
        name = getattr(declared, "__name__", None) or next(
            a.__name__ for a in get_args(declared) if a is not type(None)
        )
        assert annotation == name, f"{handler}: {param.name}: {param.annotation}"


def test_the_dispatcher_carries_every_app_dependency() -> None:
    settings = load_settings(_env_file=None)
    bot, _session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n())
    assert _keys(AppDeps) <= set(dp.workflow_data)
    for key, kind in typing.get_type_hints(AppDeps).items():
        assert isinstance(dp.workflow_data[key], kind), key


async def test_the_middlewares_set_every_update_key(database: str) -> None:
    seen: dict[str, Any] = {}
    probe = Router(name="probe")

    @probe.message(Command("probe"))
    async def capture(_message: Message, **data: Any) -> None:
        seen.update(data)

    detach_router(probe)
    settings = load_settings(_env_file=None, throttle_rate=1000, throttle_burst=1000)
    bot, _session = make_bot()
    dp = create_dispatcher(settings, bot, build_i18n(), extra_routers=[probe])
    await dp.feed_update(bot, text_update(4242, "/probe"))
    assert _keys(UpdateContext) <= set(seen), sorted(seen)
    for key, kind in typing.get_type_hints(UpdateContext).items():
        assert isinstance(seen[key], kind), key
    assert seen["user"].telegram_id == 4242 and seen["first_contact"] is True
