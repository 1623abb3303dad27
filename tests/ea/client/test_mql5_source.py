"""What can be checked of the MQL5 EA without a terminal: read its source.

The self-test script's vectors (SHA-256, signatures, JSON, numbers, refused commands) must be
what Python computes, the statuses the EA acks must be the protocol's, the limits it shares
with the Python EA must agree, and every name in the parity table of ea/mql5/README.md must
exist. tests/ea/test_mql5_vectors.py checks the captured server answers against the server.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from core.http.problems import problem_middleware
from ea import auth as ea_auth
from ea import schemas
from ea.client import state as client_state
from ea.client.execution import MAGIC, Executor
from ea.client.terminal import EAConfig
from ea.client.wire import Ack, WireError, dumps, parse_command
from ea.crypto import sign_request
from ea.schemas import ACK_STATUSES, parse_ack
from models.signals import Signal
from services.signals.manual_checks import ManualLimits
from tests.ea.client.conftest import paper
from tests.ea.client.test_client_wire import KNOWN_SIGNATURE
from tests.ingest.conftest import OWNER, feed, producer
from webapp import ingest as ingest_routes
from webapp.ingest import setup_ingest

MQL5 = Path(__file__).resolve().parents[3] / "ea" / "mql5"
SOURCES = sorted([*MQL5.glob("*.mq5"), *MQL5.glob("include/*.mqh")])
STRING = r'"(?:[^"\\]|\\.)*"'
CHAR = r"'(?:[^'\\]|\\.)'"


def code_only(text: str) -> str:
    """The source without its // comments and with its character constants blanked (so a
    '"' starts no string); string literals are kept, "https://" included."""
    return re.sub(
        rf"({STRING})|{CHAR}|//[^\n]*",
        lambda m: m.group(1) or ("0" if m.group(0).startswith("'") else ""),
        text,
    )


SELF_TEST = code_only((MQL5 / "SignalDeskSelfTest.mq5").read_text(encoding="utf-8"))
ALL = "\n".join(code_only(p.read_text(encoding="utf-8")) for p in SOURCES)


def unescape(literal: str) -> str:
    """The value of an MQL5 string literal (with its quotes)."""
    escapes = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), literal[1:-1])


def defines() -> dict[str, str]:
    found = re.findall(rf"#define\s+(\w+)\s+({STRING})", ALL)
    return {name: unescape(value) for name, value in found}


def arguments(call: str, source: str = SELF_TEST) -> list[list[str]]:
    """The argument lists of every ``call(...)`` in ``source`` (top-level commas split)."""
    out = []
    for match in re.finditer(rf"\b{call}\(", source):
        depth, i, args, current = 1, match.end(), [], ""
        while depth:
            ch = source[i]
            if ch == '"':
                end = re.match(STRING, source[i:])
                assert end is not None
                current += end.group(0)
                i += len(end.group(0))
                continue
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if (ch == "," and depth == 1) or depth == 0:
                args.append(current.strip())
                current = ""
            else:
                current += ch
            i += 1
        out.append(args)
    return out


def value(expression: str) -> str:
    """A string expression of literals, ShortToString(0xNN) and macro names joined by +."""
    macros = defines()
    parts = []
    for token in re.findall(rf"{STRING}|ShortToString\((?:0x)?[0-9A-Fa-f]+\)|\w+", expression):
        if token.startswith('"'):
            parts.append(unescape(token))
        elif token.startswith("ShortToString"):
            number = token[len("ShortToString(") : -1]
            parts.append(chr(int(number, 16 if number.startswith("0x") else 10)))
        else:
            parts.append(macros[token])
    return "".join(parts)


def test_the_empty_input_hash_is_the_real_one() -> None:
    assert defines()["SD_SHA256_EMPTY"] == hashlib.sha256(b"").hexdigest()
    assert "SD_SHA256_EMPTY" in (MQL5 / "include/SignalDeskCrypto.mqh").read_text()


def test_the_self_test_hashes_match_hashlib() -> None:
    calls = [c for c in arguments("CheckSha256") if not c[0].startswith("const")]
    assert len(calls) >= 3
    for _, text, expected in calls:
        assert hashlib.sha256(value(text).encode()).hexdigest() == value(expected)


def test_the_self_test_signatures_match_the_python_signer() -> None:
    calls = [c for c in arguments("CheckSignature") if not c[0].startswith("const")]
    assert len(calls) >= 3
    for _, secret, method, path, stamp, nonce, body, expected in calls:
        signed = sign_request(
            value(secret), value(method), value(path), value(body).encode(), int(stamp),
            value(nonce),
        )  # fmt: skip
        assert signed["X-Signature"] == value(expected)
    assert value(calls[0][-1]) == KNOWN_SIGNATURE  # the vector tests/ea_client pins
    header = (MQL5 / "include/SignalDeskCrypto.mqh").read_text()
    assert KNOWN_SIGNATURE in header.replace(" ", "").replace("|", "").replace("//", "")


def test_the_self_test_numbers_are_exact() -> None:
    """SdNumber writes the shortest fixed-point text that reads back as the same double."""
    calls = [c for c in arguments("CheckNumber") if not c[0].startswith("const")]
    assert len(calls) >= 4
    for literal, expected in calls:
        number, text = float(literal), value(expected)
        assert float(text) == number and "e" not in text
        assert Decimal(text) == Decimal(repr(number)).normalize() or text == repr(number)


def test_the_self_test_json_vectors_are_what_python_reads_and_writes() -> None:
    vectors = defines()
    text = 'a"b\\c\n\t\x01\x7fé€'
    assert vectors["SD_VEC_ESCAPED"] == json.dumps(text)  # json.dumps escapes as the EA does
    assert json.loads(vectors["SD_VEC_ESCAPED"]) == text
    ack = Ack("cmd_1", "filled", 123456789012, Decimal("2350.55"), Decimal("0.1"))
    body = {**ack.to_json(), "time": 1_700_000_000}
    assert vectors["SD_VEC_ACK_OUT"] == dumps(body).decode()
    parsed = parse_ack(vectors["SD_VEC_ACK_OUT"].encode())  # the server takes it
    assert (parsed.ticket, parsed.price, parsed.volume) == (
        123456789012,
        Decimal("2350.55"),
        Decimal("0.1"),
    )
    for name in ("SD_VEC_COMMANDS", "SD_VEC_ACK_ANSWER", "SD_VEC_PING", "SD_VEC_PROBLEM"):
        assert isinstance(json.loads(vectors[name]), dict), name
    command = json.loads(vectors["SD_VEC_COMMANDS"])["commands"][0]
    assert parse_command(command).price == Decimal("2350.5")  # the Python EA accepts it too


REFUSED = {
    "SD_VEC_BAD_SIDE": "side must be buy or sell",
    "SD_VEC_BAD_TYPE": "order_type must be limit or market",
    "SD_VEC_BAD_PRICE": "a price for a limit order",
    "SD_VEC_BAD_VOLUME": "volume missing or not positive",
    "SD_VEC_BAD_KIND": "unknown command type",
}


@pytest.mark.parametrize(("name", "message"), sorted(REFUSED.items()))
async def test_commands_the_self_test_refuses_are_refused_by_the_python_ea(
    name: str, message: str
) -> None:
    """The same command, the same reason: the MQL5 EA's SdCheckCommand mirrors these."""
    raw = json.loads(defines()[name])
    assert [c for c in arguments("CheckRefused") if c[2] == name][0][3] == f'"{message}"'
    try:
        cmd = parse_command(raw)
        reason = await Executor(paper()).guard(cmd) or ""
        if not reason:
            Executor(paper()).request(cmd)
    except WireError as exc:
        reason = str(exc)
    assert message in reason


