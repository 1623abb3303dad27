"""The ledger's canonical JSON (format version 1): what is hashed, byte for byte.

An independent verifier reproduces every hash with these rules (the README's "The track
record: verify it without trusting us" quotes them):

- Text: ``json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)``
  encoded as UTF-8: keys sorted by code point at every level, no whitespace, non-ASCII
  characters as themselves (not ``\\u`` escapes).
- Values are only objects, arrays, strings, whole numbers (JSON integers: seq, signal id,
  version), booleans and null; never a JSON float.
- Prices are strings with the symbol's digits (XAUUSD 2: ``"2031.50"``, EURUSD 5:
  ``"1.08410"``); results in R are strings with 4 places (``"-1.0000"``); never ``-0``.
- Times are UTC ISO-8601 to the second with ``Z``: ``"2030-01-01T09:00:00Z"``.
- An entry's hash is the hex SHA-256 of the canonical JSON of
  ``{"event": <event>, "prev": <previous entry's hash>, "seq": <seq>}``; the first entry's
  previous hash is 64 zeros (`GENESIS`).
- A commitment is the hex SHA-256 of the canonical JSON of
  ``{"levels": <levels>, "salt": <the signal's salt, hex>, "seq": <the entry's seq>}``.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

FORMAT_VERSION = 1
GENESIS = "0" * 64
R_PLACES = 4


def canonical(value: Any) -> str:
    """The canonical JSON text of `value` (see the module's rules)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def decimal_text(value: Decimal, places: int) -> str:
    """`value` with exactly `places` decimals, half-up as the tick grid rounds, never "-0"."""
    quantized = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if quantized == 0:
        quantized = abs(quantized)
    return format(quantized, "f")


def price(value: Decimal | None, digits: int) -> str | None:
    return None if value is None else decimal_text(value, digits)


def moment(value: datetime) -> str:
    """UTC to the second with "Z" (sub-second parts are dropped, not rounded)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def entry_hash(seq: int, prev: str, event: dict[str, Any]) -> str:
    return sha256_hex(canonical({"event": event, "prev": prev, "seq": seq}))


def commitment(levels: dict[str, Any], salt: str, seq: int) -> str:
    return sha256_hex(canonical({"levels": levels, "salt": salt, "seq": seq}))
