"""What the public performance templates show, already in the reader's language: texts, the
figure rows with their sources, the monthly table, the signal rows. Numbers and dates through
Babel (`services.text.formatting`); the templates only place these strings (autoescaped)."""

from __future__ import annotations

import calendar
from datetime import timedelta
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import get_month_names

from models.signals import CloseReason
from services.analytics.fills import ExecutionSummary
from services.analytics.public import SharedSignal, TrackRecord
from services.text import formatting, vocabulary
from services.text.i18n import translator
from webapp.performance_fills import execution_text

R_PLACES = 2


def ledger_url(signal_id: int) -> str:
    return f"/ledger?signal={signal_id}"


def _r(locale: str, value: float | Decimal | None, undefined: str, sign: bool = True) -> str:
    if value is None:
        return undefined
    shown = Decimal(str(value))
    text = (
        formatting.signed(shown, locale, R_PLACES)
        if sign
        else formatting.number(shown, locale, R_PLACES)
    )
    return f"{text} R"


def _ratio(locale: str, value: float | None, undefined: str) -> str:
    return undefined if value is None else formatting.number(value, locale, R_PLACES)


def _tone(value: float | Decimal | None) -> str:
    return "" if value is None or value == 0 else ("pos" if value > 0 else "neg")


def _reason(locale: str, reason: str | None) -> str:
    if reason is None:
        return ""
    return translator(locale)(vocabulary.close_reason(CloseReason(reason)).key)


def _side(locale: str, side: str) -> str:
    return translator(locale)(vocabulary.side(side).key)


def figure_rows(locale: str, record: TrackRecord) -> list[dict[str, Any]]:
    """One row per figure: its name, value, and the signals it comes from (`all`: every
    signal of the record, listed below the figures; else the ids, each a ledger link)."""
    _ = translator(locale)
    f, na = record.figures, _("performance.undefined")
    win_rate = None if f.win_rate_pct is None else Decimal(str(f.win_rate_pct))
    names = {
        "signals": _("performance.signals"), "wins": _("performance.wins"),
        "losses": _("performance.losses"), "total_r": _("performance.total_r"),
        "average_r": _("performance.average_r"), "win_rate": _("performance.win_rate"),
        "profit_factor": _("performance.profit_factor"),
        "max_drawdown": _("performance.max_drawdown"), "annual_r": _("performance.annual_r"),
        "sharpe": _("performance.sharpe"), "sortino": _("performance.sortino"),
        "calmar": _("performance.calmar"),
    }  # fmt: skip
    rows = [
        ("signals", formatting.number(f.signals, locale), None),
        ("wins", formatting.number(f.wins, locale), None),
        ("losses", formatting.number(f.losses, locale), None),
        ("total_r", _r(locale, f.total_r, na), f.total_r),
        ("average_r", _r(locale, f.average_r, na), f.average_r),
        ("win_rate", na if win_rate is None else formatting.percent(win_rate, locale, 1), None),
        ("profit_factor", _ratio(locale, f.profit_factor, na), None),
        ("max_drawdown", _r(locale, f.max_drawdown_r, na, sign=False), None),
        ("annual_r", _r(locale, f.annual_r, na), f.annual_r),
        ("sharpe", _ratio(locale, f.sharpe, na), None),
        ("sortino", _ratio(locale, f.sortino, na), None),
        ("calmar", _ratio(locale, f.calmar, na), None),
    ]
    return [
        {"key": key, "name": names[key], "value": value, "tone": _tone(tone),
         "sources": list(record.drawdown_ids) if key == "max_drawdown" else "all"}
        for key, value, tone in rows
    ]  # fmt: skip


def month_rows(locale: str, record: TrackRecord) -> list[dict[str, Any]]:
    """The monthly R table: a row per year, a cell per month, each linking to its period."""
    na = ""
    by_month = {(m.year, m.month): m for m in record.months}
    rows = []
    for year in sorted({m.year for m in record.months}):
        cells = []
        for month in range(1, 13):
            m = by_month.get((year, month))
            last = calendar.monthrange(year, month)[1]
            cells.append({
                "text": _r(locale, m.r, na) if m and m.signals else "",
                "tone": _tone(m.r) if m and m.signals else "",
                "href": f"?from={year:04d}-{month:02d}-01&to={year:04d}-{month:02d}-{last:02d}"
                        f"&lang={locale}" if m and m.signals else None,
            })  # fmt: skip
        rows.append({"year": year, "cells": cells})
    return rows


def signal_rows(locale: str, record: TrackRecord, limit: int) -> list[dict[str, Any]]:
    """The `limit` most recent closed signals, newest first."""
    na = translator(locale)("performance.undefined")
    return [
        {
            "id": s.id,
            "symbol": s.symbol,
            "side": _side(locale, s.side),
            "closed": formatting.when(s.closed_at, locale),
            "reason": _reason(locale, s.close_reason),
            "result": _r(locale, s.result_r, na),
            "tone": _tone(s.result_r),
            "equity": _r(locale, s.cumulative_r, na),
            "ledger": ledger_url(s.id),
            "share": f"/performance/signal/{s.id}?lang={locale}",
        }
        for s in reversed(record.closed[-limit:])
    ]


def _delay(locale: str, delay: timedelta) -> str:
    return formatting.duration(delay, locale)


