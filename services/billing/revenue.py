"""The owner's numbers (`/revenue`), from the payment and entitlement rows.

Definitions (also in the README):
- a *paid period* is an entitlement bought by a payment (Stars or Stripe); it is *running* at t
  when starts_at <= t < ends_at + GRACE (ended early by a refund or an upgrade: < ends_at);
- a *subscriber* at t is a user with a running paid period; their *monthly value* is the best
  running period's payment in US cents times 30 / the period's length in days;
- **MRR** at t: the sum of subscribers' monthly values; **ARPU**: MRR / subscribers;
- **new** this month: users whose first payment falls in the month; **churned** this month:
  users whose paid access (a period's grace, or an early end) ended in the month and who have
  no running paid period now;
- **trials**: trials started (one per account), running now, and converted (the user paid after
  the trial started); conversion = converted / started;
- **revenue** this month: payments made in the month (US cents), by provider, and the Stars
  received; **refunds**: payments refunded in the month, counted and summed;
- **commissions owed**: pending (unflagged) and available affiliate commissions.
Months are calendar months in UTC.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.billing import (
    Entitlement,
    EntitlementSource,
    EntitlementStatus,
    Payment,
    PaymentStatus,
    Provider,
    TrialUse,
)
from models.users import User
from services.billing import affiliates
from services.billing.entitlements import GRACE

PAID_SOURCES = (EntitlementSource.STARS, EntitlementSource.STRIPE)


@dataclass(frozen=True, slots=True)
class PaidPeriod:
    user_id: int
    plan: str
    usd_cents: int
    starts_at: datetime
    ends_at: datetime
    ended: bool = False  # ended early (refund, upgrade): no grace follows

    @property
    def access_ends(self) -> datetime:
        return self.ends_at if self.ended else self.ends_at + GRACE

    @property
    def monthly_cents(self) -> int:
        days = max((self.ends_at - self.starts_at) / timedelta(days=1), 1.0)
        return round(self.usd_cents * 30 / days)

    def running(self, at: datetime) -> bool:
        return self.starts_at <= at < self.access_ends


@dataclass(frozen=True, slots=True)
class Snapshot:
    mrr_cents: int
    by_plan: dict[str, int]

    @property
    def subscribers(self) -> int:
        return sum(self.by_plan.values())


@dataclass(frozen=True, slots=True)
class Revenue:
    at: datetime
    month_start: datetime
    mrr_cents: int
    subscribers_by_plan: dict[str, int]
    arpu_cents: int
    new_this_month: int
    churned_this_month: int
    trials_started: int
    trials_running: int
    trials_converted: int
    stars_revenue_cents: int
    card_revenue_cents: int
    stars_received: int  # XTR
    refunds: int
    refunded_cents: int
    commissions_owed_cents: int

    @property
    def subscribers(self) -> int:
        return sum(self.subscribers_by_plan.values())

    @property
    def conversion_pct(self) -> float:
        return 100.0 * self.trials_converted / self.trials_started if self.trials_started else 0.0


def snapshot(periods: Iterable[PaidPeriod], at: datetime) -> Snapshot:
    """MRR and subscribers per plan at `at` (pure)."""
    best: dict[int, PaidPeriod] = {}
    for p in periods:
        if p.running(at):
            held = best.get(p.user_id)
            if held is None or p.monthly_cents > held.monthly_cents:
                best[p.user_id] = p
    return Snapshot(
        mrr_cents=sum(p.monthly_cents for p in best.values()),
        by_plan=dict(sorted(Counter(p.plan for p in best.values()).items())),
    )


def month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


async def paid_periods(since: datetime | None = None) -> list[PaidPeriod]:
    """Paid periods whose access ends after `since` (all without it)."""
    query = Entitlement.filter(source__in=PAID_SOURCES, payment_id__isnull=False)
    if since is not None:
        query = query.filter(ends_at__gt=since - GRACE)
    rows = await query.prefetch_related("plan_version__plan", "payment")
    return [
        PaidPeriod(
            user_id=r.user_id,  # type: ignore[attr-defined]
            plan=r.plan_version.plan.code,
            usd_cents=r.payment.usd_cents if r.payment is not None else 0,
            starts_at=r.starts_at,
            ends_at=r.ends_at,
            ended=r.status == EntitlementStatus.ENDED,
        )
        for r in rows
    ]


async def report(at: datetime) -> Revenue:
    start = month_start(at)
    periods = await paid_periods()
    now = snapshot(periods, at)
    running_users = {p.user_id for p in periods if p.running(at)}
    churned = {p.user_id for p in periods if start <= p.ends_at + GRACE <= at} - running_users
    payments = await Payment.all().values(
        "user_id", "provider", "amount", "usd_cents", "status", "created_at", "refunded_at"
    )
    first_paid: dict[int, datetime] = {}
    for p in payments:
        uid = p["user_id"]
        if uid is not None and (uid not in first_paid or p["created_at"] < first_paid[uid]):
            first_paid[uid] = p["created_at"]
    month = [p for p in payments if start <= p["created_at"] <= at]
    refunded = [
        p for p in payments
        if p["status"] == PaymentStatus.REFUNDED and p["refunded_at"] is not None
        and start <= p["refunded_at"] <= at
    ]  # fmt: skip
    trials = await TrialUse.all().values("telegram_id", "created_at")
    trial_users = dict(
        await User.filter(telegram_id__in=[t["telegram_id"] for t in trials]).values_list(
            "telegram_id", "id"
        )
    )
    converted = sum(
        1
        for t in trials
        if (uid := trial_users.get(t["telegram_id"])) is not None
        and uid in first_paid
        and first_paid[uid] >= t["created_at"]
    )
    running_trials = (
        await Entitlement.filter(source=EntitlementSource.TRIAL, starts_at__lte=at, ends_at__gt=at)
        .exclude(status=EntitlementStatus.ENDED)
        .count()
    )
    return Revenue(
        at=at,
        month_start=start,
        mrr_cents=now.mrr_cents,
        subscribers_by_plan=now.by_plan,
        arpu_cents=now.mrr_cents // now.subscribers if now.subscribers else 0,
        new_this_month=sum(1 for first in first_paid.values() if start <= first <= at),
        churned_this_month=len(churned),
        trials_started=len(trials),
        trials_running=running_trials,
        trials_converted=converted,
        stars_revenue_cents=sum(p["usd_cents"] for p in month if p["provider"] == Provider.STARS),
        card_revenue_cents=sum(p["usd_cents"] for p in month if p["provider"] == Provider.STRIPE),
        stars_received=sum(p["amount"] for p in month if p["provider"] == Provider.STARS),
        refunds=len(refunded),
        refunded_cents=sum(p["usd_cents"] for p in refunded),
        commissions_owed_cents=await affiliates.owed_cents(),
    )


async def history(at: datetime, days: int = 90) -> list[tuple[datetime, Snapshot]]:
    """MRR and subscribers at the end of each of the last `days` days."""
    first = (at - timedelta(days=days)).replace(hour=23, minute=59, second=59, microsecond=0)
    periods = await paid_periods(first)
    points = [min(first + timedelta(days=i), at) for i in range(1, days + 1)]
    return [(t, snapshot(periods, t)) for t in points]


def plot_history(series: list[tuple[datetime, Snapshot]], title: str, mrr_label: str,
                 subs_label: str) -> bytes:  # fmt: skip
    """PNG (1200x600) of MRR (USD, left axis) and subscribers (right axis) over time."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.dates import date2num
    from matplotlib.figure import Figure

    fig = Figure(figsize=(12, 6), dpi=100)
    ax = fig.add_subplot()
    times = date2num([t for t, _ in series])  # type: ignore[no-untyped-call]
    ax.plot(times, [s.mrr_cents / 100 for _, s in series], color="#1f77b4", label=mrr_label)
    ax.set_ylabel(mrr_label)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.set_ylim(bottom=0)
    twin = ax.twinx()
    twin.step(times, [s.subscribers for _, s in series], color="#2ca02c", where="post",
              label=subs_label)  # fmt: skip
    twin.set_ylabel(subs_label)
    twin.set_ylim(bottom=0)
    lines = ax.get_lines() + twin.get_lines()
    ax.legend(lines, [str(line.get_label()) for line in lines], loc="upper left")
    ax.xaxis_date()
    fig.autofmt_xdate()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
