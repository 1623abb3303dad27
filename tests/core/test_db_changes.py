"""The SQLite probe behind the user cache: it notices another process's write, never our own,
shares one query among concurrent callers and reuses its answer briefly."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from core.db_changes import SqliteDataVersion, probe_for
from models.users import Role
from services.users import profiles as users_service
from tests.dbutil import postgres_server_url

pytestmark = pytest.mark.skipif(
    postgres_server_url() is not None, reason="SQLite's probe (PostgreSQL uses the bus)"
)


def write_from_another_process(url: str) -> None:
    """Another connection to the same file, as the CLI would open."""
    with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
        conn.execute("UPDATE users SET role = 'public'")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_another_connections_write_is_noticed_once_and_our_own_never(database: str) -> None:
    clock = Clock()
    probe = SqliteDataVersion(reuse_s=0.05, clock=clock)
    await users_service.seed(1, "Sam", "sam", Role.SUBSCRIBER)
    assert not await probe.changed()  # the first look sets the baseline
    await users_service.seed(1, "Sam", "sam", Role.ADMIN)  # our own write
    clock.now += 1
    assert not await probe.changed()
    write_from_another_process(database)
    assert not await probe.changed()  # within `reuse_s` of the last look: not asked again
    clock.now += 1
    assert await probe.changed()
    clock.now += 1
    assert not await probe.changed()  # told once


async def test_concurrent_callers_share_one_look(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock()
    probe = SqliteDataVersion(clock=clock)
    await users_service.seed(1, "Sam", "sam", Role.SUBSCRIBER)
    assert not await probe.changed()
    write_from_another_process(database)
    clock.now += 1
    reads = 0
    read = probe._read

    async def counted() -> bool:
        nonlocal reads
        reads += 1
        return await read()

    monkeypatch.setattr(probe, "_read", counted)
    answers = await asyncio.gather(*(probe.changed() for _ in range(20)))
    assert reads == 1 and all(answers)


def test_only_sqlite_gets_a_probe() -> None:
    assert isinstance(probe_for("sqlite://data/x.sqlite3"), SqliteDataVersion)
    assert probe_for("postgres://u@h/db") is None
