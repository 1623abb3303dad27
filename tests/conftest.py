"""Shared fixtures: a migrated database per session, a clean one per test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tortoise import context as tortoise_context

from core import clock as process_clock
from core import db
from core.bus import Bus
from tests.dbutil import migrated_database, truncate_all

# Tests never read a developer's .env or real secrets.
for _name in ("BOT_TOKEN", "WEBHOOK_URL", "WEBHOOK_SECRET", "OWNER_IDS", "MASTER_KEY"):
    os.environ.pop(_name, None)


@pytest.fixture(autouse=True)
def database_released() -> Iterator[None]:
    """Every test leaves the ORM's global context as it found it (the app's `stop`,
    `close_db`): one left open would refuse every later `init_db` in this worker. A context
    opened by a module's fixture (the EA tests' app) is that fixture's. The test that left one
    open fails here, by name, and it is dropped so that the rest of the run goes on."""
    before = tortoise_context._global_context
    yield
    left = tortoise_context._global_context
    if left is None or left is before:
        return
    tortoise_context._global_context = None
    pytest.fail("the test left the database connections open (Tortoise's global context)")


@pytest.fixture
def clock() -> Iterator[process_clock.ManualClock]:
    """The process clock, standing still at 2030-01-01 00:00 UTC until the test moves it
    (`set`, `advance`); the system clock is back after the test."""
    manual = process_clock.ManualClock(datetime(2030, 1, 1, tzinfo=UTC))
    with process_clock.using(manual):
        yield manual


@pytest.fixture(scope="session")
def db_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
async def clean_db(db_url: str) -> str:
    """Empty tables; the test (or the app it starts) opens its own connections."""
    await db.init_db(db_url)
    try:
        await truncate_all()
    finally:
        await db.close_db()
    return db_url


@pytest.fixture
async def database(clean_db: str) -> AsyncIterator[str]:
    """An open, empty, migrated database for service tests."""
    await db.init_db(clean_db)
    yield clean_db
    await db.close_db()


@pytest.fixture
def data_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "data" / "samples"


@pytest.fixture
async def bus() -> AsyncIterator[Bus]:
    """This test's event bus, active for it (what the app's assembly does per process)."""
    events = Bus()
    token = events.activate()
    yield events
    with contextlib.suppress(ValueError):  # set in another context: it ends with it
        Bus.deactivate(token)
