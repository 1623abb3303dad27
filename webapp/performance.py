"""The public track record: server-rendered HTML, no login, no JavaScript.

  GET /performance                   the record (?from=&to= whole UTC days: a shareable period;
                                     ?lang=en|es|ru, else Accept-Language, else English), with
                                     the period's subscribers' fills by broker
  GET /performance/signal/{id}       one closed signal, shareable (levels, times, result)
  GET /performance/widget            a small HTML card to embed (frameable anywhere)
  GET /performance/widget.json       the same figures as JSON, and the fills by broker (CORS: any
                                     origin)
  GET /performance/signals.csv       the closed-signal list with each one's fills (?from=&to=)
  GET /performance/signals.json      the same as JSON, each with its ledger link
  GET /performance/chart/{name}.png  equity | monthly | hours | weekdays (?from=&to=&lang=)

Only signals closed `PERFORMANCE_DELAY_HOURS` ago or earlier are shown (`services.analytics`'s
public scope). Nothing personal is served: signals have no owner, and who created a manual
signal and its rationale are never read; of subscribers' fills only counts and medians are
shown, and a broker's name only for at least three subscribers' terminals
(`services.analytics.brokers`; the field lists: `webapp.performance_export`). Every figure
links to the ledger entries (`/ledger?signal=ID`) of the signals it comes from. Bad input is a
4xx RFC 7807 problem (the app's problem middleware); unknown query parameters are refused,
except the tracking tags that sites and messengers add to a shared link (`utm_*`, `fbclid`,
`gclid`, ...), which are ignored so a shared link keeps working.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import aiohttp_jinja2
import jinja2
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from core import clock
from core.http.problems import ProblemError
from services.analytics import fills, public
from services.analytics.charts import CHARTS, ChartCache
from services.analytics.public import Period, TrackRecord
from services.text.i18n import LANGUAGES
from webapp import performance_export as export
from webapp import performance_fills as fills_view
from webapp import performance_view as view

TEMPLATES = Path(__file__).with_name("templates")
JINJA: web.AppKey[jinja2.Environment] = web.AppKey("performance_jinja", jinja2.Environment)
FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)
STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;"
    "color:#1f2328}a{color:#1a73c8}header a{text-decoration:none;font-weight:600}"
    "table{border-collapse:collapse;margin:.5rem 0 1.5rem}th,td{padding:.25rem .6rem;"
    "border-bottom:1px solid #d0d7de;text-align:left}td.n{text-align:right;"
    "font-variant-numeric:tabular-nums}.pos{color:#1a7f37}.neg{color:#cf222e}"
    ".note{color:#57606a}img{max-width:100%;height:auto;display:block;margin:.5rem 0 1rem}"
    "code,pre{background:#f6f8fa;padding:.2rem .4rem;overflow-x:auto}form{margin:1rem 0}"
    ".widget{border:1px solid #d0d7de;border-radius:8px;padding:.5rem 1rem;max-width:22rem;"
    "margin:0}.widget p{margin:.25rem 0}.widget .big{font-size:1.6rem;font-weight:600}"
    "body.embed{margin:0;padding:.25rem;max-width:none}td.n,.months td{white-space:nowrap}"
    "table.months,table.signals,table.brokers{display:block;overflow-x:auto}"
    "form input,form button{min-height:44px;font:inherit}"
)
_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
_CSP = (
    "default-src 'none'; style-src 'sha256-{h}'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors {frame}"
)
CSP = _CSP.format(h=_STYLE_HASH, frame="'none'")
WIDGET_CSP = _CSP.format(h=_STYLE_HASH, frame="*")  # the widget is meant to be framed
CACHE = "public, max-age=60"


@dataclass(frozen=True)
class PerformanceConfig:
    """The public page's settings: how long after its close a signal is shown, and the URL
    the widget's embed snippet names (None: the request's own origin)."""

    delay: timedelta
    public_url: str | None = None
    list_limit: int = 100  # signals listed on the page (formatting each costs; exports hold all)


CONFIG: web.AppKey[PerformanceConfig] = web.AppKey("performance_config", PerformanceConfig)
CHART_CACHE: web.AppKey[ChartCache] = web.AppKey("performance_charts", ChartCache)


class Query(BaseModel):
    """The query string of every public performance route."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    lang: Literal["en", "es", "ru"] | None = None
    first: date | None = Field(default=None, alias="from", ge=FIRST_DAY, le=LAST_DAY)
    last: date | None = Field(default=None, alias="to", ge=FIRST_DAY, le=LAST_DAY)

    @model_validator(mode="after")
    def _ordered(self) -> Query:
        if self.first and self.last and self.first > self.last:
            msg = "'from' must be on or before 'to'"
            raise ValueError(msg)
        return self

    @property
    def period(self) -> Period | None:
        return None if self.first is None and self.last is None else Period(self.first, self.last)


