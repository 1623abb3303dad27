"""The owner's /producers command and the Confirm / Discard buttons of a held signal: through the
real dispatcher (recorded Bot API calls) for the command, its refusals and the roles; through
the real app and the Telegram emulator over HTTP for the held flow end to end."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from decimal import Decimal as D
from typing import Any

import aiohttp
import pytest

from bot.app import AppRunner
from core.crypto import sign_request
from handlers.producers import ProducerCB
from models.audit import AuditLog
from models.ingest import HeldSignal, HeldStatus, Producer, ProducerMode
from models.signals import Signal, SignalStatus
from models.users import Role
from services.ingest import intake, producers
from services.signals.callbacks import HeldCB
from services.signals.manual_checks import ManualLimits
from services.terminals import secrets as secret_box
from services.users import profiles as users_service
from tests.e2e.conftest import text
from tests.handlers.test_devices import Harness
from tests.handlers.test_shop import harness
from tests.ingest.conftest import ADMIN, OTTO, OWNER, SUB, feed, signal
from tgemu import EmulatorClient

PUBLIC_URL = "https://desk.example.com"
LIMITS = ManualLimits()


@pytest.fixture
async def h(database: str) -> AsyncIterator[Harness]:
    await users_service.seed(OWNER, "Olivia", "olivia", Role.OWNER)
    await users_service.seed(ADMIN, "Adam", "adam", Role.ADMIN)
    await users_service.seed(SUB, "Sam", "sam", Role.SUBSCRIBER)
    yield await harness(owner_ids=str(OWNER), public_url=PUBLIC_URL, symbols="EURUSD,XAUUSD")


async def only(pid: str) -> Producer:
    return await Producer.get(producer_id=pid)


async def add(h: Harness, args: str) -> tuple[str, Producer]:
    (reply,) = await h.send(OWNER, f"/producers add {args}")
    row = await Producer.all().order_by("-id").first()
    assert row is not None, reply
    return reply, row


def test_callback_data_fits_telegrams_64_bytes() -> None:
    longest = ProducerCB(action="revoke", producer_id="prd_" + "f" * 16)
    assert len(longest.pack().encode()) <= 64
    assert len(HeldCB(action="discard", held_id=2**31 - 1).pack().encode()) <= 64


async def test_add_shows_the_id_and_the_secret_once(h: Harness) -> None:
    reply, row = await add(h, "Gold breakout --symbols XAUUSD,EURUSD --rate 30")
    secret = secret_box.unseal(row.secret_enc, context=row.producer_id)
    assert reply == (
        "Producer <b>Gold breakout</b> registered.\n"
        f"ID: <code>{row.producer_id}</code>\n"
        f"Secret: <code>{secret}</code>\n"
        "The secret is shown only this once: store it with the producer now."
    )
    assert (row.name, row.symbols, row.rate_per_hour) == (
        "Gold breakout",
        ["EURUSD", "XAUUSD"],
        30,
    )
    assert (row.mode, row.tv_token_hash, row.created_by) == (ProducerMode.PUBLISH, None, OWNER)
    assert secret not in row.secret_enc
    (listing,) = await h.send(OWNER, "/producers")
    assert secret not in listing and row.producer_id in listing


async def test_add_with_tv_and_hold_shows_the_alert_url(h: Harness) -> None:
    reply, row = await add(h, "--hold Pine script --tv")
    assert row.name == "Pine script" and row.mode == ProducerMode.HOLD
    assert row.symbols == ["EURUSD", "XAUUSD"], "without --symbols: the strategy's symbols"
    url = reply.split("<code>")[-1].removesuffix("</code>")
    assert reply.endswith(
        f"TradingView alert URL (shown once, keep it private): <code>{url}</code>"
    )
    token = url.removeprefix(f"{PUBLIC_URL}{producers.TV_PATH}")
    assert token != url and row.tv_token_hash == producers.token_hash(token)
    found = await producers.for_tradingview(token)
    assert found is not None and found.producer_id == row.producer_id


async def test_the_list_shows_each_producer_with_its_figures(h: Harness) -> None:
    (empty,) = await h.send(OWNER, "/producers")
    assert empty.startswith("No producers yet.\n\n/producers: the list")
    await feed()
    _, gold = await add(h, "Gold <b>breakout</b> --symbols XAUUSD,EURUSD --rate 30")
    _, pine = await add(h, "Pine --tv --hold")
    info = await producers.get(gold.producer_id)
    for n in (1, 2, 3):
        await intake.ingest(info, signal(f"s-{n}"), LIMITS, owners=frozenset({OWNER}))
    first, second, _ = await Signal.filter(producer_id=gold.id).order_by("id")
    await Signal.filter(id=first.id).update(status=SignalStatus.CLOSED, result_r=D("3.25"))
    await Signal.filter(id=second.id).update(status=SignalStatus.CLOSED, result_r=D("-1"))
    await producers.set_paused(pine.producer_id, True, actor_id=OWNER)
    (listing,) = await h.send(OWNER, "/producers")
    assert listing == (
        "<b>Producers</b>\n\n"
        f"<b>Gold &lt;b&gt;breakout&lt;/b&gt;</b> · <code>{gold.producer_id}</code> · active\n"
        "publishes at once · EURUSD, XAUUSD · 30 per hour\n"
        "3 signals, 2 closed, 1 won, +2.25 R\n\n"
        f"<b>Pine</b> · <code>{pine.producer_id}</code> · paused\n"
        "holds each signal for your confirmation · EURUSD, XAUUSD · 60 per hour"
        " · TradingView alerts\n"
        "0 signals, 0 closed, 0 won, 0.00 R"
    )


async def test_pause_resume_mode_and_rotate(h: Harness) -> None:
    _, row = await add(h, "Gold breakout --symbols XAUUSD")
    pid, old = row.producer_id, secret_box.unseal(row.secret_enc, context=row.producer_id)
    assert await h.send(OWNER, f"/producers pause {pid}") == [
        "Gold breakout is paused: its signals are refused until you resume it."
    ]
    assert (await only(pid)).paused
    assert await h.send(OWNER, f"/producers resume {pid}") == ["Gold breakout publishes again."]
    assert not (await only(pid)).paused
    assert await h.send(OWNER, f"/producers mode {pid} HOLD") == [
        "Gold breakout: holds each signal for your confirmation."
    ]
    assert (await only(pid)).mode == ProducerMode.HOLD
    assert await h.send(OWNER, f"/producers mode {pid} publish") == [
        "Gold breakout: publishes at once."
    ]
    assert (await only(pid)).mode == ProducerMode.PUBLISH
    (rotated,) = await h.send(OWNER, f"/producers rotate {pid}")
    auth = await producers.for_auth(pid)
    assert auth is not None and auth.secret != old
    assert rotated == (
        f"New secret for <b>Gold breakout</b>: <code>{auth.secret}</code>\n"
        "Shown only this once; the old one no longer works."
    )
    actions = await AuditLog.filter(target=pid).order_by("id").values_list("action", flat=True)
    assert actions == ["producer.registered", "producer.paused", "producer.resumed",
                       "producer.mode", "producer.mode", "producer.rotated"]  # fmt: skip


async def test_rotate_with_tv_shows_a_new_alert_url(h: Harness) -> None:
    first, row = await add(h, "Pine --tv")
    old_token = first.split("<code>")[-1].removesuffix("</code>").rsplit("/", 1)[-1]
    (rotated,) = await h.send(OWNER, f"/producers rotate {row.producer_id}")
    token = rotated.split("<code>")[-1].removesuffix("</code>").rsplit("/", 1)[-1]
    assert f"<code>{PUBLIC_URL}{producers.TV_PATH}{token}</code>" in rotated and token != old_token
    assert await producers.for_tradingview(old_token) is None
    assert await producers.for_tradingview(token) is not None


async def test_revoke_asks_first_and_the_button_revokes(h: Harness) -> None:
    _, row = await add(h, "Gold breakout --tv")
    pid = row.producer_id
    (question,) = await h.send(OWNER, f"/producers revoke {pid}")
    assert question.startswith(f"Revoke <b>Gold breakout</b> (<code>{pid}</code>)?")
    assert h.last_markup() == [
        ("🗑 Revoke", ProducerCB(action="revoke", producer_id=pid).pack()),
        ("Keep it", ProducerCB(action="keep", producer_id=pid).pack()),
    ]
    assert not (await only(pid)).revoked, "nothing before the button"
    done = "Gold breakout is revoked: its secret and alert URL no longer work."
    assert await h.press(OWNER, ProducerCB(action="revoke", producer_id=pid).pack()) == [
        done, done
    ]  # fmt: skip
    stored = await only(pid)
    assert stored.revoked and stored.tv_token_hash is None
    assert await producers.for_auth(pid) is None
    # a second tap (the old message, another owner's copy) revokes nothing more
    assert await h.press(OWNER, ProducerCB(action="revoke", producer_id=pid).pack()) == [
        done, done
    ]  # fmt: skip
    assert await AuditLog.filter(action="producer.revoked", target=pid).count() == 1
    for args in (f"pause {pid}", f"resume {pid}", f"rotate {pid}", f"mode {pid} hold",
                 f"revoke {pid}"):  # fmt: skip
        assert await h.send(OWNER, f"/producers {args}") == [f"Producer {pid} is revoked."], args
    asked = [c for c in h.session.of("SendMessage") if getattr(c, "reply_markup", None)]
    assert len(asked) == 1, "a revoked producer is not offered for revoking again"


async def test_keep_leaves_the_producer_as_it_was(h: Harness) -> None:
    _, row = await add(h, "Gold breakout")
    await h.send(OWNER, f"/producers revoke {row.producer_id}")
    kept = "Gold breakout stays as it was."
    assert await h.press(OWNER, ProducerCB(action="keep", producer_id=row.producer_id).pack()) == [
        kept, kept
    ]  # fmt: skip
    assert not (await only(row.producer_id)).revoked


USAGE = "/producers: the list, with each producer's figures\n/producers add NAME"


@pytest.mark.parametrize(
    "args",
    [
        "add", "add --hold", "add Gold --colour red", "add Gold --symbols", "add Gold --rate",
        "add Gold --rate --tv", "pause", "pause a b", "revoke", "mode prd_x", "mode prd_x fast",
        "rename prd_x Silver", "list",
    ],
)  # fmt: skip
async def test_bad_arguments_get_the_usage(h: Harness, args: str) -> None:
    (reply,) = await h.send(OWNER, f"/producers {args}")
    assert reply.startswith(USAGE)
    assert not await Producer.exists()


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("add Gold --symbols BTCXYZ", "Unknown symbol “BTCXYZ”"),
        ("add Gold --symbols ,", "Name at least one symbol the producer may publish."),
        ("add Gold --rate 0", "“0” is not a whole number from 1 to 10000: send digits only."),
        ("add Gold --rate 1e3", "“1e3” is not a whole number from 1 to 10000: send digits only."),
        ("add Gold --rate 10001", "“10001” is not a whole number from 1 to 10000"),
        ("add " + "x" * 65, "A producer's name has 1 to 64 characters, without control"),
        ("pause prd_nope", "No producer prd_nope."),
        ("resume prd_nope", "No producer prd_nope."),
        ("rotate prd_nope", "No producer prd_nope."),
        ("revoke prd_nope", "No producer prd_nope."),
        ("mode prd_nope hold", "No producer prd_nope."),
        ("pause prd_" + "9" * 200, "No producer prd_9999999999999999999999999999999999"),
    ],
)
async def test_refusals_say_why(h: Harness, args: str, reply: str) -> None:
    (answer,) = await h.send(OWNER, f"/producers {args}")
    assert answer.startswith(reply)
    assert not await Producer.exists()


async def test_a_refusal_in_the_owners_language(h: Harness) -> None:
    await users_service.set_language(OWNER, "es")
    (unknown,) = await h.send(OWNER, "/producers pause prd_nope")
    assert unknown == "No existe el productor prd_nope."
    (usage,) = await h.send(OWNER, "/producers add")
    assert usage.startswith("/producers: la lista")


DENIED = "Sorry, this action is not available for your account."


@pytest.mark.parametrize("who", [SUB, ADMIN])
async def test_only_the_owner_may_use_producers_or_their_buttons(h: Harness, who: int) -> None:
    await feed()
    made = await producers.register("Gold breakout", ["EURUSD"], mode=ProducerMode.HOLD)
    pid = made.info.producer_id
    held = await intake.ingest(made.info, signal(), LIMITS, owners=frozenset({OWNER}))
    assert held.held_id is not None
    before = await Producer.get(producer_id=pid).values()
    for args in ("", "add Silver", f"pause {pid}", f"rotate {pid}", f"revoke {pid}",
                 f"mode {pid} publish"):  # fmt: skip
        assert await h.send(who, f"/producers {args}".strip()) == [DENIED], args
    forged = [
        ProducerCB(action="revoke", producer_id=pid),
        ProducerCB(action="keep", producer_id=pid),
        HeldCB(action="confirm", held_id=held.held_id),
        HeldCB(action="discard", held_id=held.held_id),
    ]
    for data in forged:
        assert await h.press(who, data.pack()) == [DENIED], data
    assert await Producer.get(producer_id=pid).values() == before
    assert await Producer.all().count() == 1
    assert (await HeldSignal.get(id=held.held_id)).status is HeldStatus.HELD
    assert not await Signal.exists()
    denied = await AuditLog.filter(action="access.denied", actor_id=who).count()
    assert denied == 10


# -- the held flow end to end: the real app over HTTP, the owners and Sam in the emulator ------

API = "/api/v1/signals"
CONFIRM, DISCARD = "✅ Publish", "✖️ Discard"


def labels(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def post_signal(runner: AppRunner, pid: str, secret: str, body: dict[str, Any]) -> dict:
    raw = json.dumps(body).encode()
    headers = {"Content-Type": "application/json", "X-Producer-Id": pid}
    headers |= sign_request(secret, "POST", API, raw)
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{runner.base_url}{API}", data=raw, headers=headers) as resp,
    ):
        assert resp.status == 201, await resp.text()
        return dict(await resp.json())


async def withdraw_signal(runner: AppRunner, pid: str, secret: str, external_id: str) -> str:
    path = f"{API}/{external_id}"
    headers = {"X-Producer-Id": pid} | sign_request(secret, "DELETE", path, b"")
    async with (
        aiohttp.ClientSession() as http,
        http.delete(f"{runner.base_url}{path}", headers=headers) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return str((await resp.json())["status"])


async def held_message(tg: EmulatorClient, owner: int, external_id: str) -> dict[str, Any]:
    return dict(await tg.wait_for(
        owner, lambda m: "sent a signal" in text(m) and external_id in text(m), after_seq=0
    ))  # fmt: skip


async def edit_of(
    tg: EmulatorClient, chat: int, message: dict[str, Any], now_reads: str
) -> dict[str, Any]:
    """`message` once edited to read `now_reads`."""
    return dict(await tg.wait_for(
        chat, lambda m: m["message_id"] == message["message_id"] and text(m) == now_reads,
        after_seq=0,
    ))  # fmt: skip


async def test_a_held_signal_waits_for_an_owner_then_publishes_once(
    held_app: tuple[AppRunner, EmulatorClient],
) -> None:
    runner, tg = held_app
    await tg.send(OWNER, "/producers add Gold breakout --hold --symbols EURUSD")
    made = text(await tg.wait_for(OWNER, lambda m: "registered" in text(m)))
    found = re.search(r"ID: (prd_\w+)\nSecret: (\S+)\n", made)
    assert found is not None, made
    pid, secret = found.groups()

    body = {"external_id": "s-1", "symbol": "EURUSD", "side": "buy", "entry": 1.08,
            "stop": 1.075, "take_profit": 1.095, "note": "Breakout retest"}  # fmt: skip
    answer = await post_signal(runner, pid, secret, body)
    assert (answer["status"], answer["signal_id"]) == ("held", None)
    held_id = answer["held_id"]
    for owner in (OWNER, OTTO):
        message = await held_message(tg, owner, "Breakout retest")
        assert text(message).startswith("📥 Gold breakout sent a signal. Publish it?\nEURUSD · ")
        assert "Entry: 1.08 · Stop: 1.075 · Take-profit: 1.095" in text(message)
        assert labels(message) == [CONFIRM, DISCARD]
    assert not await Signal.exists()

    olivias = await held_message(tg, OWNER, "Breakout retest")
    tap = await tg.press(OWNER, OWNER, olivias["message_id"], text=CONFIRM)
    toast = (await tg.callback_answer(tap))["text"]
    sig = await Signal.get(producer_id=(await only(pid)).id, external_id="s-1")
    assert toast == f"Published as signal #{sig.id}."
    edited = await edit_of(tg, OWNER, olivias, f"Published as signal #{sig.id}.")
    assert labels(edited) == []
    card = await tg.wait_for(SUB, lambda m: f"#{sig.id}" in text(m), after_seq=0)
    assert "via Gold breakout" in text(card) and "1.08000" in text(card)
    held = await HeldSignal.get(id=held_id)
    assert (held.status, held.decided_by) == (HeldStatus.CONFIRMED, OWNER)

    # Otto's copy says who published it, without its buttons (nothing left to tap)
    ottos = await held_message(tg, OTTO, "Breakout retest")
    closed = await edit_of(tg, OTTO, ottos, f"Published as signal #{sig.id} by Olivia.")
    assert labels(closed) == []
    assert (await HeldSignal.get(id=held_id)).status is HeldStatus.CONFIRMED
    assert await Signal.all().count() == 1

    # a second held signal: Discard publishes nothing
    second = await post_signal(runner, pid, secret, {**body, "external_id": "s-2",
                                                     "note": "Second look"})  # fmt: skip
    olivias = await held_message(tg, OWNER, "Second look")
    tap = await tg.press(OWNER, OWNER, olivias["message_id"], text=DISCARD)
    assert (await tg.callback_answer(tap))["text"] == "Discarded: nothing was published."
    edited = await edit_of(tg, OWNER, olivias, "Discarded: nothing was published.")
    assert labels(edited) == []
    assert (await HeldSignal.get(id=second["held_id"])).status is HeldStatus.DISCARDED
    assert await Signal.all().count() == 1
    ottos = await held_message(tg, OTTO, "Second look")
    closed = await edit_of(tg, OTTO, ottos, "Discarded by Olivia: nothing was published.")
    assert labels(closed) == []
    assert await Signal.all().count() == 1

    # a third, withdrawn by its producer before anyone decided: both copies say so
    third = await post_signal(runner, pid, secret, {**body, "external_id": "s-3",
                                                    "note": "Third try"})  # fmt: skip
    copies = [await held_message(tg, owner, "Third try") for owner in (OWNER, OTTO)]
    assert await withdraw_signal(runner, pid, secret, "s-3") == "discarded"
    for owner, copy in zip((OWNER, OTTO), copies, strict=True):
        gone = await edit_of(tg, owner, copy, "Withdrawn by its producer: nothing was published.")
        assert labels(gone) == []
    assert (await HeldSignal.get(id=third["held_id"])).status is HeldStatus.DISCARDED
    assert await Signal.all().count() == 1
    cards = [m for m in await tg.messages(SUB) if "via Gold breakout" in text(m)]
    assert [m["message_id"] for m in cards] == [card["message_id"]], "Sam got one card"


async def test_held_buttons_in_chat_refusals_and_a_second_tap(h: Harness) -> None:
    """In process: a Confirm the checks refuse (the market moved) leaves it held and says why;
    a Confirm then a Discard; a button naming no held signal."""
    await feed()
    made = await producers.register("Gold breakout", ["EURUSD"], mode=ProducerMode.HOLD)
    held = await intake.ingest(made.info, signal(), LIMITS, owners=frozenset({OWNER}))
    assert held.held_id is not None
    confirm = HeldCB(action="confirm", held_id=held.held_id).pack()
    discard = HeldCB(action="discard", held_id=held.held_id).pack()
    await feed(close=1.2)  # the entry 1.08 is now 10 % from the market
    (refused,) = await h.press(OWNER, confirm)
    assert refused.startswith("Entry 1.0800 is 10.00 % from the last price 1.20000 of EURUSD")
    assert (await HeldSignal.get(id=held.held_id)).status is HeldStatus.HELD
    assert not await Signal.exists()
    await feed()
    sig_text = await h.press(OWNER, confirm)
    sig = await Signal.get(producer_id=made.info.id)
    assert sig_text == [f"Published as signal #{sig.id}."] * 2  # the toast, the edited message
    assert await h.press(OWNER, discard) == ["This signal was decided already."] * 2
    assert await h.press(OWNER, confirm) == ["This signal was decided already."] * 2
    assert (await HeldSignal.get(id=held.held_id)).status is HeldStatus.CONFIRMED
    assert await Signal.all().count() == 1
    missing = HeldCB(action="confirm", held_id=held.held_id + 1000).pack()
    assert await h.press(OWNER, missing) == [f"No held signal {held.held_id + 1000}."]


@pytest.mark.parametrize(
    ("language", "figures"),
    [
        ("en", "1 signal, 1 closed, 1 won, +3.25 R"),
        ("es", "1 señal; cerradas: 1, ganadas: 1, +3,25 R"),
        ("ru", "1 сигнал; закрыто: 1, в плюс: 1, итого +3,25 R"),
    ],
)
async def test_the_figures_in_the_owners_language(h: Harness, language: str, figures: str) -> None:
    await feed()
    made = await producers.register("Gold", ["EURUSD"])
    await intake.ingest(made.info, signal(), LIMITS, owners=frozenset({OWNER}))
    await Signal.all().update(status=SignalStatus.CLOSED, result_r=D("3.25"))
    await users_service.set_language(OWNER, language)
    (listing,) = await h.send(OWNER, "/producers")
    assert listing.endswith(f"\n{figures}")


@pytest.mark.parametrize(
    ("args", "name", "symbols"),
    [
        ("Gold breakout --symbols XAUUSD, EURUSD", "Gold breakout", ["EURUSD", "XAUUSD"]),
        ("Gold --symbols XAUUSD , EURUSD breakout", "Gold breakout", ["EURUSD", "XAUUSD"]),
        ("Gold --symbols xauusd ,eurusd --tv", "Gold", ["EURUSD", "XAUUSD"]),
        ("--symbols gold Gold  <i>x</i>", "Gold <i>x</i>", ["XAUUSD"]),
        ("Gold --SYMBOLS EURUSD --RATE 5 --HOLD", "Gold", ["EURUSD"]),
    ],
)
async def test_add_reads_the_name_and_the_symbols(
    h: Harness, args: str, name: str, symbols: list[str]
) -> None:
    await add(h, args)
    row = await Producer.get()
    assert (row.name, row.symbols) == (name, symbols)


async def test_a_forged_producer_button_changes_nothing(h: Harness) -> None:
    _, row = await add(h, "Gold breakout")
    before = await Producer.get(producer_id=row.producer_id).values()
    invalid = "This button is out of date or not valid. Open the menu again with /menu."
    for action in ("delete", "pause", "revoke "):
        data = ProducerCB(action=action, producer_id=row.producer_id).pack()
        assert await h.press(OWNER, data) == [invalid], action
    unknown = ProducerCB(action="revoke", producer_id="prd_0000000000000000").pack()
    assert await h.press(OWNER, unknown) == ["No producer prd_0000000000000000."]
    assert await Producer.get(producer_id=row.producer_id).values() == before
    assert await AuditLog.filter(action="producer.revoked").count() == 0
