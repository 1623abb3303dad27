"""Role and ban changes: audited, told to the user in their language, the queue following."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from models.notifications import Notification, NotificationStatus
from models.signals import SignalStatus
from models.users import Role
from services import audit
from services.errors import NoChange, PermissionDenied
from services.outbox import notifications as outbox
from services.signals import lifecycle as signals
from services.users import access, registration
from services.users import profiles as users_service
from services.users.entitlements import Audience
from services.users.profiles import TelegramProfile
from tests.services.terminals import helpers as th

OWNER, ADMIN, SUB, NICO = 701, 702, 703, 704


@pytest.fixture
async def people(database: str) -> dict[int, users_service.UserInfo]:
    owner = await registration.ensure_user(
        TelegramProfile(OWNER, "olivia", "Olivia", None, "en"), owners=frozenset({OWNER})
    )
    return {
        OWNER: owner,
        ADMIN: await th.user(ADMIN, Role.ADMIN, "Adam"),
        SUB: await th.user(SUB, Role.SUBSCRIBER, "Sam"),
        NICO: await th.user(NICO, Role.PUBLIC, "Nico"),
    }


async def notices(chat_id: int) -> list[Notification]:
    return await Notification.filter(chat_id=chat_id, kind__startswith="access.").order_by("id")


@pytest.mark.parametrize(
    ("before", "after", "language", "expected"),
    [
        (Role.PUBLIC, "subscriber", "es", "Ahora eres suscriptor"),
        (Role.PUBLIC, "admin", "en", "You are now an admin"),
        (Role.SUBSCRIBER, "admin", "ru", "Теперь вы администратор"),
        (Role.ADMIN, "subscriber", "en", "You are no longer an admin"),
        (Role.SUBSCRIBER, "public", "es", "Tu acceso de suscriptor ha terminado"),
        (Role.ADMIN, "public", "ru", "Ваш доступ подписчика закончился"),
    ],
)
async def test_each_role_change_is_told_in_the_users_saved_language(
    people: dict[int, users_service.UserInfo],
    before: Role,
    after: str,
    language: str,
    expected: str,
) -> None:
    await users_service.seed(NICO, "Nico", "nico", before)
    await users_service.set_language(NICO, language)
    updated = await access.set_role(people[OWNER], "@nico", after)
    assert updated.role is Role(after)
    (notice,) = await notices(NICO)
    assert expected in notice.payload["text"]
    assert notice.audience == Audience.ACCOUNT and notice.user_id == NICO
    assert notice.status == NotificationStatus.PENDING


async def test_no_change_no_notice_and_a_banned_user_hears_of_roles_on_unban(
    people: dict[int, users_service.UserInfo],
) -> None:
    with pytest.raises(NoChange):
        await access.set_role(people[OWNER], "@sam", "subscriber")  # already one
    assert await notices(SUB) == []
    await access.set_banned(people[ADMIN], "@sam", banned=True)
    await access.set_role(people[OWNER], "@sam", "public")  # while banned: not told now
    await access.set_banned(people[ADMIN], "@sam", banned=False)
    with pytest.raises(NoChange):
        await access.set_banned(people[ADMIN], "@sam", banned=False)  # not banned: nothing to tell
    texts = [n.payload["text"] for n in await notices(SUB)]
    assert len(texts) == 2
    assert "suspended your access" in texts[0]
    assert "restored (role: visitor)" in texts[1]


async def test_the_shell_operator_changes_roles_and_bans_audited_as_cli(
    people: dict[int, users_service.UserInfo],
) -> None:
    assert (await access.set_role(access.SHELL, "@nico", "subscriber")).role is Role.SUBSCRIBER
    assert (await access.set_banned(access.SHELL, "@adam", banned=True)).is_banned
    with pytest.raises(PermissionDenied):
        await access.set_banned(access.SHELL, str(OWNER), banned=True)
    with pytest.raises(PermissionDenied):
        await access.set_role(access.SHELL, str(OWNER), "public")
    entry = (await audit.recent(action="user.role_changed"))[0]
    assert (entry.actor_id, entry.target, entry.data["via"]) == (None, str(NICO), "cli")
    assert (await audit.recent(action="user.banned"))[0].data == {"via": "cli"}
    assert len(await notices(NICO)) == 1 and len(await notices(ADMIN)) == 1


async def test_a_promotion_makes_pending_free_summaries_due_now(
    people: dict[int, users_service.UserInfo],
) -> None:
    view = await th.publish()
    (summary,) = await Notification.filter(chat_id=NICO, kind="signal.free")
    assert summary.audience == Audience.FREE
    assert summary.next_attempt_at > datetime.now(UTC) + timedelta(hours=1)  # 24 h by default
    (card,) = await Notification.filter(chat_id=SUB, kind="signal.new")
    assert card.audience == Audience.PAID and card.signal_id == view.id
    before = datetime.now(UTC)
    await access.set_role(people[OWNER], "@nico", "subscriber")
    summary = await Notification.get(id=summary.id)
    assert summary.next_attempt_at <= datetime.now(UTC) and summary.next_attempt_at >= before
    assert len(await outbox.claim_due(datetime.now(UTC), 50)) >= 2  # the summary, the notice


async def test_outcome_replies_are_the_strategys_with_a_note_for_approvers_without_terminal(
    people: dict[int, users_service.UserInfo],
) -> None:
    view = await th.publish()
    await th.approve(people[ADMIN], view.id)  # approved, no terminal
    await th.device(people[SUB])
    await th.approve(people[SUB], view.id)  # approved, the terminal has the order
    await signals.transition(view.id, SignalStatus.FILLED, price=th.ENTRY)
    replies = {
        n.chat_id: n.payload["text"]
        for n in await Notification.filter(kind="signal.update", signal_id=view.id)
    }
    expected = f"🟢 Signal #{view.id} EURUSD filled at 1.07592 (strategy)."
    assert replies[SUB] == expected  # the own fill comes from the terminal (terminal.filled)
    assert replies[ADMIN] == (
        f"{expected}\nYou approved it, but no terminal of yours placed the order: nothing was"
        " executed for you."
    )
    assert replies[OWNER] == expected  # neither approved nor a terminal: just the strategy's
    assert all("trade is open" not in text for text in replies.values())
