"""Consent to the risk disclaimer under a signal: recorded whatever the signal did, never for
a version the user did not see; its button fits Telegram's 64 bytes for any version."""

from __future__ import annotations

import pytest

from models.audit import AuditLog
from models.signals import Approval, Consent, SignalStatus
from models.users import Role
from services import app_settings
from services.signals import consent
from services.signals import lifecycle as signals
from services.signals.callbacks import ConsentCB
from services.signals.consent import DisclaimerOutdated
from tests.services.terminals import helpers as th

SUB = 901


@pytest.mark.parametrize("version", ["2026-11", "v1:2 (legal: ünïcode)", "x" * 300])
def test_the_button_fits_64_bytes_whatever_the_version(version: str) -> None:
    tag = consent.version_tag(version)
    assert len(tag) == 8 and tag == consent.version_tag(version)
    data = ConsentCB(signal_id=2**31 - 1, version=tag).pack()
    assert len(data.encode()) <= 64
    assert ConsentCB.unpack(data).version == tag


async def test_a_user_demoted_meanwhile_still_has_his_consent_recorded(database: str) -> None:
    sam = await th.user(SUB, Role.PUBLIC)
    view = await th.publish()
    outcome = await consent.accept_and_approve(sam, view.id, consent.version_tag("2026-11"))
    assert (outcome.approval, outcome.entitled, outcome.version) == (None, False, "2026-11")
    assert await Consent.exists(user_id=sam.id, version="2026-11")
    assert not await Approval.exists()


async def test_an_outdated_version_records_nothing(database: str) -> None:
    sam = await th.user(SUB)
    view = await th.publish()
    await app_settings.put("risk.disclaimer_version", "2027-01")
    with pytest.raises(DisclaimerOutdated) as raised:
        await consent.accept_and_approve(sam, view.id, consent.version_tag("2026-11"))
    assert raised.value.current == "2027-01"
    assert not await Consent.exists() and not await Approval.exists()


async def test_consent_survives_a_signal_that_ended_and_is_audited_once(database: str) -> None:
    sam = await th.user(SUB)
    view = await th.publish()
    await signals.transition(view.id, SignalStatus.REPLACED)
    for _ in range(2):  # a double tap records once
        outcome = await consent.accept_and_approve(sam, view.id, None)
        assert outcome.approval is None and outcome.signal.status is SignalStatus.REPLACED
    assert await Consent.filter(user_id=sam.id).count() == 1
    assert await AuditLog.filter(action="disclaimer.accepted").count() == 1
