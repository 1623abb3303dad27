"""Telegram Stars on Telegram's side: charges, subscriptions and their renewals, refunds, and
the bot's transaction history (`getStarTransactions`).

What the Bot API documents, and the emulator's choices where it is silent:
- A subscription is created by paying an invoice link made with `subscription_period`; its id
  is the first payment's `telegram_payment_charge_id`. Each renewal is a new charge (a new
  `successful_payment` with `is_recurring` and not `is_first_recurring`); renewals have no
  pre-checkout query. Any number of subscriptions may run at once, several per user too.
- The `subscription` update (BotSubscriptionUpdated) tells the bot what the *user* did or what
  failed: `canceled`, `active` (re-enabled), `failed` (a renewal could not be charged). The
  docs name no update for the bot's own `editUserStarSubscription`, so none is sent, and none
  when a canceled subscription simply ends (the bot knows the expiration date).
- A subscription canceled by the bot cannot be re-enabled by the user until the bot passes
  `is_canceled=false`; the user's own cancellation is theirs to undo.
- A failed subscription may still be renewed (the user topped up their Stars); the new period
  starts at the later of the old expiration and now.
- Refunds (the bot's `refundStarPayment` or Telegram's own, after a dispute) leave a
  subscription as it is: the docs say nothing of refunds ending one.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tgemu.errors import Problem
from tgemu.models import ChatRec, InvoiceRec, MessageRec, PaymentRec, UserRec

if TYPE_CHECKING:
    from tgemu.state import Emulator

STARS = "XTR"


@dataclass
class SubscriptionRec:
    id: str  # telegram_payment_charge_id of the first payment
    user_id: int
    invoice: InvoiceRec
    period: int
    expiration: int  # end of the paid period, Unix time
    charges: list[str] = field(default_factory=list)
    canceled_by_user: bool = False
    canceled_by_bot: bool = False
    failed: bool = False  # the last renewal could not be charged
    ended: bool = False  # reached its expiration canceled: it will never renew

    def state(self, now: int) -> str:
        if self.ended:
            return "expired"
        if self.failed:
            return "failed"
        if self.canceled_by_user or self.canceled_by_bot:
            return "expired" if now >= self.expiration else "canceled"
        return "active"

    def control(self, now: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "user_id": self.user_id,
            "invoice_payload": self.invoice.payload,
            "title": self.invoice.title,
            "currency": self.invoice.currency,
            "amount": self.invoice.total_amount,
            "subscription_period": self.period,
            "subscription_expiration_date": self.expiration,
            "state": self.state(now),
            "canceled_by_user": self.canceled_by_user,
            "canceled_by_bot": self.canceled_by_bot,
            "charges": list(self.charges),
        }


class StarLedger:
    """The bot's Stars: subscriptions by id and every transaction in chronological order."""

    def __init__(self) -> None:
        self.subscriptions: dict[str, SubscriptionRec] = {}
        self.transactions: list[dict[str, Any]] = []

    def subscription_of(self, payment: PaymentRec | None) -> SubscriptionRec | None:
        if payment is None or payment.subscription_id is None:
            return None
        return self.subscriptions.get(payment.subscription_id)


def _partner(emu: Emulator, payment: PaymentRec) -> dict[str, Any]:
    """TransactionPartnerUser of an invoice payment (or its refund)."""
    user = emu.users.get(payment.user_id)
    partner: dict[str, Any] = {
        "type": "user",
        "transaction_type": "invoice_payment",
        "user": user.api()
        if user
        else {"id": payment.user_id, "is_bot": False, "first_name": "?"},
        "invoice_payload": payment.payload,
    }
    if payment.subscription_period:
        partner["subscription_period"] = payment.subscription_period
    return partner


def _transaction(emu: Emulator, payment: PaymentRec, direction: str) -> None:
    emu.stars.transactions.append(
        {"charge_id": payment.charge_id, "direction": direction, "date": emu.now()}
    )


def transactions(emu: Emulator, offset: int, limit: int) -> list[dict[str, Any]]:
    """StarTransaction objects, oldest first ("in chronological order", as documented)."""
    out = []
    for entry in emu.stars.transactions[offset : offset + limit]:
        payment = emu.payments[entry["charge_id"]]
        key = "source" if entry["direction"] == "in" else "receiver"
        out.append(
            {
                "id": payment.charge_id,
                "amount": payment.total_amount,
                "date": entry["date"],
                key: _partner(emu, payment),
            }
        )
    return out


