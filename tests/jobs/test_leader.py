"""Scheduler leadership: one holder of the lock at a time, takeover when the holder goes."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from tortoise.backends.base.config_generator import expand_db_url

from jobs.leader import (
    FileLeaderLock,
    Leadership,
    PostgresLeaderLock,
    SoleProcessLock,
    lock_for,
)
from tests.dbutil import create_pg_database, drop_pg_database, postgres_server_url
from tests.waiting import until


class Duties:
    """Records what Leadership asked of one replica."""

    def __init__(self, fail: bool = False) -> None:
        self.events: list[str] = []
        self.fail = fail

    async def elected(self) -> None:
        self.events.append("elected")
        if self.fail:
            msg = "bad REPLAY_FILE"
            raise RuntimeError(msg)

    async def deposed(self) -> None:
        self.events.append("deposed")


class Counted:
    """A lock that counts the campaigns made with it (`acquire` calls), so a test can wait for
    proof that a standby kept trying before asserting that it never won."""

    def __init__(self, lock: Any) -> None:
        self.lock = lock
        self.attempts = 0

    async def acquire(self) -> bool:
        self.attempts += 1
        return bool(await self.lock.acquire())

    async def check(self) -> bool:
        return bool(await self.lock.check())

    async def release(self) -> None:
        await self.lock.release()


async def campaigned(lock: Counted, times: int = 3) -> None:
    """Until the standby has tried `times` more times (each after its leader was in place)."""
    seen = lock.attempts
    await until(
        lambda: lock.attempts,
        f"{times} more campaigns of the standby",
        accept=lambda n: n >= seen + times,
    )


def leadership(lock: object, duties: Duties, retry_s: float = 0.02) -> Leadership:
    return Leadership(
        lock,  # type: ignore[arg-type]
        on_elected=duties.elected,
        on_deposed=duties.deposed,
        retry_s=retry_s,
    )


def test_the_lock_fits_the_database(tmp_path: Path) -> None:
    assert isinstance(lock_for(f"sqlite://{tmp_path}/a.sqlite3"), FileLeaderLock)
    assert lock_for(f"sqlite://{tmp_path}/a.sqlite3").path == tmp_path / "a.sqlite3.leader"  # type: ignore[union-attr]
    assert isinstance(lock_for("sqlite://:memory:"), SoleProcessLock)
    assert isinstance(lock_for("postgres://u:p@127.0.0.1:5432/db"), PostgresLeaderLock)


async def test_file_lock_is_exclusive_until_released(tmp_path: Path) -> None:
    first, second = FileLeaderLock(tmp_path / "x"), FileLeaderLock(tmp_path / "x")
    assert await first.acquire()
    assert await first.acquire()  # re-entrant for its holder
    assert not await second.acquire()
    await first.release()
    assert await second.acquire()
    assert not await first.acquire()
    await second.release()


async def test_one_leader_and_the_standby_takes_over_when_it_resigns(tmp_path: Path) -> None:
    a_duties, b_duties = Duties(), Duties()
    b_lock = Counted(FileLeaderLock(tmp_path / "l"))
    a = leadership(FileLeaderLock(tmp_path / "l"), a_duties)
    b = leadership(b_lock, b_duties)
    await a.start()
    await b.start()
    await campaigned(b_lock)  # several campaigns of b's, all lost
    assert (a.is_leader, b.is_leader) == (True, False)
    assert b_duties.events == []
    await a.stop_watching()
    await a.resign()
    await until(lambda: b.is_leader, "b to take over")
    assert a_duties.events == ["elected"] and b_duties.events == ["elected"]
    await b.stop_watching()
    await b.resign()


async def test_a_failure_to_start_the_duties_at_start_up_is_raised_and_frees_the_lock(
    tmp_path: Path,
) -> None:
    broken = leadership(FileLeaderLock(tmp_path / "l"), Duties(fail=True))
    with pytest.raises(RuntimeError, match="REPLAY_FILE"):
        await broken.start()
    assert not broken.is_leader
    assert await FileLeaderLock(tmp_path / "l").acquire()  # handed back


async def test_a_later_failure_is_logged_and_retried(tmp_path: Path) -> None:
    holder = FileLeaderLock(tmp_path / "l")
    assert await holder.acquire()
    duties = Duties(fail=True)
    standby = leadership(FileLeaderLock(tmp_path / "l"), duties)
    await standby.start()  # not elected: nothing to raise
    await holder.release()
    await until(lambda: duties.events.count("elected") >= 2)  # failed, gave back, tried again
    assert not standby.is_leader
    assert "deposed" in duties.events  # what had started was stopped
    await standby.stop_watching()


PG_SERVER = postgres_server_url() or os.environ.get("PG_TEST_URL")


@pytest.fixture
async def pg_url() -> object:
    if not PG_SERVER:
        pytest.skip("no PostgreSQL server: set PG_TEST_URL or DATABASE_URL (CI does)")
    url = await create_pg_database(PG_SERVER, prefix="sdlead")
    yield url
    await drop_pg_database(url)


async def test_postgres_leader_steps_down_when_its_connection_dies(pg_url: str) -> None:
    a_duties, b_duties = Duties(), Duties()
    b_lock = Counted(lock_for(pg_url))
    a = leadership(lock_for(pg_url), a_duties)
    b = leadership(b_lock, b_duties)
    await a.start()
    await b.start()
    await campaigned(b_lock)
    assert (a.is_leader, b.is_leader) == (True, False)
    # The database drops the leader's session (a network cut, a failover, a killed process):
    # the server frees the advisory lock, a check fails, a steps down, b takes over.
    credentials = expand_db_url(pg_url)["credentials"]
    admin = await asyncpg.connect(
        host=credentials["host"],
        port=credentials["port"],
        user=credentials["user"],
        password=credentials.get("password") or None,
        database=credentials["database"],
    )
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = 'signaldesk-leader' AND datname = current_database()"
            " AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        )
    finally:
        await admin.close()
    assert killed == 1
    await until(lambda: b.is_leader and not a.is_leader)
    assert a_duties.events == ["elected", "deposed"]
    assert b_duties.events == ["elected"]
    for side in (a, b):
        await side.stop_watching()
        await side.resign()


class FlakyLock(SoleProcessLock):
    """Held, until a check blows up once (a bug, a driver error) and then reports it lost."""

    def __init__(self) -> None:
        self.checks = 0

    async def check(self) -> bool:
        self.checks += 1
        if self.checks == 1:
            msg = "driver hiccup"
            raise RuntimeError(msg)
        return False


async def test_the_watch_outlives_a_failing_round() -> None:
    duties = Duties()
    side = leadership(FlakyLock(), duties)
    await side.start()
    await until(lambda: "deposed" in duties.events)  # the round after the failure still ran
    await side.stop_watching()
    assert duties.events[:2] == ["elected", "deposed"]
