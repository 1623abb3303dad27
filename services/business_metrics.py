"""Business figures for Prometheus: what the product does, next to how the process runs.

Two kinds, and they add up across replicas differently:

- **Counters are per process** (`signaldesk_signals_published_total`, `..._approvals_total`,
  `..._messages_sent_total`, `..._ea_acks_total`): each replica counts what it did itself,
  only after the effect committed (a rolled-back publish or ack counts nothing). Add them up
  over replicas: `sum(rate(signaldesk_approvals_total[5m])) by (decision)`. The sender and
  the trading loop run on the scheduler leader only, so their counters move there.
- **Gauges come from the database and are global** (`signaldesk_outbox_pending`,
  `..._outbox_oldest_pending_age_seconds`, `..._terminals_online`, `..._ea_commands_pending`,
  ...): every replica reports the same numbers, so aggregate them with `max`, never `sum`.
  They are sampled when /metrics is scraped (`DatabaseGauges.refresh`), with a few indexed
  COUNT/MIN queries, at most one sampling in flight per process and a bounded wait; when the
  database cannot answer in time the gauges are left out of that scrape (never stale values)
  and `signaldesk_business_gauges_up` is 0.

The registry here is this module's; `core.metrics` serves it with the process's own metrics.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, Metric
from tortoise.expressions import Q
from tortoise.functions import Count, Min
from tortoise.queryset import QuerySet

from core import clock
from core import metrics as process_metrics
from models.devices import Command, CommandStatus, Device, DeviceStatus
from models.notifications import Notification, NotificationStatus
from models.signals import Decision, SignalSource

log = logging.getLogger(__name__)
REGISTRY = CollectorRegistry(auto_describe=True)
SAMPLE_TIMEOUT_S = 2.0

SIGNALS_PUBLISHED = Counter(
    "signaldesk_signals_published_total",
    "Signals published (committed), by source: strategy or manual (/post). Per process.",
    ["source"],
    registry=REGISTRY,
)
APPROVALS = Counter(
    "signaldesk_approvals_total",
    "Subscribers' decisions on signals (committed; a changed decision counts again), "
    "by decision: approved or rejected. Per process.",
    ["decision"],
    registry=REGISTRY,
)
MESSAGES_SENT = Counter(
    "signaldesk_messages_sent_total",
    "Outbox send attempts by result, counted once recorded: sent; retried (network error or "
    "5xx, backed off); rate_limited (429, sending paused); unreachable (403, chat skipped); "
    "failed (400, never retried); exhausted (retries used up); error (a sender bug, "
    "re-queued). Per process (the sender runs on the scheduler leader).",
    ["result"],
    registry=REGISTRY,
)
EA_ACKS = Counter(
    "signaldesk_ea_acks_total",
    "Terminal acknowledgements by the status they report and the result: applied (the "
    "command moved, committed), repeated (same ack again, answered as before), conflict "
    "(impossible move, 409), unknown (no such command, 404), foreign (another device's "
    "command, 403). Per process.",
    ["status", "result"],
    registry=REGISTRY,
)
SEND_RESULTS = (
    "sent", "retried", "rate_limited", "unreachable", "failed", "exhausted", "error"
)  # fmt: skip
ACK_RESULTS = ("applied", "repeated", "conflict", "unknown", "foreign")

# Known label values start at 0, so a rate() sees the first event and dashboards list them all.
for _source in SignalSource:
    SIGNALS_PUBLISHED.labels(_source.value)
for _decision in Decision:
    APPROVALS.labels(_decision.value)
for _result in SEND_RESULTS:
    MESSAGES_SENT.labels(_result)


def signal_published(source: SignalSource | str) -> None:
    SIGNALS_PUBLISHED.labels(SignalSource(source).value).inc()


def approval_recorded(decision: Decision) -> None:
    APPROVALS.labels(decision.value).inc()


def message_result(result: str, count: int = 1) -> None:
    """`count` outbox rows settled with `result` (one of `SEND_RESULTS`)."""
    if result not in SEND_RESULTS:
        msg = f"unknown send result {result!r}; use one of {SEND_RESULTS}"
        raise ValueError(msg)
    if count > 0:
        MESSAGES_SENT.labels(result).inc(count)


def ea_ack(status: CommandStatus | str, result: str) -> None:
    """One acknowledgement reporting `status`, handled with `result` (one of `ACK_RESULTS`)."""
    if result not in ACK_RESULTS:
        msg = f"unknown ack result {result!r}; use one of {ACK_RESULTS}"
        raise ValueError(msg)
    EA_ACKS.labels(CommandStatus(status).value, result).inc()


@dataclass(frozen=True, slots=True)
class GaugeSample:
    """The database-derived figures at one moment (all replicas' view)."""

    outbox_pending: int  # due now (waiting or being sent)
    outbox_scheduled: int  # waiting for a later time: delayed summaries, retry back-off
    outbox_oldest_pending_age_s: float  # how long the longest-due unsent message has waited
    ea_commands_pending: int  # not yet acknowledged (expired ones leave at the expiry sweep)
    ea_commands_oldest_pending_age_s: float
    terminals_online: int  # not revoked, seen within `services.terminals.overview.OFFLINE_AFTER_S`
    terminals_registered: int  # not revoked


def _age_s(now: datetime, since: datetime | None) -> float:
    return 0.0 if since is None else max(0.0, (now - since).total_seconds())


async def _count_min(query: QuerySet[Any], field: str) -> tuple[int, datetime | None]:
    """COUNT(*) and MIN(`field`) of a filtered queryset in one statement."""
    rows = await query.annotate(n=Count("id"), first=Min(field)).values("n", "first")
    if not rows:
        return 0, None
    return int(rows[0]["n"] or 0), rows[0]["first"]


async def sample(now: datetime | None = None) -> GaugeSample:
    """Read the gauges: five aggregate queries, each on an index (outbox by status and due
    time, commands by status and age) or a small table (devices)."""
    from services.terminals.overview import (
        OFFLINE_AFTER_S,  # here: terminals imports the command queue
    )

    moment = now or clock.now()
    pending, sending = NotificationStatus.PENDING, NotificationStatus.SENDING
    due = Notification.filter(Q(status=sending) | Q(status=pending, next_attempt_at__lte=moment))
    due_n, due_first = await _count_min(due, "next_attempt_at")
    later = await Notification.filter(status=pending, next_attempt_at__gt=moment).count()
    commands = Command.filter(status=CommandStatus.PENDING)
    cmd_n, cmd_first = await _count_min(commands, "created_at")
    live = Device.filter(status__in=[DeviceStatus.ACTIVE, DeviceStatus.PAUSED])
    registered = await live.count()
    seen_after = moment - timedelta(seconds=OFFLINE_AFTER_S)
    online = await live.filter(last_seen_at__gt=seen_after).count()
    return GaugeSample(
        outbox_pending=due_n,
        outbox_scheduled=later,
        outbox_oldest_pending_age_s=_age_s(moment, due_first),
        ea_commands_pending=cmd_n,
        ea_commands_oldest_pending_age_s=_age_s(moment, cmd_first),
        terminals_online=online,
        terminals_registered=registered,
    )


_GAUGES: tuple[tuple[str, str, str], ...] = (
    ("outbox_pending", "signaldesk_outbox_pending",
     "Notifications due and not yet sent (waiting or being sent). All replicas: use max."),
    ("outbox_scheduled", "signaldesk_outbox_scheduled",
     "Notifications waiting for a later time (delayed summaries, retry back-off)."),
    ("outbox_oldest_pending_age_s", "signaldesk_outbox_oldest_pending_age_seconds",
     "Seconds the longest-due unsent notification has waited since it fell due (0: none)."),
    ("ea_commands_pending", "signaldesk_ea_commands_pending",
     "EA commands waiting for their terminal's acknowledgement (expired ones leave at the "
     "next expiry sweep)."),
    ("ea_commands_oldest_pending_age_s",
     "signaldesk_ea_commands_oldest_pending_age_seconds",
     "Age in seconds of the oldest EA command waiting for acknowledgement (0: none)."),
    ("terminals_online", "signaldesk_terminals_online",
     "Terminals (not revoked) seen within the offline-notice threshold (three EA polls)."),
    ("terminals_registered", "signaldesk_terminals_registered",
     "Terminals registered and not revoked."),
)  # fmt: skip


class DatabaseGauges:
    """A Prometheus collector of `GaugeSample`s, refreshed before each scrape's rendering.

    `refresh()` starts one sampling (or joins the one in flight) and waits at most
    `timeout_s`. A sampling that outlives the wait is not cancelled (cancelling a query can
    leak SQLite's connection lock): the next scrape waits for it instead of starting another,
    so a slow database gets one sampling at a time from each replica.
    """

    def __init__(
        self,
        timeout_s: float = SAMPLE_TIMEOUT_S,
        sampler: Callable[[datetime], Coroutine[Any, Any, GaugeSample]] = sample,
        clock: Callable[[], datetime] = clock.now,
    ) -> None:
        self.timeout_s = timeout_s
        self._sampler = sampler
        self._clock = clock
        self._latest: GaugeSample | None = None
        self._task: asyncio.Task[GaugeSample] | None = None
        self._failing = False

    async def refresh(self) -> GaugeSample | None:
        """Sample now (or join the sampling in flight); None when it failed or is late."""
        task = self._task
        # A new sampling unless one is running in this loop (a test's closed loop may have
        # left one behind that will never finish).
        if task is None or task.done() or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.create_task(self._sampler(self._clock()), name="metrics-gauges")
            task.add_done_callback(_retrieve)
            self._task = task
        done, _ = await asyncio.wait({task}, timeout=self.timeout_s)
        error = None if not done else task.exception()
        if not done or error is not None:
            self._latest = None
            if not self._failing:
                reason = "timed out" if not done else repr(error)
                log.warning("metrics: database gauges unavailable", extra={"error": reason})
            self._failing = True
            return None
        self._failing = False
        self._latest = task.result()
        return self._latest

    def describe(self) -> Iterable[Metric]:
        yield GaugeMetricFamily("signaldesk_business_gauges_up", "")
        for _, name, doc in _GAUGES:
            yield GaugeMetricFamily(name, doc)

    def collect(self) -> Iterable[Metric]:
        latest = self._latest
        yield GaugeMetricFamily(
            "signaldesk_business_gauges_up",
            "1 when the last scrape read the database-derived gauges in time, else 0 (and "
            "they are absent from that scrape)",
            value=0.0 if latest is None else 1.0,
        )
        if latest is None:
            return
        for attr, name, doc in _GAUGES:
            yield GaugeMetricFamily(name, doc, value=float(getattr(latest, attr)))


def _retrieve(task: asyncio.Task[GaugeSample]) -> None:
    """Mark a late sampling's failure as seen (`refresh` reports failures it waited for)."""
    if not task.cancelled():
        task.exception()


GAUGES = DatabaseGauges()
REGISTRY.register(GAUGES)
process_metrics.REGISTRY.register(REGISTRY)


async def exposition() -> bytes:
    """Everything /metrics shows: the database-derived gauges sampled first (bounded wait),
    then the process's and these business figures in Prometheus' text format."""
    await GAUGES.refresh()
    return process_metrics.render()