def test_every_ack_status_the_ea_sends_is_the_protocols() -> None:
    statuses = {v for k, v in defines().items() if k.startswith("SD_ACK_")}
    assert statuses and statuses <= set(ACK_STATUSES)
    assert {"placed", "filled", "rejected", "failed", "cancelled", "closed"} == statuses
    for call in ("SdAck", "SdDone", "Record"):
        for args in arguments(call, ALL):
            if len(args) > 2 and not args[0].startswith("const"):
                status = args[1]
                assert not status.startswith('"') or unescape(status) in ACK_STATUSES, args
    words = {"accepted", "placed", "filled", "rejected", "failed", "cancelled", "closed",
             "canceled", "pending", "expired", "partial"}  # fmt: skip
    literals = {unescape(s) for s in re.findall(STRING, ALL)}
    assert literals & words <= set(ACK_STATUSES)  # e.g. never "canceled" or "expired"


def test_the_ack_fields_are_written_in_the_python_order() -> None:
    body = ALL[ALL.index("string SdAck(") :]
    body = body[: body.index("\n  }")]
    keys = re.findall(r'SdPair\w+\("(\w+)"', body)
    assert list(dict.fromkeys(keys)) == list(Ack("c", "filled", spread_points=12).to_json())


def test_the_limits_shared_with_the_python_ea_agree() -> None:
    source = {name: int(v) for name, v in re.findall(r"#define\s+(SD_\w+)\s+(\d+)\b", ALL)}
    assert source["SD_MAX_ENTRIES"] == client_state.MAX_ENTRIES
    assert source["SD_UNSURE_SETTLE_S"] == EAConfig.__dataclass_fields__["unsure_settle_s"].default
    assert source["SD_BACKOFF_CAP"] == EAConfig.__dataclass_fields__["retry_cap_s"].default
    assert source["SD_MAX_POLL_WAIT"] <= 3  # WebRequest blocks OnTimer while it waits
    assert source["SD_MAX_QUOTES"] == schemas.MAX_QUOTES
    assert source["SD_MAX_BROKER"] == schemas.BROKER_MAX
    assert source["SD_MAX_NAME"] == 32  # a symbol name on the wire (ea/schemas.py)
    magic = re.search(r"input long\s+InpMagic\s*=\s*(\d+)", ALL)
    assert magic is not None and int(magic.group(1)) == MAGIC
    assert "#include <Trade\\Trade.mqh>" not in ALL  # no CTrade defaults (FOK, hedging-only)


