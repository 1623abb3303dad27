import asyncio
import logging
from datetime import timedelta

import pytest

from models.audit import AuditLog
from models.users import Role, User, UserStatus
from services import audit
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.users import access
from services.users import profiles as svc
from services.users import registration as reg


def profile(tid: int, username: str | None = None, name: str = "Ann") -> svc.TelegramProfile:
    return svc.TelegramProfile(tid, username, name, None, "en")


async def test_first_contact_registers_once_and_audits(database: str) -> None:
    first = await reg.ensure_user(profile(10, "ann"), owners=frozenset())
    again = await reg.ensure_user(profile(10, "ann"), owners=frozenset())
    assert first.id == again.id
    assert first.role is Role.PUBLIC
    assert len(first.referral_code) == 8
    assert await User.filter(telegram_id=10).count() == 1
    assert [e.action for e in await audit.recent()] == ["user.registered"]


async def test_owner_ids_make_owners_and_profile_changes_are_saved(database: str) -> None:
    await reg.ensure_user(profile(11, "old"), owners=frozenset())
    info = await reg.ensure_user(profile(11, "new"), owners=frozenset({11}))
    assert info.role is Role.OWNER
    assert (await User.get(telegram_id=11)).username == "new"


async def test_referral_links_once_and_never_to_self(database: str) -> None:
    ref = await reg.ensure_user(profile(1, "ref"), owners=frozenset())
    new = await reg.ensure_user(profile(2, "new"), owners=frozenset())
    assert await svc.apply_referral(new.id, ref.referral_code.lower()) == ref
    assert await svc.apply_referral(new.id, ref.referral_code) is None  # already referred
    assert await svc.apply_referral(ref.id, ref.referral_code) is None  # self
    assert await svc.apply_referral(ref.id, "NOPE1234") is None
    row = await User.get(telegram_id=2)
    assert row.referred_by_id == ref.id


async def test_a_referral_link_counts_only_for_a_new_user(database: str) -> None:
    ref = await reg.ensure_user(profile(1, "ref"), owners=frozenset())
    old = await reg.ensure_user(profile(2, "old"), owners=frozenset())
    later = old.created_at + svc.REFERRAL_WINDOW + timedelta(seconds=1)
    assert await svc.apply_referral(old.id, ref.referral_code, now=later) is None
    assert (await User.get(telegram_id=2)).referred_by_id is None
    assert await svc.apply_referral(old.id, ref.referral_code, now=old.created_at) == ref


async def test_set_role_is_owner_only_audited_and_validated(database: str) -> None:
    owner = await reg.ensure_user(profile(1, "boss"), owners=frozenset({1}))
    admin = await svc.seed(2, "Adm", "adm", Role.ADMIN)
    await reg.ensure_user(profile(3, "carol"), owners=frozenset())
    updated = await access.set_role(owner, "@Carol", "subscriber")
    assert updated.role is Role.SUBSCRIBER
    entry = (await audit.recent(action="user.role_changed"))[0]
    assert (entry.actor_id, entry.target, entry.data) == (
        1,
        "3",
        {"old": "public", "new": "subscriber"},
    )
    with pytest.raises(PermissionDenied):
        await access.set_role(admin, "3", "admin")
    with pytest.raises(InvalidInput):
        await access.set_role(owner, "3", "owner")
    with pytest.raises(InvalidInput):
        await access.set_role(owner, "3", "king")
    with pytest.raises(PermissionDenied):
        await access.set_role(owner, "1", "public")  # owners come from OWNER_IDS
    with pytest.raises(NotFound):
        await access.set_role(owner, "@nobody", "admin")


async def test_ban_rules(database: str) -> None:
    owner = await reg.ensure_user(profile(1), owners=frozenset({1}))
    admin = await svc.seed(2, "Adm", "adm", Role.ADMIN)
    await svc.seed(3, "Sub", "sub", Role.SUBSCRIBER)
    banned = await access.set_banned(admin, "@sub", banned=True)
    assert banned.status is UserStatus.BANNED
    with pytest.raises(PermissionDenied):
        await access.set_banned(admin, "1", banned=True)  # not above one's own role
    with pytest.raises(PermissionDenied):
        await access.set_banned(admin, "2", banned=True)  # not oneself
    assert (await access.set_banned(owner, "2", banned=True)).is_banned
    actions = [e.action for e in await audit.recent()]
    assert actions.count("user.banned") == 2


