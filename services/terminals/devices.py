"""The device registry: a user's MetaTrader terminals running our EA, and their credentials.

A device has a public id (``dev_`` + 12 URL-safe characters) and a secret shown once at
creation, stored sealed (`services.terminals.secrets`). Only the device's owner manages it; admins and
the owner role may see every device, and the owner role may also revoke any (incident
response). Revoking is effective at once: pending commands are cancelled and the next request
fails authentication. Returns frozen dataclasses, never ORM rows.
"""

from __future__ import annotations

import re
import secrets as _random
from dataclasses import dataclass
from datetime import datetime

from tortoise.transactions import in_transaction

from core import bus, clock
from models.devices import DEVICE_ID_LENGTH, Device, DeviceMode, DeviceStatus
from models.users import Role
from services import audit
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.events import DeviceChanged, DeviceRevoked, RevocationPending
from services.terminals import commands as ea_commands
from services.terminals import live as live_updates
from services.terminals import secrets as secret_box
from services.terminals.device_auth import DeviceAuth as DeviceAuth
from services.users import entitlements, registration
from services.users import profiles as users_service
from services.users.profiles import UserInfo

NAME_MAX = 64
MAX_DEVICES_PER_USER = 10  # active + paused; revoked ones do not count
DEVICE_ID_RE = re.compile(r"^dev_[A-Za-z0-9_-]{12}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: int
    device_id: str
    user_id: int
    user_telegram_id: int
    name: str
    mode: DeviceMode
    status: DeviceStatus
    paused_reason: str | None
    encrypt_payloads: bool
    last_seen_at: datetime | None
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewDevice:
    """A created device: ``secret`` exists only here, once; show it and forget it."""

    device_id: str
    secret: str
    device: DeviceInfo

    def __repr__(self) -> str:  # keep the secret out of logs and tracebacks
        return f"NewDevice(device_id={self.device_id!r}, secret='***')"


def _info(row: Device, telegram_id: int) -> DeviceInfo:
    return DeviceInfo(
        id=row.id,
        device_id=row.device_id,
        user_id=row.user_id,  # type: ignore[attr-defined]
        user_telegram_id=telegram_id,
        name=row.name,
        mode=DeviceMode(row.mode),
        status=DeviceStatus(row.status),
        paused_reason=row.paused_reason,
        encrypt_payloads=row.encrypt_payloads,
        last_seen_at=row.last_seen_at,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def _with_user(row: Device) -> DeviceInfo:
    return _info(row, row.user.telegram_id)


def valid_name(name: str) -> str:
    """1-64 printable characters after trimming, or `InvalidInput`."""
    clean = " ".join(name.split())
    if not clean or len(clean) > NAME_MAX or _CONTROL.search(clean):
        raise InvalidInput("error.device_name_invalid", max=NAME_MAX)
    return clean


def valid_mode(mode: DeviceMode | str) -> DeviceMode:
    try:
        return DeviceMode(str(mode).strip().lower())
    except ValueError:
        raise InvalidInput("error.device_mode_invalid", mode=str(mode)) from None


async def _user_for(telegram_id: int, owners: frozenset[int]) -> UserInfo:
    try:
        return await users_service.get_by_telegram_id(telegram_id)
    except NotFound:
        profile = users_service.TelegramProfile(telegram_id, None, "", None, None)
        return await registration.ensure_user(profile, owners=owners)


async def create_device(
    user_telegram_id: int,
    name: str,
    mode: DeviceMode | str = DeviceMode.APPROVAL,
    *,
    encrypt_payloads: bool = False,
    by_operator: bool = False,
    owners: frozenset[int] = frozenset(),
    plan_limit: int | None = None,
) -> NewDevice:
    """Register a terminal for the user (created if this Telegram id is new); audited.

    The audit actor is the user, or the system when ``by_operator`` (the CLI). At most
    `MAX_DEVICES_PER_USER` unrevoked devices per user, and at most `plan_limit` when given (a
    user adding one themselves: their plan's terminal limit; the operator may exceed it).
    """
    clean, kind = valid_name(name), valid_mode(mode)
    user = await _user_for(user_telegram_id, owners)
    live = await Device.filter(user_id=user.id).exclude(status=DeviceStatus.REVOKED).count()
    if plan_limit is not None and live >= plan_limit:
        raise InvalidInput("error.device_plan_limit", limit=plan_limit, count=live)
    if live >= MAX_DEVICES_PER_USER:
        raise InvalidInput("error.device_limit", max=MAX_DEVICES_PER_USER)
    device_id = "dev_" + _random.token_urlsafe(9)  # 12 characters, 72 random bits
    secret = secret_box.new_secret()
    async with in_transaction():
        row = await Device.create(
            device_id=device_id,
            user_id=user.id,
            name=clean,
            secret_enc=secret_box.seal(secret, context=device_id),
            mode=kind,
            encrypt_payloads=encrypt_payloads,
        )
        await audit.record(
            "device.created",
            actor_id=None if by_operator else user_telegram_id,
            target=device_id,
            user=user_telegram_id,
            name=clean,
            mode=kind.value,
        )
    bus.publish(DeviceChanged(device_id))
    live_updates.announce("terminal", row.id, user.telegram_id)
    return NewDevice(device_id=device_id, secret=secret, device=_info(row, user.telegram_id))


async def list_devices(owner: UserInfo, *, include_revoked: bool = False) -> list[DeviceInfo]:
    """The user's own devices, oldest first."""
    query = Device.filter(user_id=owner.id)
    if not include_revoked:
        query = query.exclude(status=DeviceStatus.REVOKED)
    return [_info(row, owner.telegram_id) for row in await query.order_by("created_at", "id")]


async def list_all(
    actor: UserInfo | None, *, telegram_id: int | None = None, include_revoked: bool = True
) -> list[DeviceInfo]:
    """Every device (or one user's): admins, the owner, or the operator (``actor=None``)."""
    if actor is not None and not actor.role.at_least(Role.ADMIN):
        raise PermissionDenied("error.device_list_forbidden")
    query = Device.all().select_related("user")
    if telegram_id is not None:
        query = query.filter(user__telegram_id=telegram_id)
    if not include_revoked:
        query = query.exclude(status=DeviceStatus.REVOKED)
    return [_with_user(row) for row in await query.order_by("created_at", "id")]


async def _load(actor: UserInfo | None, device_id: str, *, manage: bool) -> Device:
    wanted = device_id.strip()
    if len(wanted) > DEVICE_ID_LENGTH:  # no such id can exist (the column would refuse it)
        raise NotFound("error.device_not_found", device_id=device_id[:64])
    row = await Device.get_or_none(device_id=wanted).select_related("user")
    if row is None:
        raise NotFound("error.device_not_found", device_id=device_id)
    if actor is None or row.user_id == actor.id:  # type: ignore[attr-defined]
        return row
    if not manage and actor.role.at_least(Role.ADMIN):
        return row
    raise PermissionDenied("error.device_not_yours")


async def get_device(actor: UserInfo | None, device_id: str) -> DeviceInfo:
    """One device: its owner, admins, the owner role, or the operator may see it."""
    return _with_user(await _load(actor, device_id, manage=False))


async def _live(actor: UserInfo | None, device_id: str) -> Device:
    row = await _load(actor, device_id, manage=True)
    if row.status == DeviceStatus.REVOKED:
        raise InvalidInput("error.device_revoked", device_id=row.device_id)
    return row


async def _save(row: Device, actor: UserInfo | None, action: str, **data: object) -> DeviceInfo:
    async with in_transaction():
        await row.save(update_fields=list(data))
        await audit.record(
            action,
            actor_id=actor.telegram_id if actor else None,
            target=row.device_id,
            **{k: getattr(v, "value", v) for k, v in data.items()},
        )
    bus.publish(DeviceChanged(row.device_id))
    live_updates.announce("terminal", row.id, row.user.telegram_id)
    return _with_user(row)


async def rename(actor: UserInfo | None, device_id: str, name: str) -> DeviceInfo:
    """Give the device a new name (1-64 characters); audited."""
    row = await _live(actor, device_id)
    row.name = valid_name(name)
    return await _save(row, actor, "device.renamed", name=row.name)


async def set_mode(actor: UserInfo | None, device_id: str, mode: DeviceMode | str) -> DeviceInfo:
    """Approval (only approved signals) or copy (every signal within the risk settings)."""
    row = await _live(actor, device_id)
    row.mode = valid_mode(mode)
    if row.mode is DeviceMode.COPY and actor is not None and not entitlements.can_copy(actor):
        raise PermissionDenied("error.copy_plan_required")
    return await _save(row, actor, "device.mode_changed", mode=row.mode)


async def set_encryption(actor: UserInfo | None, device_id: str, *, enabled: bool) -> DeviceInfo:
    """Encrypt this device's responses (AES-256-GCM under its secret) or stop doing so."""
    row = await _live(actor, device_id)
    row.encrypt_payloads = enabled
    return await _save(row, actor, "device.encryption_changed", encrypt_payloads=enabled)


async def revoke(actor: UserInfo | None, device_id: str) -> DeviceInfo:
    """Kill the credentials now: the next request fails, pending commands are cancelled.

    The device's owner, the owner role, or the operator (``actor=None``). Idempotent.
    """
    row = await _load(actor, device_id, manage=actor is None or actor.role is not Role.OWNER)
    if row.status == DeviceStatus.REVOKED:
        return _with_user(row)
    row.status, row.revoked_at = DeviceStatus.REVOKED, clock.now()
    bus.publish(RevocationPending(row.device_id))  # before the commit: none slips through
    try:
        async with in_transaction():
            await row.save(update_fields=["status", "revoked_at"])
            cancelled = await ea_commands.cancel_pending_for_device(row.id)
            await audit.record(
                "device.revoked",
                actor_id=actor.telegram_id if actor else None,
                target=row.device_id,
                cancelled_commands=cancelled,
            )
    except BaseException:
        bus.publish(RevocationPending(row.device_id, failed=True))
        raise
    bus.publish(DeviceRevoked(row.device_id))  # refused on the other replicas too
    live_updates.announce("terminal", row.id, row.user.telegram_id)
    ea_commands.notify([row.id])  # open long polls of this device end now
    return _with_user(row)
