"""The public performance page over real HTTP: its figures equal `trading.metrics` over the seeded
closed signals, the delay hides recent closes, no response carries personal data (nor the broker
of fewer than three subscribers' terminals), bad query parameters are 4xx problems, the charts
are PNGs cached per rollup revision, each closed signal shows its subscribers' fills and the
period its fills by broker, and the page speaks the visitor's language."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, timedelta
from html import unescape
from statistics import median
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from core.clock import ManualClock
from core.http.problems import PROBLEM_TYPE, problem_middleware
from models.devices import Device
from services.analytics.public import CSV_COLUMNS
from tests.analytics import fills_seed
from tests.analytics.seed import HISTORY, closed, defined, expected, seed_history, still_open
from tests.services.terminals import helpers as th
from webapp.performance import CHART_CACHE, PerformanceConfig, setup_performance

DELAY = timedelta(hours=24)
PNG = b"\x89PNG\r\n\x1a\n"


@dataclass
class Site:
    url: str
    app: web.Application
    http: aiohttp.ClientSession

    async def get(self, path: str, **kw: Any) -> tuple[int, bytes, aiohttp.typedefs.LooseHeaders]:
        async with self.http.get(self.url + path, allow_redirects=False, **kw) as r:
            return r.status, await r.read(), r.headers

    async def text(self, path: str, **kw: Any) -> str:
        status, body, _ = await self.get(path, **kw)
        assert status == 200, body[:500]
        return body.decode()

    async def json(self, path: str) -> Any:
        return json.loads(await self.text(path))


async def _site(config: PerformanceConfig) -> AsyncIterator[Site]:
    app = web.Application(middlewares=[problem_middleware])
    setup_performance(app, config)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    tcp = web.TCPSite(runner, "127.0.0.1", 0)
    await tcp.start()
    host, port = runner.addresses[0][:2]
    async with aiohttp.ClientSession() as http:
        yield Site(f"http://{host}:{port}", app, http)
    await runner.cleanup()


@pytest.fixture
async def site(database: str, clock: ManualClock) -> AsyncIterator[Site]:
    async for s in _site(PerformanceConfig(DELAY)):
        yield s


@pytest.fixture
async def short_list(database: str, clock: ManualClock) -> AsyncIterator[Site]:
    async for s in _site(PerformanceConfig(DELAY, list_limit=3)):
        yield s


def shown_figures(page: str) -> dict[str, str]:
    return {k: unescape(v) for k, v in re.findall(r'data-figure="(\w+)">([^<]*)<', page)}


def as_number(text: str) -> float:
    """An English figure back to a number: "+3.00 R" -> 3.0, "40.0%" -> 40.0, "1,234" -> 1234."""
    return float(text.replace(",", "").replace(" R", "").replace("%", "").replace("+", ""))


async def test_the_figures_equal_the_metrics_of_the_seeded_signals(site: Site) -> None:
    rows = await seed_history()
    await closed(HISTORY[0][0] + timedelta(days=3), None)  # no result: not a figure
    await still_open(HISTORY[-1][0])
    want = expected()
    figures = (await site.json("/performance/widget.json"))["figures"]
    for key in ("signals", "wins", "losses", "total_r", "average_r", "win_rate_pct",
                "profit_factor", "max_drawdown_r", "annual_r", "sharpe", "sortino", "calmar"):  # fmt: skip
        exp = (
            defined(getattr(want, key))
            if isinstance(getattr(want, key), float)
            else getattr(want, key)
        )
        assert figures[key] == pytest.approx(exp, rel=1e-9), key
    page = await site.text("/performance?lang=en")
    shown = shown_figures(page)
    pairs = {"signals": want.signals, "wins": want.wins, "losses": want.losses,
             "total_r": want.total_r, "average_r": want.average_r,
             "win_rate": want.win_rate_pct, "profit_factor": want.profit_factor,
             "max_drawdown": want.max_drawdown_r, "annual_r": want.annual_r,
             "sharpe": want.sharpe, "sortino": want.sortino, "calmar": want.calmar}  # fmt: skip
    assert set(shown) == set(pairs)
    for key, value in pairs.items():  # shown with 2 places (the win rate with 1)
        assert as_number(shown[key]) == pytest.approx(value, abs=0.0051), key
    # every figure's sources: each signal's ledger entries, the drawdown its own signals
    for row in rows:
        assert f'href="/ledger?signal={row.id}"' in page
    drawdown = re.search(r'id="figure-max_drawdown">(.*?)</tr>', page, re.S)
    assert drawdown is not None
    assert re.findall(r"/ledger\?signal=(\d+)", drawdown.group(1)) == [
        str(rows[6].id),
        str(rows[7].id),
    ]
    assert 'href="#signals"' in page and 'id="verify"' in page and "<script" not in page
    # the monthly table links each month to its period
    assert 'href="?from=2026-02-01&amp;to=2026-02-28&amp;lang=en"' in page


async def test_a_period_shows_the_metrics_of_its_own_signals(site: Site) -> None:
    await seed_history()
    inside = tuple(h for h in HISTORY if date(2026, 2, 1) <= h[0].date() <= date(2026, 3, 4))
    body = await site.json("/performance/widget.json?from=2026-02-01&to=2026-03-04")
    want = expected(inside)
    assert body["figures"]["signals"] == want.signals == 5
    assert body["figures"]["total_r"] == pytest.approx(want.total_r)
    assert body["figures"]["sharpe"] == pytest.approx(defined(want.sharpe))
    assert (body["from"], body["to"]) == ("2026-02-01", "2026-03-04")
    listed = await site.json("/performance/signals.json?from=2026-02-01&to=2026-03-04")
    assert [float(s["result_r"]) for s in listed["signals"]] == [float(r) for _, r in inside]
    page = await site.text("/performance?from=2026-02-01&to=2026-03-04&lang=en")
    assert "Period: Feb 1, 2026 – Mar 4, 2026" in unescape(page)
    assert "/performance?from=2026-02-01&amp;to=2026-03-04" in page  # the link to share
    # the tracking tags a messenger or a site adds to a shared link change nothing
    tagged = "&utm_source=telegram&utm_medium=share&fbclid=IwAR0x&gclid=abc"
    again = await site.json(f"/performance/widget.json?from=2026-02-01&to=2026-03-04{tagged}")
    assert again == body


async def test_the_delay_hides_signals_closed_within_it(site: Site, clock: ManualClock) -> None:
    now = clock.now()
    old = await closed(now - timedelta(hours=25), "1.5")
    recent = await closed(now - timedelta(hours=23), "-1")
    ids = [s["signal_id"] for s in (await site.json("/performance/signals.json"))["signals"]]
    assert ids == [old.id]
    table = list(csv.reader(io.StringIO(await site.text("/performance/signals.csv"))))
    assert [row[0] for row in table[1:]] == [str(old.id)]
    assert (await site.json("/performance/widget.json"))["figures"]["signals"] == 1
    page = await site.text("/performance")
    assert f"/ledger?signal={old.id}" in page and f"/ledger?signal={recent.id}" not in page
    status, body, headers = await site.get(f"/performance/signal/{recent.id}")
    assert status == 404 and headers["Content-Type"].startswith(PROBLEM_TYPE)
    assert (await site.get(f"/performance/signal/{old.id}"))[0] == 200
    clock.advance(timedelta(hours=1, seconds=1))  # now 24 hours and a second after its close
    ids = [s["signal_id"] for s in (await site.json("/performance/signals.json"))["signals"]]
    assert ids == [old.id, recent.id]
    assert (await site.get(f"/performance/signal/{recent.id}"))[0] == 200


SECRETS = ("777000111", "Alice", "alice", "Main MT5", "Private note of Alice", "dev_test",
           "Alice Brokerage")  # fmt: skip
EXECUTION_KEYS = {"terminals", "fills", "median_slippage_points", "median_slippage_r",
                  "median_latency_ms", "median_spread_points"}  # fmt: skip
# a broker's name is public only for a group of >= 3 subscribers' terminals (tested below)
BROKER_KEYS = {"group", "broker", "terminals", "fills", "median_slippage_points",
               "median_slippage_r", "median_spread_points"}  # fmt: skip
ALLOWED_KEYS = {"as_of", "delay_hours", "from", "to", "figures", "url", "signals", *CSV_COLUMNS,
                "ledger", "share", "wins", "losses", "total_r", "average_r", "win_rate_pct",
                "profit_factor", "max_drawdown_r", "annual_r", "sharpe", "sortino",
                "calmar", "executions", *EXECUTION_KEYS, "brokers", *BROKER_KEYS}  # fmt: skip
CSV_HEADER = (*CSV_COLUMNS, "terminals", "fills", "median_slippage_points", "median_slippage_r",
              "median_latency_ms", "median_spread_points")  # fmt: skip


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


async def test_no_public_response_carries_personal_data(site: Site, clock: ManualClock) -> None:
    alice = await th.user(777000111, name="Alice")
    terminal = await th.device(alice)
    await Device.filter(id=terminal.id).update(broker="Alice Brokerage")  # one subscriber's
    manual = await closed(clock.now() - timedelta(days=3), "2", created_by=alice.telegram_id,
                          rationale="Private note of Alice")  # fmt: skip
    await fills_seed.fill(terminal, manual, "1.07610")  # her fill: only counts and medians show
    await seed_history()
    paths = ["/performance", "/performance?lang=ru", f"/performance/signal/{manual.id}",
             "/performance/widget", "/performance/widget.json", "/performance/signals.json",
             "/performance/signals.csv"]  # fmt: skip
    for path in paths:
        text = unescape(await site.text(path))
        for secret in SECRETS:
            assert secret not in text, (path, secret)
    for path in ("/performance/widget.json", "/performance/signals.json"):
        body = await site.json(path)
        assert keys_of(body) <= ALLOWED_KEYS, path  # every field is a known, impersonal one
    signals = (await site.json("/performance/signals.json"))["signals"]
    assert all(set(s) == {*CSV_COLUMNS, "ledger", "share", "executions"} for s in signals)
    assert all(set(s["executions"]) == EXECUTION_KEYS for s in signals)
    (mine,) = [s for s in signals if s["signal_id"] == manual.id]
    assert (mine["executions"]["terminals"], mine["executions"]["fills"]) == (1, 1)
    (group,) = (await site.json("/performance/widget.json"))["brokers"]
    assert set(group) == BROKER_KEYS and (group["group"], group["broker"]) == ("other", None)
    header = next(csv.reader(io.StringIO(await site.text("/performance/signals.csv"))))
    assert tuple(header) == CSV_HEADER


BAD = [
    ("/performance?from=2026-13-01", 422),
    ("/performance?from=yesterday", 422),
    ("/performance?from=2026-03-01&to=2026-02-01", 422),
    ("/performance?from=99999-01-01", 422),
    ("/performance?to=0001-01-01", 422),
    ("/performance?lang=de", 422),
    ("/performance?utm=x", 422),
    ("/performance?fbclid_x=1", 422),
    ("/performance?from=2026-01-01&from=2026-01-02", 400),
    ("/performance/widget.json?to=2026-02-30", 422),
    ("/performance/signals.csv?from=%00", 422),
    ("/performance/signals.json?lang=", 422),
    ("/performance/chart/equity.png?from=2026-03-01&to=2026-01-01", 422),
    ("/performance/chart/nope.png", 404),
    ("/performance/signal/abc", 422),
    ("/performance/signal/0", 422),
    ("/performance/signal/99999999999", 422),
    ("/performance/signal/12345", 404),
    ("/performance/widget?x=1", 422),
]


@pytest.mark.parametrize(("path", "status"), BAD)
async def test_bad_input_is_a_4xx_problem(site: Site, path: str, status: int) -> None:
    got, body, headers = await site.get(path)
    assert got == status, body[:300]
    assert headers["Content-Type"].startswith(PROBLEM_TYPE)
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] and problem["instance"]


async def test_the_charts_are_pngs_cached_until_a_rollup_changes(
    site: Site, clock: ManualClock
) -> None:
    await seed_history()
    cache = site.app[CHART_CACHE]
    for name in ("equity", "monthly", "hours", "weekdays"):
        status, body, headers = await site.get(f"/performance/chart/{name}.png?lang=es")
        assert status == 200 and headers["Content-Type"] == "image/png", name
        assert body.startswith(PNG) and len(body) > 2000
    drawn = cache.drawn
    assert drawn == 4
    again = await site.get("/performance/chart/monthly.png?lang=es")
    assert again[0] == 200 and cache.drawn == drawn  # answered from the cache
    await site.get("/performance/chart/monthly.png?lang=en")  # another language: its own
    assert cache.drawn == drawn + 1
    await closed(clock.now() - timedelta(days=2), "1")  # a new public signal: a rollup changes
    changed = await site.get("/performance/chart/monthly.png?lang=es")
    assert changed[0] == 200 and cache.drawn == drawn + 2 and changed[1] != again[1]
    period = await site.get("/performance/chart/equity.png?from=2026-02-01&to=2026-02-28")
    assert period[0] == 200 and period[1].startswith(PNG)


async def test_the_page_speaks_the_visitors_language(site: Site) -> None:
    await seed_history()
    es = unescape(await site.text("/performance?lang=es"))
    assert "Historial de resultados" in es and "Cómo verificarlo" in es
    assert shown_figures(es)["total_r"] == "+3,00 R"  # Babel: a decimal comma
    ru = unescape(await site.text("/performance", headers={"Accept-Language": "ru-RU,ru;q=0.9"}))
    assert "История результатов" in ru and '<html lang="ru">' in ru
    en = unescape(await site.text("/performance"))
    assert shown_figures(en)["total_r"] == "+3.00 R" and "How to verify" in en


async def test_security_headers_and_the_embeddable_widget(site: Site) -> None:
    await seed_history()
    _, _, page = await site.get("/performance")
    assert "default-src 'none'" in page["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page["Content-Security-Policy"]
    assert page["X-Content-Type-Options"] == "nosniff"
    assert page["Referrer-Policy"] == "no-referrer"
    status, body, widget = await site.get("/performance/widget?lang=en")
    assert status == 200 and "frame-ancestors *" in widget["Content-Security-Policy"]
    text = unescape(body.decode())
    assert "+3.00 R" in text and "10 closed signals" in text and "<script" not in text
    _, _, data = await site.get("/performance/widget.json")
    assert data["Access-Control-Allow-Origin"] == "*"
    assert data["Content-Type"].startswith("application/json")


async def test_a_shared_signal_shows_its_levels_and_ledger_link(site: Site) -> None:
    rows = await seed_history()
    page = unescape(await site.text(f"/performance/signal/{rows[0].id}?lang=en"))
    assert f"Signal #{rows[0].id}" in page and "EURUSD" in page
    assert "1.07592" in page and "1.07965" in page and "+2.00 R" in page
    assert f'href="/ledger?signal={rows[0].id}"' in page


async def test_the_page_lists_the_latest_signals_and_the_exports_hold_all(
    short_list: Site,
) -> None:
    rows = await seed_history()
    page = unescape(await short_list.text("/performance?lang=en"))
    listed = re.findall(r'<tr id="signal-(\d+)">', page)
    assert listed == [str(r.id) for r in reversed(rows[-3:])]  # newest first
    assert "The 3 most recent of 10 closed signals" in page
    assert shown_figures(page)["signals"] == "10"  # the figures are over all of them
    exported = (await short_list.json("/performance/signals.json"))["signals"]
    assert len(exported) == 10
    march = unescape(await short_list.text("/performance?from=2026-03-01&to=2026-03-31"))
    assert re.findall(r'<tr id="signal-(\d+)">', march) == [str(r.id) for r in rows[8:5:-1]]


def csv_rows(text: str) -> dict[str, dict[str, str]]:
    return {row["signal_id"]: row for row in csv.DictReader(io.StringIO(text))}


async def test_each_closed_signal_shows_how_subscribers_terminals_executed_it(
    site: Site, clock: ManualClock
) -> None:
    at = clock.now() - timedelta(days=2)
    sam, zoe = await fills_seed.user(11, name="Sam"), await fills_seed.user(12, name="Zoe")
    sam_a, zoe_a = await fills_seed.terminal(sam, "Sam A"), await fills_seed.terminal(zoe, "Zoe Z")
    traded = await fills_seed.signal(at, "3.0")  # buy at 1.10000, 100 points of risk
    # slippage +2, +6 points (median 4 = 0.04 R); signal-to-fill 2 s and 4 s (median 3 s);
    # spread at the fill 10 and 15 points (median 12.5)
    await fills_seed.fill(sam_a, traded, "1.10002", after=timedelta(seconds=2), spread=10)
    await fills_seed.fill(zoe_a, traded, "1.10006", after=timedelta(seconds=4), spread=15)
    idle = await fills_seed.signal(at - timedelta(hours=1), "-1.0")
    unspread = await fills_seed.signal(at - timedelta(hours=2), "1.0")  # its EA sent no spread
    await fills_seed.fill(sam_a, unspread, "1.09999", after=timedelta(seconds=1))

    page = unescape(await site.text("/performance?lang=en"))
    assert (
        "Executed by 2 terminals (2 fills) · median slippage 4.0 points (+0.04 R)"
        " · median signal-to-fill 3 seconds · median spread 12.5 points"
    ) in page
    assert (
        "Executed by 1 terminal (1 fill) · median slippage -1.0 points (-0.01 R)"
        " · median signal-to-fill 1 second · median spread n/a points"
    ) in page
    assert "No subscriber's terminal executed it" in page
    for name in ("Sam A", "Zoe Z", "Sam", "Zoe"):
        assert name not in page
    signals = {
        s["signal_id"]: s for s in (await site.json("/performance/signals.json"))["signals"]
    }
    assert signals[traded.id]["executions"] == {
        "terminals": 2, "fills": 2, "median_slippage_points": 4.0,
        "median_slippage_r": pytest.approx(0.04), "median_latency_ms": 3000.0,
        "median_spread_points": 12.5,
    }  # fmt: skip
    assert signals[unspread.id]["executions"]["median_spread_points"] is None
    assert signals[idle.id]["executions"] == {
        "terminals": 0, "fills": 0, "median_slippage_points": None, "median_slippage_r": None,
        "median_latency_ms": None, "median_spread_points": None,
    }  # fmt: skip
    table = csv_rows(await site.text("/performance/signals.csv"))
    assert {k: table[str(traded.id)][k] for k in CSV_HEADER[len(CSV_COLUMNS) :]} == {
        "terminals": "2", "fills": "2", "median_slippage_points": "4",
        "median_slippage_r": "0.0400", "median_latency_ms": "3000", "median_spread_points": "12.5",
    }  # fmt: skip
    assert table[str(unspread.id)]["median_spread_points"] == ""
    assert table[str(unspread.id)]["median_slippage_points"] == "-1"
    assert [table[str(idle.id)][k] for k in CSV_HEADER[len(CSV_COLUMNS) :]] == [
        "0", "0", "", "", "", ""
    ]  # fmt: skip
    shared = unescape(await site.text(f"/performance/signal/{traded.id}?lang=es"))
    assert "Ejecutado por 2 terminales (2 ejecuciones)" in shared
    assert "spread mediano 12,5 puntos" in shared
    shared = unescape(await site.text(f"/performance/signal/{traded.id}?lang=ru"))
    assert (
        "Исполнен 2 терминалами (2 сделки)" in shared and "медианный спред 12,5 пунктов" in shared
    )


# (broker as the terminal's EA reports it, subscriber, [(signal, slippage, spread), ...]): one
# terminal per row; signals 0 and 1 closed 3 and 2 days ago, risking 100 points each
BROKER_FILLS: list[tuple[str | None, str, list[tuple[int, int, int | None]]]] = [
    ("IC Markets", "a", [(0, 1, 10), (1, 3, 11)]),
    ("ic  markets", "b", [(0, 3, 12)]),  # the same broker, spelt differently
    ("IC Markets", "c", [(1, 5, 20)]),
    ("Tiny Broker Ltd", "d", [(0, 2, 30), (1, 2, 31)]),  # 3 terminals of 2 subscribers
    ("Tiny Broker Ltd", "d", [(0, 4, 40)]),
    ("Tiny Broker Ltd", "e", [(1, 6, 42)]),
    (None, "f", [(0, 0, None)]),  # three subscribers whose EA reports no broker
    (None, "g", [(1, 1, 9)]),
    ("", "h", [(0, 2, 7)]),
]
NEVER_NAMED = "Tiny Broker"


async def _seed_brokers(clock: ManualClock) -> list[Any]:
    signals = [await fills_seed.signal(clock.now() - timedelta(days=3 - n), "1.0") for n in (0, 1)]
    people: dict[str, Any] = {}
    for n, (broker, who, rows) in enumerate(BROKER_FILLS):
        if who not in people:
            people[who] = await fills_seed.user(500 + n, name=f"Trader {who}")
        box = await fills_seed.terminal(people[who], f"box {who}{n}", broker=broker)
        for sig, slip, spread in rows:
            await fills_seed.fill(box, signals[sig], f"{1.1 + slip * 0.00001:.5f}", spread=spread)
    return signals


def _group(rows: list[int], signals: set[int]) -> dict[str, Any]:
    """The expected figures of the terminals `rows` of BROKER_FILLS, over `signals`."""
    fills = [f for n in rows for f in BROKER_FILLS[n][2] if f[0] in signals]
    spreads = [spread for _, _, spread in fills if spread is not None]
    slip = median(slip for _, slip, _ in fills)
    return {
        "terminals": len({n for n in rows if any(f[0] in signals for f in BROKER_FILLS[n][2])}),
        "fills": len(fills), "median_slippage_points": float(slip),
        "median_slippage_r": pytest.approx(slip / 100),
        "median_spread_points": float(median(spreads)) if spreads else None,
    }  # fmt: skip


def shown_brokers(page: str) -> list[tuple[str, ...]]:
    rows = re.findall(r'<tr data-group="(\w+)"><td>([^<]*)</td>(.*?)</tr>', page)
    return [(g, unescape(name), *re.findall(r'<td class="n">([^<]*)</td>', cells))
            for g, name, cells in rows]  # fmt: skip


def as_text(group: str, name: str, want: dict[str, Any]) -> tuple[str, ...]:
    """A group's row as the English page shows it."""
    spread = want["median_spread_points"]
    return (group, name, str(want["terminals"]), str(want["fills"]),
            f"{want['median_slippage_points']:.1f}",
            f"{want['median_slippage_points'] / 100:+.2f} R",
            "n/a" if spread is None else f"{spread:.1f}")  # fmt: skip


