"""The track record's charts as PNG (matplotlib, drawn by `trading.equity_chart` and
`trading.heatmap_chart`): the equity curve over the drawdown, the monthly R heatmap (years by
months) and the hour-of-day and weekday heatmaps, with titles and month and day names in the
reader's language (Babel).

`ChartCache` keeps each chart per scope, period and language with the rollups' revision it was
drawn from: while no signal is counted it answers the stored bytes, the first request after a
count draws it again (a rollup changed). Drawing runs in a worker thread (matplotlib is CPU
work). The web app owns one cache (no module-level state).
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from babel import Locale
from babel.dates import get_day_names, get_month_names

from models.analytics import RollupScope
from services.analytics.public import TrackRecord
from services.analytics.rollups import Revision
from services.text.i18n import LANGUAGES, translator
from trading.equity_chart import EquityLabels, render_equity_png
from trading.heatmap_chart import HeatmapLabels, render_heatmap_png

CHARTS: tuple[str, ...] = ("equity", "monthly", "hours", "weekdays")


def _language(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


def equity_png(record: TrackRecord, language: str | None) -> bytes:
    """The equity curve in R above the drawdown in R (960x600)."""
    _ = translator(language)
    labels = EquityLabels(
        title=_("performance.chart_equity"),
        equity=_("performance.axis_equity"),
        drawdown=_("performance.axis_drawdown"),
        empty=_("performance.empty"),
    )
    return render_equity_png(
        [int(s.closed_at.timestamp()) for s in record.closed],
        [s.cumulative_r for s in record.closed],
        [s.drawdown_r for s in record.closed],
        labels,
    )


def monthly_png(record: TrackRecord, language: str | None) -> bytes:
    """Monthly R: a row per year, a column per month (blank: nothing closed that month)."""
    _ = translator(language)
    names = get_month_names("abbreviated", locale=Locale.parse(_language(language)))
    years = sorted({m.year for m in record.months})
    by_month = {(m.year, m.month): m for m in record.months}
    values = [
        [by_month[(y, n)].r if (y, n) in by_month and by_month[(y, n)].signals else None
         for n in range(1, 13)]
        for y in years
    ]  # fmt: skip
    return render_heatmap_png(
        values, [str(y) for y in years], [names[n] for n in range(1, 13)],
        HeatmapLabels(_("performance.chart_monthly"), _("performance.empty")),
    )  # fmt: skip


def hours_png(record: TrackRecord, language: str | None) -> bytes:
    """R by the hour of day of the close (UTC), one row of 24 cells."""
    _ = translator(language)
    values = [[c.r if c.signals else None for c in record.hours]]
    return render_heatmap_png(
        values, [_("performance.axis_r")], [f"{c.bucket:02d}" for c in record.hours],
        HeatmapLabels(_("performance.chart_hours"), _("performance.empty")),
    )  # fmt: skip


def weekdays_png(record: TrackRecord, language: str | None) -> bytes:
    """R by the weekday of the close (UTC), Monday first."""
    _ = translator(language)
    names = get_day_names("abbreviated", locale=Locale.parse(_language(language)))
    values = [[c.r if c.signals else None for c in record.weekdays]]
    return render_heatmap_png(
        values, [_("performance.axis_r")], [names[c.bucket] for c in record.weekdays],
        HeatmapLabels(_("performance.chart_weekdays"), _("performance.empty")),
    )  # fmt: skip


RENDERERS: dict[str, Callable[[TrackRecord, str | None], bytes]] = {
    "equity": equity_png,
    "monthly": monthly_png,
    "hours": hours_png,
    "weekdays": weekdays_png,
}


@dataclass(frozen=True, slots=True)
class ChartKey:
    name: str
    scope: RollupScope
    first: date | None
    last: date | None
    language: str


class ChartCache:
    """The charts drawn so far, each with the revision it shows; at most `max_entries` (the
    least recently used go first)."""

    def __init__(self, max_entries: int = 128) -> None:
        self._entries: OrderedDict[ChartKey, tuple[Revision, bytes]] = OrderedDict()
        self._max = max_entries
        self.drawn = 0  # how many times a chart was drawn (not answered from the cache)

    async def png(self, name: str, record: TrackRecord, language: str | None) -> bytes:
        """Chart `name` (one of `CHARTS`) of `record` in `language`; KeyError for another."""
        render = RENDERERS[name]
        period = record.period
        key = ChartKey(name, record.scope, period.first if period else None,
                       period.last if period else None, _language(language))  # fmt: skip
        found = self._entries.get(key)
        if found is not None and found[0] == record.revision:
            self._entries.move_to_end(key)
            return found[1]
        png = await asyncio.to_thread(render, record, key.language)
        self.drawn += 1
        self._entries[key] = (record.revision, png)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return png
