"""The API finds its caller in the process's user cache (the chat's own): a change of role,
ban, plan or language counts on the very next call, however it was made, and a plan that
ends stops counting at its end, with nothing cached in between."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.billing import EntitlementSource
from models.users import Role, User
from services.billing import catalog, entitlements
from services.miniapp import views
from services.users import access, profiles
from services.users.access import Shell
from services.users.cache import UserCache
from tests.services.terminals import helpers as th
from tests.waiting import until
from tests.webapp.miniapp.conftest import Api

SAM = 4101


async def _me(api: Api, auth: str) -> tuple[int, Any]:
    status, body, _ = await api.call("GET", "/api/v1/me", auth=auth)
    return status, body


async def _terminals(api: Api, auth: str) -> int:
    status, _, _ = await api.call("GET", "/api/v1/terminals", auth=auth)
    return status


async def test_a_role_change_counts_on_the_next_call(api: Api) -> None:
    await th.user(SAM, Role.SUBSCRIBER, "Sam")
    auth = await api.login(SAM)
    assert (await _me(api, auth))[1]["role"] == "subscriber"
    assert await _terminals(api, auth) == 200  # cached now
    await access.set_role(Shell(), str(SAM), "public")  # /role in chat, or the CLI
    assert (await _me(api, auth))[1]["role"] == "public"
    assert await _terminals(api, auth) == 403
    await access.set_role(Shell(), str(SAM), "subscriber")
    assert await _terminals(api, auth) == 200


async def test_a_ban_counts_on_the_next_call_and_so_does_the_unban(api: Api) -> None:
    await th.user(SAM, Role.SUBSCRIBER, "Sam")
    auth = await api.login(SAM)
    assert (await _me(api, auth))[0] == 200
    await access.set_banned(Shell(), str(SAM), banned=True)
    status, body = await _me(api, auth)
    assert status == 403 and body["status"] == 403
    await access.set_banned(Shell(), str(SAM), banned=False)
    assert (await _me(api, auth))[0] == 200


async def test_a_plan_counts_at_once_and_ends_at_its_end(api: Api, clock: Any) -> None:
    await catalog.sync_catalog(catalog.load_catalog(None, Decimal("0.013")))
    sam = await th.user(SAM, Role.PUBLIC, "Sam")
    auth = await api.login(SAM)
    assert await _terminals(api, auth) == 403
    await entitlements.grant(sam.id, "starter", 2, source=EntitlementSource.GRANT, now=clock.now())
    assert await _terminals(api, auth) == 200
    assert (await _me(api, auth))[1]["access"]["plan"] == "starter"
    clock.advance(timedelta(days=2) - timedelta(minutes=1))
    auth = await api.login(SAM)  # sessions last an hour
    assert (await _me(api, auth))[1]["access"]["in_grace"] is False  # cached: a minute left
    clock.advance(timedelta(minutes=1))  # the period's end: no event, the cached access expires
    assert (await _me(api, auth))[1]["access"]["in_grace"] is True
    clock.advance(entitlements.GRACE - timedelta(minutes=1))
    auth = await api.login(SAM)
    assert await _terminals(api, auth) == 200  # in grace, cached
    clock.advance(timedelta(minutes=1))  # the grace's end
    assert await _terminals(api, auth) == 403


async def test_a_language_change_counts_on_the_next_call(api: Api) -> None:
    await th.user(SAM, Role.SUBSCRIBER, "Sam")
    auth = await api.login(SAM)
    assert (await _me(api, auth))[1]["language"] == "en"
    await profiles.set_language(SAM, "es")  # /language in chat
    assert (await _me(api, auth))[1]["language"] == "es"


async def test_another_process_writing_the_sqlite_file_drops_the_cache(
    api: Api, database: str
) -> None:
    if not database.startswith("sqlite"):
        pytest.skip("SQLite's probe (PostgreSQL's trigger reaches the cache over the bus)")
    await th.user(SAM, Role.SUBSCRIBER, "Sam")
    auth = await api.login(SAM)
    assert (await _me(api, auth))[1]["role"] == "subscriber"
    path = database.removeprefix("sqlite://").split("?")[0]
    with sqlite3.connect(path) as other:  # the CLI: another connection, no event
        other.execute("UPDATE users SET role = 'public' WHERE telegram_id = ?", (SAM,))
    assert await User.get(telegram_id=SAM).values_list("role", flat=True) == "public"
    await until(lambda: _me(api, auth), accept=lambda r: r[1]["role"] == "public")


async def test_a_load_that_raced_an_invalidation_is_not_cached(database: str) -> None:
    await th.user(SAM, Role.SUBSCRIBER, "Sam")
    cache = UserCache()
    callers = views.Callers(cache)
    loaded = await views.current_user(SAM, callers)
    assert await views.current_user(SAM, callers) is loaded  # served from the cache
    before = cache.generation
    cache.invalidate(SAM)  # a change committed while a load was in flight
    cache.put(loaded, before)  # that load ends: not cached
    assert cache.get(SAM) is None
    again = await views.current_user(SAM, callers)
    assert again == loaded and again is not loaded
    assert cache.get(SAM) is again
