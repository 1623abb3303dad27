"""Producers: the owner registers, lists, pauses, rotates and revokes outside sources of signals.

A producer's secret is made and sealed like an EA device's (`services.terminals.secrets`: 256
random bits, AES-GCM under MASTER_KEY with the public id as associated data) and shown once.
Its TradingView alert token (TradingView can neither sign nor set headers, so the token in the
URL is the credential) is 256 random bits too; only its SHA-256 is stored, so the database
never holds a usable alert URL. Every change is audited.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets as _random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from core import clock
from models.ingest import PRODUCER_ID_LENGTH, Producer, ProducerMode
from services import audit
from services.errors import InvalidInput, NotFound
from services.signals.strategy import check_symbol
from services.terminals import secrets as secret_box
from services.terminals.symbol_map import canonical
from services.text.numbers import IntBound

MAX_NAME = 64
DEFAULT_RATE_PER_HOUR = 60
MAX_RATE_PER_HOUR = 10_000
RATE = IntBound("error.number_invalid", 1, MAX_RATE_PER_HOUR, "a number of signals per hour")
TV_TOKEN_BYTES = 32
TV_PATH = "/hooks/tradingview/"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: nothing a name shows


@dataclass(frozen=True, slots=True)
class ProducerInfo:
    """A producer as the owner sees it (never its secret)."""

    id: int
    producer_id: str
    name: str
    mode: ProducerMode
    symbols: tuple[str, ...]
    rate_per_hour: int
    paused: bool
    revoked: bool
    tradingview: bool  # has an alert URL
    allowed_sources: tuple[str, ...]
    created_at: datetime

    @property
    def state(self) -> str:
        return "revoked" if self.revoked else "paused" if self.paused else "active"


@dataclass(frozen=True, slots=True)
class Credentials:
    """What is shown once: the id, the secret and (if asked for) the TradingView token."""

    info: ProducerInfo
    secret: str = field(repr=False)
    tv_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class ProducerAuth:
    """A producer as a request needs it: the secret unsealed, the policy."""

    info: ProducerInfo
    secret: str = field(repr=False)


def info_of(row: Producer) -> ProducerInfo:
    return ProducerInfo(
        id=row.id,
        producer_id=row.producer_id,
        name=row.name,
        mode=ProducerMode(row.mode),
        symbols=tuple(row.symbols),
        rate_per_hour=row.rate_per_hour,
        paused=row.paused,
        revoked=row.revoked,
        tradingview=row.tv_token_hash is not None,
        allowed_sources=tuple(row.allowed_sources),
        created_at=row.created_at,
    )


def tradingview_url(base_url: str, token: str) -> str:
    """The alert URL to paste into TradingView: the server's public address, then the token
    (served by webapp.ingest)."""
    return f"{base_url.rstrip('/')}{TV_PATH}{token}"


def token_hash(token: str) -> str:
    """The stored form of a TradingView token: hex SHA-256 (the token has 256 random bits, so
    a plain hash is enough; no salt or stretching needed)."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _symbols(symbols: Iterable[str]) -> list[str]:
    names = sorted({canonical(check_symbol(s)) for s in symbols if s.strip()})
    if not names:
        raise InvalidInput("ingest.error_no_symbols")
    return names


def _sources(sources: Iterable[str]) -> list[str]:
    out = []
    for text in sources:
        try:
            out.append(str(ipaddress.ip_network(text.strip(), strict=False)))
        except ValueError:
            raise InvalidInput("ingest.error_source", source=text.strip()[:64]) from None
    return out


def _name(name: str) -> str:
    """1 to MAX_NAME printable characters, runs of white space as one (as a device's name)."""
    clean = " ".join(name.split())
    if not clean or len(clean) > MAX_NAME or _CONTROL.search(clean):
        raise InvalidInput("ingest.error_name", max=MAX_NAME)
    return clean


