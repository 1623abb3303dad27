"""Raw SQL in migrations where the two databases differ (triggers, functions): one operation
that runs the statements written for the database it is migrating."""

from __future__ import annotations

from typing import Any

from tortoise.migrations import operations as ops


def per_dialect(*, postgres: tuple[str, str], sqlite: tuple[str, str]) -> ops.RunPython:
    """`RunPython` running ``(up, down)`` scripts for PostgreSQL or SQLite, whichever it is."""

    def runner(which: int) -> Any:
        async def run(_apps: Any, schema_editor: Any) -> None:
            client = schema_editor.client
            scripts = postgres if client.capabilities.dialect == "postgres" else sqlite
            await client.execute_script(scripts[which])

        return run

    return ops.RunPython(runner(0), runner(1))