def charge(
    emu: Emulator,
    user: UserRec,
    chat: ChatRec,
    invoice: InvoiceRec,
    subscription: SubscriptionRec | None = None,
) -> dict[str, Any]:
    """Take the money: record the payment, open or extend a subscription; SuccessfulPayment."""
    stars = invoice.currency == STARS
    charge_id = ("stx" if stars else "tg_") + secrets.token_urlsafe(24)
    payment: dict[str, Any] = {
        "currency": invoice.currency,
        "total_amount": invoice.total_amount,
        "invoice_payload": invoice.payload,
        "telegram_payment_charge_id": charge_id,
        "provider_payment_charge_id": "" if stars else "prov_" + secrets.token_hex(8),
    }
    period = invoice.subscription_period
    record = PaymentRec(
        charge_id=charge_id,
        user_id=user.id,
        chat_id=chat.id,
        currency=invoice.currency,
        total_amount=invoice.total_amount,
        payload=invoice.payload,
        date=emu.now(),
        subscription_period=period,
    )
    if period:
        if subscription is None:
            subscription = SubscriptionRec(
                id=charge_id,
                user_id=user.id,
                invoice=invoice,
                period=period,
                expiration=emu.now() + period,
            )
            emu.stars.subscriptions[charge_id] = subscription
        else:
            subscription.expiration = max(subscription.expiration, emu.now()) + period
            subscription.failed = False
        subscription.charges.append(charge_id)
        record.subscription_id = subscription.id
        payment["subscription_expiration_date"] = subscription.expiration
        payment["is_recurring"] = True
        payment["is_first_recurring"] = subscription.id == charge_id
    emu.record_payment(record)
    if stars:
        _transaction(emu, record, "in")
    return payment


def _deliver_message(emu: Emulator, user_id: int, **fields: Any) -> tuple[MessageRec, int | None]:
    """A service message in the user's private chat, sent as the user (as Telegram does)."""
    chat = emu.chat(user_id)
    msg = emu.add_message(chat, user_id, **fields)
    return msg, emu.enqueue("message", emu.message_api(msg))


def _subscription_update(emu: Emulator, sub: SubscriptionRec, state: str) -> int | None:
    user = emu.users[sub.user_id]
    payload = {"user": user.api(), "invoice_payload": sub.invoice.payload, "state": state}
    return emu.enqueue("subscription", payload)


def renew(emu: Emulator, sub: SubscriptionRec, *, fail: bool) -> dict[str, Any]:
    """The subscription's period ends: charge the next one, fail to, or let it expire."""
    state = sub.state(emu.now())
    if state == "expired" or sub.canceled_by_user or sub.canceled_by_bot:
        sub.ended = True
        emu.notify()
        return {"status": "expired", "subscription": sub.control(emu.now())}
    if fail:
        sub.failed = True
        update_id = _subscription_update(emu, sub, "failed")
        emu.notify()
        return {
            "status": "failed",
            "subscription": sub.control(emu.now()),
            "update_id": update_id,
        }
    user = emu.users[sub.user_id]
    successful = charge(emu, user, emu.chat(user.id), sub.invoice, sub)
    msg, update_id = _deliver_message(emu, user.id, successful_payment=successful)
    return {
        "status": "renewed",
        "subscription": sub.control(emu.now()),
        "successful_payment": successful,
        "message": msg.control(emu.files),
        "update_id": update_id,
    }


def user_cancel(emu: Emulator, sub: SubscriptionRec, canceled: bool) -> int | None:
    """The user cancels or re-enables the subscription in Telegram's settings."""
    state = sub.state(emu.now())
    if state in ("expired", "failed"):
        raise Problem(409, "Subscription not editable", f"subscription {sub.id} is {state}")
    if not canceled and sub.canceled_by_bot:
        detail = f"the bot canceled subscription {sub.id}: only the bot can allow it again"
        raise Problem(409, "Canceled by the bot", detail)
    if sub.canceled_by_user == canceled:
        word = "canceled" if canceled else "active"
        raise Problem(409, "Not modified", f"subscription {sub.id} is already {word}")
    sub.canceled_by_user = canceled
    update_id = _subscription_update(emu, sub, "canceled" if canceled else "active")
    emu.notify()
    return update_id


def bot_cancel(emu: Emulator, sub: SubscriptionRec, canceled: bool) -> None:
    """`editUserStarSubscription`: no update is sent for the bot's own change."""
    sub.canceled_by_bot = canceled
    emu.notify()


def refund(emu: Emulator, payment: PaymentRec) -> tuple[dict[str, Any], MessageRec, int | None]:
    """Give the Stars back: a `refunded_payment` message from the user, an outgoing transaction."""
    payment.refunded = True
    refunded = {
        "currency": STARS,
        "total_amount": payment.total_amount,
        "invoice_payload": payment.payload,
        "telegram_payment_charge_id": payment.charge_id,
    }
    _transaction(emu, payment, "out")
    msg, update_id = _deliver_message(emu, payment.user_id, refunded_payment=refunded)
    return refunded, msg, update_id
