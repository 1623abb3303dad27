"""Stars reconciliation: our Stars payments and refunds against Telegram's own list
(`getStarTransactions`), daily.

Telegram lists the bot's Star transactions in chronological order; an incoming payment's id is
the `telegram_payment_charge_id` we stored, and a refund's id is the refunded payment's. Over the
window (transactions and payments dated after `since`) four kinds of mismatch are reported, each
as an ops alert and a log line:
- `missing_at_telegram`: a payment we recorded that Telegram does not list;
- `unrecorded`: an incoming Telegram payment we have no row for (money arrived, access may not
  have been granted);
- `refund_unrecorded`: Telegram refunded a payment we still count as paid;
- `refund_missing_at_telegram`: a payment we marked refunded that Telegram shows no refund for.
Amounts are compared too (`amount_mismatch`). Payments of the last `SETTLE` are not reported as
missing (Telegram's list may lag a moment behind the update).

The Bot API call is behind `StarLedger` (the job layer implements it with aiogram's Bot).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from models.billing import Payment, PaymentStatus, Provider

log = logging.getLogger(__name__)
PAGE = 100  # getStarTransactions' maximum limit
SETTLE = timedelta(minutes=10)
MAX_PAGES = 1000


@dataclass(frozen=True, slots=True)
class StarTx:
    id: str  # the charge id (of the refunded payment, for a refund)
    amount: int
    date: datetime
    incoming: bool  # a payment from a user (False: a refund to a user, or another outflow)
    refund: bool  # an outgoing refund of a user's payment


class StarLedger(Protocol):
    async def page(self, offset: int, limit: int) -> Sequence[StarTx]: ...


@dataclass(frozen=True, slots=True)
class Mismatch:
    kind: str
    charge_id: str
    detail: str = ""


async def fetch_all(ledger: StarLedger) -> list[StarTx]:
    out: list[StarTx] = []
    for index in range(MAX_PAGES):
        page = await ledger.page(index * PAGE, PAGE)
        out.extend(page)
        if len(page) < PAGE:
            break
    return out


def compare(
    txs: Sequence[StarTx], ours: Sequence[tuple[str, int, PaymentStatus, datetime]],
    since: datetime, now: datetime,
) -> list[Mismatch]:  # fmt: skip
    """The mismatches between Telegram's transactions and our payments (charge id, amount,
    status, created_at) in the window (pure)."""
    incoming = {t.id: t for t in txs if t.incoming and t.date >= since}
    refunds = {t.id for t in txs if t.refund}
    known = {charge: (amount, status, at) for charge, amount, status, at in ours}
    found: list[Mismatch] = []
    for charge, (amount, status, at) in sorted(known.items()):
        if at < since:
            continue
        tx = incoming.get(charge)
        if tx is None:
            if at <= now - SETTLE:
                found.append(Mismatch("missing_at_telegram", charge))
            continue
        if tx.amount != amount:
            found.append(Mismatch("amount_mismatch", charge, f"{amount} != {tx.amount}"))
        if status is PaymentStatus.REFUNDED and charge not in refunds:
            found.append(Mismatch("refund_missing_at_telegram", charge))
        if status is PaymentStatus.PAID and charge in refunds:
            found.append(Mismatch("refund_unrecorded", charge))
    for charge in sorted(incoming):
        if charge not in known:
            found.append(Mismatch("unrecorded", charge, str(incoming[charge].amount)))
    return found


async def reconcile(ledger: StarLedger, since: datetime, now: datetime) -> list[Mismatch]:
    """Compare Telegram's list with our Stars payments since `since`; log each mismatch."""
    txs = await fetch_all(ledger)
    rows = await Payment.filter(provider=Provider.STARS, created_at__gte=since).values_list(
        "provider_charge_id", "amount", "status", "created_at"
    )
    ours = [(str(c), int(a), PaymentStatus(s), at) for c, a, s, at in rows]
    found = compare(txs, ours, since, now)
    for m in found:
        log.warning(
            "stars reconciliation mismatch",
            extra={"kind": m.kind, "charge": m.charge_id, "detail": m.detail},
        )
    return found
