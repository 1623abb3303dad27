"""Consent to the risk disclaimer, given under a signal the user wanted to approve.

Approve -> disclaimer -> "I understand and accept" can take the user a while, and the signal
may fill, expire, be replaced or cancelled meanwhile. Consent is about the user, not the signal:
it is recorded (and audited) whatever happened to the signal, and the approval is then tried as
a separate step. The outcome says both, so the user can tell that consent was saved and why the
signal was, or was not, approved.

The disclaimer's button carries a digest of the version shown (`version_tag`): if the owner
changed the disclaimer meanwhile, nothing is recorded and `DisclaimerOutdated` carries the
version to show instead, so nobody accepts a text they never saw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from models.signals import ApprovalSource, Decision
from services import app_settings
from services.errors import InvalidInput, PermissionDenied
from services.isolation import AlertSink
from services.signals import approvals
from services.signals import lifecycle as signals
from services.signals.approvals import ApprovalResult, SignalNotOpen
from services.signals.views import SignalView
from services.text.i18n import msgid as _
from services.users.profiles import UserInfo


class DisclaimerOutdated(InvalidInput):
    def __init__(self, current: str) -> None:
        super().__init__(_("error.disclaimer_outdated"), version=current)
        self.current = current


@dataclass(frozen=True, slots=True)
class ConsentOutcome:
    """Consent to `version` is recorded; `approval` is None when the signal was not approved
    (it left its window: see `signal.status`; or the user is not entitled: `entitled`)."""

    version: str
    signal: SignalView
    approval: ApprovalResult | None
    entitled: bool = True


def version_tag(version: str) -> str:
    """A short, callback-safe digest of a disclaimer version (8 hex digits)."""
    return hashlib.sha256(version.encode()).hexdigest()[:8]


async def accept_and_approve(
    user: UserInfo,
    signal_id: int,
    tag: str | None,
    *,
    alerts: AlertSink | None = None,
    source: ApprovalSource = ApprovalSource.CHAT,
) -> ConsentOutcome:
    """Record consent to the version the user read (`tag`; None: the current one, for buttons
    made before versions were tagged), then approve the signal if it is still open."""
    current = await app_settings.disclaimer_version()
    if tag is not None and tag != version_tag(current):
        raise DisclaimerOutdated(current)
    await approvals.accept_disclaimer(user, current)
    try:
        result = await approvals.decide(user, signal_id, Decision.APPROVED, source, alerts=alerts)
    except SignalNotOpen as exc:
        return ConsentOutcome(current, exc.signal, None)
    except PermissionDenied:
        return ConsentOutcome(current, await signals.get(signal_id), None, entitled=False)
    if result.needs_consent is not None:  # the version changed between the two steps
        raise DisclaimerOutdated(result.needs_consent)
    return ConsentOutcome(current, result.signal, result)
