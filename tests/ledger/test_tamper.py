"""Tampering with stored entries (edits, a rewritten history, deletions, reordering, a forged
reveal) or with the served JSON is caught by `ledger verify` (local and --url) and by the
stand-alone script, each naming the first broken link; the database itself refuses UPDATE and
DELETE of entries."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import web
from tortoise.exceptions import BaseORMException

from bot.cli import ledger as cli
from models.ledger import LedgerEntry
from services.ledger import canonical
from tests.ledger.conftest import Seeded, run_script, seed_history, serve, without_guard


async def set_event(seq: int, change: Callable[[dict[str, Any]], None], *, rehash: bool) -> None:
    row = await LedgerEntry.get(seq=seq)
    event = json.loads(row.event)
    change(event)
    values: dict[str, Any] = {"event": canonical.canonical(event)}
    if rehash:
        values["hash"] = canonical.entry_hash(seq, row.prev_hash, event)
    await LedgerEntry.filter(seq=seq).update(**values)


async def rehash_from(seq: int) -> None:
    """Recompute every hash and link from `seq` on: a consistent rewritten history."""
    rows = await LedgerEntry.filter(seq__gte=seq - 1).order_by("seq")
    prev = rows[0].hash if rows[0].seq < seq else canonical.GENESIS
    for row in rows:
        if row.seq < seq:
            continue
        digest = canonical.entry_hash(row.seq, prev, json.loads(row.event))
        await LedgerEntry.filter(seq=row.seq).update(prev_hash=f"tmp{row.seq}", hash=f"h{row.seq}")
        await LedgerEntry.filter(seq=row.seq).update(prev_hash=prev, hash=digest)
        prev = digest


def later_time(event: dict[str, Any]) -> None:
    event["at"] = "2030-01-01T10:00:00Z"


def better_entry(event: dict[str, Any]) -> None:
    event["reveal"]["levels"][0]["levels"]["entry"] = "2029.50"  # claim a better entry price


async def edit() -> None:
    await set_event(2, later_time, rehash=False)


async def edit_and_rehash() -> None:
    await set_event(2, later_time, rehash=True)


async def rewrite_history() -> None:
    await set_event(2, later_time, rehash=False)
    await rehash_from(2)


async def delete_one() -> None:
    await LedgerEntry.filter(seq=4).delete()


async def reorder() -> None:
    """Entries 5 and 6 trade places (each keeps its content, hash and link)."""
    fields = ("signal_id", "kind", "event", "prev_hash", "hash")
    five, six = [await LedgerEntry.get(seq=n).values(*fields) for n in (5, 6)]
    await LedgerEntry.filter(seq=5).update(prev_hash="tmp-prev", hash="tmp-hash")
    await LedgerEntry.filter(seq=6).update(**five)
    await LedgerEntry.filter(seq=5).update(**six)


async def delete_last() -> None:
    await LedgerEntry.filter(seq=7).delete()


async def forge_reveal() -> None:
    await set_event(5, better_entry, rehash=False)
    await rehash_from(5)


CASES: list[tuple[str, Callable[[], Awaitable[None]], int, str]] = [
    ("edit", edit, 2, "hash"),
    ("edit_and_rehash", edit_and_rehash, 3, "prev"),
    ("rewrite_history", rewrite_history, 7, "published head"),
    ("delete_one", delete_one, 5, "where 4 was expected"),
    ("reorder", reorder, 5, "where"),
    ("delete_last", delete_last, 7, "published head 7"),
    ("forge_reveal", forge_reveal, 5, "revealed levels do not match"),
]


@pytest.mark.parametrize(("name", "tamper", "seq", "why"), CASES, ids=[c[0] for c in CASES])
async def test_tampering_is_caught_by_every_verifier(
    ledger_url: str, name: str, tamper: Callable[[], Awaitable[None]], seq: int, why: str
) -> None:
    await seed_history()
    assert (await cli.local_verdict()).ok
    code, out = await run_script(ledger_url)
    assert code == 0 and out.startswith("OK: 7 entries"), out

    await without_guard(tamper)
    local = await cli.local_verdict()
    assert local.broken is not None and local.broken.seq == seq, local.broken
    assert why in local.broken.reason or (name == "reorder" and "prev" in local.broken.reason)
    remote = await cli.remote_verdict(ledger_url)
    assert remote.broken is not None and remote.broken.seq == seq, remote.broken
    code, out = await run_script(ledger_url)
    assert code == 1, out
    assert out.startswith(f"BROKEN at seq {seq}") or f"published head {seq}" in out, out


async def test_the_readers_own_copy_of_a_head_catches_a_rewrite_after_it(
    ledger_url: str,
) -> None:
    await seed_history()
    copied = (await LedgerEntry.get(seq=3)).hash  # what a reader saw in the channel
    await without_guard(lambda: set_event(2, later_time, rehash=False))
    await without_guard(lambda: rehash_from(2))
    from models.ledger import LedgerHead

    await LedgerHead.all().delete()  # the server hides the head it had posted
    assert (await cli.remote_verdict(ledger_url)).ok  # the served chain alone is consistent
    code, out = await run_script(ledger_url)
    assert code == 0, out
    code, out = await run_script(ledger_url, "3", copied)
    assert code == 1 and out.startswith("BROKEN at seq 3: a published head"), out


async def test_an_edited_http_response_is_caught(ledger_url: str) -> None:
    """A proxy between the reader and us edits the JSON: the verifiers see it."""
    await seed_history()

    async def relay(request: web.Request) -> web.Response:
        async with (
            aiohttp.ClientSession() as session,
            session.get(ledger_url + request.path_qs) as upstream,
        ):
            body = await upstream.json()
        if request.path == "/ledger":
            body["entries"][5]["event"]["at"] = "2030-01-01T08:00:00Z"
        return web.json_response(body)

    proxy = web.Application()
    proxy.router.add_get("/ledger", relay)
    proxy.router.add_get("/ledger/head", relay)
    runner, proxy_url = await serve(proxy)
    try:
        remote = await cli.remote_verdict(proxy_url)
        assert remote.broken is not None and remote.broken.seq == 6
        code, out = await run_script(proxy_url)
        assert code == 1 and out.startswith("BROKEN at seq 6"), out
    finally:
        await runner.cleanup()


# The triggers' refusal: Tortoise wraps SQLite's; PostgreSQL's RAISE EXCEPTION arrives as asyncpg's.
REFUSED = (BaseORMException, asyncpg.PostgresError)


async def test_the_database_refuses_update_and_delete_of_entries(database: str) -> None:
    seeded: Seeded = await seed_history()
    with pytest.raises(REFUSED, match="append-only"):
        await LedgerEntry.filter(seq=1).update(kind="closed")
    with pytest.raises(REFUSED, match="append-only"):
        await LedgerEntry.filter(signal_id=seeded.closed).delete()
    row = await LedgerEntry.get(seq=2)
    row.event = "{}"
    with pytest.raises(REFUSED, match="append-only"):
        await row.save()
    assert await LedgerEntry.all().count() == 7
    assert (await cli.local_verdict()).ok


async def test_the_cli_reads_the_database_and_exits_non_zero_on_a_broken_link(
    database: str,
) -> None:
    """`python -m bot ledger verify` as an operator runs it, on this database (DATABASE_URL)."""
    await seed_history()
    await without_guard(edit)
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "ledger", "verify", "--json", cwd=root,
        env={**os.environ, "DATABASE_URL": database, "BOT_TOKEN": ""},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await proc.communicate()
    assert proc.returncode == cli.BROKEN_EXIT, err.decode()
    report = json.loads(out)
    assert report["ok"] is False and report["entries"] == 1
    assert report["broken"] == {"seq": 2, "reason": "hash does not match the entry's content"}