async def test_blocked_bot_user_comes_back_active(database: str) -> None:
    await reg.ensure_user(profile(5), owners=frozenset())
    await svc.mark_blocked_bot(5)
    assert (await User.get(telegram_id=5)).status == UserStatus.BLOCKED_BOT
    info = await reg.ensure_user(profile(5), owners=frozenset())
    assert info.status is UserStatus.ACTIVE


async def test_audit_log_is_append_only(database: str) -> None:
    entry = await audit.record("x", actor_id=1)
    row = await AuditLog.get(id=entry.id)
    row.action = "y"
    with pytest.raises(Exception, match="append-only"):
        await row.save()
    with pytest.raises(Exception, match="append-only"):
        await row.delete()
    # ...and in the database, whoever asks: bulk updates and deletes bypass the model class.
    with pytest.raises(Exception, match="append-only"):
        await AuditLog.filter(id=entry.id).update(action="y")
    with pytest.raises(Exception, match="append-only"):
        await AuditLog.filter(id=entry.id).delete()
    assert (await AuditLog.get(id=entry.id)).action == "x"


async def test_concurrent_first_contacts_register_once_each_in_a_batch(database: str) -> None:
    profiles = [profile(900 + i % 25, f"u{i % 25}") for i in range(60)]  # 25 users, repeats
    infos = await asyncio.gather(*(reg.ensure_user(p, owners=frozenset({900})) for p in profiles))
    assert len({i.telegram_id for i in infos}) == 25
    assert await User.filter(telegram_id__gte=900).count() == 25
    assert {i.id for i in infos if i.telegram_id == 905} == {(await User.get(telegram_id=905)).id}
    assert (await User.get(telegram_id=900)).role == Role.OWNER
    registered = [e for e in await audit.recent(action="user.registered", limit=100)]
    assert sorted(e.actor_id for e in registered) == list(range(900, 925))
    codes = await User.filter(telegram_id__gte=900).values_list("referral_code", flat=True)
    assert len(set(codes)) == 25


async def test_a_burst_of_first_contacts_costs_one_select_and_one_insert(
    database: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tortoise.db_client")
    infos = await asyncio.gather(
        *(reg.ensure_user(profile(700 + i, f"n{i}"), owners=frozenset({700})) for i in range(40))
    )
    words = [r.getMessage().split(None, 1)[0].upper() for r in caplog.records]
    statements = [w for w in words if w in {"SELECT", "INSERT", "UPDATE", "BEGIN", "COMMIT"}]
    assert statements == ["SELECT", "INSERT"]  # the audit rows come from the database trigger
    for info in infos:  # what the caller got is exactly what is stored
        assert info == svc.to_info(await User.get(telegram_id=info.telegram_id))
    assert infos[0].role is Role.OWNER and {i.role for i in infos[1:]} == {Role.PUBLIC}
    registered = await audit.recent(action="user.registered", limit=100)
    assert sorted(e.actor_id for e in registered) == list(range(700, 740))


async def test_rows_the_insert_skipped_are_read_back_or_retried(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Between the batch's SELECT and its INSERT another update may create the user, or a new
    referral code may collide: those rows are skipped by ON CONFLICT and resolved one by one."""
    existing = await svc.seed(50, "Old", "old", Role.SUBSCRIBER)
    codes = iter([existing.referral_code, existing.referral_code, "FRESH234"])
    monkeypatch.setattr(reg, "new_referral_code", lambda: next(codes))
    out = await reg._register(
        [(profile(50, "old", "Old"), frozenset()), (profile(51), frozenset())]
    )
    assert out[50] == (existing, False)  # read back, unchanged: not this call's registration
    assert out[51][0].referral_code == "FRESH234"  # retried with a new code
    assert out[51] == (svc.to_info(await User.get(telegram_id=51)), True)
    registered = await audit.recent(action="user.registered")
    assert sorted(e.actor_id for e in registered) == [50, 51]  # one row per user, no more


async def test_every_way_of_creating_a_user_is_audited_once(database: str) -> None:
    await svc.seed(60, "Seeded", None, Role.ADMIN)  # operator CLI and sandbox personas
    await reg.ensure_user(profile(61), owners=frozenset())
    await reg.ensure_user(profile(61), owners=frozenset())
    entries = await audit.recent(action="user.registered")
    assert sorted((e.actor_id, e.target, e.data) for e in entries) == [
        (60, None, {}),
        (61, None, {}),
    ]
