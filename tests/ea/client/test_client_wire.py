"""Wire shapes: parsing commands, the order comment, payload decryption, signed headers."""

from __future__ import annotations

import base64
import os
import re
from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ea.client.http import SignedClient
from ea.client.wire import Ack, WireError, parse_command
from ea.crypto import SecretError, decrypt_payload, payload_key, sign_request
from tests.ea.client.conftest import DEVICE, SECRET, open_cmd


def test_a_command_parses_with_decimals_and_times() -> None:
    cmd = parse_command(open_cmd(expires_at="2030-01-11T14:00:00Z", price="1.09500"))
    assert cmd.price == D("1.09500") and cmd.volume == D("0.1")
    assert cmd.expires_at == datetime(2030, 1, 11, 14, tzinfo=UTC)
    assert parse_command(open_cmd(expires_at=1_894_370_400)).expires_at == datetime(
        2030, 1, 11, 14, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"type": "open"}, "string id"),
        ({"id": "c", "type": "teleport"}, "unknown command type"),
        ({"id": "c", "type": "open", "side": "long"}, "side must be buy or sell"),
        ({**open_cmd(), "price": "abc"}, "price must be a number"),
        ({**open_cmd(), "sl": "NaN"}, "sl must be finite"),
        ({**open_cmd(), "expires_at": "soon"}, "expires_at must be"),
    ],
)
def test_bad_commands_name_the_field(raw: dict, message: str) -> None:
    with pytest.raises(WireError, match=message):
        parse_command(raw)


@pytest.mark.parametrize(
    ("comment", "expected"),
    [
        ("SD cmd_0001", "SD cmd_0001"),
        ("", "cmd_" + "a" * 27),  # falls back to the id, cut to 31
        ("x" * 40, "x" * 31),
    ],
)
def test_order_comment_fits_mt5(comment: str, expected: str) -> None:
    cmd = parse_command(open_cmd("cmd_" + "a" * 32, comment=comment))
    assert cmd.order_comment == expected and len(cmd.order_comment) <= 31


def test_ack_round_trips() -> None:
    ack = Ack("c1", "closed", 5, D("1.1"), D("0.1"), datetime(2030, 1, 1, tzinfo=UTC))
    body = ack.to_json()
    assert body["time"] == 1_893_456_000 and body["price"] == 1.1
    assert Ack.from_json(body) == ack


def _seal(secret: str, aad: bytes, data: bytes) -> dict[str, str]:
    nonce = os.urandom(12)
    sealed = AESGCM(payload_key(secret)).encrypt(nonce, data, aad)
    return {
        "enc": "aes-256-gcm",
        "nonce": base64.b64encode(nonce).decode(),
        "ciphertext": base64.b64encode(sealed).decode(),
    }


def test_decrypt_checks_key_and_device() -> None:
    envelope = _seal(SECRET, DEVICE.encode(), b'{"commands": []}')
    assert decrypt_payload(SECRET, DEVICE, envelope) == {"commands": []}
    with pytest.raises(SecretError, match="does not open"):
        decrypt_payload(SECRET, "dev_other", envelope)
    with pytest.raises(SecretError, match="does not open"):
        decrypt_payload("another secret", DEVICE, envelope)
    with pytest.raises(SecretError):
        decrypt_payload(SECRET, DEVICE, {**envelope, "enc": "rot13"})


def test_signed_headers_follow_the_protocol() -> None:
    client = SignedClient("http://127.0.0.1:1/prefix", DEVICE, SECRET)
    headers = client.headers("POST", "/prefix/ea/v1/acks", b'{"a":1}')
    assert headers["X-Device-Id"] == DEVICE and re.fullmatch(r"[0-9]{10}", headers["X-Timestamp"])
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,64}", headers["X-Nonce"])
    expected = sign_request(
        SECRET, "POST", "/prefix/ea/v1/acks", b'{"a":1}', int(headers["X-Timestamp"]),
        headers["X-Nonce"],
    )  # fmt: skip
    assert headers["X-Signature"] == expected["X-Signature"]
    assert re.fullmatch(r"[0-9a-f]{64}", headers["X-Signature"])
    again = client.headers("POST", "/prefix/ea/v1/acks", b'{"a":1}')
    assert again["X-Nonce"] != headers["X-Nonce"]


def test_the_signature_matches_a_known_vector() -> None:
    """Pinned so the MQL5 EA (which cannot run here) can be checked against the same value."""
    headers = sign_request(
        "secret", "GET", "/ea/v1/commands?wait=25", b"", 1_700_000_000, "n" * 16
    )
    assert headers["X-Signature"] == KNOWN_SIGNATURE


KNOWN_SIGNATURE = "ed937a8dee179f75cdde04ffb36a262090fc2b3395c2cf2b12c80200d46b2cb9"
