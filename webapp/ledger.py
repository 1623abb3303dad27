"""The public ledger over HTTP (no login, no personal data): anyone can fetch every signal event
and recompute the hash chain (README "The track record: verify it without trusting us",
docs/verify_ledger.py).

  GET /ledger        ?after=SEQ (default 0) &limit=N (1 to 1000, default 100) &signal=ID:
                     entries with seq above `after`, oldest first (keyset pages); `next` is the
                     URL of the next page, null on the last one
  GET /ledger/head   the current head (seq, hash, time) and the latest head posted to the
                     public channel (with the channel and its message id once delivered)

Bad input (an unknown or repeated parameter, a value that is not ASCII digits or out of range)
answers an RFC 7807 problem (422).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from aiohttp import web
from pydantic import BaseModel, ConfigDict, StringConstraints, ValidationError

from core.http.problems import ProblemError
from services.ledger import public
from services.ledger.canonical import FORMAT_VERSION

Digits = Annotated[str, StringConstraints(pattern=r"^[0-9]{1,18}$")]
CACHE = "no-cache"  # the head moves with every signal event


class LedgerQuery(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    after: Digits = "0"
    limit: Digits = str(public.DEFAULT_LIMIT)
    signal: Digits | None = None


def _query(request: web.Request) -> tuple[int, int, int | None]:
    repeated = sorted({n for n in request.query if len(request.query.getall(n)) > 1})
    if repeated:
        raise ProblemError(422, "Unprocessable Entity", f"repeated parameter: {repeated[0]}")
    try:
        query = LedgerQuery.model_validate(dict(request.query))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "query"
        detail = f"{where}: {first['msg']}"
        raise ProblemError(422, "Unprocessable Entity", detail[:200]) from None
    limit = int(query.limit)
    if not 1 <= limit <= public.MAX_LIMIT:
        raise ProblemError(422, "Unprocessable Entity", f"limit must be 1 to {public.MAX_LIMIT}")
    signal = None if query.signal is None else int(query.signal)
    if signal is not None and not 1 <= signal <= 2**31 - 1:
        raise ProblemError(422, "Unprocessable Entity", "signal must be a signal id")
    return int(query.after), limit, signal


async def ledger_page(request: web.Request) -> web.Response:
    after, limit, signal = _query(request)
    found = await public.page(after, limit, signal)
    next_url = None
    if found.next_after is not None:
        params: dict[str, Any] = {"after": found.next_after, "limit": limit}
        if signal is not None:
            params["signal"] = signal
        next_url = f"{request.path}?{urlencode(params)}"
    body = {
        "format": FORMAT_VERSION,
        "entries": [public.entry_json(e) for e in found.entries],
        "next": next_url,
    }
    return web.json_response(body, headers={"Cache-Control": CACHE})


async def ledger_head(request: web.Request) -> web.Response:
    if request.query:
        raise ProblemError(422, "Unprocessable Entity", "this resource takes no parameters")
    body = {
        "format": FORMAT_VERSION,
        "current": public.head_json(await public.current_head()),
        "published": public.head_json(await public.latest_published()),
    }
    return web.json_response(body, headers={"Cache-Control": CACHE})


def setup_ledger(app: web.Application) -> None:
    app.router.add_get("/ledger", ledger_page)
    app.router.add_get("/ledger/head", ledger_head)
