"""The Mini App's JSON API routes (`/api/v1`): thin, each calls `services.miniapp.views`."""

from __future__ import annotations

from decimal import Decimal

from models.signals import Decision
from models.users import CardStyle
from services.billing.entitlements import Access
from services.miniapp import strings, views
from services.miniapp.views import SignalItem
from services.terminals.overview import TerminalView
from services.text.i18n import LANGUAGES
from services.users.profiles import UserInfo
from webapp.miniapp.api import CONFIG_KEY, Api, Auth, Call, PageQuery, decode_cursor, paginate
from webapp.miniapp.schemas import (
    AuthIn,
    CandleOut,
    DayOut,
    DecisionIn,
    DecisionOut,
    MeOut,
    PlanOut,
    PointOut,
    SessionOut,
    SettingsOut,
    SettingsPatch,
    SignalDetailOut,
    SignalOut,
    SignalPage,
    SignalPath,
    StringsOut,
    StringsPath,
    TerminalList,
    TerminalOut,
    TerminalPath,
)

api = Api()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def signal_out(item: SignalItem) -> SignalOut:
    view, levels = item.view, item.levels
    return SignalOut(
        id=view.id, symbol=view.symbol, side="buy" if view.side == "buy" else "sell",
        status=view.status.value, version=view.version, digits=view.digits,
        published_at=view.published_at, expires_at=view.expires_at,
        expires_in_s=item.expires_in_s, entry=_text(levels.entry), stop=_text(levels.stop),
        take_profit=_text(levels.take_profit), reward_risk=_text(levels.reward_risk),
        result_r=_text(view.result_r),
        close_reason=None if view.close_reason is None else view.close_reason.value,
        decision=None if item.decision is None else item.decision.value,  # type: ignore[arg-type]
        can_decide=item.can_decide,
    )  # fmt: skip


@api.post(
    "/auth/telegram", response=SessionOut, body=AuthIn, auth=Auth.NONE, errors=(401, 403),
    summary="Exchange Telegram.WebApp.initData for a short-lived session token",
)  # fmt: skip
async def auth_telegram(call: Call) -> SessionOut:
    config = call.request.app[CONFIG_KEY]
    _user, session = await views.login(
        call.body.init_data, config.bot_token, owners=config.owners, max_age=config.max_age,
        callers=config.callers,
    )  # fmt: skip
    return SessionOut(token=session.token, expires_at=session.expires_at)


@api.get(
    "/i18n/{language}", response=StringsOut, path_model=StringsPath, auth=Auth.NONE,
    summary="The page's text in one language, from the bot's catalogs",
)  # fmt: skip
async def page_strings(call: Call) -> StringsOut:
    language = call.path.language
    return StringsOut(language=language, strings=strings.page_strings(language))


def plan_out(access: Access, language: str | None) -> PlanOut:
    return PlanOut(
        plan=access.plan, plan_name=strings.plan_name(access.plan, language),
        ends_at=access.ends_at, renews=access.renews,
        in_grace=access.in_grace, complimentary=access.complimentary,
        features=sorted(f.value for f in access.features), terminal_limit=access.terminal_limit,
    )  # fmt: skip


@api.get("/me", response=MeOut, summary="The user, their role, language and access")
async def me(call: Call) -> MeOut:
    user = call.me
    access = views.access(user)
    online, total = await views.terminals_online(user)
    return MeOut(
        telegram_id=user.telegram_id, first_name=user.first_name, username=user.username,
        role=user.role.value, language=strings.language_of(user.language),  # type: ignore[arg-type]
        access=plan_out(access, user.language),
        terminals_online=online, terminals_total=total,
        pending_approvals=len(await views.pending(user)),
        today=[
            DayOut(currency=d.currency, open_positions=d.open_positions, floating=str(d.floating),
                   realised=str(d.realised), total=str(d.total))
            for d in await views.today(user)
        ],
    )  # fmt: skip


@api.get(
    "/signals", response=SignalPage, query=PageQuery,
    summary="Open signals visible to the user (levels per visibility and access), newest first",
)  # fmt: skip
async def list_signals(call: Call) -> SignalPage:
    items = sorted(await views.open_signals(call.me), key=lambda i: i.view.id, reverse=True)
    page, cursor = paginate(items, lambda i: i.view.id, call.query)
    return SignalPage(items=[signal_out(i) for i in page], next_cursor=cursor)


