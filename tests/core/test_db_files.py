"""The SQLite database, its -wal and -shm files and the leader lock are owner-only (0600),
like data/master.key, whoever creates them: the app, the CLI, migrations."""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tortoise import connections

from core import db
from jobs.leader import FileLeaderLock

ROOT = Path(__file__).resolve().parents[2]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The common 022: files the process creates without care come out 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


async def write_something() -> None:
    conn = connections.get("default")
    await conn.execute_query("CREATE TABLE IF NOT EXISTS probe (a INTEGER)")
    await conn.execute_query("INSERT INTO probe VALUES (1)")


@pytest.mark.usefixtures("usual_umask")
async def test_a_new_database_and_its_wal_and_shm_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "new" / "signaldesk.sqlite3"
    url = f"sqlite://{path}"
    await db.migrate(url)
    await db.init_db(url)
    try:
        await write_something()  # WAL mode: the -wal and -shm files exist while open
        files = [path, Path(f"{path}-wal"), Path(f"{path}-shm")]
        assert all(f.exists() for f in files)
        assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}
        assert mode(path.parent) == 0o700  # the directory it made for them too
    finally:
        await db.close_db()


@pytest.mark.usefixtures("usual_umask")
async def test_world_readable_files_left_by_an_older_version_are_tightened(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()
    companions = [Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", ".leader")]
    for file in companions:
        file.touch()
    for file in (path, *companions):
        file.chmod(0o644)
    await db.init_db(f"sqlite://{path}")
    try:
        await write_something()
        assert {f.name: mode(f) for f in (path, *companions)} == {
            f.name: 0o600 for f in (path, *companions)
        }
    finally:
        await db.close_db()


@pytest.mark.usefixtures("usual_umask")
async def test_the_leader_lock_file_is_owner_only(tmp_path: Path) -> None:
    fresh, old = tmp_path / "a.leader", tmp_path / "b.leader"
    old.touch()
    old.chmod(0o644)
    for path in (fresh, old):
        lock = FileLeaderLock(path)
        assert await lock.acquire()
        await lock.release()
        assert mode(path) == 0o600, path


def test_the_cli_creates_the_database_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "cli" / "signaldesk.sqlite3"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "BOT_TOKEN")}
    env.update(DATABASE_URL=f"sqlite://{path}", DATA_DIR=str(tmp_path / "data"))
    done = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
        umask=0o022,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert mode(path) == 0o600
    for suffix in ("-wal", "-shm"):  # gone after the last connection closed, or owner-only
        companion = Path(f"{path}{suffix}")
        assert not companion.exists() or mode(companion) == 0o600
