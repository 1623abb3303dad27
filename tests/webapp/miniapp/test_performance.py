"""The Performance routes over HTTP: the track record's figures, curves and monthly R from seeded
closed signals (every expected value worked by hand in the comments), the empty history, the
CSV and PNG exports, the user's own fills with slippage and latency, and who may see what."""

from __future__ import annotations

import csv
import io
import struct
import zlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from models.devices import Command, CommandStatus, CommandType, Device, Execution
from models.signals import CloseReason, Signal, SignalStatus
from models.users import Role
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import Api
from tests.webapp.miniapp.test_api import assert_problem

SUB, OTHER, FREE = 1000002, 1000005, 1000003
ROUTES = ["/api/v1/performance", "/api/v1/performance/mine", "/api/v1/performance.csv",
          "/api/v1/performance.png"]  # fmt: skip
_keys = iter(range(1, 10_000))


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


async def signal(
    *,
    status: SignalStatus = SignalStatus.CLOSED,
    closed: datetime | None = None,
    r: str | None = None,
    symbol: str = "EURUSD",
    side: str = "sell",
    entry: D = th.ENTRY,
    stop: D = th.STOP,
    published: datetime | None = None,
) -> Signal:
    published = published or (closed - timedelta(hours=5) if closed else at(1, 1))
    return await Signal.create(
        setup_key=f"perf:{next(_keys)}", symbol=symbol, side=side, entry=entry, stop=stop,
        take_profit=th.TP if symbol == "EURUSD" else entry + (entry - stop) * 2,
        status=status, published_at=published, expires_at=published + timedelta(hours=100),
        closed_at=closed if status is SignalStatus.CLOSED else None,
        close_reason=(CloseReason.TP if r and not r.startswith("-") else CloseReason.SL)
        if status is SignalStatus.CLOSED else None,
        result_r=None if r is None else D(r),
    )  # fmt: skip


async def seed_record() -> list[Signal]:
    """Five results: +2 (Jan 10), -1 (Jan 20), +1.5 (Mar 5), -1 (Mar 25), -0.5 (Apr 2); and three
    signals that must not count: closed without a result, expired, filled (still open)."""
    rows = [
        await signal(closed=at(1, 10), r="2"),
        await signal(closed=at(1, 20), r="-1"),
        await signal(
            closed=at(3, 5),
            r="1.5",
            symbol="XAUUSD",
            side="buy",
            entry=D("2000.00"),
            stop=D("1990.00"),
        ),  # fmt: skip
        await signal(closed=at(3, 25), r="-1"),
        await signal(closed=at(4, 2), r="-0.5"),
    ]
    await signal(closed=at(2, 14), r=None)  # closed manually without a price: no result
    await signal(status=SignalStatus.EXPIRED, published=at(2, 1))
    await signal(status=SignalStatus.FILLED, published=at(4, 3))
    return rows


async def download(api: Api, path: str, session: str) -> tuple[int, bytes, str, str]:
    """A route's raw answer: status, bytes, media type and Content-Disposition."""
    async with api.http.get(api.url + path, headers={"Authorization": session}) as r:
        return r.status, await r.read(), r.content_type, r.headers.get("Content-Disposition", "")


async def test_every_route_needs_a_session(api: Api) -> None:
    for path in ROUTES:
        status, body, response = await api.call("GET", path)
        assert_problem(status, body, response, 401)
        status, body, response = await api.call("GET", path, auth="Bearer nope")
        assert_problem(status, body, response, 401)


