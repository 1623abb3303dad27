"""The chat texts of the analytics (Telegram HTML, in the reader's language): a subscriber's
results (/mystats) and the owner's drift report (/drift and the weekly message). One
formatter for the handlers and the job; numbers, money and months through Babel
(`services.text.formatting`), counts through gettext's plural forms."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from html import escape

from babel import Locale
from babel.dates import format_skeleton

from services.analytics.drift import DriftReport
from services.analytics.mystats import MoneyTotal, MyStats, Results
from services.analytics.period import Period
from services.text.formatting import Money, Number, Plural, Signed, render, show
from services.text.i18n import LANGUAGES
from services.text.i18n import msgid as _

R_PLACES = 2


def _locale(code: str | None) -> Locale:
    return Locale.parse(code if code in LANGUAGES else "en")


def month_name(year: int, month: int, locale: str | None) -> str:
    """ "November 2026" / "noviembre de 2026" / "ноябрь 2026 г."."""
    moment = datetime(year, month, 1, tzinfo=UTC)
    return format_skeleton("yMMMM", moment, tzinfo=UTC, locale=_locale(locale))


def period_text(period: Period, locale: str | None) -> str:
    """The period as a reader says it: a month's name, or "the last 30 days"."""
    if period.kind == "month":
        return month_name(period.year, period.month, locale)
    if period.kind == "week":
        return render(locale, _("analytics.period_week"), start=period.start.date())
    return show(Plural(_("analytics.period_days"), period.days), locale)


def r_text(value: float | None, locale: str | None) -> str:
    """ "+6.20 R", "-0.40 R"; "n/a" for an undefined figure."""
    if value is None:
        return render(locale, _("analytics.not_available"))
    shown = Decimal(str(round(value, R_PLACES)))
    return render(locale, _("analytics.r_value"), r=Signed(shown, R_PLACES))


def money_text(money: tuple[MoneyTotal, ...], locale: str | None) -> str:
    if not money:
        return render(locale, _("analytics.not_available"))
    return ", ".join(escape(show(Money(m.profit, m.currency), locale)) for m in money)


def _plural(key: str, n: int, locale: str | None, **params: object) -> str:
    return show(Plural(key, n, tuple(params.items())), locale)


# -- /mystats -----------------------------------------------------------------------------------
def _summary(r: Results, locale: str | None) -> list[str]:
    lines = [
        _plural(
            _("mystats.summary"),
            r.signals,
            locale,
            taken=r.taken,
            mine=r_text(r.my_r, locale),
            strategy=r_text(r.strategy_r, locale),
            slippage=r_text(r.slippage_r, locale),
        ),  # fmt: skip
        render(locale, _("mystats.money"), money=money_text(r.money, locale)),
    ]
    if r.median_spread_points is not None:
        spread = show(Number(Decimal(str(r.median_spread_points)), 1), locale)
        lines.append(render(locale, _("mystats.spread"), spread=spread))
    if r.taken > r.closed:
        lines.append(_plural(_("mystats.open"), r.taken - r.closed, locale))
    return lines


def _strategy_only(stats: MyStats, locale: str | None) -> str:
    t = stats.total
    return _plural(_("mystats.strategy_only"), t.signals, locale,
                   r=r_text(t.strategy_r, locale))  # fmt: skip


def mystats_text(stats: MyStats, locale: str | None) -> str:
    """The /mystats answer: the period's summary, then one line per month; the empty cases
    (no terminal, no signal closed, no fill) say what to do instead."""
    period = escape(period_text(stats.period, locale))
    title = render(locale, _("mystats.title"), period=period)
    again = render(locale, _("mystats.other_period"))
    t = stats.total
    if stats.terminals == 0:
        body = [render(locale, _("mystats.no_terminal"))]
        if t.signals:
            body.append(_strategy_only(stats, locale))
        return "\n\n".join([title, *body, again])
    if t.signals == 0:
        return "\n\n".join([title, render(locale, _("mystats.no_signals"), period=period), again])
    if t.taken == 0:
        body = [render(locale, _("mystats.no_fills")), _strategy_only(stats, locale)]
        return "\n\n".join([title, *body, again])
    summary = _summary(t, locale)
    if stats.brokers:
        names = ", ".join(escape(name) for name in stats.brokers)
        summary.append(render(locale, _("mystats.brokers"), brokers=names))
    blocks = [title, "\n".join(summary)]
    if len(stats.months) > 1 or stats.period.kind == "days":
        lines = [render(locale, _("mystats.months_title"))]
        for m in stats.months:
            r = m.results
            lines.append(render(
                locale, _("mystats.month_line"), month=escape(month_name(m.year, m.month, locale)),
                taken=r.taken, signals=r.signals, mine=r_text(r.my_r, locale),
                strategy=r_text(r.strategy_r, locale), slippage=r_text(r.slippage_r, locale),
                money=money_text(r.money, locale),
            ))  # fmt: skip
        blocks.append("\n".join(lines))
    blocks.append(again)
    return "\n\n".join(blocks)


# -- /drift -------------------------------------------------------------------------------------
def _verdict(report: DriftReport, locale: str | None) -> str:
    live = r_text(report.live_mean_r, locale)
    low, high = r_text(report.range_low_r, locale), r_text(report.range_high_r, locale)
    key = {
        "below": _("drift.alert_below"),
        "above": _("drift.alert_above"),
        "inside": _("drift.inside"),
        "unknown": _("drift.unknown"),
    }[report.verdict]
    return render(locale, key, live=live, low=low, high=high)


def drift_text(report: DriftReport, locale: str | None) -> str:
    """The drift report: the verdict first (an alert when live results left the backtest's
    range), then backtest, live signals, subscribers' fills and the range."""
    title = render(locale, _("drift.title"), period=escape(period_text(report.period, locale)))
    lines = []
    if report.backtest_trades:
        lines.append(_plural(_("drift.backtest"), report.backtest_trades, locale,
                             mean=r_text(report.backtest_mean_r, locale)))  # fmt: skip
    else:
        lines.append(render(locale, _("drift.backtest_none")))
    for run in report.runs:
        lines.append(render(locale, _("drift.symbol_line"), symbol=escape(run.symbol),
                            bars=run.bars, trades=run.trades,
                            mean=r_text(run.mean_r, locale)))  # fmt: skip
    if report.live_signals:
        lines.append(_plural(_("drift.live"), report.live_signals, locale,
                             mean=r_text(report.live_mean_r, locale),
                             total=r_text(report.live_total_r, locale)))  # fmt: skip
    else:
        lines.append(render(locale, _("drift.live_none")))
    if report.fills:
        lines.append(_plural(_("drift.fills"), report.fills, locale,
                             mean=r_text(report.fills_mean_r, locale)))  # fmt: skip
    else:
        lines.append(render(locale, _("drift.fills_none")))
    if report.range_low_r is not None:
        lines.append(_plural(_("drift.range"), report.live_signals, locale,
                             low=r_text(report.range_low_r, locale),
                             high=r_text(report.range_high_r, locale)))  # fmt: skip
    return "\n\n".join([title, _verdict(report, locale), "\n".join(lines)])