async def register(
    name: str,
    symbols: Iterable[str],
    *,
    mode: ProducerMode = ProducerMode.PUBLISH,
    rate_per_hour: int = DEFAULT_RATE_PER_HOUR,
    tradingview: bool = False,
    allowed_sources: Iterable[str] = (),
    actor_id: int | None = None,
) -> Credentials:
    """A new producer; its secret (and TradingView token) are in the result only."""
    if not 1 <= rate_per_hour <= MAX_RATE_PER_HOUR:
        raise InvalidInput("ingest.error_rate", max=MAX_RATE_PER_HOUR)
    producer_id = f"prd_{_random.token_hex(8)}"
    secret = secret_box.new_secret()
    tv_token = _random.token_urlsafe(TV_TOKEN_BYTES) if tradingview else None
    row = await Producer.create(
        producer_id=producer_id,
        name=_name(name),
        secret_enc=secret_box.seal(secret, context=producer_id),
        mode=mode,
        symbols=_symbols(symbols),
        rate_per_hour=rate_per_hour,
        tv_token_hash=None if tv_token is None else token_hash(tv_token),
        allowed_sources=_sources(allowed_sources),
        created_by=actor_id,
    )
    await audit.record("producer.registered", actor_id=actor_id, target=producer_id, name=row.name)
    return Credentials(info_of(row), secret, tv_token)


async def list_all() -> list[ProducerInfo]:
    return [info_of(r) for r in await Producer.all().order_by("id")]


async def _row(producer_id: str) -> Producer:
    """The producer's row, or NotFound; an id longer than the column is no producer's (the
    ORM would refuse to query with it)."""
    row = None
    if len(producer_id) <= PRODUCER_ID_LENGTH:
        row = await Producer.get_or_none(producer_id=producer_id)
    if row is None:
        raise NotFound("ingest.error_unknown", id=producer_id[:40])
    return row


async def get(producer_id: str) -> ProducerInfo:
    return info_of(await _row(producer_id))


async def _live_row(producer_id: str) -> Producer:
    row = await _row(producer_id)
    if row.revoked:
        raise InvalidInput("ingest.error_revoked", id=producer_id)
    return row


async def get_live(producer_id: str) -> ProducerInfo:
    """The producer, or NotFound; InvalidInput when it is revoked (nothing can change it)."""
    return info_of(await _live_row(producer_id))


async def set_paused(producer_id: str, paused: bool, *, actor_id: int | None) -> ProducerInfo:
    row = await _live_row(producer_id)
    row.paused = paused
    await row.save(update_fields=["paused"])
    action = "producer.paused" if paused else "producer.resumed"
    await audit.record(action, actor_id=actor_id, target=producer_id)
    return info_of(row)


async def set_mode(producer_id: str, mode: ProducerMode, *, actor_id: int | None) -> ProducerInfo:
    row = await _live_row(producer_id)
    row.mode = mode
    await row.save(update_fields=["mode"])
    await audit.record("producer.mode", actor_id=actor_id, target=producer_id, mode=mode.value)
    return info_of(row)


async def rotate(producer_id: str, *, actor_id: int | None) -> Credentials:
    """A new secret (and, if it has one, a new TradingView token); the old ones stop at once."""
    row = await _live_row(producer_id)
    secret = secret_box.new_secret()
    row.secret_enc = secret_box.seal(secret, context=producer_id)
    tv_token = None
    if row.tv_token_hash is not None:
        tv_token = _random.token_urlsafe(TV_TOKEN_BYTES)
        row.tv_token_hash = token_hash(tv_token)
    await row.save(update_fields=["secret_enc", "tv_token_hash"])
    await audit.record("producer.rotated", actor_id=actor_id, target=producer_id)
    return Credentials(info_of(row), secret, tv_token)


async def revoke(producer_id: str, *, actor_id: int | None) -> ProducerInfo:
    """Refuse the producer from now on (its signals stay in the record)."""
    row = await _row(producer_id)
    if not row.revoked:
        row.revoked, row.revoked_at, row.tv_token_hash = True, clock.now(), None
        await row.save(update_fields=["revoked", "revoked_at", "tv_token_hash"])
        await audit.record("producer.revoked", actor_id=actor_id, target=producer_id)
    return info_of(row)


async def for_auth(producer_id: str) -> ProducerAuth | None:
    """The producer's credentials (secret unsealed), or None if unknown or revoked."""
    if len(producer_id) > PRODUCER_ID_LENGTH:
        return None
    row = await Producer.get_or_none(producer_id=producer_id)
    if row is None or row.revoked:
        return None
    return ProducerAuth(info_of(row), secret_box.unseal(row.secret_enc, context=producer_id))


async def for_tradingview(token: str) -> ProducerInfo | None:
    """The producer whose alert token this is, or None (unknown, revoked, none set)."""
    row = await Producer.get_or_none(tv_token_hash=token_hash(token), revoked=False)
    return None if row is None else info_of(row)


def source_allowed(info: ProducerInfo, address: str | None) -> bool:
    """True when the producer has no allow-list or `address` lies in one of its networks."""
    if not info.allowed_sources:
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(n) for n in info.allowed_sources)
