"""Producers and their signals through the services: registration, the /post checks per
field, dedupe (also under 20 concurrent identical posts), policy, hold and confirm, revise and
withdraw, the card's label and the per-producer figures."""

from __future__ import annotations

import asyncio
import contextvars
from decimal import Decimal as D

import pytest

from models.ingest import HeldSignal, HeldStatus, Producer, ProducerMode
from models.notifications import Notification
from models.signals import Signal, SignalSource, SignalStatus
from services.analytics import producers as figures
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.ingest import intake, producers
from services.ingest.intake import FieldError, RateLimited
from services.signals import lifecycle
from services.signals.manual_checks import ManualLimits
from services.signals.views import full_text
from services.terminals import secrets as secret_box
from tests.ingest.conftest import OWNER, feed, producer, signal

LIMITS = ManualLimits()
OWNERS = frozenset({OWNER})


async def post(info: producers.ProducerInfo, s: intake.SignalIn) -> intake.Outcome:
    return await intake.ingest(info, s, LIMITS, owners=OWNERS)


async def test_register_shows_the_secret_once_and_stores_it_sealed(database: str) -> None:
    made = await producer(tradingview=True, allowed_sources=["10.0.0.0/8"])
    row = await Producer.get(producer_id=made.info.producer_id)
    assert made.secret not in row.secret_enc and made.tv_token is not None
    assert secret_box.unseal(row.secret_enc, context=row.producer_id) == made.secret
    assert row.tv_token_hash == producers.token_hash(made.tv_token) != made.tv_token
    assert made.info.symbols == ("EURUSD", "XAUUSD") and made.info.allowed_sources == (
        "10.0.0.0/8",
    )
    assert [p.producer_id for p in await producers.list_all()] == [made.info.producer_id]
    assert "secret" not in repr(made)


