"""The Admin routes (`/api/v1/admin/...`, admins and the owner; revenue: the owner, as the
chat's /revenue): thin, each calls `services.miniapp.admin`."""

from __future__ import annotations

from decimal import Decimal

from models.users import Role
from services.miniapp import admin, strings, views
from services.outbox.broadcast import Reach, Target
from services.signals.strategy import SymbolStatus
from services.signals.views import SignalView
from services.text.formatting import money
from services.users.profiles import UserInfo
from webapp.miniapp.api import CONFIG_KEY, Api, Auth, Call, paginate
from webapp.miniapp.schemas import PlanOut, SignalPath
from webapp.miniapp.schemas_admin import (
    AudienceIn,
    AudienceOut,
    BanIn,
    BroadcastIn,
    BroadcastOut,
    GrantIn,
    GrantOut,
    OpenSignalList,
    OpenSignalOut,
    PauseIn,
    PauseOut,
    PlanChoice,
    PlanChoices,
    PlanCount,
    PreviewIn,
    PreviewOut,
    RevenueOut,
    RevenuePoint,
    RoleIn,
    SymbolList,
    SymbolOut,
    SymbolPath,
    UserOut,
    UserPage,
    UserPath,
    UserQuery,
    UserRowOut,
)

api = Api()
ADMIN = Auth.ADMIN


def _name(user: UserInfo) -> str:
    return " ".join(p for p in (user.first_name, user.last_name) if p) or str(user.telegram_id)


def user_row(user: UserInfo) -> UserRowOut:
    return UserRowOut(
        telegram_id=user.telegram_id, username=user.username, name=_name(user),
        role=user.role.value, status=user.status.value,
    )  # fmt: skip


def plan_out(user: UserInfo, language: str | None) -> PlanOut:
    a = views.access(user)
    return PlanOut(
        plan=a.plan, plan_name=strings.plan_name(a.plan, language), ends_at=a.ends_at,
        renews=a.renews, in_grace=a.in_grace, complimentary=a.complimentary,
        features=sorted(f.value for f in a.features), terminal_limit=a.terminal_limit,
    )  # fmt: skip


def user_out(found: admin.UserStanding, language: str | None) -> UserOut:
    user = found.user
    return UserOut(
        **user_row(user).model_dump(), access=plan_out(user, language),
        terminals=found.terminals, created_at=user.created_at,
    )  # fmt: skip


@api.get(
    "/admin/users", response=UserPage, query=UserQuery, auth=ADMIN,
    summary="Admin: users by Telegram id, @username or name, newest first",
)  # fmt: skip
async def admin_users(call: Call) -> UserPage:
    found = await admin.search(call.query.q)
    page, cursor = paginate(found, lambda u: u.id, call.query)
    return UserPage(items=[user_row(u) for u in page], next_cursor=cursor)


@api.get(
    "/admin/users/{telegram_id}", response=UserOut, path_model=UserPath, auth=ADMIN,
    errors=(404,), summary="Admin: one user's role, status, plan and terminals",
)  # fmt: skip
async def admin_user(call: Call) -> UserOut:
    return user_out(await admin.standing(call.path.telegram_id), call.me.language)


@api.patch(
    "/admin/users/{telegram_id}/role", response=UserOut, path_model=UserPath, body=RoleIn,
    auth=ADMIN, errors=(404, 409),
    summary="Owner: change a user's role (as /role; admins: 403)",
)  # fmt: skip
async def admin_set_role(call: Call) -> UserOut:
    done = await admin.set_role(call.me, call.path.telegram_id, Role(call.body.role))
    return user_out(done, call.me.language)


@api.patch(
    "/admin/users/{telegram_id}/ban", response=UserOut, path_model=UserPath, body=BanIn,
    auth=ADMIN, errors=(404, 409),
    summary="Admin: ban or unban a user below the caller's role (as /ban, /unban)",
)  # fmt: skip
async def admin_set_banned(call: Call) -> UserOut:
    done = await admin.set_banned(call.me, call.path.telegram_id, banned=call.body.banned)
    return user_out(done, call.me.language)


@api.post(
    "/admin/users/{telegram_id}/grant", response=GrantOut, path_model=UserPath, body=GrantIn,
    auth=ADMIN, errors=(404,), summary="Admin: a complimentary plan for N days (as /grant)",
)  # fmt: skip
async def admin_grant(call: Call) -> GrantOut:
    done = await admin.grant(call.me, call.path.telegram_id, call.body.plan, call.body.days)
    e = done.entitlement
    return GrantOut(
        user=user_out(done.standing, call.me.language), plan=e.plan,
        starts_at=e.starts_at, ends_at=e.ends_at,
    )  # fmt: skip


@api.get(
    "/admin/plans", response=PlanChoices, auth=ADMIN,
    summary="Admin: the plans a grant or a broadcast audience may name, cheapest first",
)  # fmt: skip
async def admin_plans(call: Call) -> PlanChoices:
    language = call.me.language
    return PlanChoices(items=[
        PlanChoice(code=code, name=strings.plan_name(code, language) or code)
        for code in await admin.plans()
    ])  # fmt: skip


