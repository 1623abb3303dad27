import pytest

from models.audit import AuditLog
from models.users import Role, User, UserStatus
from services import audit
from services import users as svc
from services.errors import InvalidInput, NotFound, PermissionDenied


def profile(tid: int, username: str | None = None, name: str = "Ann") -> svc.TelegramProfile:
    return svc.TelegramProfile(tid, username, name, None, "en")


async def test_first_contact_registers_once_and_audits(database: str) -> None:
    first = await svc.ensure_user(profile(10, "ann"), owners=frozenset())
    again = await svc.ensure_user(profile(10, "ann"), owners=frozenset())
    assert first.id == again.id
    assert first.role is Role.PUBLIC
    assert len(first.referral_code) == 8
    assert await User.filter(telegram_id=10).count() == 1
    assert [e.action for e in await audit.recent()] == ["user.registered"]


async def test_owner_ids_make_owners_and_profile_changes_are_saved(database: str) -> None:
    await svc.ensure_user(profile(11, "old"), owners=frozenset())
    info = await svc.ensure_user(profile(11, "new"), owners=frozenset({11}))
    assert info.role is Role.OWNER
    assert (await User.get(telegram_id=11)).username == "new"


async def test_referral_links_once_and_never_to_self(database: str) -> None:
    ref = await svc.ensure_user(profile(1, "ref"), owners=frozenset())
    new = await svc.ensure_user(profile(2, "new"), owners=frozenset())
    assert await svc.apply_referral(new.id, ref.referral_code.lower()) == ref
    assert await svc.apply_referral(new.id, ref.referral_code) is None  # already referred
    assert await svc.apply_referral(ref.id, ref.referral_code) is None  # self
    assert await svc.apply_referral(ref.id, "NOPE1234") is None
    row = await User.get(telegram_id=2)
    assert row.referred_by_id == ref.id


async def test_set_role_is_owner_only_audited_and_validated(database: str) -> None:
    owner = await svc.ensure_user(profile(1, "boss"), owners=frozenset({1}))
    admin = await svc.seed(2, "Adm", "adm", Role.ADMIN)
    await svc.ensure_user(profile(3, "carol"), owners=frozenset())
    updated = await svc.set_role(owner, "@Carol", "subscriber")
    assert updated.role is Role.SUBSCRIBER
    entry = (await audit.recent(action="user.role_changed"))[0]
    assert (entry.actor_id, entry.target, entry.data) == (
        1,
        "3",
        {"old": "public", "new": "subscriber"},
    )
    with pytest.raises(PermissionDenied):
        await svc.set_role(admin, "3", "admin")
    with pytest.raises(InvalidInput):
        await svc.set_role(owner, "3", "owner")
    with pytest.raises(InvalidInput):
        await svc.set_role(owner, "3", "king")
    with pytest.raises(PermissionDenied):
        await svc.set_role(owner, "1", "public")  # owners come from OWNER_IDS
    with pytest.raises(NotFound):
        await svc.set_role(owner, "@nobody", "admin")


async def test_ban_rules(database: str) -> None:
    owner = await svc.ensure_user(profile(1), owners=frozenset({1}))
    admin = await svc.seed(2, "Adm", "adm", Role.ADMIN)
    await svc.seed(3, "Sub", "sub", Role.SUBSCRIBER)
    banned = await svc.set_banned(admin, "@sub", banned=True)
    assert banned.status is UserStatus.BANNED
    with pytest.raises(PermissionDenied):
        await svc.set_banned(admin, "1", banned=True)  # not above one's own role
    with pytest.raises(PermissionDenied):
        await svc.set_banned(admin, "2", banned=True)  # not oneself
    assert (await svc.set_banned(owner, "2", banned=True)).is_banned
    actions = [e.action for e in await audit.recent()]
    assert actions.count("user.banned") == 2


async def test_blocked_bot_user_comes_back_active(database: str) -> None:
    await svc.ensure_user(profile(5), owners=frozenset())
    await svc.mark_blocked_bot(5)
    assert (await User.get(telegram_id=5)).status == UserStatus.BLOCKED_BOT
    info = await svc.ensure_user(profile(5), owners=frozenset())
    assert info.status is UserStatus.ACTIVE


async def test_audit_log_is_append_only(database: str) -> None:
    entry = await audit.record("x", actor_id=1)
    row = await AuditLog.get(id=entry.id)
    row.action = "y"
    with pytest.raises(Exception, match="append-only"):
        await row.save()
    with pytest.raises(Exception, match="append-only"):
        await row.delete()


async def test_concurrent_first_contacts_register_once_each_in_a_batch(database: str) -> None:
    import asyncio

    profiles = [profile(900 + i % 25, f"u{i % 25}") for i in range(60)]  # 25 users, repeats
    infos = await asyncio.gather(*(svc.ensure_user(p, owners=frozenset({900})) for p in profiles))
    assert len({i.telegram_id for i in infos}) == 25
    assert await User.filter(telegram_id__gte=900).count() == 25
    assert {i.id for i in infos if i.telegram_id == 905} == {(await User.get(telegram_id=905)).id}
    assert (await User.get(telegram_id=900)).role == Role.OWNER
    registered = [e for e in await audit.recent(action="user.registered", limit=100)]
    assert sorted(e.actor_id for e in registered) == list(range(900, 925))
    codes = await User.filter(telegram_id__gte=900).values_list("referral_code", flat=True)
    assert len(set(codes)) == 25
