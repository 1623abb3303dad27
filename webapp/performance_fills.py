"""What the public performance page shows of subscribers' fills, in the reader's language: one
line per closed signal (terminals, fills, median slippage, signal-to-fill time and spread) and
the period's "Fills by broker" table. Aggregates only (`services.analytics.fills`); a broker is
named only as `services.analytics.brokers` names it. Numbers through Babel
(`services.text.formatting`); an undefined median reads "n/a"."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from services.analytics.brokers import MIN_TERMINALS, BrokerSummary
from services.analytics.fills import ExecutionSummary
from services.text import formatting
from services.text.i18n import translator

POINTS_PLACES = 1  # a median of whole points is a whole or a half point
R_PLACES = 2


def _points(locale: str, value: float | None, undefined: str) -> str:
    return (
        undefined
        if value is None
        else formatting.number(Decimal(str(value)), locale, POINTS_PLACES)
    )


def _r(locale: str, value: float | None, undefined: str) -> str:
    if value is None:
        return undefined
    return f"{formatting.signed(Decimal(str(value)), locale, R_PLACES)} R"


def execution_text(locale: str, summary: ExecutionSummary | None) -> str:
    """How subscribers' terminals executed one closed signal, in one line (aggregates only)."""
    _ = translator(locale)
    if summary is None or summary.fills == 0:
        return str(_("performance.exec_none"))
    na = _("performance.undefined")
    latency = summary.median_latency_ms
    return str(_("performance.exec_line")).format(
        terminals=formatting.render_plural(
            locale, formatting.plural("performance.exec_terminals", summary.terminals)
        ),
        fills=formatting.render_plural(
            locale, formatting.plural("performance.exec_fills", summary.fills)
        ),
        slippage=_points(locale, summary.median_slippage_points, na),
        slippage_r=_r(locale, summary.median_slippage_r, na),
        latency=na if latency is None
        else formatting.duration(timedelta(milliseconds=latency), locale),
        spread=_points(locale, summary.median_spread_points, na),
    )  # fmt: skip


def execution_texts(
    locale: str, found: dict[int, ExecutionSummary], ids: list[int]
) -> dict[int, str]:
    return {i: execution_text(locale, found.get(i)) for i in ids}


def _name(locale: str, group: BrokerSummary) -> str:
    _ = translator(locale)
    if group.group == "broker" and group.broker:
        return group.broker
    if group.group == "unreported":
        return str(_("performance.broker_unreported"))
    return str(_("performance.broker_other"))


def broker_rows(locale: str, groups: tuple[BrokerSummary, ...]) -> list[dict[str, str]]:
    """One row per group, in the service's order (named brokers, unreported, the others)."""
    na = translator(locale)("performance.undefined")
    return [
        {"group": g.group, "name": _name(locale, g),
         "terminals": formatting.number(g.terminals, locale),
         "fills": formatting.number(g.fills, locale),
         "slippage": _points(locale, g.median_slippage_points, na),
         "slippage_r": _r(locale, g.median_slippage_r, na),
         "spread": _points(locale, g.median_spread_points, na)}
        for g in groups
    ]  # fmt: skip


def broker_texts(locale: str, groups: tuple[BrokerSummary, ...]) -> dict[str, Any]:
    """The "Fills by broker" section: its title, columns, rows, the naming rule and the text
    shown when no subscriber's terminal filled a signal of the period."""
    _ = translator(locale)
    return {
        "title": _("performance.brokers"),
        "col_broker": _("performance.col_broker"), "col_terminals": _("performance.col_terminals"),
        "col_fills": _("performance.col_fills"), "col_slippage": _("performance.col_slippage"),
        "col_slippage_r": _("performance.col_slippage_r"),
        "col_spread": _("performance.col_spread"),
        "rows": broker_rows(locale, groups),
        "note": formatting.render_plural(
            locale, formatting.plural("performance.brokers_note", MIN_TERMINALS)
        ),
        "empty": _("performance.brokers_empty"),
    }  # fmt: skip
