"""Test databases: a migrated SQLite file, or a fresh database on the PostgreSQL in DATABASE_URL.

The schema always comes from the real migrations (never `generate_schemas`).
"""

from __future__ import annotations

import asyncio
import importlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from tortoise import connections

from core import db

KEEP_TABLES = {"tortoise_migrations"}
# Migrations whose SQLite triggers refuse DELETE (the audit log, the ledger).
APPEND_ONLY = ("0005_audit_append_only", "0017_ledger")


def postgres_server_url() -> str | None:
    """The PostgreSQL server the suite runs on, if any (DATABASE_URL or PG_TEST_URL)."""
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme.startswith("postgres"):
        return url
    return None


def with_database(url: str, name: str) -> str:
    parts = urlsplit(db.normalise_url(url))
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, ""))


async def create_pg_database(server_url: str, prefix: str = "sdtest") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(
        with_database(server_url, "postgres").replace("postgres://", "postgresql://", 1)
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return with_database(server_url, name)


async def drop_pg_database(url: str) -> None:
    name = urlsplit(url).path.lstrip("/")
    conn = await asyncpg.connect(
        with_database(url, "postgres").replace("postgres://", "postgresql://", 1)
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextmanager
def migrated_database(tmp_dir: Path) -> Iterator[str]:
    """A database at head for the whole session: SQLite file, or PostgreSQL when configured."""
    server = postgres_server_url()
    if server is None:
        url = f"sqlite://{tmp_dir / 'test.sqlite3'}"
        asyncio.run(db.migrate(url))
        yield url
        return
    url = asyncio.run(create_pg_database(server))
    try:
        asyncio.run(db.migrate(url))
        yield url
    finally:
        asyncio.run(drop_pg_database(url))


async def truncate_all() -> None:
    """Empty every application table on the open default connection."""
    conn = connections.get("default")
    dialect = conn.capabilities.dialect
    if dialect == "postgres":
        rows = await conn.execute_query_dict(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        )
        names = [r["tablename"] for r in rows if r["tablename"] not in KEEP_TABLES]
        if names:
            quoted = ", ".join(f'"{n}"' for n in names)
            await conn.execute_script(f"TRUNCATE {quoted} RESTART IDENTITY CASCADE")
        return
    rows = await conn.execute_query_dict(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    )
    names = [r["name"] for r in rows if r["name"] not in KEEP_TABLES]
    guards = [importlib.import_module(f"models.migrations.{name}") for name in APPEND_ONLY]
    script = "PRAGMA foreign_keys = OFF;" + "".join(g.SQLITE_DOWN for g in guards)
    script += "".join(f'DELETE FROM "{n}";' for n in names) + "".join(g.SQLITE_UP for g in guards)
    await conn.execute_script(script + "PRAGMA foreign_keys = ON;")