@pytest.mark.parametrize(
    ("kw", "key"),
    [
        ({"symbols": ()}, "ingest.error_no_symbols"),
        ({"symbols": ("BTCXYZ",)}, "error.symbol_unknown"),
        ({"allowed_sources": ["not-an-ip"]}, "ingest.error_source"),
        ({"rate_per_hour": 0}, "ingest.error_rate"),
        ({"name": " "}, "ingest.error_name"),
        ({"name": "bell\x07"}, "ingest.error_name"),
        ({"name": "\x1b[31mred"}, "ingest.error_name"),
        ({"name": "x" * (producers.MAX_NAME + 1)}, "ingest.error_name"),
    ],
)
async def test_registration_refuses_bad_values(database: str, kw: dict, key: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await producer(**kw)
    assert err.value.key == key


async def test_pause_rotate_revoke(database: str) -> None:
    made = await producer()
    pid = made.info.producer_id
    assert (await producers.set_paused(pid, True, actor_id=OWNER)).state == "paused"
    rotated = await producers.rotate(pid, actor_id=OWNER)
    assert rotated.secret != made.secret
    auth = await producers.for_auth(pid)
    assert auth is not None and auth.secret == rotated.secret
    assert (await producers.revoke(pid, actor_id=OWNER)).state == "revoked"
    assert await producers.for_auth(pid) is None
    with pytest.raises(InvalidInput):
        await producers.rotate(pid, actor_id=OWNER)


@pytest.mark.parametrize("producer_id", ["prd_nope", "prd_" + "9" * 200, ""])
async def test_an_unknown_id_is_not_found_by_every_function_that_takes_one(
    database: str, producer_id: str
) -> None:
    """Also an id longer than the column (typed by hand in /producers or the CLI)."""
    calls = [
        producers.get(producer_id),
        producers.set_paused(producer_id, True, actor_id=OWNER),
        producers.set_mode(producer_id, ProducerMode.HOLD, actor_id=OWNER),
        producers.rotate(producer_id, actor_id=OWNER),
        producers.revoke(producer_id, actor_id=OWNER),
    ]
    for call in calls:
        with pytest.raises(NotFound) as err:
            await call
        assert err.value.key == "ingest.error_unknown"
    assert await producers.for_auth(producer_id) is None


async def test_a_post_publishes_through_the_lifecycle_and_a_repeat_changes_nothing(
    database: str,
) -> None:
    await feed()
    made = await producer()
    first = await post(made.info, signal(note="Breakout"))
    assert first.created and first.status == "published" and first.signal_id is not None
    row = await Signal.get(id=first.signal_id)
    assert (row.source, row.producer_id, row.external_id, row.via) == (  # type: ignore[attr-defined]
        SignalSource.EXTERNAL, made.info.id, "s-1", "Gold breakout",
    )  # fmt: skip
    assert (row.entry, row.stop, row.take_profit) == (D("1.08000"), D("1.07500"), D("1.09500"))
    again = await post(made.info, signal(entry=D("1.0810")))
    assert (again.created, again.signal_id) == (False, first.signal_id)
    assert await Signal.filter(producer_id=made.info.id).count() == 1
    view = await lifecycle.get(first.signal_id)
    from services.app_settings import Visibility

    assert "via Gold breakout" in full_text(view, "en", Visibility.FULL)
    assert "vía Gold breakout" in full_text(view, "es", Visibility.FULL)


async def test_twenty_concurrent_identical_posts_are_one_signal(database: str) -> None:
    await feed()
    made = await producer(rate_per_hour=100)
    outcomes = await asyncio.gather(*(post(made.info, signal("dup")) for _ in range(20)))
    ids = {o.signal_id for o in outcomes}
    assert len(ids) == 1 and None not in ids
    assert sum(o.created for o in outcomes) == 1
    assert await Signal.filter(producer_id=made.info.id).count() == 1


@pytest.mark.parametrize(
    ("kw", "field", "key"),
    [
        ({"entry": D("1.2000")}, "entry", "error.manual_entry_far"),
        ({"entry": D("0.000001")}, "entry", "error.manual_below_tick"),
        ({"side": "hold"}, "side", "error.signal_side"),
        ({"stop": D("1.0900")}, "stop", "error.manual_stop_side_buy"),
        ({"stop": D("1.07998")}, "stop", "error.manual_stop_close"),
        ({"take_profit": D("1.0700")}, "take_profit", "error.manual_tp_side_buy"),
        ({"take_profit": None, "reward_risk": D("50")}, "reward_risk", "error.manual_rr_range"),
        ({"expiry_hours": 0}, "expiry_hours", "error.expiry_invalid"),
        ({"symbol": "XAUUSD"}, "symbol", "error.manual_no_feed"),
    ],
)
async def test_every_post_check_names_its_field(
    database: str, kw: dict, field: str, key: str
) -> None:
    await feed()
    made = await producer()
    with pytest.raises(FieldError) as err:
        await post(made.info, signal(**kw))
    assert (err.value.field, err.value.key) == (field, key)
    assert not await Signal.exists()


async def test_market_orders_and_reward_risk(database: str) -> None:
    await feed()
    made = await producer()
    out = await post(
        made.info,
        signal(order_type="market", entry=None, stop=D("1.0800"), take_profit=None,
               reward_risk=D("2")),
    )  # fmt: skip
    row = await Signal.get(id=out.signal_id)
    assert (row.entry, row.stop, row.take_profit) == (D("1.08412"), D("1.08000"), D("1.09236"))


async def test_policy_symbol_paused_and_rate(database: str) -> None:
    await feed()
    made = await producer(symbols=("XAUUSD",), rate_per_hour=2)
    with pytest.raises(FieldError) as err:
        await post(made.info, signal())
    assert err.value.field == "symbol" and err.value.key == "ingest.error_symbol"
    other = await producer("Two", rate_per_hour=2)
    await post(other.info, signal("a"))
    await post(other.info, signal("b"))
    with pytest.raises(RateLimited):
        await post(other.info, signal("c"))
    assert (await post(other.info, signal("a"))).created is False  # a repeat is no new signal
    paused = await producers.set_paused(other.info.producer_id, True, actor_id=OWNER)
    with pytest.raises(PermissionDenied):
        await post(paused, signal("d"))


async def test_hold_waits_for_the_owner_then_confirm_publishes_once(database: str) -> None:
    await feed()
    made = await producer(mode=ProducerMode.HOLD)
    held = await post(made.info, signal())
    assert (held.created, held.status, held.signal_id) == (True, "held", None)
    assert not await Signal.exists()
    note = await Notification.get(chat_id=OWNER)
    assert "Gold breakout" in note.payload["text"] and "held:" in str(note.payload)
    assert (await post(made.info, signal())).held_id == held.held_id  # repeat: same one
    assert held.held_id is not None
    view = await intake.confirm(held.held_id, OWNER, LIMITS)
    again = await intake.confirm(held.held_id, OWNER, LIMITS)
    assert view.id == again.id and await Signal.filter(producer_id=made.info.id).count() == 1
    assert (await HeldSignal.get(id=held.held_id)).status is HeldStatus.CONFIRMED
    other = await post(made.info, signal("s-2"))
    assert other.held_id is not None and await intake.discard(other.held_id, OWNER)
    assert not await intake.discard(other.held_id, OWNER)
    with pytest.raises(InvalidInput):
        await intake.confirm(other.held_id, OWNER, LIMITS)


async def test_a_discard_tapped_while_the_confirm_publishes_loses(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two owners tap at once: Confirm has claimed the held signal and is publishing it when
    the other owner's Discard arrives. The Discard answers 'decided already' (it was not
    discarded: the signal went out), never 'discarded' over a published signal."""
    await feed()
    made = await producer(mode=ProducerMode.HOLD)
    held = await post(made.info, signal())
    assert held.held_id is not None
    elsewhere = contextvars.copy_context()  # the other owner's tap: not inside our transaction
    real = intake.manual.publish_external
    racing: list[asyncio.Task[intake.HeldDecision]] = []

    async def publishing(*args: object, **kwargs: object) -> object:
        racing.append(asyncio.get_running_loop().create_task(
            intake.decide(held.held_id, False, OWNER + 1, LIMITS), context=elsewhere,
        ))  # fmt: skip
        for _ in range(5):
            await asyncio.sleep(0)  # let the Discard run as far as it can
        return await real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake.manual, "publish_external", publishing)
    confirmed = await intake.decide(held.held_id, True, OWNER, LIMITS)
    discarded = await racing[0]
    assert (confirmed.done, confirmed.confirmed) == (True, True)
    assert (discarded.done, discarded.confirmed) == (False, True)
    row = await HeldSignal.get(id=held.held_id)
    assert (row.status, row.signal_id, row.decided_by) == (  # type: ignore[attr-defined]
        HeldStatus.CONFIRMED,
        confirmed.signal_id,
        OWNER,
    )
    assert await Signal.filter(producer_id=made.info.id).count() == 1


async def test_confirm_and_discard_at_once_agree_with_what_happened(database: str) -> None:
    """Whichever wins, exactly one tap is done, and the other's answer and the stored state
    say the same: discarded and nothing published, or published once and confirmed."""
    await feed()
    made = await producer(mode=ProducerMode.HOLD)
    for n in range(6):
        held = await post(made.info, signal(f"race-{n}"))
        assert held.held_id is not None
        taps = [intake.decide(held.held_id, True, OWNER, LIMITS),
                intake.decide(held.held_id, False, OWNER + 1, LIMITS)]  # fmt: skip
        if n % 2:
            confirm, discard = await asyncio.gather(*taps)
        else:  # the Discard started first
            discard, confirm = await asyncio.gather(*taps[::-1])
        assert confirm.done != discard.done
        published = await Signal.filter(producer_id=made.info.id, external_id=f"race-{n}").count()
        status = (await HeldSignal.get(id=held.held_id)).status
        if confirm.done:
            assert (published, status, discard.confirmed) == (1, HeldStatus.CONFIRMED, True)
        else:
            assert (published, status, confirm.confirmed) == (0, HeldStatus.DISCARDED, False)


async def test_revise_and_withdraw_by_external_id(database: str) -> None:
    await feed()
    made = await producer()
    out = await post(made.info, signal())
    view = await intake.revise(made.info, "s-1", {"stop": D("1.0760")}, LIMITS)
    assert (view.version, view.stop) == (2, D("1.07600"))
    with pytest.raises(FieldError):
        await intake.revise(made.info, "s-1", {"stop": D("1.0900")}, LIMITS)
    assert await intake.withdraw(made.info, "s-1") == "cancelled"
    assert (await Signal.get(id=out.signal_id)).status is SignalStatus.CANCELLED
    with pytest.raises(InvalidInput):
        await intake.revise(made.info, "s-1", {"stop": D("1.0760")}, LIMITS)
    other = await producer("Other")
    with pytest.raises(NotFound):  # another producer's id is not found
        await intake.withdraw(other.info, "s-1")


async def test_per_producer_figures(database: str) -> None:
    await feed()
    a, b = await producer("A"), await producer("B")
    for i, r in enumerate(("2.0", "-1.0", "1.5")):
        out = await post(a.info, signal(f"a{i}"))
        assert out.signal_id is not None
        await lifecycle.transition(out.signal_id, SignalStatus.FILLED)
        await Signal.filter(id=out.signal_id).update(result_r=D(r), status=SignalStatus.CLOSED)
    await post(b.info, signal("b0"))
    got = await figures.figures()
    assert (got[a.info.id].signals, got[a.info.id].closed, got[a.info.id].wins) == (3, 3, 2)
    assert got[a.info.id].total_r == D("2.5") and got[a.info.id].win_rate == D("0.6667")
    assert (got[b.info.id].signals, got[b.info.id].closed, got[b.info.id].win_rate) == (1, 0, None)
