"""The protocol's cryptography and secrets at rest, without a server."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

import pytest

from core.crypto import SecretError, hkdf_sha256
from ea.crypto import (
    canonical_message,
    decrypt_payload,
    encrypt_payload,
    payload_key,
    sign,
    sign_request,
)
from services.terminals import secrets as secret_box


def test_signature_is_the_documented_hmac() -> None:
    body = b'{"a":1}'
    message = canonical_message("post", "/ea/v1/acks?x=1", 1_700_000_000, "n" * 16, body)
    assert message == (
        b"POST\n/ea/v1/acks?x=1\n1700000000\nnnnnnnnnnnnnnnnn\n"
        b"015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
    )
    headers = sign_request("s3cret", "POST", "/ea/v1/acks?x=1", body, 1_700_000_000, "n" * 16)
    assert headers == {
        "X-Timestamp": "1700000000",
        "X-Nonce": "n" * 16,
        "X-Signature": sign("s3cret", message),
    }
    assert len(headers["X-Signature"]) == 64 and headers["X-Signature"].islower()
    empty = canonical_message("GET", "/p", 1, "n" * 16, b"")
    assert empty.endswith(b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    fresh = sign_request("s", "GET", "/p", device_id="dev_x")
    assert fresh["X-Device-Id"] == "dev_x" and 16 <= len(fresh["X-Nonce"]) <= 64


def test_payload_encryption_round_trip_and_binding() -> None:
    secret, device = "the-secret", "dev_abcdefabcdef"
    key = payload_key(secret)
    assert key == hkdf_sha256(secret.encode(), b"signaldesk-ea-v1") and len(key) == 32
    envelope = encrypt_payload(key, device, b'{"commands": []}')
    assert envelope["enc"] == "aes-256-gcm"
    assert len(base64.b64decode(envelope["nonce"])) == 12
    assert decrypt_payload(secret, device, envelope) == {"commands": []}
    assert encrypt_payload(key, device, b"{}")["nonce"] != envelope["nonce"]
    for bad in (
        lambda: decrypt_payload(secret, "dev_other", envelope),
        lambda: decrypt_payload("another", device, envelope),
        lambda: decrypt_payload(secret, device, {**envelope, "enc": "none"}),
        lambda: decrypt_payload(secret, device, {**envelope, "ciphertext": "AAAA"}),
    ):
        with pytest.raises(SecretError):
            bad()


def test_sealed_secrets_open_only_with_the_same_key_and_context(tmp_path: Path) -> None:
    secret_box.configure("master-one", tmp_path)
    sealed = secret_box.seal("s3cret-value", context="dev_a")
    assert sealed.startswith("v1:") and "s3cret-value" not in sealed
    assert secret_box.seal("s3cret-value", context="dev_a") != sealed  # random nonce
    assert secret_box.unseal(sealed, context="dev_a") == "s3cret-value"
    with pytest.raises(SecretError):
        secret_box.unseal(sealed, context="dev_b")
    with pytest.raises(SecretError):
        secret_box.unseal("v9:" + sealed[3:], context="dev_a")
    secret_box.configure("master-two", tmp_path)
    with pytest.raises(SecretError):
        secret_box.unseal(sealed, context="dev_a")


def test_without_master_key_a_private_key_file_is_made_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    secret_box.configure(None, tmp_path / "data")
    key_file = tmp_path / "data" / "master.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    sealed = secret_box.seal("x", context="c")
    text = key_file.read_text()
    assert any("MASTER_KEY" in r.getMessage() for r in caplog.records)
    assert all(
        text not in r.getMessage() + json.dumps(r.__dict__, default=str) for r in caplog.records
    )
    secret_box.configure(None, tmp_path / "data")  # reused, not replaced
    assert key_file.read_text() == text
    assert secret_box.unseal(sealed, context="c") == "x"


def test_new_secrets_are_long_and_url_safe() -> None:
    secrets = {secret_box.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(
        len(s) >= 43
        and set(s) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        for s in secrets
    )