@api.get(
    "/signals/history", response=SignalPage, query=PageQuery,
    summary="Signals that are over, newest first, with their outcome in R",
)  # fmt: skip
async def signal_history(call: Call) -> SignalPage:
    query = call.query
    before = decode_cursor(query.cursor) if query.cursor else None
    items = await views.history(call.me, before, query.limit + 1)
    page, cursor = paginate(items, lambda i: i.view.id, PageQuery(limit=query.limit))
    return SignalPage(items=[signal_out(i) for i in page], next_cursor=cursor)


@api.get(
    "/signals/{id}", response=SignalDetailOut, path_model=SignalPath, auth=Auth.PAID,
    errors=(404,), summary="One signal with its chart's candles and Fib points",
)  # fmt: skip
async def get_signal(call: Call) -> SignalDetailOut:
    found = await views.signal_detail(call.me, call.path.id)
    return SignalDetailOut(
        signal=signal_out(found.item),
        points=[PointOut(time=int(p.time.timestamp()), price=str(p.price)) for p in found.points],
        candles=[CandleOut(time=c.time, open=c.open, high=c.high, low=c.low, close=c.close)
                 for c in found.candles],
        approved=found.counts[Decision.APPROVED], rejected=found.counts[Decision.REJECTED],
    )  # fmt: skip


@api.post(
    "/signals/{id}/decision", response=DecisionOut, path_model=SignalPath, body=DecisionIn,
    auth=Auth.PAID, errors=(404, 409),
    summary="Approve or reject (a first approval asks for consent to the disclaimer first)",
)  # fmt: skip
async def decide(call: Call) -> DecisionOut:
    user, body = call.me, call.body
    decided = await views.decide(
        user, call.path.id, Decision(body.decision), accept_disclaimer=body.accept_disclaimer,
        alerts=call.request.app[CONFIG_KEY].alerts,
    )  # fmt: skip
    text = None
    if decided.needs_consent is not None:
        _version, text = await strings.disclaimer(user.language)
    return DecisionOut(
        signal=signal_out(decided.item), changed=decided.changed,
        needs_consent=decided.needs_consent, disclaimer=text,
    )  # fmt: skip


def terminal_out(t: TerminalView) -> TerminalOut:
    account = t.account
    return TerminalOut(
        device_id=t.device_id, name=t.name, mode=t.mode, status=t.status, online=t.online,
        last_seen_at=t.last_seen_at,
        balance=None if account is None else str(account.balance),
        equity=None if account is None else str(account.equity),
        currency=None if account is None else account.currency,
    )  # fmt: skip


@api.get("/terminals", response=TerminalList, auth=Auth.PAID, summary="The user's terminals")
async def list_terminals(call: Call) -> TerminalList:
    return TerminalList(items=[terminal_out(t) for t in await views.terminals(call.me)])


@api.get(
    "/terminals/{device_id}", response=TerminalOut, path_model=TerminalPath, auth=Auth.PAID,
    errors=(404,), summary="One of the user's terminals (another user's: 404)",
)  # fmt: skip
async def get_terminal(call: Call) -> TerminalOut:
    return terminal_out(await views.terminal(call.me, call.path.device_id))


def _settings(user: UserInfo) -> SettingsOut:
    return SettingsOut(
        language=strings.language_of(user.language),  # type: ignore[arg-type]
        languages=list(LANGUAGES),  # type: ignore[arg-type]
        card_style=user.card_style.value,  # type: ignore[arg-type]
        card_styles=[style.value for style in CardStyle],  # type: ignore[misc]
    )


@api.get("/settings", response=SettingsOut, summary="The user's settings")
async def get_settings(call: Call) -> SettingsOut:
    return _settings(call.me)


@api.patch(
    "/settings", response=SettingsOut, body=SettingsPatch,
    summary="Change the language and/or the chat card style",
)  # fmt: skip
async def patch_settings(call: Call) -> SettingsOut:
    updated = await views.change_settings(call.me, call.body.language, call.body.card_style)
    return _settings(updated)
