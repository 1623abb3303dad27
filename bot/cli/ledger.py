"""`python -m bot ledger verify [--url URL] [--json]`: recompute the signal ledger's hash chain.

Without --url it reads this server's database (DATABASE_URL); with --url it reads a server's
public `GET /ledger` pages and `GET /ledger/head`, as anyone can. Either way it checks every
hash, link and commitment (services.ledger.verify) and that the published heads are entries of
the chain, and prints the first broken link (seq and why).

Exit codes: 0 the ledger verifies; 3 it does not; 1 the database or server could not be read;
2 bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from bot.cli import CliError, CliFailure
from bot.cli.run import settings_or_exit
from core import db
from services.ledger import public
from services.ledger.verify import ChainCheck, Entry, Head, Verdict

BROKEN_EXIT = 3
PAGE = 1000
TIMEOUT_S = 30.0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("ledger", help="the verifiable signal ledger")
    sub = parser.add_subparsers(dest="ledger_command", required=True)
    verify = sub.add_parser("verify", help="recompute the hash chain and its commitments")
    verify.add_argument("--url", help="a server's base URL (else this server's database)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=verify_command)


async def local_verdict() -> Verdict:
    """The ledger in the open database, with the heads posted to the channel."""
    checker = ChainCheck(public.as_heads(await public.published_heads()))
    async for entry in public.all_entries(PAGE):
        if not checker.feed(entry):
            break
    return checker.verdict()


async def _get(session: aiohttp.ClientSession, url: str) -> Any:
    async with session.get(url) as response:
        if response.status != 200:
            msg = f"{url} answered HTTP {response.status}"
            raise CliFailure(msg)
        return await response.json(content_type=None)


async def remote_verdict(base: str) -> Verdict:
    """The ledger a server publishes at `base` (its /ledger pages and /ledger/head)."""
    root = base.rstrip("/") + "/"
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            head = await _get(session, urljoin(root, "ledger/head"))
            published = head.get("published") if isinstance(head, dict) else None
            heads = [Head(published["seq"], published["hash"])] if published else []
            checker = ChainCheck(heads)
            url: str | None = urljoin(root, f"ledger?limit={PAGE}")
            while url is not None:
                body = await _get(session, url)
                for item in body["entries"]:
                    if not checker.feed(Entry.from_json(item)):
                        return checker.verdict()
                url = urljoin(root, body["next"].lstrip("/")) if body.get("next") else None
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
        msg = f"cannot read the ledger at {base}: {type(exc).__name__}: {exc}"
        raise CliFailure(msg) from exc
    return checker.verdict()


def report(verdict: Verdict) -> dict[str, Any]:
    return {
        "ok": verdict.ok,
        "entries": verdict.entries,
        "head": None if verdict.head is None else {"seq": verdict.head.seq,
                                                    "hash": verdict.head.hash},
        "commitments_revealed": verdict.revealed,
        "published_heads_checked": verdict.heads_checked,
        "broken": None if verdict.broken is None else {"seq": verdict.broken.seq,
                                                        "reason": verdict.broken.reason},
    }  # fmt: skip


def text(verdict: Verdict) -> str:
    if verdict.broken is not None:
        return f"BROKEN at seq {verdict.broken.seq}: {verdict.broken.reason}"
    head = "empty" if verdict.head is None else f"head {verdict.head.seq} {verdict.head.hash}"
    return (
        f"OK: {verdict.entries} entries, {head}, {verdict.revealed} commitments revealed, "
        f"{verdict.heads_checked} published heads match"
    )


async def _local(url: str) -> Verdict:
    await db.init_db(url)
    try:
        return await local_verdict()
    except Exception as exc:
        msg = f"cannot read the ledger: {type(exc).__name__}: {exc}"
        raise CliFailure(msg) from exc
    finally:
        await db.close_db()


def verify_command(args: argparse.Namespace) -> int:
    if args.url is not None:
        if urlsplit(args.url).scheme not in ("http", "https"):
            msg = "--url must be an http or https URL"
            raise CliError(msg)
        verdict = asyncio.run(remote_verdict(args.url))
    else:
        verdict = asyncio.run(_local(settings_or_exit().database_url))
    print(json.dumps(report(verdict)) if args.json else text(verdict))
    return 0 if verdict.ok else BROKEN_EXIT