def symbol_out(s: SymbolStatus) -> SymbolOut:
    return SymbolOut(
        symbol=s.symbol, paused=s.paused, open_signals=s.open_signals,
        market_open=s.market_open, last_bar_time=s.last_bar_time,
    )  # fmt: skip


@api.get(
    "/admin/symbols", response=SymbolList, auth=ADMIN,
    summary="Admin: each traded symbol, paused or publishing (as /strategy)",
)  # fmt: skip
async def admin_symbols(call: Call) -> SymbolList:
    configured = call.request.app[CONFIG_KEY].symbols
    return SymbolList(items=[symbol_out(s) for s in await admin.symbols(configured)])


@api.patch(
    "/admin/symbols/{symbol}", response=PauseOut, path_model=SymbolPath, body=PauseIn,
    auth=ADMIN, summary="Admin: pause or resume publishing on a symbol",
)  # fmt: skip
async def admin_pause(call: Call) -> PauseOut:
    done = await admin.set_paused(call.me, call.path.symbol, paused=call.body.paused)
    return PauseOut(symbol=symbol_out(done.status), changed=done.changed)


def open_signal_out(v: SignalView) -> OpenSignalOut:
    return OpenSignalOut(
        id=v.id, symbol=v.symbol, side="buy" if v.side == "buy" else "sell",
        status=v.status.value, published_at=v.published_at, expires_at=v.expires_at,
    )  # fmt: skip


@api.get("/admin/signals", response=OpenSignalList, auth=ADMIN,
         summary="Admin: open and filled signals, newest first")  # fmt: skip
async def admin_signals(call: Call) -> OpenSignalList:
    return OpenSignalList(items=[open_signal_out(v) for v in await admin.open_signals()])


@api.post(
    "/admin/signals/{id}/cancel", response=OpenSignalOut, path_model=SignalPath, auth=ADMIN,
    errors=(404,), summary="Admin: cancel an open signal, close a filled one (as /cancel_signal)",
)  # fmt: skip
async def admin_cancel(call: Call) -> OpenSignalOut:
    alerts = call.request.app[CONFIG_KEY].alerts
    return open_signal_out(await admin.cancel(call.me, call.path.id, alerts))


@api.get(
    "/admin/revenue", response=RevenueOut, auth=ADMIN,
    summary="Owner: the /revenue figures, MRR per day and per month (admins: 403)",
)  # fmt: skip
async def admin_revenue(call: Call) -> RevenueOut:
    found = await admin.revenue_view(call.me)
    r, language = found.report, strings.language_of(call.me.language)
    figures = {
        "mrr_cents": r.mrr_cents, "arpu_cents": r.arpu_cents,
        "stars_revenue_cents": r.stars_revenue_cents, "card_revenue_cents": r.card_revenue_cents,
        "refunded_cents": r.refunded_cents, "commissions_owed_cents": r.commissions_owed_cents,
    }  # fmt: skip
    formatted = {k: money(Decimal(v) / 100, "USD", language) for k, v in figures.items()}

    def points(series: tuple[admin.Point, ...]) -> list[RevenuePoint]:
        return [RevenuePoint(time=int(p.at.timestamp()), mrr_cents=p.mrr_cents,
                             subscribers=p.subscribers) for p in series]  # fmt: skip

    return RevenueOut(
        month_start=r.month_start, currency="USD", **figures, subscribers=r.subscribers,
        by_plan=[PlanCount(plan=code, plan_name=strings.plan_name(code, language) or code,
                           subscribers=n) for code, n in r.subscribers_by_plan.items()],
        new_this_month=r.new_this_month, churned_this_month=r.churned_this_month,
        trials_started=r.trials_started, trials_running=r.trials_running,
        trials_converted=r.trials_converted, conversion_pct=round(r.conversion_pct, 1),
        stars_received=r.stars_received, refunds=r.refunds, formatted=formatted,
        daily=points(found.daily), monthly=points(found.monthly),
    )  # fmt: skip


def _target(body: AudienceIn) -> Target:
    return Target(Reach(body.audience), body.plan)


@api.get(
    "/admin/broadcast/audience", response=AudienceOut, query=AudienceIn, auth=ADMIN,
    summary="Admin: how many users a broadcast to this audience reaches now",
)  # fmt: skip
async def admin_audience(call: Call) -> AudienceOut:
    return AudienceOut(recipients=await admin.audience(_target(call.query)))


@api.post(
    "/admin/broadcast/preview", response=PreviewOut, body=PreviewIn, auth=ADMIN,
    summary="Admin: a broadcast as the chat shows it, and its audience count",
)  # fmt: skip
async def admin_preview(call: Call) -> PreviewOut:
    body = call.body
    text = admin.preview(body.text)
    return PreviewOut(text=text, recipients=await admin.audience(_target(body)))


@api.post(
    "/admin/broadcast", response=BroadcastOut, body=BroadcastIn, auth=ADMIN,
    summary="Admin: queue a broadcast through the outbox, once per idempotency key",
)  # fmt: skip
async def admin_broadcast(call: Call) -> BroadcastOut:
    body = call.body
    sent = await admin.send_broadcast(call.me, _target(body), body.text, body.idempotency_key)
    return BroadcastOut(recipients=sent.recipients, queued=sent.queued, repeated=sent.repeated)
