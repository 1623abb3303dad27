"""Secrets: device credentials sealed at rest under MASTER_KEY.

At rest, a value is sealed with AES-256-GCM (NIST SP 800-38D) under a key derived from
MASTER_KEY with HKDF-SHA256 (RFC 5869, info ``signaldesk-at-rest-v1``): a random 12-byte
nonce, the ciphertext with its 16-byte tag, the row's public identifier as associated data (so
a sealed value copied to another row does not open), stored as ``v1:`` + base64(nonce +
ciphertext). Without MASTER_KEY (embedded/sandbox mode) a random key is generated once into
``<data_dir>/master.key`` (mode 0600) and a warning says to set MASTER_KEY in production.

The EA payload encryption (the protocol's, stateless) lives in `core.crypto`, shared with the
reference EAs. Neither keys nor secrets are ever logged.

A `SecretBox` is one key's sealer, immutable once made. The process seals with one box, set by
`configure` at start-up (app, CLI) from MASTER_KEY and DATA_DIR: that is configuration, like the
database URL, not wiring. No component chooses its key and nothing subscribes to it; a process
that sealed under two keys would write secrets it can no longer open, so the key is one per
process by design. Threading the box through every caller instead (the device service, the
handlers' dispatcher data, the CLI, the sandbox, the EA API's credentials and ~30 tests) would add
a parameter that can only ever carry that one value. `configure` is the only function that
replaces the process's box (a test checks it); `box()` falls back to the ``MASTER_KEY``
environment variable and ``./data`` when nothing configured it (tools and tests).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import os
import secrets as _random
import tempfile
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from core.crypto import NONCE_BYTES, SecretError, hkdf_sha256

log = logging.getLogger(__name__)
SEAL_VERSION = "v1"
AT_REST_INFO = b"signaldesk-at-rest-v1"
KEY_FILE = "master.key"
SECRET_BYTES = 32  # token_urlsafe(32): 43 characters, 256 bits


class SecretBox:
    """Seals values for storage and opens them, under one at-rest key."""

    __slots__ = ("_aead", "_material")

    def __init__(self, master_key: str | None, data_dir: Path) -> None:
        """The key from ``master_key``, or from (or into) ``data_dir/master.key``."""
        material = master_key if master_key else _load_or_create_key_file(data_dir)
        self._material = material.encode("utf-8")
        self._aead = AESGCM(hkdf_sha256(self._material, AT_REST_INFO))

    def derive(self, info: bytes) -> bytes:
        """Another 32-byte key from the same material, bound to `info` (HKDF-SHA256): e.g. the
        Mini App's session-signing key. Distinct `info` values give independent keys."""
        if info == AT_REST_INFO:
            msg = "the at-rest key is not handed out"
            raise ValueError(msg)
        return hkdf_sha256(self._material, info)

    def seal(self, plaintext: str, *, context: str) -> str:
        """Encrypt ``plaintext`` for storage; ``context`` (e.g. the device id) is bound as AAD."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plaintext.encode("utf-8"), context.encode("utf-8"))
        return f"{SEAL_VERSION}:" + base64.b64encode(nonce + sealed).decode("ascii")

    def unseal(self, token: str, *, context: str) -> str:
        """Open a value made by `seal` with the same ``context``; `SecretError` if it does not."""
        version, _, data = token.partition(":")
        if version != SEAL_VERSION:
            msg = f"unknown sealed-value version {version!r}"
            raise SecretError(msg)
        try:
            raw = base64.b64decode(data, validate=True)
            plain = self._aead.decrypt(
                raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode("utf-8")
            )
        except (binascii.Error, InvalidTag, ValueError) as exc:
            msg = "sealed value does not open: wrong MASTER_KEY or tampered data"
            raise SecretError(msg) from exc
        return plain.decode("utf-8")


_box: SecretBox | None = None  # the process's: replaced only by `configure`


def configure(master_key: str | None, data_dir: Path) -> SecretBox:
    """Set the process's at-rest key from MASTER_KEY, or from (or into) ``data_dir/master.key``.

    Called once at start-up (app, CLI); until then the first use falls back to the
    ``MASTER_KEY`` environment variable and ``./data``.
    """
    global _box
    _box = SecretBox(master_key, data_dir)
    return _box


def box() -> SecretBox:
    """The process's box (`configure`d, or from the environment on first use)."""
    if _box is None:
        return configure(os.environ.get("MASTER_KEY") or None, Path("data"))
    return _box


def _load_or_create_key_file(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=data_dir, prefix=".master.key.")
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, _random.token_urlsafe(SECRET_BYTES).encode("ascii"))
            os.fsync(fd)
            os.close(fd)
            with contextlib.suppress(FileExistsError):  # another process won: use its key
                os.link(tmp, path)  # atomic, never overwrites
        finally:
            os.unlink(tmp)
    log.warning(
        "MASTER_KEY is not set: device secrets are sealed with the key in %s; set MASTER_KEY "
        "in production (losing that file makes stored secrets unreadable)",
        path,
    )
    text = path.read_text(encoding="ascii").strip()
    if not text:
        msg = f"{path} is empty: restore it or set MASTER_KEY"
        raise SecretError(msg)
    return text


def new_secret() -> str:
    """A fresh device secret (256 bits, URL-safe): shown to the user once, then only sealed."""
    return _random.token_urlsafe(SECRET_BYTES)


def seal(plaintext: str, *, context: str) -> str:
    """`SecretBox.seal` with the process's box."""
    return box().seal(plaintext, context=context)


def unseal(token: str, *, context: str) -> str:
    """`SecretBox.unseal` with the process's box."""
    return box().unseal(token, context=context)
