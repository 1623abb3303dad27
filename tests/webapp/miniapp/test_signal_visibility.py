"""What the signal routes send of a signal's prices: the owner's visibility setting decides for
open and filled signals, in every answer (the list, one signal with its chart data, the answer
to a decision), so a level the page does not show is not in the JSON either. The Fib points
give the stop and the take-profit away (stop = p2 + 1.27 (p1 - p2)): they go with those levels.
Once a signal is over, every level is shown."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from models.signals import CloseReason, SignalStatus
from services import app_settings
from services.signals import lifecycle
from services.signals.views import SignalView
from tests.services.terminals import helpers as th
from tests.webapp.miniapp.conftest import Api

SUB = 1000002
HIDDEN = (str(th.STOP), str(th.TP), "1.07965", "1.06379")
POINT1, POINT2 = D("1.08100"), D("1.07410")  # a sell: the swing high, then the low


async def strategy_signal() -> SignalView:
    """A strategy signal with its two Fib points, as the trading loop publishes it."""
    draft = th.draft()
    at = draft.published_at
    view = await lifecycle.publish(dataclasses.replace(
        draft, point1=(at - timedelta(hours=9), POINT1), point2=(at - timedelta(hours=3), POINT2),
    ))  # fmt: skip
    assert view is not None
    return view


def hidden_everywhere(body: Any) -> None:
    """No stop or take-profit price anywhere in the answer, in any field."""
    text = json.dumps(body)
    assert not [price for price in HIDDEN if price in text], text


async def answers(api: Api, header: str, signal_id: int) -> dict[str, Any]:
    _, listed, _ = await api.call("GET", "/api/v1/signals", auth=header)
    _, detail, _ = await api.call("GET", f"/api/v1/signals/{signal_id}", auth=header)
    return {"list": listed, "detail": detail}


async def test_entry_only_keeps_stop_take_profit_and_fib_points_out_of_every_answer(
    api: Api,
) -> None:
    await th.user(SUB)
    await app_settings.put("signals.visibility", "entry_only")
    view = await strategy_signal()
    header = await api.login(SUB)
    got = await answers(api, header, view.id)
    for body in got.values():
        hidden_everywhere(body)
    detail = got["detail"]
    assert detail["signal"]["entry"] == "1.07592" and detail["points"] == []
    assert (detail["signal"]["stop"], detail["signal"]["take_profit"]) == (None, None)
    assert detail["signal"]["reward_risk"] is None
    path = f"/api/v1/signals/{view.id}/decision"
    status, body, _ = await api.call("POST", path, auth=header, json={"decision": "rejected"})
    assert status == 200 and body["changed"]
    hidden_everywhere(body)
    await lifecycle.transition(view.id, SignalStatus.FILLED)  # a live trade: still private
    for body in (await answers(api, header, view.id)).values():
        hidden_everywhere(body)


async def test_full_visibility_sends_the_levels_and_both_fib_points(api: Api) -> None:
    await th.user(SUB)
    view = await strategy_signal()
    status, body, _ = await api.call(
        "GET", f"/api/v1/signals/{view.id}", auth=await api.login(SUB)
    )
    assert status == 200, body
    s = body["signal"]
    assert (s["entry"], s["stop"], s["take_profit"]) == ("1.07592", "1.07965", "1.06379")
    assert [p["price"] for p in body["points"]] == [str(POINT1), str(POINT2)]
    times = [p["time"] for p in body["points"]]
    assert times == sorted(times) and times[1] - times[0] == 6 * 3600


@pytest.mark.parametrize("end", ["closed", "cancelled"])
async def test_an_ended_signal_shows_every_level_whatever_the_setting(api: Api, end: str) -> None:
    await th.user(SUB)
    await app_settings.put("signals.visibility", "entry_only")
    view = await strategy_signal()
    if end == "closed":
        await lifecycle.transition(view.id, SignalStatus.FILLED)
        await lifecycle.transition(view.id, SignalStatus.CLOSED, price=th.STOP,
                                   reason=CloseReason.SL)  # fmt: skip
    else:
        await lifecycle.cancel(view.id, actor_id=SUB)
    status, body, _ = await api.call(
        "GET", f"/api/v1/signals/{view.id}", auth=await api.login(SUB)
    )
    assert status == 200, body
    assert (body["signal"]["stop"], body["signal"]["take_profit"]) == ("1.07965", "1.06379")
    assert len(body["points"]) == 2 and body["signal"]["can_decide"] is False
