"""Request and response models of the Terminals and Positions pages' routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from services.text.numbers import TICKET
from webapp.miniapp.api import Model
from webapp.miniapp.schemas import TerminalPath

ModeName = Literal["approval", "copy"]
Setting = Field(None, min_length=1, max_length=20, description='a number, or "off" for a cap')


class AccountOut(BaseModel):
    balance: str
    equity: str
    margin: str
    floating: str = Field(description="equity - balance: the open positions' P&L")
    currency: str
    drawdown_pct: str
    at: datetime = Field(description="when the terminal reported it")


class RiskOut(BaseModel):
    risk_pct: str
    lot_multiplier: str
    max_lot: str | None = Field(description="null: no cap")
    max_open_positions: int | None
    max_trades_per_day: int | None
    max_drawdown_pct: str


class TerminalDetailOut(BaseModel):
    device_id: str
    live_key: int = Field(description="the `key` of this terminal's live updates")
    name: str
    mode: ModeName
    status: Literal["active", "paused"]
    paused_reason: str | None
    can_resume: bool
    online: bool
    last_seen_at: datetime | None
    account: AccountOut | None = Field(description="null: no report yet")
    risk: RiskOut


class EaFileOut(BaseModel):
    name: str
    url: str
    size: int


class NewTerminalIn(Model):
    name: str = Field(min_length=1, max_length=200, description="1-64 characters once trimmed")


class NewTerminalOut(BaseModel):
    terminal: TerminalDetailOut
    device_id: str
    secret: str = Field(description="shown this once: no route returns it again")
    server_url: str = Field(description="what the EA's Server URL input takes")
    files: list[EaFileOut]


class TerminalPatch(Model):
    name: str | None = Field(None, min_length=1, max_length=200)
    mode: ModeName | None = None


class RiskPatch(Model):
    risk_pct: str | None = Setting
    lot_multiplier: str | None = Setting
    max_lot: str | None = Setting
    max_open_positions: str | None = Setting
    max_trades_per_day: str | None = Setting
    max_drawdown_pct: str | None = Setting


class RevokedOut(BaseModel):
    device_id: str
    revoked: bool


class PositionOut(BaseModel):
    ticket: int
    symbol: str
    side: Literal["buy", "sell"]
    volume: str
    open_price: str
    sl: str | None
    tp: str | None
    profit: str
    signal_id: int | None
    orphan: bool = Field(description="not opened by our EA")


class PositionsOut(BaseModel):
    terminal: TerminalDetailOut
    items: list[PositionOut]
    floating: str = Field(description="the positions' summed profit")


class PositionPath(TerminalPath):
    ticket: int = Field(ge=TICKET.low, le=TICKET.high)


class CloseOut(BaseModel):
    command_id: str
    ticket: int


class EquityQuery(Model):
    days: int = Field(7, ge=1, le=30)


class EquityPointOut(BaseModel):
    time: int = Field(description="unix seconds")
    equity: str
    balance: str


class EquityOut(BaseModel):
    currency: str | None
    points: list[EquityPointOut]


class EaFilesOut(BaseModel):
    files: list[EaFileOut]
