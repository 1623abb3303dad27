"""A user registered by this update gets its access from its role alone, with no query, and
that answer is the one the database would give (an owner's complimentary access included)."""

from __future__ import annotations

import pytest
from tortoise import connections

from core import clock
from services.users import registration
from services.users.profiles import TelegramProfile

OWNER, VISITOR = 9_001, 9_002


@pytest.mark.parametrize("telegram_id", [OWNER, VISITOR])
async def test_first_contact_access_equals_the_stored_answer(
    database: str, telegram_id: int
) -> None:
    contact = await registration.ensure_contact(
        TelegramProfile(telegram_id, None, "New", None, "en"), owners=frozenset({OWNER})
    )
    assert contact.first_contact
    now = clock.now()
    fresh = await registration.with_access(contact.user, now, first_contact=True)
    stored = await registration.with_access(contact.user, now)
    assert fresh.access == stored.access
    assert fresh.access is not None
    assert fresh.access.plan is not None if telegram_id == OWNER else fresh.access.plan is None


async def test_first_contact_access_asks_the_database_nothing(database: str) -> None:
    contact = await registration.ensure_contact(
        TelegramProfile(VISITOR, None, "New", None, "en"), owners=frozenset()
    )
    conn = connections.get("default")
    calls: list[str] = []
    original = conn.execute_query

    async def counting(query: str, values: list[object] | None = None) -> object:
        calls.append(query)
        return await original(query, values)

    conn.execute_query = counting  # type: ignore[method-assign]
    try:
        await registration.with_access(contact.user, clock.now(), first_contact=True)
    finally:
        conn.execute_query = original  # type: ignore[method-assign]
    assert calls == []
