"""Request and response models of the Plan and Settings pages' routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from webapp.miniapp.api import Model
from webapp.miniapp.schemas import PlanOut

PlanCode = Field(min_length=1, max_length=32, pattern=r"^[a-z0-9_]+$")
KindName = Literal["subscription", "once_30", "once_90"]
Action = Literal["current", "upgrade", "downgrade", "buy"]
Mode = Literal["on", "silent", "off"]


class FeatureOut(BaseModel):
    code: str
    name: str = Field(description="in the user's language")


class OfferOut(BaseModel):
    code: str
    name: str
    stars_30: int = Field(description="Stars for 30 days (the subscription's price too)")
    stars_90: int = Field(description="Stars for 90 days, once")
    features: list[FeatureOut]
    terminal_limit: int
    action: Action = Field(description="what choosing it does (current: the plan paid for)")


class ScheduledOut(BaseModel):
    plan: str
    plan_name: str
    current: str
    effective_at: datetime


class PlanPageOut(BaseModel):
    current: PlanOut
    offers: list[OfferOut]
    scheduled: ScheduledOut | None = Field(description="a downgrade waiting for the renewal")
    can_cancel: bool = Field(description="a Stars subscription renews and can be stopped")
    can_reenable: bool = Field(description="a canceled Stars subscription can renew again")


class CheckoutIn(Model):
    plan: str = PlanCode
    kind: KindName = "subscription"


class InvoiceOut(BaseModel):
    url: str = Field(description="the invoice link for Telegram.WebApp.openInvoice")
    plan: str
    kind: KindName
    stars: int
    days: int
    subscription: bool = Field(description="a 30-day Stars subscription (renews)")


class PlanIn(Model):
    plan: str = PlanCode


class NotificationsOut(BaseModel):
    new_signal: Mode
    revision: Mode
    fill: Mode
    outcome: Mode
    expiry: Mode
    terminal: Mode
    reminder: Mode
    alert: Mode


class NotificationsPatch(Model):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"minProperties": 1})

    new_signal: Mode | None = None
    revision: Mode | None = None
    fill: Mode | None = None
    outcome: Mode | None = None
    expiry: Mode | None = None
    terminal: Mode | None = None
    reminder: Mode | None = None
    alert: Mode | None = None

    @model_validator(mode="after")
    def _something(self) -> NotificationsPatch:
        if not self.model_dump(exclude_none=True):
            msg = "name at least one kind of notification"
            raise ValueError(msg)
        return self
