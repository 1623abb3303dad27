"""Hostile input on every EA route, generated: bodies of any JSON shape (and the documented
fields with values of any type, size and text, unpaired surrogates and NUL included), any
`wait`, any header values. Whatever arrives, the answer is a problem document below 500:
a 503 is only for a transient failure, and there is none here."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from typing import Any
from urllib.parse import quote

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from yarl import URL

from bot.app import AppRunner
from services.terminals import commands as ea_commands
from tests.ea.conftest import Terminal, new_terminal
from tests.ea.test_api import make_command
from tests.httpguard.conftest import Raw

pytestmark = pytest.mark.asyncio(loop_scope="module")
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples every run: a failure reproduces
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Text of every kind: any code point, unpaired surrogates (JSON "\ud800") and NUL included.
TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
NUMBER = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from([0, -0.0, 1e-40, 1e-300, 1e15, 1e300, 2**63, 2**64, 0.1, 1e-7])
)
SCALAR = st.none() | st.booleans() | NUMBER | TEXT
JSON = st.recursive(
    SCALAR,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)


def mostly(typical: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """Nine times in ten a typical value, else any JSON at all."""
    return st.integers(0, 9).flatmap(lambda k: JSON if k == 0 else typical)


def objects(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the documented fields, mostly typical (so many pass validation and reach
    the services behind it), sometimes one missing, and unknown fields besides."""
    known = st.fixed_dictionaries({name: mostly(typical) for name, typical in fields.items()})
    dropped = st.sets(st.sampled_from(sorted(fields)), max_size=1) | st.just(set())
    extra = st.dictionaries(TEXT, JSON, max_size=2)
    return st.tuples(known, dropped, extra).map(
        lambda t: {**t[2], **{k: v for k, v in t[0].items() if k not in t[1]}}
    )


SIDE = st.sampled_from(["buy", "sell", "buy", "sell", "long", ""])
SYMBOL = st.sampled_from(["EURUSD", "XAUUSDm", "GOLD.pro", "EURUSD", "NOPE"]) | TEXT
TIME = st.integers(min_value=1_600_000_000, max_value=1_800_000_000) | st.sampled_from(
    [0, -10, 2**40, 32_503_680_001]
)
SANE = st.decimals(min_value="0.00001", max_value="100000", places=5).map(float) | st.integers(
    1, 1000
)  # what a terminal usually reports
AMOUNT = SANE | NUMBER
TICKET = st.integers(0, 2**63 - 1) | NUMBER
POSITION = objects({
    "ticket": TICKET, "symbol": SYMBOL, "side": SIDE, "volume": AMOUNT, "open_price": AMOUNT,
    "sl": AMOUNT, "tp": AMOUNT, "profit": AMOUNT, "comment": TEXT,
})  # fmt: skip
ACCOUNT = objects({
    "balance": AMOUNT, "equity": AMOUNT, "margin": AMOUNT,
    "currency": st.sampled_from(["USD", "EUR"]) | TEXT, "positions": st.lists(POSITION, max_size=3),
})  # fmt: skip
SYMBOL_SPEC = objects({
    "name": SYMBOL, "digits": st.integers(-1, 14), "point": AMOUNT, "tick_size": AMOUNT,
    "tick_value": AMOUNT, "contract_size": AMOUNT, "volume_min": AMOUNT, "volume_max": AMOUNT,
    "volume_step": AMOUNT, "stops_level": st.integers(0, 10**7) | NUMBER,
})  # fmt: skip
SYMBOLS = objects({"symbols": st.lists(SYMBOL_SPEC, max_size=3)})
BAR = objects({
    "symbol": SYMBOL, "time": TIME, "open": AMOUNT, "high": AMOUNT, "low": AMOUNT,
    "close": AMOUNT, "volume": AMOUNT,
})  # fmt: skip
BARS = objects({"bars": st.lists(BAR, max_size=3)})
STATUS = st.sampled_from(["accepted", "placed", "filled", "rejected", "failed", "cancelled",
                          "closed", "pending"])  # fmt: skip


