"""One recipient's failure never fails a signal for the others.

A signal event (publish, revise, a transition, an approval) does work for many recipients:
a card per user, a card per routed channel, a command per terminal. Whatever one of them
brings (a terminal's reported spec, a user's stored language, a device's settings) may hit a
bug; the work for that one recipient is then given up, the failure is recorded here (audit
row, log, rate-limited ops alert) and the event goes on for everyone else.

Only the per-recipient computation is isolated (planning, rendering, validating a payload):
database errors are not caught, so a transient one rolls the whole event back and its retry
(the trading loop's, or the user's tap) starts afresh. Catching them would also be unsafe: a
failed statement aborts a PostgreSQL transaction.
"""

from __future__ import annotations

import logging
from typing import Protocol

from services import audit
from services.text.formatting import Phrase, Term, phrase
from services.text.i18n import msgid as _

log = logging.getLogger(__name__)

STEPS = {  # what each step does, in the words of the ops alert
    "copy.open": _("isolation.step_copy_open"),
    "copy.modify": _("isolation.step_copy_modify"),
    "copy.cancel": _("isolation.step_copy_cancel"),
    "copy.close": _("isolation.step_copy_close"),
    "copy.notice": _("isolation.step_copy_notice"),
    "fanout.card": _("isolation.step_fanout_card"),
    "fanout.change": _("isolation.step_fanout_change"),
    "fanout.chart": _("isolation.step_fanout_chart"),
}


class AlertSink(Protocol):
    """Where ops alerts go (`services.ops_alerts.OpsAlerts`): rate-limited per key."""

    async def alert(self, key: str, text: Phrase) -> bool: ...


class Faults:
    """Collects the recipients given up during one signal event; `record` audits, logs and
    alerts each one. The full traceback is logged once per (step, error type) per event; the
    ops alert is keyed the same way, so a bug that hits a thousand terminals is one alert."""

    def __init__(self, alerts: AlertSink | None = None) -> None:
        self.alerts = alerts
        self.recorded: list[tuple[str, str]] = []  # (step, target), in order
        self._traced: set[tuple[str, str]] = set()

    async def record(self, step: str, target: str, signal_id: int, exc: Exception) -> None:
        """`target` (a device id, a chat id) got nothing from `step` of signal `signal_id`."""
        kind = type(exc).__name__
        error = f"{kind}: {exc}"[:300]
        self.recorded.append((step, target))
        extra = {"step": step, "target": target, "signal_id": signal_id, "error": error}
        if (step, kind) in self._traced:
            log.warning("recipient skipped after an error", extra=extra)
        else:
            self._traced.add((step, kind))
            log.error("recipient skipped after an error", extra=extra, exc_info=exc)
        await audit.record(
            "signal.isolated", actor_id=None, target=target[:128], signal_id=signal_id,
            step=step, error=error,
        )  # fmt: skip
        if self.alerts is not None:
            what = Term(STEPS[step]) if step in STEPS else step
            text = phrase(_("ops.isolated"), id=signal_id, step=what, target=target, error=error)
            await self.alerts.alert(f"isolated:{step}:{kind}", text)


def faults_of(faults: Faults | None) -> Faults:
    """The caller's collector, or a fresh one that audits and logs without alerting."""
    return faults if faults is not None else Faults()