async def test_the_page_shows_the_periods_fills_by_broker(site: Site, clock: ManualClock) -> None:
    await _seed_brokers(clock)
    both = {0, 1}
    ic, tiny, unreported = (
        _group([0, 1, 2], both),
        _group([3, 4, 5], both),
        _group([6, 7, 8], both),
    )
    page = await site.text("/performance?lang=en")
    assert shown_brokers(page) == [
        as_text("broker", "IC Markets", ic),  # three subscribers' terminals: named
        as_text("unreported", "Broker not reported", unreported),
        as_text("other", "Other brokers", tiny),  # three terminals, two subscribers: merged
    ]
    assert (
        "A broker is named only when the terminals of at least 3 different subscribers filled"
        " these signals through it"
    ) in unescape(page)
    brokers = (await site.json("/performance/widget.json"))["brokers"]
    assert brokers == [
        {"group": "broker", "broker": "IC Markets", **ic},
        {"group": "unreported", "broker": None, **unreported},
        {"group": "other", "broker": None, **tiny},
    ]
    # a period of the second signal only: IC Markets filled it through two subscribers'
    # terminals, the unreported ones through one: all of them are "other" there
    day = (clock.now() - timedelta(days=2)).date().isoformat()
    period = f"?from={day}&to={day}"
    inside = _group(list(range(len(BROKER_FILLS))), {1})
    assert shown_brokers(await site.text(f"/performance{period}&lang=en")) == [
        as_text("other", "Other brokers", inside)
    ]
    assert (await site.json(f"/performance/widget.json{period}"))["brokers"] == [
        {"group": "other", "broker": None, **inside}
    ]
    es = unescape(await site.text("/performance?lang=es"))
    assert "Ejecuciones por bróker" in es and "Bróker no informado" in es
    assert "Otros brókeres" in es and "al menos 3 suscriptores distintos" in es
    ru = unescape(await site.text("/performance?lang=ru"))
    assert "Исполнение по брокерам" in ru and "Другие брокеры" in ru
    assert "как минимум 3 разных подписчиков" in ru