def acks(command_ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return objects({
        "command_id": st.sampled_from(command_ids) | TEXT, "status": STATUS, "ticket": TICKET,
        "price": AMOUNT, "volume": AMOUNT, "time": TIME, "error": TEXT | st.none(),
    })  # fmt: skip


SEEN: dict[str, Counter[int]] = defaultdict(Counter)  # statuses by route: the fuzz reached in


def assert_no_server_error(path: str, body: object, reply: Any) -> None:
    SEEN[path][reply.status] += 1
    assert reply.status < 500, (path, body, reply.status, reply.body[:300])
    if reply.status >= 400:
        assert reply.content_type == "application/problem+json", (path, body)
        assert reply.json["status"] == reply.status


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def fuzz_terminal(app: AppRunner, http: Any) -> Terminal:
    return await new_terminal(app.base_url, http)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def command_ids(fuzz_terminal: Terminal) -> list[str]:
    return [await make_command(fuzz_terminal, f"fuzz-{i}") for i in range(8)]


async def post(t: Terminal, path: str, body: Any) -> None:
    raw = json.dumps(body).encode()  # ensure_ascii: surrogates travel as \ud800 escapes
    assert_no_server_error(path, body, await t.call("POST", path, raw=raw))


@FUZZ
@given(body=ACCOUNT)
async def test_account_reports(fuzz_terminal: Terminal, body: dict[str, Any]) -> None:
    await post(fuzz_terminal, "/ea/v1/account", body)


@FUZZ
@given(body=SYMBOLS)
async def test_symbol_reports(fuzz_terminal: Terminal, body: dict[str, Any]) -> None:
    await post(fuzz_terminal, "/ea/v1/symbols", body)


@FUZZ
@given(body=BARS)
async def test_bar_reports(fuzz_terminal: Terminal, body: dict[str, Any]) -> None:
    await post(fuzz_terminal, "/ea/v1/bars", body)


@FUZZ
@given(data=st.data())
async def test_acks(fuzz_terminal: Terminal, command_ids: list[str], data: st.DataObject) -> None:
    await post(fuzz_terminal, "/ea/v1/acks", data.draw(acks(command_ids)))


@FUZZ
@given(body=JSON)
async def test_any_json_on_any_route(fuzz_terminal: Terminal, body: Any) -> None:
    for path in ("/ea/v1/acks", "/ea/v1/account", "/ea/v1/symbols", "/ea/v1/bars"):
        await post(fuzz_terminal, path, body)


@FUZZ
@given(raw=st.binary(max_size=64))
async def test_any_bytes_as_a_body(fuzz_terminal: Terminal, raw: bytes) -> None:
    reply = await fuzz_terminal.call("POST", "/ea/v1/acks", raw=raw)
    assert_no_server_error("/ea/v1/acks", raw, reply)


@FUZZ
@given(wait=TEXT | st.integers(-(10**30), 10**30).map(str))
async def test_any_wait(fuzz_terminal: Terminal, wait: str) -> None:
    path = "/ea/v1/commands?wait=" + quote(wait.encode("utf-8", "surrogatepass"), safe="")
    path = URL("http://x" + path).raw_path_qs  # as the client sends it: what gets signed
    reply = await fuzz_terminal.call("GET", path)
    assert_no_server_error(path, wait, reply)
    assert reply.status in (200, 400)


HEADER_TEXT = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=80
)  # what aiohttp's client agrees to put in a header (raw bytes: below)


@FUZZ
@given(
    name=st.sampled_from(["X-Device-Id", "X-Timestamp", "X-Nonce", "X-Signature", "X-Request-Id",
                          "Content-Type", "X-Telegram-Bot-Api-Secret-Token"]),
    value=HEADER_TEXT,
)  # fmt: skip
async def test_any_header_value(fuzz_terminal: Terminal, name: str, value: str) -> None:
    reply = await fuzz_terminal.call("GET", "/ea/v1/commands?wait=0", headers={name: value})
    assert_no_server_error(name, value, reply)


@FUZZ
@given(
    name=st.sampled_from([b"X-Device-Id", b"X-Timestamp", b"X-Request-Id", b"Content-Length"]),
    value=st.binary(max_size=40).filter(lambda b: b"\r" not in b and b"\n" not in b),
)
async def test_any_header_bytes(fuzz_terminal: Terminal, name: bytes, value: bytes) -> None:
    """Bytes no client library would send (any encoding, control characters)."""
    conn = await Raw.open(int(fuzz_terminal.base_url.rsplit(":", 1)[1]))
    try:
        await conn.send(
            b"GET /ea/v1/commands?wait=0 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            + name + b": " + value + b"\r\n\r\n"
        )  # fmt: skip
        answer = await conn.response()
    finally:
        conn.close()
    assert answer is not None and 400 <= answer.status < 500, (name, value, answer)


async def test_the_fuzzed_commands_are_still_consistent(
    fuzz_terminal: Terminal, command_ids: list[str]
) -> None:
    """The fuzz got past validation (reports were processed, acks recorded), and after all
    that the terminal still polls and its commands are in valid states."""
    for path in ("/ea/v1/account", "/ea/v1/symbols", "/ea/v1/bars"):
        assert SEEN[path][204] > 0, (path, SEEN[path])
        assert SEEN[path][422] > 0, (path, SEEN[path])
    assert SEEN["/ea/v1/acks"][200] > 0, SEEN["/ea/v1/acks"]
    reply = await fuzz_terminal.poll()
    assert reply.status == 200
    found, _ = await ea_commands.fetch_pending([fuzz_terminal.pk])
    assert {c.id for c in found[fuzz_terminal.pk]} <= set(command_ids)
