"""What the EA API needs per request, cheaply: the device's key, replay protection, last-seen.

One `Credentials` object per process (the assembly creates it) owns the state below.

- `get_for_auth` answers from a small in-process cache (TTL `AUTH_CACHE_TTL_S`). A revoke in
  this process takes effect at once (`mark_revoked` is checked before the cache); another
  replica hears of it on the bus (`DeviceRevoked`), or notices within the TTL without one. That staleness is the price of not reading the device row
  on every request; set the TTL to 0 to read it every time. Devices with open long polls are
  checked more often (`find_revoked`, every REVOCATION_CHECK_S), so a revocation by another
  process (the CLI, a replica without the bus) ends their polls and refuses them soon.
- `consume_nonce` records (device, nonce) in the ``used_nonces`` table, so replays are refused
  across replicas: concurrent requests share one INSERT ... ON CONFLICT DO NOTHING, and rows
  older than the window are pruned about once a minute.
- `touch` writes ``last_seen_at`` at most every `TOUCH_INTERVAL_S` per device, batched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core import clock
from core.crypto import payload_key
from models.devices import Device, DeviceStatus, UsedNonce
from services.batching import Batcher
from services.terminals import secrets as secret_box

log = logging.getLogger(__name__)
AUTH_CACHE_TTL_S = 10.0
AUTH_CACHE_MAX = 50_000
TOUCH_INTERVAL_S = 5.0
NONCE_WINDOW_S = 600
NONCE_PRUNE_INTERVAL_S = 60.0


@dataclass(frozen=True, slots=True)
class DeviceRef:
    """Who is calling: what report hooks and services need, without credentials."""

    id: int  # primary key (Command.device_id etc.)
    device_id: str  # public id, dev_...
    user_id: int


@dataclass(frozen=True, slots=True)
class DeviceAuth:
    id: int
    device_id: str
    user_id: int
    secret: str = field(repr=False)
    status: DeviceStatus
    encrypt: bool
    payload_key: bytes = field(repr=False)

    @property
    def ref(self) -> DeviceRef:
        return DeviceRef(self.id, self.device_id, self.user_id)

    @property
    def revoked(self) -> bool:
        return self.status is DeviceStatus.REVOKED


REVOKED_QUERY_CHUNK = 500  # device ids per query (SQLite's bound parameters)


class Credentials:
    """This process's view of the devices calling the EA API: a credentials cache, the
    revocations known here, last-seen bookkeeping and replay protection. The assembly creates
    one and subscribes it to `DeviceChanged`, `RevocationPending` and `DeviceRevoked`."""

    def __init__(
        self, ttl_s: float = AUTH_CACHE_TTL_S, touch_interval_s: float = TOUCH_INTERVAL_S
    ) -> None:
        self.ttl_s = ttl_s  # 0: read the device row on every request
        self.touch_interval_s = touch_interval_s
        self._cache: dict[str, tuple[float, DeviceAuth]] = {}
        self._revoked_here: set[str] = set()
        self._touched: dict[str, float] = {}  # by public id: primary keys are reused in tests
        self._touch_batcher: Batcher[int, None] = Batcher(_touch_batch, name="device.touch")
        self._nonces = NonceStore()

    def forget(self, device_id: str) -> None:
        """Drop the cached entry (after any change to the device row)."""
        self._cache.pop(device_id, None)

    def mark_revoked(self, device_id: str, *, revoked: bool = True) -> None:
        """Refuse this device here from now on (``revoked=False`` undoes a failed revoke)."""
        if revoked:
            self._revoked_here.add(device_id)
        else:
            self._revoked_here.discard(device_id)
        self.forget(device_id)

    def revoked_here(self, device_id: str) -> bool:
        """Revoked here or announced by another replica (open long polls end at once)."""
        return device_id in self._revoked_here

    async def find_revoked(self, device_pks: Sequence[int]) -> list[tuple[str, int]]:
        """(public id, primary key) of those devices that the database says are revoked but
        this process did not know of (revoked by the CLI, or by another replica while the bus
        was away); from now on they are refused here too (`mark_revoked`)."""
        found: list[tuple[str, int]] = []
        pks = sorted(set(device_pks))
        for start in range(0, len(pks), REVOKED_QUERY_CHUNK):
            rows = await Device.filter(
                id__in=pks[start : start + REVOKED_QUERY_CHUNK], status=DeviceStatus.REVOKED
            ).values_list("device_id", "id")
            for device_id, pk in rows:
                if device_id not in self._revoked_here:
                    self.mark_revoked(str(device_id))
                    found.append((str(device_id), int(pk)))
        return found

    async def get_for_auth(self, device_id: str) -> DeviceAuth | None:
        """The device's credentials (secret unsealed) or None if unknown; check ``.revoked``."""
        now = time.monotonic()
        hit = self._cache.get(device_id)
        if hit is not None and hit[0] > now and device_id not in self._revoked_here:
            return hit[1]
        row = await Device.get_or_none(device_id=device_id).only(
            "id", "device_id", "user_id", "secret_enc", "status", "encrypt_payloads"
        )
        if row is None:
            return None
        secret = secret_box.unseal(row.secret_enc, context=device_id)
        status = DeviceStatus(row.status)
        if device_id in self._revoked_here:
            status = DeviceStatus.REVOKED
        auth = DeviceAuth(
            id=row.id,
            device_id=device_id,
            user_id=row.user_id,  # type: ignore[attr-defined]
            secret=secret,
            status=status,
            encrypt=row.encrypt_payloads,
            payload_key=payload_key(secret),
        )
        if self.ttl_s > 0:
            if len(self._cache) >= AUTH_CACHE_MAX:
                self._cache.clear()
            self._cache[device_id] = (now + self.ttl_s, auth)
        return auth

    async def touch(self, device: DeviceRef | DeviceAuth) -> None:
        """Record that the device was seen: at most one (batched) write per interval."""
        now = time.monotonic()
        last = self._touched.get(device.device_id)
        if last is not None and now - last < self.touch_interval_s:
            return
        self._touched[device.device_id] = now
        try:
            await self._touch_batcher.submit(device.id)
        except Exception as exc:  # last-seen is bookkeeping: never fail the request for it
            self._touched.pop(device.device_id, None)
            log.warning("could not record last_seen_at", extra={"error": repr(exc)})

    async def consume_nonce(self, device_id: str, nonce: str) -> bool:
        """True if this (device, nonce) was not seen within `NONCE_WINDOW_S`; records it."""
        return await self._nonces.consume(device_id, nonce)