class SignalPath(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int = Field(ge=1, le=2**31 - 1)


def _validate(model: type[Any], data: dict[str, str], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            {
                "field": ".".join(str(p) for p in e["loc"]) or where,
                "in": where,
                "message": e["msg"],
            }
            for e in exc.errors(include_url=False, include_input=False)
        ]
        fields = ", ".join(e["field"] for e in errors) or where
        raise ProblemError(
            422, "Unprocessable Entity", f"invalid {fields}", errors=errors
        ) from None


TRACKING = frozenset(
    {"fbclid", "gclid", "dclid", "msclkid", "yclid", "igshid", "mc_cid", "mc_eid"}
)


def _tracking(name: str) -> bool:
    return name.startswith("utm_") or name in TRACKING


def query_of(request: web.Request) -> Query:
    if len(request.query) != len(set(request.query.keys())):
        raise ProblemError(400, "Bad Request", "each query parameter may appear once")
    wanted = {k: v for k, v in request.query.items() if not _tracking(k)}
    return _validate(Query, wanted, "query")  # type: ignore[no-any-return]


def locale_of(request: web.Request, query: Query) -> str:
    if query.lang is not None:
        return query.lang
    for part in request.headers.get("Accept-Language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in LANGUAGES:
            return code
    return "en"


def setup_performance(app: web.Application, config: PerformanceConfig) -> None:
    app[CONFIG] = config
    app[CHART_CACHE] = ChartCache()
    aiohttp_jinja2.setup(
        app,
        app_key=JINJA,
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(default=True),
    )
    app.router.add_get("/performance", performance_page)
    app.router.add_get("/performance/signal/{id}", signal_page)
    app.router.add_get("/performance/widget", widget_page)
    app.router.add_get("/performance/widget.json", widget_json)
    app.router.add_get("/performance/signals.csv", signals_csv)
    app.router.add_get("/performance/signals.json", signals_json)
    app.router.add_get("/performance/chart/{name}.png", chart_png)


async def _record(request: web.Request, query: Query) -> TrackRecord:
    return await public.public_record(clock.now(), request.app[CONFIG].delay, query.period)


def _headers(response: web.StreamResponse, csp: str = CSP) -> web.StreamResponse:
    response.headers["Content-Security-Policy"] = csp
    response.headers["Cache-Control"] = CACHE
    response.headers["Vary"] = "Accept-Language"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _html(
    request: web.Request, name: str, locale: str, context: dict[str, Any], csp: str = CSP
) -> web.StreamResponse:
    response = aiohttp_jinja2.render_template(
        name, request, {"lang": locale, "style": STYLE, **context}, app_key=JINJA
    )
    return _headers(response, csp)


def _share(query: Query, locale: str | None = None) -> str:
    parts = [f"{k}={v}" for k, v in (("from", query.first), ("to", query.last)) if v]
    if locale:
        parts.append(f"lang={locale}")
    return "?" + "&".join(parts) if parts else ""


async def performance_page(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    locale = locale_of(request, query)
    record = await _record(request, query)
    config = request.app[CONFIG]
    listed = [c.id for c in record.closed[-config.list_limit :]]
    found = await fills.signal_execution_summary(listed)
    groups = await fills.period_by_broker(c.id for c in record.closed)
    return _html(request, "performance/performance.html", locale, {
        "t": view.page_texts(locale, record, config.delay, config.list_limit),
        "figures": view.figure_rows(locale, record),
        "record": record,
        "query": query,
        "charts": CHARTS,
        "chart_query": _share(query, locale),
        "share": "/performance" + _share(query),
        "base": (config.public_url or str(request.url.origin())).rstrip("/"),
        "executions": fills_view.execution_texts(locale, found, listed),
        "brokers": fills_view.broker_texts(locale, groups),
    })  # fmt: skip


async def signal_page(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    path = _validate(SignalPath, dict(request.match_info), "path")
    locale = locale_of(request, query)
    shared = await public.public_signal(path.id, clock.now(), request.app[CONFIG].delay)
    summary = await fills.signal_execution_summary([shared.id])
    return _html(request, "performance/signal.html", locale, {
        "t": view.signal_texts(locale, shared, summary.get(shared.id)), "signal": shared,
    })  # fmt: skip


async def widget_page(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    locale = locale_of(request, query)
    record = await _record(request, query)
    return _html(
        request, "performance/widget.html", locale,
        {"t": view.widget_texts(locale, record), "link": "/performance" + _share(query, locale)},
        WIDGET_CSP,
    )  # fmt: skip


def _about(request: web.Request, record: TrackRecord, query: Query) -> dict[str, Any]:
    return {
        "as_of": None if record.cutoff is None else record.cutoff.isoformat(),
        "delay_hours": request.app[CONFIG].delay.total_seconds() / 3600,
        "from": None if query.first is None else query.first.isoformat(),
        "to": None if query.last is None else query.last.isoformat(),
    }


def _json(body: Any) -> web.StreamResponse:
    response = web.json_response(body)
    response.headers["Access-Control-Allow-Origin"] = "*"  # public data, meant to be embedded
    return _headers(response)


async def widget_json(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    record = await _record(request, query)
    return _json({
        **_about(request, record, query),
        "figures": export.figures_json(record),
        "brokers": export.brokers_json(await fills.period_by_broker(c.id for c in record.closed)),
        "url": "/performance" + _share(query),
    })  # fmt: skip


async def signals_json(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    record = await _record(request, query)
    found = await fills.signal_execution_summary(c.id for c in record.closed)
    rows = [
        {**row, "ledger": f"/ledger?signal={row['signal_id']}",
         "share": f"/performance/signal/{row['signal_id']}",
         "executions": export.executions_json(found.get(int(row["signal_id"])))}
        for row in public.closed_rows(record)
    ]  # fmt: skip
    return _json({**_about(request, record, query), "signals": rows})


async def signals_csv(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    record = await _record(request, query)
    found = await fills.signal_execution_summary(c.id for c in record.closed)
    response = web.Response(
        body=export.signals_csv(record, found).encode("utf-8"),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="signaldesk-signals.csv"'},
    )
    return _headers(response)


async def chart_png(request: web.Request) -> web.StreamResponse:
    query = query_of(request)
    name = request.match_info["name"]
    if name not in CHARTS:
        raise ProblemError(404, "Not Found", f"no chart {name[:32]!r}; one of {', '.join(CHARTS)}")
    locale = locale_of(request, query)
    record = await _record(request, query)
    png = await request.app[CHART_CACHE].png(name, record, locale)
    return _headers(web.Response(body=png, content_type="image/png"))