async def test_the_track_record_figures_equal_the_hand_computed_ones(api: Api) -> None:
    rows = await seed_record()
    await th.user(FREE, Role.PUBLIC)  # the track record is for the free tier too
    status, body, _ = await api.call("GET", "/api/v1/performance", auth=await api.login(FREE))
    assert status == 200, body
    f = body["figures"]
    # R = 2, -1, 1.5, -1, -0.5: 5 signals, 2 won, 3 lost; total 1.0, average 0.2, 40 % won
    assert (f["signals"], f["wins"], f["losses"]) == (5, 2, 3)
    assert f["total_r"] == pytest.approx(1.0) and f["average_r"] == pytest.approx(0.2)
    assert f["win_rate_pct"] == pytest.approx(40.0)
    assert f["profit_factor"] == pytest.approx(1.4)  # (2 + 1.5) / (1 + 1 + 0.5)
    # equity 2, 1, 2.5, 1.5, 1.0; running peak 2, 2, 2.5, 2.5, 2.5 -> drawdown 0, 1, 0, 1, 1.5
    assert [c["equity_r"] for c in body["closed"]] == pytest.approx([2, 1, 2.5, 1.5, 1.0])
    assert [c["drawdown_r"] for c in body["closed"]] == pytest.approx([0, 1, 0, 1, 1.5])
    assert f["max_drawdown_r"] == pytest.approx(1.5)
    # months Jan..Apr: 2 - 1 = 1, February quiet = 0, 1.5 - 1 = 0.5, -0.5
    months = [(m["year"], m["month"], m["r"], m["signals"]) for m in body["months"]]
    assert months == [(2026, 1, 1.0, 2), (2026, 2, 0.0, 0), (2026, 3, 0.5, 2), (2026, 4, -0.5, 1)]
    # monthly mean 0.25 -> annual R 3.0; sample std: deviations .75 -.25 .25 -.75, squares sum
    # 1.25, / 3 = 0.41667, std 0.645497; Sharpe = 0.25 / 0.645497 * sqrt(12) = sqrt(1.8)
    assert f["annual_r"] == pytest.approx(3.0)
    assert f["sharpe"] == pytest.approx(1.3416408, rel=1e-6)
    # downside deviation sqrt((0 + 0 + 0 + 0.25) / 4) = 0.25 -> Sortino = 1 * sqrt(12)
    assert f["sortino"] == pytest.approx(3.4641016, rel=1e-6)
    assert f["calmar"] == pytest.approx(2.0)  # 3.0 / 1.5
    closed = body["closed"]
    assert [c["id"] for c in closed] == [r.id for r in rows]
    assert closed[2] | {"published_at": None, "closed_at": None} == {
        "id": rows[2].id, "symbol": "XAUUSD", "side": "buy", "close_reason": "tp",
        "result_r": 1.5, "equity_r": 2.5, "drawdown_r": 0.0,
        "published_at": None, "closed_at": None,
    }  # fmt: skip
    assert closed[0]["closed_at"].startswith("2026-01-10T12:00:00")
    assert not {"entry", "stop", "take_profit", "exit_price"} & set(closed[0])  # no levels


async def test_an_empty_history_answers_zeros_and_nulls(api: Api) -> None:
    await th.user(SUB)
    await signal(status=SignalStatus.EXPIRED)  # not a result
    status, body, _ = await api.call("GET", "/api/v1/performance", auth=await api.login(SUB))
    assert status == 200, body
    assert body["closed"] == [] and body["months"] == []
    f = body["figures"]
    assert (f["signals"], f["wins"], f["losses"], f["total_r"]) == (0, 0, 0, 0.0)
    undefined = ("average_r", "win_rate_pct", "profit_factor", "max_drawdown_r", "annual_r",
                 "sharpe", "sortino", "calmar")  # fmt: skip
    assert all(f[k] is None for k in undefined), f
    status, text, response = await api.call(
        "GET", "/api/v1/performance.csv", auth=await api.login(SUB)
    )
    assert status == 200 and text.strip() == ",".join(CSV_HEADER)
    status, data, media, _ = await download(api, "/api/v1/performance.png", await api.login(SUB))
    assert status == 200 and media == "image/png"
    width, height, colours = png_pixels(data)
    assert (width, height) == (960, 600) and EQUITY_BLUE not in colours  # no curve, a message


async def test_a_single_result_has_no_ratio_over_months(api: Api) -> None:
    await th.user(SUB)
    await signal(closed=at(5, 1), r="1.25")
    _, body, _ = await api.call("GET", "/api/v1/performance", auth=await api.login(SUB))
    f = body["figures"]
    assert (f["signals"], f["total_r"], f["average_r"], f["win_rate_pct"]) == (1, 1.25, 1.25, 100)
    assert f["max_drawdown_r"] == 0.0 and f["annual_r"] == pytest.approx(15.0)  # 1.25 * 12
    # no losing trade: profit factor undefined; one month: no Sharpe; no drawdown: no Calmar
    assert f["profit_factor"] is None and f["sharpe"] is None and f["sortino"] is None
    assert f["calmar"] is None


CSV_HEADER = ["signal_id", "symbol", "side", "published_at", "closed_at", "close_reason",
              "result_r", "cumulative_r", "drawdown_r"]  # fmt: skip


