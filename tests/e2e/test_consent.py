"""Consent never loses the race: Approve -> disclaimer -> the signal fills, closes, expires or
is cancelled meanwhile -> "I understand and accept". Consent is stored (and audited) whatever
happened, the disclaimer is edited to say so and loses its button, and the answer tells what
became of the signal. Through the real app and the emulator.

Bundled data (tests/e2e/test_signals.py, test_ea_loop.py): bar 37 publishes a SELL that bar 60
fills and stops out (bar 60 also publishes a BUY); bar 168 publishes a BUY (entry 1.08992) that
bar 173 fills.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from models.audit import AuditLog
from models.signals import Approval, Consent, Signal, SignalStatus
from models.users import User
from services import app_settings
from services.signals import lifecycle as signals
from tests.e2e import test_access
from tests.e2e.conftest import OWNER, SUB
from tests.e2e.test_access import press
from tests.e2e.test_signals import Pipeline, buttons, caption, card_of

ACCEPT = "I understand and accept"
pipeline = test_access.pipeline  # the app with the bundled bars and an hour-long user cache


async def disclaimer_for(pipeline: Pipeline, signal_id: int) -> dict:
    tg = pipeline.tg
    card = await card_of(tg, SUB, signal_id)
    await tg.press(SUB, SUB, card["message_id"], text="✅ Approve")
    return await tg.wait_for(SUB, lambda m: "Risk disclaimer" in caption(m), timeout=10)


async def consent_recorded(version: str = "2026-11") -> bool:
    user = await User.get(telegram_id=SUB)
    audited = await AuditLog.filter(action="disclaimer.accepted", actor_id=SUB).count()
    return await Consent.exists(user_id=user.id, version=version) and audited == 1


async def edited(pipeline: Pipeline, message: dict, expect: str) -> dict:
    return await pipeline.tg.wait_for(
        SUB, lambda m: m["message_id"] == message["message_id"] and expect in caption(m),
        timeout=10, after_seq=0,
    )  # fmt: skip


async def _close_at_bar_60(pipeline: Pipeline, signal_id: int) -> None:
    await pipeline.push_until(60)


async def _expire(pipeline: Pipeline, signal_id: int) -> None:
    await signals.transition(signal_id, SignalStatus.EXPIRED)


async def _cancel(pipeline: Pipeline, signal_id: int) -> None:
    await signals.cancel(signal_id, actor_id=OWNER)


@pytest.mark.parametrize(
    ("meanwhile", "status", "explained"),
    [
        (_close_at_bar_60, SignalStatus.CLOSED, "had already closed when you accepted"),
        (_expire, SignalStatus.EXPIRED, "expired before you accepted"),
        (_cancel, SignalStatus.CANCELLED, "was cancelled before you accepted"),
    ],
    ids=["closed", "expired", "cancelled"],
)
async def test_consent_after_the_signal_ended_is_recorded_and_explained(
    pipeline: Pipeline, meanwhile, status: SignalStatus, explained: str
) -> None:
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD", side="sell")
    disclaimer = await disclaimer_for(pipeline, sig.id)
    await meanwhile(pipeline, sig.id)
    assert (await Signal.get(id=sig.id)).status == status

    answer = await press(pipeline.tg, SUB, disclaimer, ACCEPT)
    assert answer["show_alert"] and answer["text"].startswith("Your consent is recorded.")
    assert f"Signal #{sig.id} {explained}, so it was not approved." in answer["text"]
    assert await consent_recorded()
    assert not await Approval.exists(signal_id=sig.id)
    message = await edited(pipeline, disclaimer, "is recorded")
    assert explained in caption(message) and "version 2026-11" in caption(message)
    assert buttons(message) == []  # no button left to wonder about


async def test_consent_after_the_signal_filled_says_it_filled_and_nothing_was_sent(
    pipeline: Pipeline,
) -> None:
    await pipeline.push_until(168)
    sig = await Signal.filter(side="buy", status=SignalStatus.PUBLISHED).order_by("-id").first()
    assert sig is not None and sig.entry == Decimal("1.08992")
    disclaimer = await disclaimer_for(pipeline, sig.id)
    await pipeline.push_until(173)  # fills the BUY: the strategy's trade is open
    assert (await Signal.get(id=sig.id)).status == SignalStatus.FILLED

    answer = await press(pipeline.tg, SUB, disclaimer, ACCEPT)
    expected = f"Signal #{sig.id} filled at 1.08992 before you accepted, so it was not approved"
    assert expected in answer["text"] and "Your consent is recorded." in answer["text"]
    message = await edited(pipeline, disclaimer, expected)
    assert buttons(message) == []
    assert await consent_recorded() and not await Approval.exists(signal_id=sig.id)

    # consent is kept: the next signal is approved with one tap, no disclaimer again
    await pipeline.push_until(270)
    fresh = await Signal.filter(status=SignalStatus.PUBLISHED).order_by("-id").first()
    assert fresh is not None
    card = await card_of(pipeline.tg, SUB, fresh.id)
    answer = await press(pipeline.tg, SUB, card, "✅ Approve")
    assert f"You approved signal #{fresh.id}" in answer["text"]
    assert await Approval.exists(signal_id=fresh.id, decision="approved")


async def test_consent_while_the_signal_is_open_approves_it_as_before(pipeline: Pipeline) -> None:
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD", side="sell")
    disclaimer = await disclaimer_for(pipeline, sig.id)
    answer = await press(pipeline.tg, SUB, disclaimer, ACCEPT)
    assert answer["text"].startswith(f"✅ You approved signal #{sig.id}.")
    message = await edited(pipeline, disclaimer, "is recorded")
    assert buttons(message) == [] and "not approved" not in caption(message)
    assert await consent_recorded()
    approval = await Approval.get(signal_id=sig.id)
    assert approval.decision == "approved" and approval.consent_version == "2026-11"


async def test_a_disclaimer_changed_meanwhile_is_shown_again_before_anything_is_recorded(
    pipeline: Pipeline,
) -> None:
    await pipeline.push_until(37)
    sig = await Signal.get(symbol="EURUSD", side="sell")
    disclaimer = await disclaimer_for(pipeline, sig.id)
    await app_settings.put("risk.disclaimer_version", "2027-01")

    answer = await press(pipeline.tg, SUB, disclaimer, ACCEPT)
    assert "updated to version 2027-01" in answer["text"]
    assert not await Consent.exists() and not await Approval.exists()
    renewed = await edited(pipeline, disclaimer, "version 2027-01")
    assert buttons(renewed) == [ACCEPT]

    answer = await press(pipeline.tg, SUB, renewed, ACCEPT)
    assert answer["text"].startswith(f"✅ You approved signal #{sig.id}.")
    assert await consent_recorded("2027-01")
    assert (await Approval.get(signal_id=sig.id)).consent_version == "2027-01"
