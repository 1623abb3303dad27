"""POST /ea/v1/symbols over real HTTP: every reported spec is checked against sane ranges, one
symbol at a time; refused ones are named in the answer and recorded (never their numbers)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.app import AppRunner
from ea.crypto import decrypt_payload
from models.devices import DeviceSymbol
from services.terminals import symbol_map
from tests.ea.conftest import Terminal, new_terminal

pytestmark = pytest.mark.asyncio(loop_scope="module")
EURUSD = {"name": "EURUSD", "digits": 5, "point": 0.00001, "tick_size": 0.00001,
          "tick_value": 1, "contract_size": 100000, "volume_min": 0.01, "volume_max": 100,
          "volume_step": 0.01, "stops_level": 0}  # fmt: skip


def spec(name: str = "EURUSD", **changes: Any) -> dict[str, Any]:
    return {**EURUSD, "name": name, **changes}


async def stored(t: Terminal) -> dict[str, Any]:
    return {r.name: r.spec for r in await DeviceSymbol.filter(device_id=t.pk)}


async def test_a_report_is_judged_symbol_by_symbol(terminal: Terminal) -> None:
    body = {"symbols": [
        spec(),
        spec("XAUUSD", digits=2, point=0.01, tick_size=1e-40),  # the reported case
        spec("GBPUSD", digits="5"),  # a wrong type
        7,  # not even an object
        spec("USDJPY", digits=3, point=0.001, tick_size=0.001, volume_step=500),
    ]}  # fmt: skip
    reply = await terminal.call("POST", "/ea/v1/symbols", body)
    assert reply.status == 200, reply.body
    assert reply.json["accepted"] == ["EURUSD"]
    refused = reply.json["refused"]
    assert [(r["name"], r["field"]) for r in refused] == [
        ("XAUUSD", "symbols[1].tick_size"), ("GBPUSD", "symbols[2].digits"),
        (None, "symbols[3]"), ("USDJPY", "symbols[4].volume_step"),
    ]  # fmt: skip
    assert all(r["detail"].startswith(r["field"]) for r in refused)
    assert "1E-40" in refused[0]["detail"]
    rows = await stored(terminal)
    assert set(rows) == {"EURUSD", "XAUUSD", "GBPUSD", "USDJPY"}
    assert symbol_map.usable_spec("EURUSD", rows["EURUSD"]) is not None
    for name, field in [("XAUUSD", "tick_size"), ("GBPUSD", "digits"), ("USDJPY", "volume_step")]:
        assert rows[name] == {
            "refused": {"field": field, "detail": rows[name]["refused"]["detail"]}
        }


HOSTILE = [  # (changes to a sane EURUSD report, the field the 422 names)
    ({"tick_size": 1e-40}, "tick_size"),
    ({"tick_size": 0.000015}, "tick_size"),
    ({"tick_size": 1e300}, "tick_size"),
    ({"digits": 11}, "digits"),
    ({"digits": 4}, "point"),
    ({"point": 0}, "point"),
    ({"tick_value": 0}, "tick_value"),
    ({"tick_value": 1e14}, "tick_value"),
    ({"contract_size": 1e-30}, "contract_size"),
    ({"volume_step": 0}, "volume_step"),
    ({"volume_step": 200}, "volume_step"),
    ({"volume_min": 1e-30}, "volume_min"),
    ({"volume_min": 500}, "volume_min"),
    ({"volume_max": 1e14}, "volume_max"),
    ({"stops_level": -1}, "stops_level"),
    ({"stops_level": 2_000_000}, "stops_level"),
]


@pytest.mark.parametrize(("changes", "field"), HOSTILE)
async def test_a_report_with_nothing_usable_is_a_422_naming_the_field(
    terminal: Terminal, changes: dict[str, Any], field: str
) -> None:
    assert (await terminal.call("POST", "/ea/v1/symbols", {"symbols": [spec()]})).status == 204
    reply = await terminal.call("POST", "/ea/v1/symbols", {"symbols": [spec(**changes)]})
    assert reply.status == 422, reply.body
    assert reply.content_type == "application/problem+json"
    problem = reply.json
    assert problem["field"] == f"symbols[0].{field}"
    assert problem["detail"].startswith(f"symbols[0].{field}: ")
    assert [r["field"] for r in problem["refused"]] == [f"symbols[0].{field}"]
    row = (await stored(terminal))["EURUSD"]  # the earlier good spec no longer counts
    assert row["refused"]["field"] == field
    assert (await terminal.call("POST", "/ea/v1/symbols", {"symbols": [spec()]})).status == 204
    assert symbol_map.usable_spec("EURUSD", (await stored(terminal))["EURUSD"]) is not None


async def test_refusals_are_encrypted_for_devices_that_asked(app: AppRunner, http: Any) -> None:
    t = await new_terminal(app.base_url, http, encrypt_payloads=True)
    body = {"symbols": [spec(), spec("GOLD", digits=2, point=0.01, tick_size=1e-40)]}
    reply = await t.call("POST", "/ea/v1/symbols", body)
    assert reply.status == 200 and set(reply.json) == {"enc", "nonce", "ciphertext"}
    opened = decrypt_payload(t.secret, t.device_id, reply.json)
    assert opened["accepted"] == ["EURUSD"]
    assert [r["field"] for r in opened["refused"]] == ["symbols[1].tick_size"]