def test_every_include_exists() -> None:
    for path in SOURCES:
        for name in re.findall(r'#include\s+"([^"]+)"', path.read_text()):
            assert (path.parent / name).exists(), f"{path.name} includes {name}"


def _parity_rows() -> list[list[str]]:
    readme = (MQL5 / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| Behaviour | MQL5 | Python | Test |") :]
    rows = [line for line in table.splitlines()[2:] if line.startswith("|")]
    return [[cell.strip().strip("`") for cell in row.strip("|").split("|")] for row in rows]


def _python_object(dotted: str) -> object:
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise AssertionError(f"{dotted} does not import")


def test_the_parity_table_names_things_that_exist() -> None:
    rows = _parity_rows()
    assert len(rows) >= 30
    root = MQL5.parents[1]
    for behaviour, mql5, python, test in rows:
        name = mql5.split("::")[-1]
        assert re.search(rf"\b{name}\s*\(", ALL), f"{behaviour}: no MQL5 {mql5}"
        if "::" in mql5:
            assert f"class {mql5.split('::')[0]}" in ALL, behaviour
        assert callable(_python_object(python)), f"{behaviour}: {python}"
        path, _, function = test.partition("::")
        assert re.search(rf"def {function}\(", (root / path).read_text()), f"{behaviour}: {test}"


PUBLISH = code_only((MQL5 / "SignalDeskPublish.mq5").read_text(encoding="utf-8"))
MAX_LONG = str(2**63 - 1)


def _function(name: str, source: str = PUBLISH) -> str:
    body = source[source.index(f"{name}(") :]
    return body[: body.index("\n  }")]


def publish_body(external_id: str, entry: float, take_profit: float, note: str) -> bytes:
    """What SdPublishBody writes for these inputs (symbol EURUSD, buy, stop 1.075): its keys
    in its order, strings escaped as json.dumps does (SdJsonEscape), 0 levels as null."""
    keys = re.findall(r'SdPair\w+\("(\w+)"', _function("string SdPublishBody"))
    values = {
        "external_id": external_id, "symbol": "EURUSD", "side": "buy",
        "order_type": "limit" if entry > 0 else "market", "entry": entry or None,
        "stop": 1.075, "take_profit": take_profit or None, "note": note,
    }  # fmt: skip
    return (
        "{" + ",".join(f"{json.dumps(k)}:{json.dumps(values[k])}" for k in keys) + "}"
    ).encode()


def test_the_publish_script_is_a_script_that_signs_as_a_producer() -> None:
    assert "#property script_show_inputs" in PUBLISH and "void OnStart()" in PUBLISH
    assert not re.search(r"\b(OnTick|OnInit|OnTimer|OrderSend)\(", PUBLISH)  # it trades nothing
    vectors = defines()
    assert vectors["SD_PRODUCER_HEADER"] == "X-Producer-Id"
    assert '"X-Producer-Id"' in inspect.getsource(ingest_routes._producer)  # what the route reads
    assert vectors["SD_DEVICE_HEADER"] == "X-Device-Id"  # the EA's, unchanged
    assert '"X-Device-Id"' in inspect.getsource(ea_auth)
    http = code_only((MQL5 / "include/SignalDeskHttp.mqh").read_text(encoding="utf-8"))
    assert "const string id_header=SD_DEVICE_HEADER" in http and '+m_id_header+": "+' in http
    assert '"X-Device-Id: "' not in http
    for source in (SELF_TEST, code_only((MQL5 / "SignalDeskEA.mq5").read_text())):
        assert [len(a) for a in arguments("Init", source) if a[0] == "InpServer"] == [3]
    assert arguments("Init", PUBLISH) == [
        ["InpServer", "InpProducerId", "InpSecret", "SD_PRODUCER_HEADER"]
    ]
    assert [a[:2] for a in arguments("Request", PUBLISH)] == [['"POST"', "SD_SIGNALS_PATH"]]


def test_the_publish_script_limits_are_the_servers() -> None:
    vectors = defines()
    numbers = dict(re.findall(r"#define\s+(SD_\w+)\s+(\d+)\b", PUBLISH))
    constraint = ingest_routes.ExternalId.__metadata__[0]
    allowed = {c for c in map(chr, range(32, 127)) if re.fullmatch(constraint.pattern, c)}
    assert set(vectors["SD_EXTERNAL_ID_CHARS"]) == allowed
    longest = int(numbers["SD_MAX_EXTERNAL_ID"])
    assert re.fullmatch(constraint.pattern, "a" * longest)
    assert not re.fullmatch(constraint.pattern, "a" * (longest + 1))
    note = ingest_routes.SignalBody.model_fields["note"].metadata[0]
    assert int(numbers["SD_MAX_NOTE"]) == note.max_length
    default = vectors["SD_EXTERNAL_ID_FORMAT"].replace("%I64d", MAX_LONG)  # the longest one
    assert re.fullmatch(constraint.pattern, default)
    assert "SD_EXTERNAL_ID_FORMAT" in _function("string SdExternalId")
    keys = re.findall(r'SdPair\w+\("(\w+)"', _function("string SdPublishBody"))
    fields = list(ingest_routes.SignalBody.model_fields)
    assert keys == [f for f in fields if f in keys] and {"external_id", "symbol", "side",
                                                          "stop"} <= set(keys)  # fmt: skip


@pytest.mark.parametrize(
    ("entry", "take_profit", "note"), [(1.08, 1.095, "from MT5: é €"), (0, 0, ""), (1.08, 0, "")]
)
async def test_the_publish_script_writes_the_body_the_server_reads(
    database: str, entry: float, take_profit: float, note: str
) -> None:
    """The script's body, signed with its header, through the real route: a signal (and the
    same external id again: the first one)."""
    await feed()
    made = await producer("From MT5", symbols=("EURUSD",))
    external_id = defines()["SD_EXTERNAL_ID_FORMAT"].replace("%I64d", "1234567", 1)
    external_id = external_id.replace("%I64d", "1700000000")
    raw = publish_body(external_id, entry, take_profit, note)
    app = web.Application(middlewares=[problem_middleware])
    setup_ingest(app, ingest_routes.IngestConfig(ManualLimits(), frozenset({OWNER})))
    async with TestClient(TestServer(app)) as client:
        answers = []
        for _ in range(2):
            headers = sign_request(made.secret, "POST", defines()["SD_SIGNALS_PATH"], raw)
            headers[defines()["SD_PRODUCER_HEADER"]] = made.info.producer_id
            resp = await client.post(defines()["SD_SIGNALS_PATH"], data=raw, headers=headers)
            answers.append((resp.status, await resp.json()))
    (first, body), (again, repeat) = answers
    assert (first, again) == (201, 200) and repeat["signal_id"] == body["signal_id"]
    row = await Signal.get(id=body["signal_id"])
    assert row.external_id == external_id and (row.rationale or "") == note
    assert row.take_profit > row.entry > row.stop
