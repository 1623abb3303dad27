"""One migration history: upgrade -> downgrade -> upgrade on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tortoise import connections

from core import db
from tests.dbutil import create_pg_database, drop_pg_database, postgres_server_url

PG_SERVER = postgres_server_url() or os.environ.get("PG_TEST_URL")


@pytest.fixture(params=["sqlite", "postgres"])
async def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'm.sqlite3'}"
        return
    if not PG_SERVER:
        pytest.skip("no PostgreSQL server: set PG_TEST_URL or DATABASE_URL (CI does)")
    url = await create_pg_database(PG_SERVER, prefix="sdmig")
    yield url
    await drop_pg_database(url)


async def tables(url: str) -> set[str]:
    await db.init_db(url)
    try:
        conn = connections.get("default")
        if conn.capabilities.dialect == "postgres":
            rows = await conn.execute_query_dict(
                "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public'"
            )
        else:
            rows = await conn.execute_query_dict(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        return {r["name"] for r in rows} - {"tortoise_migrations"}
    finally:
        await db.close_db()


async def status(url: str) -> tuple[list[str], list[str]]:
    await db.init_db(url)
    try:
        return await db.applied_migrations(), await db.pending_migrations()
    finally:
        await db.close_db()


async def test_upgrade_downgrade_upgrade(empty_db: str) -> None:
    known = sorted(p.stem for p in Path("models/migrations").glob("[0-9]*.py"))
    assert known, "no migrations found"

    await db.migrate(empty_db)
    head_tables = await tables(empty_db)
    assert {"users", "audit_log"} <= head_tables
    assert await status(empty_db) == (known, [])

    await db.migrate(empty_db, backward=True)
    assert await tables(empty_db) == set()
    applied, pending = await status(empty_db)
    assert applied == [] and pending == known

    await db.migrate(empty_db)
    assert await tables(empty_db) == head_tables
    assert await status(empty_db) == (known, [])


async def test_models_match_migrations(tmp_path: Path) -> None:
    """Every model change has a migration: the autodetector finds nothing left to write."""
    from tortoise import Tortoise
    from tortoise.migrations.autodetector import MigrationAutodetector

    url = f"sqlite://{tmp_path / 'a.sqlite3'}"
    config = db.tortoise_config(url)
    await Tortoise.init(config=config)
    try:
        ctx = Tortoise._get_context()
        detector = MigrationAutodetector(ctx.apps, config["apps"])
        writers = await detector.changes()
        assert [w.name for w in writers] == []
    finally:
        await Tortoise.close_connections()


async def test_a_column_added_later_gives_the_rows_already_there_its_default(
    empty_db: str,
) -> None:
    """An upgrade runs on a database with users in it: the column 0016 adds (NOT NULL) takes its
    database default in every existing row, on both dialects."""
    await db.migrate(empty_db, target=f"{db.APP_LABEL}.0015_notification_preferences")
    await db.init_db(empty_db)
    try:
        await connections.get("default").execute_query(
            "INSERT INTO users (telegram_id, first_name, role, status, referral_code, created_at,"
            " updated_at) VALUES (5, 'Ada', 'public', 'active', 'abcdefgh', CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)"
        )
    finally:
        await db.close_db()
    await db.migrate(empty_db)
    await db.init_db(empty_db)
    try:
        rows = await connections.get("default").execute_query_dict(
            "SELECT telegram_id, card_style FROM users"
        )
        assert [(r["telegram_id"], r["card_style"]) for r in rows] == [(5, "full")]
    finally:
        await db.close_db()
