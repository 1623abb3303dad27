"""Request and response models of the Admin routes (webapp/miniapp/routes_admin.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.billing.entitlements import MAX_GRANT_DAYS
from services.outbox.kinds import TELEGRAM_TEXT_MAX
from services.text.numbers import TELEGRAM_ID_MAX
from webapp.miniapp.api import Model, Page, PageQuery
from webapp.miniapp.schemas import PlanOut

RoleName = Literal["public", "subscriber", "admin"]  # owners come from OWNER_IDS
Reach = Literal["all", "paid", "free", "plan"]
SYMBOL = r"^[A-Za-z0-9._]{1,16}$"
PLAN = r"^[A-Za-z0-9_-]{1,32}$"


class UserQuery(PageQuery):
    q: str = Field("", max_length=64, description="a Telegram id, @username or part of a name")


class UserPath(Model):
    telegram_id: int = Field(ge=1, le=TELEGRAM_ID_MAX)


class UserRowOut(BaseModel):
    telegram_id: int
    username: str | None
    name: str
    role: str
    status: str


class UserPage(Page[UserRowOut]):
    pass


class UserOut(UserRowOut):
    access: PlanOut
    terminals: int
    created_at: datetime


class RoleIn(Model):
    role: RoleName


class BanIn(Model):
    banned: bool


class GrantIn(Model):
    plan: str = Field(pattern=PLAN)
    days: int = Field(ge=1, le=MAX_GRANT_DAYS)


class GrantOut(BaseModel):
    user: UserOut
    plan: str
    starts_at: datetime
    ends_at: datetime


class PlanChoice(BaseModel):
    code: str
    name: str = Field(description="in the caller's language")


class PlanChoices(BaseModel):
    items: list[PlanChoice]


class SymbolOut(BaseModel):
    symbol: str
    paused: bool
    open_signals: int
    market_open: bool
    last_bar_time: datetime | None


class SymbolList(BaseModel):
    items: list[SymbolOut]


class SymbolPath(Model):
    symbol: str = Field(pattern=SYMBOL)


class PauseIn(Model):
    paused: bool


class PauseOut(BaseModel):
    symbol: SymbolOut
    changed: bool = Field(description="false: it already was (nothing recorded)")


class OpenSignalOut(BaseModel):
    id: int
    symbol: str
    side: Literal["buy", "sell"]
    status: str
    published_at: datetime
    expires_at: datetime


class OpenSignalList(BaseModel):
    items: list[OpenSignalOut]


class RevenuePoint(BaseModel):
    time: int = Field(description="unix seconds")
    mrr_cents: int
    subscribers: int


class PlanCount(BaseModel):
    plan: str
    plan_name: str
    subscribers: int


class RevenueOut(BaseModel):
    month_start: datetime
    currency: Literal["USD"]
    mrr_cents: int
    arpu_cents: int
    subscribers: int
    by_plan: list[PlanCount]
    new_this_month: int
    churned_this_month: int
    trials_started: int
    trials_running: int
    trials_converted: int
    conversion_pct: float
    stars_revenue_cents: int
    stars_received: int
    card_revenue_cents: int
    refunds: int
    refunded_cents: int
    commissions_owed_cents: int
    formatted: dict[str, str] = Field(
        description="each *_cents figure as money in the caller's locale"
    )
    daily: list[RevenuePoint]
    monthly: list[RevenuePoint]


class AudienceIn(Model):
    audience: Reach
    plan: str | None = Field(None, pattern=PLAN, description="with audience `plan`")


class AudienceOut(BaseModel):
    recipients: int


class PreviewIn(AudienceIn):
    text: str = Field(min_length=1, max_length=TELEGRAM_TEXT_MAX)


class PreviewOut(BaseModel):
    text: str = Field(description="the message exactly as the chat shows it (plain text)")
    recipients: int


class BroadcastIn(PreviewIn):
    idempotency_key: str = Field(
        min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$",
        description="one per broadcast, made by the page: a repeat queues nothing more",
    )  # fmt: skip


class BroadcastOut(BaseModel):
    recipients: int
    queued: int
    repeated: bool