async def test_the_csv_lists_the_closed_signals_in_close_order(api: Api) -> None:
    rows = await seed_record()
    await th.user(SUB)
    status, text, response = await api.call(
        "GET", "/api/v1/performance.csv", auth=await api.login(SUB)
    )
    assert status == 200 and response.content_type == "text/csv"
    assert response.charset == "utf-8"
    assert (
        response.headers["Content-Disposition"]
        == 'attachment; filename="signaldesk-performance.csv"'
    )
    table = list(csv.reader(io.StringIO(text)))
    assert table[0] == CSV_HEADER and len(table) == 6
    ids = [int(line[0]) for line in table[1:]]
    assert ids == [r.id for r in rows]
    results = [(float(line[6]), float(line[7]), float(line[8])) for line in table[1:]]
    assert results == [(2, 2, 0), (-1, 1, 1), (1.5, 2.5, 0), (-1, 1.5, 1), (-0.5, 1, 1.5)]
    assert table[3][1:3] == ["XAUUSD", "buy"] and table[3][5] == "tp" and table[2][5] == "sl"
    assert datetime.fromisoformat(table[1][4]) == at(1, 10)
    assert datetime.fromisoformat(table[1][3]) == at(1, 10) - timedelta(hours=5)
    assert "2000" not in text and "1.07592" not in text  # never a price level


EQUITY_BLUE, DRAWDOWN_RED = bytes.fromhex("2962ff"), bytes.fromhex("d32f2f")


