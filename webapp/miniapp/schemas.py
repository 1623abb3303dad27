"""The Mini App API's request and response models (the OpenAPI document is built from them)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, model_validator

from webapp.miniapp.api import Model, Page

Language = Literal["en", "es", "ru"]
DecisionName = Literal["approved", "rejected"]


class AuthIn(Model):
    init_data: str = Field(min_length=1, max_length=4096, description="Telegram.WebApp.initData")


class SessionOut(BaseModel):
    token: str
    expires_at: datetime


class PlanOut(BaseModel):
    plan: str | None = Field(description="plan code; null: the free tier")
    plan_name: str | None = Field(description="the plan's name in the user's language")
    ends_at: datetime | None
    renews: bool
    in_grace: bool
    complimentary: bool
    features: list[str]
    terminal_limit: int


class DayOut(BaseModel):
    """Open positions and P&L today (UTC) in one account currency."""

    currency: str
    open_positions: int
    floating: str = Field(description="open positions' profit as last reported")
    realised: str = Field(description="profit of the fills closed today")
    total: str


class MeOut(BaseModel):
    telegram_id: int
    first_name: str
    username: str | None
    role: str
    language: Language
    access: PlanOut
    terminals_online: int
    terminals_total: int
    pending_approvals: int
    today: list[DayOut] = Field(description="per account currency; empty: no terminal")


class SignalOut(BaseModel):
    id: int
    symbol: str
    side: Literal["buy", "sell"]
    status: str
    version: int
    digits: int
    published_at: datetime
    expires_at: datetime
    expires_in_s: int | None = Field(
        None,
        description="seconds until it expires by the market's clock (its symbol's newest bar"
        " and the time since; a replay runs on its bars' time), 0 once past; null in history",
    )
    entry: str | None = Field(description="null: hidden (free tier)")
    stop: str | None = Field(description="null: hidden (visibility setting or free tier)")
    take_profit: str | None
    reward_risk: str | None
    result_r: str | None
    close_reason: str | None = Field(None, description="why it closed: tp, sl, manual, ...")
    decision: DecisionName | None
    can_decide: bool


class SignalPage(Page[SignalOut]):
    pass


class PointOut(BaseModel):
    time: int = Field(description="unix seconds")
    price: str


class CandleOut(BaseModel):
    time: int = Field(description="unix seconds, bar open")
    open: float
    high: float
    low: float
    close: float


class SignalDetailOut(BaseModel):
    signal: SignalOut
    points: list[PointOut]
    candles: list[CandleOut]
    approved: int
    rejected: int


class SignalPath(Model):
    id: int = Field(ge=1, le=2**31 - 1)


class DecisionIn(Model):
    decision: DecisionName
    accept_disclaimer: str | None = Field(
        None, min_length=1, max_length=64,
        description="the disclaimer version shown (answer to `needs_consent`)",
    )  # fmt: skip


class DecisionOut(BaseModel):
    signal: SignalOut
    changed: bool
    needs_consent: str | None = Field(description="disclaimer version to accept first")
    disclaimer: str | None = Field(description="its text, in the user's language")


class TerminalOut(BaseModel):
    device_id: str
    name: str
    mode: str
    status: str
    online: bool
    last_seen_at: datetime | None
    balance: str | None
    equity: str | None
    currency: str | None


class TerminalPath(Model):
    device_id: str = Field(
        min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    )  # 404 if unknown


class TerminalList(BaseModel):
    items: list[TerminalOut]


CardStyleName = Literal["full", "compact"]


class SettingsOut(BaseModel):
    language: Language
    languages: list[Language]
    card_style: CardStyleName = Field(
        description="How signal cards look in the chat: the chart photo with its caption, or text only"
    )
    card_styles: list[CardStyleName]


class SettingsPatch(Model):
    language: Language | None = None
    card_style: CardStyleName | None = None

    @model_validator(mode="after")
    def _something(self) -> SettingsPatch:
        if self.language is None and self.card_style is None:
            msg = "name a language or a card style"
            raise ValueError(msg)
        return self


class StringsPath(Model):
    language: Language


class StringsOut(BaseModel):
    language: Language
    strings: dict[str, str]
