"""The chat card style (Settings): full cards are the chart photo with its caption, compact
cards are text only; the choice is stored, checked, and followed by every card the user gets
from then on: new signals, revision replies, status edits, their own decision's edit, and the
paid card a free summary turns into when the reader has paid by the time it is due."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from models.notifications import Notification
from models.users import CardStyle, Role, User
from services.outbox import audience, fanout
from services.outbox.queue import Claimed
from services.signals import lifecycle as signals
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import Api
from tests.webapp.miniapp.test_api import assert_problem

SUB, COMPACT, FREE = 1000002, 1000005, 1000003
PNG = b"\x89PNG\r\n\x1a\nfake chart"


def chart(_view: Any) -> bytes:
    return PNG


@pytest.fixture
def charts(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(fanout, "CHART_DIR", tmp_path)


async def choose(api: Api, telegram_id: int, style: str) -> dict[str, Any]:
    status, body, _ = await api.call(
        "PATCH", "/api/v1/settings", auth=await api.login(telegram_id), json={"card_style": style}
    )
    assert status == 200, body
    return dict(body)


async def payload(dedupe_key: str) -> dict[str, Any]:
    return dict((await Notification.get(dedupe_key=dedupe_key)).payload)


async def test_the_style_is_stored_shown_and_checked(api: Api) -> None:
    await th.user(SUB)
    header = await api.login(SUB)
    status, body, _ = await api.call("GET", "/api/v1/settings", auth=header)
    assert status == 200
    assert body["card_style"] == "full" and body["card_styles"] == ["full", "compact"]
    assert (await choose(api, SUB, "compact"))["card_style"] == "compact"
    assert (await User.get(telegram_id=SUB)).card_style == CardStyle.COMPACT
    status, body, _ = await api.call("GET", "/api/v1/settings", auth=header)
    assert body["card_style"] == "compact" and body["language"] == "en"
    # the language alone leaves the style as it is, and the style alone the language
    status, body, _ = await api.call(
        "PATCH", "/api/v1/settings", auth=header, json={"language": "ru"}
    )
    assert status == 200 and (body["language"], body["card_style"]) == ("ru", "compact")
    for bad in ({"card_style": "tiny"}, {"card_style": None}, {}, {"card_style": 1}):
        status, problem, response = await api.call(
            "PATCH", "/api/v1/settings", auth=header, json=bad
        )
        assert_problem(status, problem, response, 422)
    assert (await User.get(telegram_id=SUB)).card_style == CardStyle.COMPACT


async def test_without_a_session_the_style_cannot_be_read_or_changed(api: Api) -> None:
    for method, body in (("GET", None), ("PATCH", {"card_style": "compact"})):
        status, problem, response = await api.call(method, "/api/v1/settings", json=body)
        assert_problem(status, problem, response, 401)


async def test_a_new_signal_reaches_each_reader_in_their_style(api: Api, charts: None) -> None:
    await th.user(SUB)
    await th.user(COMPACT, name="Cora")
    await choose(api, COMPACT, "compact")
    view = await signals.publish(th.draft(), chart)
    assert view is not None
    full = await payload(f"sig:{view.id}:new:{SUB}")
    compact = await payload(f"sig:{view.id}:new:{COMPACT}")
    assert full["method"] == "send_photo" and "Stop: <code>" in full["caption"]
    assert compact["method"] == "send_message" and "photo" not in compact
    body = compact["text"]
    assert body.splitlines()[1] == (
        f"Entry <code>{th.ENTRY}</code> · SL <code>{th.STOP}</code> · TP <code>{th.TP}</code> · 1:"
        f"{view.reward_risk.normalize()}"
    )
    assert "Order expires" in body and "Status" in body
    # the same buttons as the full card: Approve / Reject / Details (and Open app when set)
    assert compact["reply_markup"] == full["reply_markup"]


async def test_a_revision_of_a_compact_card_comes_without_the_chart(
    api: Api, charts: None
) -> None:
    await th.user(SUB)
    await th.user(COMPACT, name="Cora")
    await choose(api, COMPACT, "compact")
    view = await signals.publish(th.draft(), chart)
    assert view is not None
    moved = Decimal(th.ENTRY) + Decimal("0.0005")
    revised = await signals.revise(await key_of(view.id), 2, moved, th.STOP, th.TP, chart=chart)
    assert revised is not None
    replies = {
        n.chat_id: n.payload
        for n in await Notification.filter(signal_id=view.id, kind="signal.update")
    }
    assert replies[SUB]["method"] == "send_photo"
    assert replies[COMPACT]["method"] == "send_message" and "photo" not in replies[COMPACT]
    edits = {
        n.chat_id: n.payload
        for n in await Notification.filter(signal_id=view.id, kind="signal.edit")
    }
    assert edits[SUB]["method"] == "edit_caption"
    assert edits[COMPACT]["method"] == "edit_text"
    assert " · SL <code>" in edits[COMPACT]["text"] and "v2" in edits[COMPACT]["text"]


async def test_a_style_changed_later_applies_to_the_next_edit_of_an_old_card(
    api: Api, charts: None
) -> None:
    sam = await th.user(SUB)
    view = await signals.publish(th.draft(), chart)
    assert view is not None
    assert (await payload(f"sig:{view.id}:new:{SUB}"))["method"] == "send_photo"
    await choose(api, SUB, "compact")
    await th.approve(sam, view.id)
    edit = (await Notification.filter(signal_id=view.id, kind="signal.edit").order_by("-id"))[0]
    # a photo card stays a photo (Telegram cannot turn it into text): its caption turns compact
    assert edit.payload["method"] == "edit_caption"
    caption = edit.payload["caption"]
    assert " · SL <code>" in caption and caption.endswith("✅ You approved this signal")


async def test_a_summary_due_for_a_reader_who_has_paid_turns_into_their_compact_card(
    api: Api, charts: None
) -> None:
    await th.user(FREE, Role.PUBLIC, "Nico")
    await choose(api, FREE, "compact")
    view = await signals.publish(th.draft(), chart)
    assert view is not None
    await User.filter(telegram_id=FREE).update(role=Role.SUBSCRIBER)
    claimed = [
        Claimed(
            id=n.id,
            chat_id=n.chat_id,
            user_id=n.user_id,
            kind=n.kind,
            dedupe_key=n.dedupe_key,
            payload=n.payload,
            attempts=1,
            signal_id=n.signal_id,  # type: ignore[attr-defined]
            audience=n.audience,
        )  # fmt: skip
        for n in await Notification.filter(signal_id=view.id, chat_id=FREE)
    ]
    screening = await audience.screen(claimed)
    (sent,) = screening.send
    assert sent.kind == "signal.new"
    assert sent.payload["method"] == "send_message" and " · SL <code>" in sent.payload["text"]


async def key_of(signal_id: int) -> str:
    from models.signals import Signal

    return (await Signal.get(id=signal_id)).setup_key


async def test_a_compact_card_keeps_hidden_levels_hidden_and_speaks_the_readers_language(
    api: Api, charts: None
) -> None:
    from services import app_settings

    await app_settings.put("signals.visibility", app_settings.Visibility.ENTRY_ONLY.value)
    await th.user(COMPACT, name="Cora")
    await choose(api, COMPACT, "compact")
    status, _body, _ = await api.call(
        "PATCH", "/api/v1/settings", auth=await api.login(COMPACT), json={"language": "es"}
    )
    assert status == 200
    view = await signals.publish(th.draft(), chart)
    assert view is not None
    body = (await payload(f"sig:{view.id}:new:{COMPACT}"))["text"]
    entry = str(th.ENTRY).replace(".", ",")
    assert body.splitlines()[1] == (
        f"Entrada <code>{entry}</code> · salidas gestionadas por el servidor"
    )
    assert str(th.STOP).replace(".", ",") not in body and str(th.TP).replace(".", ",") not in body