def page_texts(locale: str, record: TrackRecord, delay: timedelta, limit: int) -> dict[str, Any]:
    """Every text of the page; the signal list holds the `limit` most recent (each month of
    the monthly table, a period, and the downloads hold the others)."""
    _ = translator(locale)
    total = len(record.closed)
    as_of = "" if record.cutoff is None else formatting.when(record.cutoff, locale)
    period = record.period
    names = get_month_names("abbreviated", locale=Locale.parse(locale))
    return {
        "title": _("performance.title"),
        "lead": _("performance.lead"),
        "delay": _("performance.delay").format(delay=_delay(locale, delay), as_of=as_of),
        "period": _("performance.period").format(
            first=formatting.day(period.first, locale) if period and period.first else "…",
            last=formatting.day(period.last, locale) if period and period.last else "…",
        ) if period else _("performance.period_all"),  # fmt: skip
        "from": _("performance.from"), "to": _("performance.to"),
        "show": _("performance.show"), "whole": _("performance.whole"),
        "figures": _("performance.figures"), "figure": _("performance.figure"),
        "value": _("performance.value"), "source": _("performance.source"),
        "source_all": _("performance.source_all"),
        "source_drawdown": _("performance.source_drawdown"),
        "source_none": _("performance.source_none"),
        "charts": _("performance.charts"),
        "chart_alt": {
            "equity": _("performance.chart_equity"), "monthly": _("performance.chart_monthly"),
            "hours": _("performance.chart_hours"), "weekdays": _("performance.chart_weekdays"),
        },
        "months": _("performance.months"), "year": _("performance.year"),
        "month_names": [names[m] for m in range(1, 13)],
        "month_rows": month_rows(locale, record),
        "list": _("performance.list"), "empty": _("performance.empty"),
        "col_signal": _("performance.col_signal"), "col_symbol": _("performance.col_symbol"),
        "col_side": _("performance.col_side"), "col_closed": _("performance.col_closed"),
        "col_reason": _("performance.col_reason"), "col_result": _("performance.col_result"),
        "col_equity": _("performance.col_equity"), "col_ledger": _("performance.col_ledger"),
        "ledger_entries": _("performance.ledger_entries"),
        "rows": signal_rows(locale, record, limit),
        "list_more": "" if total <= limit else _("performance.list_more").format(
            shown=formatting.number(limit, locale), total=formatting.number(total, locale)
        ),
        "export": _("performance.export"), "share": _("performance.share"),
        "widget": _("performance.widget"), "widget_hint": _("performance.widget_hint"),
        "verify": _("performance.verify"),
        "verify_steps": [_("performance.verify_chain"), _("performance.verify_head"),
                         _("performance.verify_recompute"), _("performance.verify_figures"),
                         _("performance.verify_commitments")],  # fmt: skip
        "verify_delay": _("performance.verify_delay").format(delay=_delay(locale, delay)),
    }  # fmt: skip


def signal_texts(
    locale: str, s: SharedSignal, executions: ExecutionSummary | None = None
) -> dict[str, Any]:
    _ = translator(locale)

    def price(value: Decimal | None) -> str:
        return "" if value is None else formatting.price(value, s.digits, locale)

    rows = [
        (_("performance.col_symbol"), s.symbol),
        (_("performance.col_side"), _side(locale, s.side)),
        (_("performance.published"), formatting.when(s.published_at, locale)),
        (_("performance.filled"), "" if s.filled_at is None
         else formatting.when(s.filled_at, locale)),
        (_("performance.col_closed"), formatting.when(s.closed_at, locale)),
        (_("performance.col_reason"), _reason(locale, s.close_reason)),
        (_("performance.entry"), price(s.entry)),
        (_("performance.stop"), price(s.stop)),
        (_("performance.take_profit"), price(s.take_profit)),
        (_("performance.fill_price"), price(s.fill_price)),
        (_("performance.exit_price"), price(s.exit_price)),
        (_("performance.versions"), formatting.number(s.version, locale)),
        (_("performance.col_result"), _r(locale, s.result_r, "")),
        (_("performance.exec_title"), execution_text(locale, executions)),
    ]  # fmt: skip
    return {
        "title": _("performance.signal_title").format(id=s.id),
        "rows": [{"name": n, "value": v} for n, v in rows if v],
        "ledger": ledger_url(s.id),
        "ledger_entries": _("performance.ledger_entries"),
        "note": _("performance.signal_note"),
        "back": _("performance.back"),
    }


def widget_texts(locale: str, record: TrackRecord) -> dict[str, Any]:
    _ = translator(locale)
    f, na = record.figures, _("performance.undefined")
    win_rate = (
        na
        if f.win_rate_pct is None
        else formatting.percent(Decimal(str(f.win_rate_pct)), locale, 1)
    )
    return {
        "title": _("performance.widget_title"),
        "total": _r(locale, f.total_r, na),
        "tone": _tone(f.total_r),
        "line": _("performance.widget_line").format(
            signals=formatting.number(f.signals, locale), win_rate=win_rate,
            profit_factor=_ratio(locale, f.profit_factor, na),
        ),  # fmt: skip
        "as_of": "" if record.cutoff is None
        else _("performance.as_of").format(when=formatting.when(record.cutoff, locale)),
        "more": _("performance.widget_more"),
    }  # fmt: skip