async def test_a_broker_of_two_subscribers_is_named_in_no_public_response(
    site: Site, clock: ManualClock
) -> None:
    signals = await _seed_brokers(clock)
    day = (clock.now() - timedelta(days=3)).date().isoformat()
    paths = [f"/performance?lang={lang}" for lang in ("en", "es", "ru")]
    for query in ("", f"?from={day}&to={day}"):
        paths += [f"/performance{query}", f"/performance/widget{query}",
                  f"/performance/widget.json{query}", f"/performance/signals.json{query}",
                  f"/performance/signals.csv{query}"]  # fmt: skip
    paths += [f"/performance/signal/{s.id}?lang={lang}" for s in signals for lang in ("en", "ru")]
    for path in paths:
        text = unescape(await site.text(path))
        assert NEVER_NAMED.casefold() not in text.casefold(), path
        assert "Trader" not in text and "box " not in text, path
    page = await site.text("/performance")
    assert "IC Markets" in page  # while a broker of three subscribers is named


async def test_no_fill_in_the_period_shows_the_empty_broker_table(site: Site) -> None:
    nothing = unescape(await site.text("/performance?lang=en"))  # no signal yet
    assert "No subscriber's terminal has filled any of these signals." in nothing
    assert (await site.json("/performance/widget.json"))["brokers"] == []
    await seed_history()  # closed signals nobody's terminal filled
    page = unescape(await site.text("/performance?lang=en"))
    assert shown_brokers(page) == [] and '<table class="brokers">' not in page
    assert (
        '<p class="note" id="brokers-empty">'
        "No subscriber's terminal has filled any of these signals.</p>"
    ) in page
    assert (await site.json("/performance/widget.json"))["brokers"] == []
    ru = unescape(await site.text("/performance?lang=ru"))
    assert "Ни один терминал подписчика не исполнил ни одного из этих сигналов." in ru
