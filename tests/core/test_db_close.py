"""`close_db` releases the ORM's global context whichever task calls it: a stop run from
another task whose context variable names some other (older, closed) context used to close
that one and leave the global context open, and every later `init_db` in the process failed."""

from __future__ import annotations

import asyncio

from tortoise import context as tortoise_context

from core import db


async def test_a_close_from_a_task_naming_another_context_releases_the_global_one(
    clean_db: str,
) -> None:
    await asyncio.create_task(db.init_db(clean_db))  # opened in a task of its own
    assert tortoise_context._global_context is not None

    async def stop_elsewhere() -> None:
        tortoise_context.TortoiseContext().__enter__()  # this task names another context
        await db.close_db()

    await asyncio.create_task(stop_elsewhere())
    assert tortoise_context._global_context is None
    await db.init_db(clean_db)  # a later start opens the database again
    await db.close_db()
    assert tortoise_context._global_context is None