async def _touch_batch(pks: Sequence[int]) -> list[None]:
    await Device.filter(id__in=sorted(set(pks))).update(last_seen_at=clock.now())
    return [None] * len(pks)


class NonceStore:
    """Replay protection for signed callers: (caller id, nonce) pairs in ``used_nonces``,
    batched; the EA's devices (dev_...) and the ingest API's producers (prd_...) share it."""

    def __init__(self) -> None:
        self.last_prune = 0.0
        self.batcher: Batcher[tuple[str, str], bool] = Batcher(self._consume, name="ea.nonce")

    async def consume(self, caller_id: str, nonce: str) -> bool:
        """True if (caller, nonce) was not seen within `NONCE_WINDOW_S`; records it."""
        return await self.batcher.submit((caller_id, nonce))

    async def _consume(self, items: Sequence[tuple[str, str]]) -> list[bool]:
        now = clock.now()
        first: list[bool] = []
        unique: dict[tuple[str, str], None] = {}
        for item in items:  # the same nonce twice in one batch: only the first one counts
            first.append(item not in unique)
            unique.setdefault(item)
        await UsedNonce.bulk_create(
            [UsedNonce(device_id=d, nonce=n, seen_at=now) for d, n in unique],
            ignore_conflicts=True,
        )
        # Rows stamped with exactly `now` are the ones this statement inserted.
        mine = set(await UsedNonce.filter(seen_at=now).values_list("device_id", "nonce"))
        fresh = {item: item in mine for item in unique}
        for item in (i for i, ok in fresh.items() if not ok):
            fresh[item] = await self._reclaim(item, now)
        await self._maybe_prune(now)
        return [ok and fresh[item] for ok, item in zip(first, items, strict=True)]

    @staticmethod
    async def _reclaim(item: tuple[str, str], now: datetime) -> bool:
        """A row exists: reuse is allowed only if it is older than the window (not pruned yet)."""
        cutoff = now - timedelta(seconds=NONCE_WINDOW_S)
        updated = await UsedNonce.filter(
            device_id=item[0], nonce=item[1], seen_at__lt=cutoff
        ).update(seen_at=now)
        return updated == 1

    async def _maybe_prune(self, now: datetime) -> None:
        mono = time.monotonic()
        if mono - self.last_prune < NONCE_PRUNE_INTERVAL_S:
            return
        self.last_prune = mono
        await prune_nonces(now)


async def prune_nonces(now: datetime | None = None) -> int:
    """Delete nonces older than the replay window; returns how many."""
    cutoff = (now or clock.now()) - timedelta(seconds=NONCE_WINDOW_S)
    return int(await UsedNonce.filter(seen_at__lt=cutoff).delete())
