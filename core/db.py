"""Database configuration, start-up and migrations (Tortoise ORM 1.x built-in engine).

One migration history in models/migrations upgrades SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.migrations.api import migrate as migrate_api
from tortoise.migrations.executor import MigrationExecutor
from tortoise.migrations.recorder import MigrationRecorder

log = logging.getLogger(__name__)
APP_LABEL = "models"
# The modules Tortoise loads models from (by name: the database set-up imports no app package).
MODEL_MODULES: list[str] = [
    "models.users",
    "models.audit",
    "models.signals",
    "models.notifications",
    "models.devices",
    "models.billing",
    "models.ledger",
    "models.alerts",
    "models.analytics",
    "models.ingest",
]
DEFAULT_URL = "sqlite://data/signaldesk.sqlite3"


MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "models" / "migrations"


def known_migrations() -> list[str]:
    """Names of the migrations in the history, in order (e.g. ``0001_initial``)."""
    return sorted(p.stem for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.py"))


def pg_credentials(url: str) -> dict[str, Any] | None:
    """Connection keywords for asyncpg (host, port, user, password, database) when `url` is
    PostgreSQL; None for SQLite. For the dedicated connections outside Tortoise's pool."""
    config = expand_db_url(url)
    if "asyncpg" not in config["engine"] and "psycopg" not in config["engine"]:
        return None
    credentials = config["credentials"]
    keys = ("host", "port", "user", "password", "database")
    return {k: credentials[k] for k in keys if credentials.get(k)}


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def normalise_url(url: str) -> str:
    """Tortoise wants `postgres://`; accept the common `postgresql://` spelling too.

    SQLite runs in WAL mode (Tortoise's default) with `synchronous=NORMAL` unless the URL says
    otherwise: in WAL mode that is safe against application crashes and corruption (only an OS
    crash or power loss can roll back the last commits) and saves an fsync per transaction.
    """
    scheme = urlsplit(url).scheme
    if scheme in ("postgresql", "psycopg"):
        return "postgres" + url[len(scheme) :]
    if scheme == "sqlite" and "synchronous=" not in url and ":memory:" not in url:
        return url + ("&" if "?" in url else "?") + "synchronous=NORMAL"
    return url


def tortoise_config(url: str = DEFAULT_URL) -> dict[str, Any]:
    return {
        "connections": {"default": normalise_url(url)},
        "apps": {
            APP_LABEL: {
                "models": MODEL_MODULES,
                "default_connection": "default",
                "migrations": "models.migrations",
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


# For `python -m tortoise makemigrations` ([tool.tortoise] in pyproject.toml).
TORTOISE_ORM = tortoise_config()


PRIVATE_MODE = 0o600  # like data/master.key: the database holds users, sealed secrets, audit
SQLITE_COMPANIONS = ("-wal", "-shm", "-journal", ".leader")  # .leader: `jobs.leader`'s lock


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for PostgreSQL and in-memory databases."""
    if urlsplit(url).scheme != "sqlite":
        return None
    path = str(expand_db_url(url)["credentials"].get("file_path", ""))
    return None if not path or ":memory:" in path else Path(path)


def _ensure_sqlite_dir(url: str) -> None:
    """Create a SQLite database file owner-only (0600) before SQLite does (it would follow the
    umask: 0644), and tighten an existing one and its companions. SQLite creates the -wal,
    -shm and -journal files with the database file's own mode, so they are 0600 too."""
    path = sqlite_path(url)
    if path is None:
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_MODE))
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SQLITE_COMPANIONS)):
        restrict(file)


def restrict(path: Path) -> None:
    """Make an existing file owner-only; a file we may not change is a warning, not fatal."""
    try:
        if path.exists() and path.stat().st_mode & 0o077:
            path.chmod(PRIVATE_MODE)
    except OSError as exc:
        log.warning(
            "cannot make a database file owner-only", extra={"file": str(path), "error": str(exc)}
        )


async def init_db(url: str) -> None:
    """Open connections. Call before the web app, polling and scheduler start (context vars)."""
    _ensure_sqlite_dir(url)
    await Tortoise.init(config=tortoise_config(url), _enable_global_fallback=True)


async def close_db() -> None:
    """Close connections and release the global context (so a later `init_db` may set it).

    `Tortoise.close_connections` closes the context the calling task's context variable names,
    which need not be the global one (a stop run from another task, a variable left on an older
    context): the global one is then closed from a context with no variable set, where it is
    the one Tortoise finds."""
    await Tortoise.close_connections()
    loop = asyncio.get_running_loop()
    await loop.create_task(Tortoise.close_connections(), context=contextvars.Context())


async def migrate(url: str, target: str | None = None, *, backward: bool = False) -> None:
    """Upgrade to head (default) or to `target`; `backward` with no target removes everything."""
    _ensure_sqlite_dir(url)
    try:
        if backward:
            name = target or "__first__"
            await migrate_api(
                config=tortoise_config(url), target=f"{APP_LABEL}.{name}", direction="backward"
            )
        else:
            await migrate_api(config=tortoise_config(url), target=target, direction="forward")
    finally:
        await Tortoise.close_connections()


async def pending_migrations() -> list[str]:
    """Names of migrations not applied yet on the open default connection (empty = at head)."""
    conn = connections.get("default")
    apps = tortoise_config()["apps"]
    executor = MigrationExecutor(conn, apps)
    plan = await executor.plan(None)
    return [step.migration.name for step in plan if not step.backward]


async def applied_migrations() -> list[str]:
    recorder = MigrationRecorder(connections.get("default"))
    return [key.name for key in await recorder.applied_migrations()]