def png_pixels(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the distinct RGB pixel values of an 8-bit RGB(A) PNG, decoded
    here (zlib + the PNG row filters) so the test does not trust the renderer's own library."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, idat = 8, {}, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        assert (
            zlib.crc32(kind + body)
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        chunks[kind] = body
        idat += body if kind == b"IDAT" else b""
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and colour in (2, 6) and b"IEND" in chunks
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    previous, seen = bytearray(stride), set()
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = previous[i], previous[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        seen.update(bytes(line[i : i + 3]) for i in range(0, stride, bpp))
        previous = line
    return width, height, seen


async def test_the_png_is_a_real_chart_of_the_record(api: Api) -> None:
    await seed_record()
    await th.user(SUB)
    status, data, media, disposition = await download(
        api, "/api/v1/performance.png", await api.login(SUB)
    )
    assert status == 200 and media == "image/png"
    assert disposition == 'attachment; filename="signaldesk-performance.png"'
    width, height, colours = png_pixels(data)
    assert (width, height) == (960, 600)
    # the blue equity step line and the red drawdown line are drawn, on a white background
    assert {EQUITY_BLUE, DRAWDOWN_RED, b"\xff\xff\xff"} <= colours


async def fill(
    device: Device, sig: Signal, price: str, after_s: float, *, side: str | None = None
) -> Execution:
    command = await Command.create(
        id=f"cmd_perf{next(_keys)}", device=device, signal_id=sig.id, type=CommandType.OPEN,
        status=CommandStatus.FILLED, dedupe_key=f"open:{device.id}:{sig.id}:{next(_keys)}",
        payload={"symbol": sig.symbol, "side": sig.side, "price": str(sig.entry)},
    )  # fmt: skip
    return await Execution.create(
        command=command, device=device, signal_id=sig.id, ticket=next(_keys),
        symbol=sig.symbol, side=side or sig.side, volume=D("0.10"), requested_price=sig.entry,
        fill_price=D(price), filled_at=sig.published_at + timedelta(seconds=after_s),
    )  # fmt: skip


async def seed_fills() -> tuple[list[Execution], Execution]:
    sam, other = await th.user(SUB), await th.user(OTHER, name="Olga")
    main, spare = await th.device(sam), await th.device(sam, name="Spare MT5")
    euro = await signal(status=SignalStatus.FILLED, published=at(6, 1))
    gold = await signal(status=SignalStatus.FILLED, published=at(6, 2), symbol="XAUUSD",
                        side="buy", entry=D("2000.00"), stop=D("1990.00"))  # fmt: skip
    euro2 = await signal(status=SignalStatus.FILLED, published=at(6, 3))
    mine = [
        await fill(main, euro, "1.07582", 1.5),  # a sell 10 points lower: 10 worse
        await fill(spare, gold, "1999.80", 4),  # a buy 20 points lower: 20 better
        await fill(main, euro2, "1.07587", 2.5),  # a sell 5 points lower: 5 worse
    ]
    theirs = await fill(await th.device(other), euro, "1.07500", 9)
    return mine, theirs


async def test_the_users_fills_with_slippage_latency_and_medians(api: Api) -> None:
    mine, theirs = await seed_fills()
    status, body, _ = await api.call("GET", "/api/v1/performance/mine", auth=await api.login(SUB))
    assert status == 200, body
    assert [i["id"] for i in body["items"]] == [e.id for e in reversed(mine)]  # newest first
    assert theirs.id not in {i["id"] for i in body["items"]} and body["fills"] == 3
    by_id = {i["id"]: i for i in body["items"]}
    euro, gold, euro2 = (by_id[e.id] for e in mine)
    # the EURUSD risk is |1.07592 - 1.07965| = 373 points: 10 points = 10/373 R
    assert (euro["slippage_points"], euro["latency_ms"]) == (10.0, 1500)
    assert euro["slippage_r"] == pytest.approx(10 / 373)
    assert euro["terminal"] == "Main MT5" and euro["symbol"] == "EURUSD"
    assert (euro["fill_price"], euro["signal_entry"]) == ("1.07582", "1.07592")  # on the tick
    # gold: a 10.00 risk = 1000 points; -20 points = -0.02 R
    assert (gold["fill_price"], gold["signal_entry"]) == ("1999.80", "2000.00")
    assert (gold["slippage_points"], gold["latency_ms"], gold["terminal"]) == (
        -20.0,
        4000,
        "Spare MT5",
    )
    assert gold["slippage_r"] == pytest.approx(-0.02)
    assert (euro2["slippage_points"], euro2["latency_ms"]) == (5.0, 2500)
    # medians of (10, -20, 5), (10/373, -0.02, 5/373), (1500, 4000, 2500)
    assert body["median_slippage_points"] == 5.0
    assert body["median_slippage_r"] == pytest.approx(5 / 373)
    assert body["median_latency_ms"] == 2500.0


async def test_the_fills_page_by_cursor(api: Api) -> None:
    mine, _ = await seed_fills()
    session = await api.login(SUB)
    _, first, _ = await api.call("GET", "/api/v1/performance/mine?limit=2", auth=session)
    assert [i["id"] for i in first["items"]] == [mine[2].id, mine[1].id] and first["next_cursor"]
    _, rest, _ = await api.call(
        "GET", f"/api/v1/performance/mine?limit=2&cursor={first['next_cursor']}", auth=session
    )
    assert [i["id"] for i in rest["items"]] == [mine[0].id] and rest["next_cursor"] is None
    assert rest["fills"] == 3 and rest["median_latency_ms"] == 2500.0  # over every fill


async def test_no_fills_means_null_medians(api: Api) -> None:
    await th.user(SUB)
    _, body, _ = await api.call("GET", "/api/v1/performance/mine", auth=await api.login(SUB))
    assert body["items"] == [] and body["fills"] == 0
    assert body["median_slippage_points"] is None and body["median_latency_ms"] is None


async def test_the_free_tier_sees_the_record_but_not_executions(api: Api) -> None:
    await seed_record()
    await th.user(FREE, Role.PUBLIC)
    session = await api.login(FREE)
    for path in ("/api/v1/performance", "/api/v1/performance.csv", "/api/v1/performance.png"):
        status, _, _, _ = await download(api, path, session)
        assert status == 200, path
    status, body, response = await api.call("GET", "/api/v1/performance/mine", auth=session)
    assert_problem(status, body, response, 403)


@pytest.mark.parametrize(
    "path",
    ["/api/v1/performance?days=30", "/api/v1/performance/mine?limit=0",
     "/api/v1/performance/mine?limit=abc", "/api/v1/performance/mine?cursor=!!",
     "/api/v1/performance/mine?cursor=bm90LWEtbnVtYmVy", "/api/v1/performance.csv?x=1",
     "/api/v1/performance.png?size=big"],
)  # fmt: skip
async def test_malformed_queries_are_problems(api: Api, path: str) -> None:
    await th.user(SUB)
    status, body, response = await api.call("GET", path, auth=await api.login(SUB))
    assert_problem(status, body, response, 422)
    assert body["errors"], body


async def test_the_document_shows_the_exports_media_types(api: Api) -> None:
    _, document, _ = await api.call("GET", "/api/v1/openapi.json")
    paths = document["paths"]
    csv_ok = paths["/api/v1/performance.csv"]["get"]["responses"]["200"]["content"]
    png_ok = paths["/api/v1/performance.png"]["get"]["responses"]["200"]["content"]
    assert csv_ok == {"text/csv": {"schema": {"type": "string"}}}
    assert png_ok == {"image/png": {"schema": {"type": "string"}}}
    mine = paths["/api/v1/performance/mine"]["get"]
    assert {"401", "403", "422"} <= set(mine["responses"])
