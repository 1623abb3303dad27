"""The device registry: creation, ownership, revocation, auth cache, nonces, last-seen."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.bus import Bus
from models.devices import Command, CommandStatus, Device, DeviceStatus, UsedNonce
from models.users import Role, User
from services import audit
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.events import DeviceChanged, DeviceRevoked, RevocationPending
from services.terminals import commands as ea_commands
from services.terminals import device_auth, devices
from services.terminals import secrets as secret_box
from services.terminals.device_auth import Credentials
from services.users import profiles as users_service
from services.users.profiles import UserInfo
from tests.buses import heard
from tests.waiting import until


@pytest.fixture(autouse=True)
def _key(tmp_path: Path) -> None:
    secret_box.configure("device-tests-master-key", tmp_path)


async def user(tid: int, role: Role = Role.SUBSCRIBER) -> UserInfo:
    return await users_service.seed(tid, f"U{tid}", f"u{tid}", role)


async def test_create_shows_the_secret_once_and_seals_it(database: str) -> None:
    made = await devices.create_device(42, "  Main   MT5 ", "COPY")
    assert re.fullmatch(r"dev_[A-Za-z0-9_-]{12}", made.device_id)
    assert len(made.secret) >= 43
    assert made.device.name == "Main MT5" and made.device.mode.value == "copy"
    assert made.device.user_telegram_id == 42 and made.device.status is DeviceStatus.ACTIVE
    row = await Device.get(device_id=made.device_id)
    assert made.secret not in row.secret_enc
    assert secret_box.unseal(row.secret_enc, context=made.device_id) == made.secret
    assert (await User.get(telegram_id=42)).role == Role.PUBLIC  # created for this device
    actions = [e.action for e in await audit.recent()]
    assert actions == ["device.created", "user.registered"]


async def test_create_keeps_an_existing_users_profile(database: str) -> None:
    await user(43)
    await devices.create_device(43, "T")
    row = await User.get(telegram_id=43)
    assert (row.username, row.first_name, row.role) == ("u43", "U43", Role.SUBSCRIBER)


@pytest.mark.parametrize("name", ["", "   ", "x" * 65, "bad\x00name", "tab\x7f"])
async def test_bad_names_are_refused(database: str, name: str) -> None:
    with pytest.raises(InvalidInput) as err:
        await devices.create_device(44, name)
    assert err.value.key == "error.device_name_invalid"


async def test_bad_mode_and_too_many_devices_are_refused(database: str) -> None:
    with pytest.raises(InvalidInput, match="error.device_mode_invalid"):
        await devices.create_device(45, "T", "yolo")
    for i in range(devices.MAX_DEVICES_PER_USER):
        await devices.create_device(45, f"T{i}")
    with pytest.raises(InvalidInput, match="error.device_limit"):
        await devices.create_device(45, "one too many")
    first = (await devices.list_all(None, telegram_id=45))[0]
    await devices.revoke(None, first.device_id)  # revoked ones do not count
    await devices.create_device(45, "replacement")


async def test_ownership_rules(database: str) -> None:
    alice, bob = await user(1), await user(2)
    admin, owner = await user(3, Role.ADMIN), await user(4, Role.OWNER)
    made = await devices.create_device(1, "Alice's")
    await devices.create_device(2, "Bob's")
    assert [d.name for d in await devices.list_devices(alice)] == ["Alice's"]
    assert len(await devices.list_all(admin)) == 2
    assert len(await devices.list_all(None, telegram_id=2)) == 1
    with pytest.raises(PermissionDenied, match="error.device_list_forbidden"):
        await devices.list_all(bob)
    assert (await devices.get_device(admin, made.device_id)).name == "Alice's"
    for actor in (bob, admin, owner):
        with pytest.raises(PermissionDenied, match="error.device_not_yours"):
            await devices.rename(actor, made.device_id, "mine now")
    for actor in (bob, admin):
        with pytest.raises(PermissionDenied):
            await devices.revoke(actor, made.device_id)
    with pytest.raises(NotFound, match="error.device_not_found"):
        await devices.get_device(alice, "dev_missing00000")
    renamed = await devices.rename(alice, made.device_id, "Renamed")
    moded = await devices.set_mode(alice, made.device_id, "copy")
    assert (renamed.name, moded.mode.value) == ("Renamed", "copy")
    assert (await devices.revoke(owner, made.device_id)).status is DeviceStatus.REVOKED
    with pytest.raises(InvalidInput, match="error.device_revoked"):
        await devices.rename(alice, made.device_id, "again")
    actions = [e.action for e in await audit.recent(action=None, limit=3)]
    assert actions == ["device.revoked", "device.mode_changed", "device.renamed"]


@pytest.fixture
def credentials(bus: Bus) -> Credentials:
    """The EA API's credentials, subscribed as the app's assembly subscribes them."""
    made = Credentials()
    bus.subscribe(DeviceChanged, lambda e: made.forget(e.public_id))
    bus.subscribe(
        RevocationPending, lambda e: made.mark_revoked(e.public_id, revoked=not e.failed)
    )
    bus.subscribe(DeviceRevoked, lambda e: made.mark_revoked(e.public_id))
    return made


async def test_revoke_cancels_pending_commands_only_and_kills_auth(
    database: str, credentials: Credentials, bus: Bus
) -> None:
    made = await devices.create_device(5, "T")
    pk = made.device.id
    auth = await credentials.get_for_auth(made.device_id)
    assert auth is not None and not auth.revoked and auth.secret == made.secret
    payload = {"symbol": "EURUSD", "side": "buy"}
    pending = await ea_commands.create(pk, "open", payload, signal_id=1, dedupe_key="p",
                                       expires_at=None)  # fmt: skip
    filled = await ea_commands.create(pk, "open", payload, signal_id=2, dedupe_key="f",
                                      expires_at=None)  # fmt: skip
    await Command.filter(id=filled).update(status=CommandStatus.FILLED)
    revocations = heard(bus, DeviceRevoked)
    info = await devices.revoke(None, made.device_id)
    assert revocations == [DeviceRevoked(made.device_id)]  # to the other replicas
    assert info.status is DeviceStatus.REVOKED and info.revoked_at is not None
    assert (await Command.get(id=pending)).status == CommandStatus.CANCELLED
    assert (await Command.get(id=filled)).status == CommandStatus.FILLED
    revoked = await credentials.get_for_auth(made.device_id)
    assert revoked is not None and revoked.revoked
    assert (await devices.revoke(None, made.device_id)).revoked_at == info.revoked_at
    entries = await audit.recent(action="device.revoked")
    assert len(entries) == 1 and entries[0].data["cancelled_commands"] == 1


async def test_auth_cache_and_ttl(database: str, credentials: Credentials) -> None:
    made = await devices.create_device(6, "T")
    first = await credentials.get_for_auth(made.device_id)
    await Device.filter(device_id=made.device_id).update(encrypt_payloads=True)
    assert await credentials.get_for_auth(made.device_id) is first  # cached
    changed = await devices.set_encryption(None, made.device_id, enabled=False)
    assert not changed.encrypt_payloads
    again = await credentials.get_for_auth(made.device_id)  # the change dropped the entry
    assert again is not first and again is not None and not again.encrypt
    uncached = Credentials(ttl_s=0.0)
    await Device.filter(device_id=made.device_id).update(encrypt_payloads=True)
    fresh = await uncached.get_for_auth(made.device_id)
    assert fresh is not None and fresh.encrypt
    assert await uncached.get_for_auth(made.device_id) is not fresh  # read every time
    assert await uncached.get_for_auth("dev_unknown00000") is None


async def test_touch_writes_at_most_once_per_interval(database: str) -> None:
    made = await devices.create_device(7, "T")
    ref = device_auth.DeviceRef(made.device.id, made.device_id, made.device.user_id)
    credentials = Credentials()
    await credentials.touch(ref)
    seen = (await Device.get(id=made.device.id)).last_seen_at
    assert seen is not None
    await credentials.touch(ref)
    assert (await Device.get(id=made.device.id)).last_seen_at == seen
    credentials.touch_interval_s = 0.0
    await until(lambda: datetime.now(UTC) > seen, "the clock past the first touch")
    await credentials.touch(ref)
    assert (await Device.get(id=made.device.id)).last_seen_at > seen


async def test_nonces_once_per_window_even_concurrently(database: str) -> None:
    credentials = Credentials()
    assert await credentials.consume_nonce("dev_a", "n" * 16)
    assert not await credentials.consume_nonce("dev_a", "n" * 16)
    assert await credentials.consume_nonce("dev_b", "n" * 16)  # per device
    results = await asyncio.gather(
        *(credentials.consume_nonce("dev_a", "m" * 16) for _ in range(20))
    )
    assert sorted(results) == [False] * 19 + [True]
    old = datetime.now(UTC) - timedelta(seconds=device_auth.NONCE_WINDOW_S + 5)
    await UsedNonce.filter(nonce="n" * 16).update(seen_at=old)
    assert await credentials.consume_nonce("dev_a", "n" * 16)  # outside the window again
    assert await device_auth.prune_nonces() == 1  # dev_b's old row
    assert await UsedNonce.filter(device_id="dev_a").count() == 2
