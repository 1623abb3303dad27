"""Prometheus metrics, one registry for the process (served at /metrics): how the process runs
(updates, latency, errors) here, and the business figures of `services.business_metrics`
(signals, approvals, messages, terminals, acks) served with them.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as CONTENT_TYPE

REGISTRY = CollectorRegistry(auto_describe=True)

UPDATES = Counter(
    "signaldesk_updates_total", "Telegram updates handled, by type", ["type"], registry=REGISTRY
)
HANDLER_LATENCY = Histogram(
    "signaldesk_handler_seconds",
    "Time to handle one update (middlewares + handler)",
    ["type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
    registry=REGISTRY,
)
ERRORS = Counter(
    "signaldesk_errors_total",
    "Unexpected errors, by where they happened",
    ["where"],
    registry=REGISTRY,
)
DENIED = Counter(
    "signaldesk_denied_total", "Actions refused by role checks", ["kind"], registry=REGISTRY
)
THROTTLED = Counter(
    "signaldesk_throttled_total", "Updates dropped by per-user throttling", registry=REGISTRY
)
HTTP_ERRORS = Counter(
    "signaldesk_http_problems_total", "RFC 7807 answers, by status", ["status"], registry=REGISTRY
)
HTTP_GUARD = Counter(
    "signaldesk_http_guard_total",
    "Connections and requests cut short by the HTTP read bounds, by event (header_timeout, "
    "body_timeout, over_capacity, idle_displaced, idle_closed)",
    ["event"],
    registry=REGISTRY,
)
UP = Gauge("signaldesk_up", "1 while the app runs", registry=REGISTRY)
LEADER = Gauge(
    "signaldesk_scheduler_leader",
    "1 while this replica runs the singleton jobs (sender, trading loop, housekeeping)",
    registry=REGISTRY,
)

EA_LONG_POLLS = Gauge(
    "signaldesk_ea_long_polls",
    "Terminal requests for commands (GET /ea/v1/commands, long polls) open in this process",
    registry=REGISTRY,
)


def render() -> bytes:
    """The exposition text of every registered collector (callers refresh sampled gauges first)."""
    return generate_latest(REGISTRY)


__all__ = ["CONTENT_TYPE", "render"]
