"""What every database benchmark does around its run: a temporary SQLite file by default, or
a fresh database on the PostgreSQL server `--database-url` names (dropped afterwards), then
the run's figures printed as one JSON object with the database's kind."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit


def run_on_database(
    database_url: str | None, prefix: str, run: Callable[[str], Awaitable[dict[str, Any]]]
) -> None:
    db_url = database_url or f"sqlite://{tempfile.mkdtemp(prefix='sd-bench-')}/bench.sqlite3"
    database = "sqlite" if urlsplit(db_url).scheme == "sqlite" else "postgresql"
    if database == "postgresql":
        from tests.dbutil import create_pg_database

        db_url = asyncio.run(create_pg_database(db_url, prefix=prefix))
    try:
        result = asyncio.run(run(db_url))
    finally:
        if database == "postgresql":
            from tests.dbutil import drop_pg_database

            asyncio.run(drop_pg_database(db_url))
    print(json.dumps({**result, "database": database}))
