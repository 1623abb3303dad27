"""Bot API: invoices (Telegram Stars and provider currencies), pre-checkout, refunds, Stars
subscriptions and the bot's Stars transactions (the rules they follow: `tgemu.stars`)."""

# ruff: noqa: EM101, EM102 - Telegram's error texts stay inline, beside the checks that give them

from __future__ import annotations

import secrets
from typing import Any

from tgemu import stars
from tgemu.errors import QUERY_INVALID, bad_request
from tgemu.models import BOT, InvoiceRec, PaymentRec
from tgemu.outgoing import admit, parse_markup, reply_target
from tgemu.params import Params
from tgemu.registry import method
from tgemu.state import Emulator

STARS = stars.STARS
SUBSCRIPTION_PERIOD_S = 2592000  # the only period Telegram accepts: 30 days
SUBSCRIPTION_MAX_STARS = 10000  # "Subscription price must no exceed 10000 Telegram Stars"
MAX_TRANSACTIONS = 100


def _prices(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list) or not raw:
        raise bad_request("can't parse prices JSON object")
    for price in raw:
        if (
            not isinstance(price, dict)
            or not isinstance(price.get("label"), str)
            or not isinstance(price.get("amount"), int)
        ):
            raise bad_request("can't parse prices JSON object")
    return [{"label": p["label"], "amount": p["amount"]} for p in raw]


def _invoice(p: Params) -> InvoiceRec:
    title = p.string("title", required=True) or ""
    description = p.string("description", required=True) or ""
    payload = p.string("payload", required=True) or ""
    currency = (p.string("currency", required=True) or "").upper()
    prices = _prices(p.obj("prices"))
    if len(title) > 32:
        raise bad_request("INVOICE_TITLE_INVALID")
    if len(description) > 255:
        raise bad_request("INVOICE_DESCRIPTION_INVALID")
    if len(payload.encode()) > 128:
        raise bad_request("INVOICE_PAYLOAD_INVALID")
    if currency == STARS:
        if p.has("provider_token"):
            raise bad_request("PAYMENT_PROVIDER_INVALID")
        if len(prices) != 1:
            raise bad_request("STARS_INVOICE_INVALID")
    elif not p.has("provider_token"):
        raise bad_request("PAYMENT_PROVIDER_INVALID")
    invoice = InvoiceRec(
        title=title,
        description=description,
        payload=payload,
        currency=currency,
        prices=prices,
        start_parameter=p.string("start_parameter") or "",
        photo_url=p.string("photo_url"),
    )
    if invoice.total_amount <= 0:
        raise bad_request("CURRENCY_TOTAL_AMOUNT_INVALID")
    return invoice


@method("sendInvoice")
async def send_invoice(emu: Emulator, p: Params) -> dict[str, Any]:
    chat = emu.chat(p.chat_id())
    invoice = _invoice(p)
    markup = parse_markup(p.obj("reply_markup"), chat)
    if markup is not None and not (markup.get("inline_keyboard") or [[{}]])[0][0].get("pay"):
        raise bad_request("REPLY_MARKUP_BUY_EMPTY")
    reply_to = reply_target(emu, p, chat)
    admit(emu, chat)
    msg = emu.add_message(
        chat, BOT, invoice=invoice.control(), reply_markup=markup, reply_to_message_id=reply_to
    )
    emu.invoices[(chat.id, msg.message_id)] = invoice
    return emu.message_api(msg)


@method("createInvoiceLink")
async def create_invoice_link(emu: Emulator, p: Params) -> str:
    invoice = _invoice(p)
    period = p.integer("subscription_period")
    if period is not None:
        if period != SUBSCRIPTION_PERIOD_S or invoice.currency != STARS:
            raise bad_request("SUBSCRIPTION_PERIOD_INVALID")
        if invoice.total_amount > SUBSCRIPTION_MAX_STARS:
            raise bad_request("SUBSCRIPTION_PRICE_INVALID")
        invoice.subscription_period = period
    slug = secrets.token_urlsafe(16)
    emu.invoice_links[slug] = invoice
    return f"https://t.me/${slug}"


@method("answerPreCheckoutQuery")
async def answer_pre_checkout_query(emu: Emulator, p: Params) -> bool:
    query = emu.pre_checkouts.get(p.string("pre_checkout_query_id", required=True) or "")
    if query is None or query["answered"] or query["expired"]:
        raise bad_request(QUERY_INVALID.removeprefix("Bad Request: "))
    ok = p.boolean("ok")
    error_message = p.string("error_message")
    if not ok and not error_message:
        raise bad_request("error_message is empty")
    query.update(answered=True, ok=ok, error_message=error_message)
    emu.notify()
    return True


def _users_stars_charge(p: Params, emu: Emulator) -> PaymentRec:
    """The charge named by `telegram_payment_charge_id`, a Stars payment by `user_id`."""
    user_id = p.integer("user_id", required=True)
    charge = emu.payments.get(p.string("telegram_payment_charge_id", required=True) or "")
    if charge is None or charge.user_id != user_id or charge.currency != STARS:
        raise bad_request("CHARGE_NOT_FOUND")
    return charge


@method("refundStarPayment")
async def refund_star_payment(emu: Emulator, p: Params) -> bool:
    charge = _users_stars_charge(p, emu)
    if charge.refunded:
        raise bad_request("CHARGE_ALREADY_REFUNDED")
    stars.refund(emu, charge)
    return True


@method("editUserStarSubscription")
async def edit_user_star_subscription(emu: Emulator, p: Params) -> bool:
    """Cancel (or allow again) a subscription's renewals; it stays paid to its expiration.
    Any charge of the subscription names it (the first one is its id). No update follows."""
    charge = _users_stars_charge(p, emu)
    if "is_canceled" not in p.values:
        raise bad_request("is_canceled is empty")
    subscription = emu.stars.subscription_of(charge)
    if subscription is None:
        raise bad_request("SUBSCRIPTION_NOT_FOUND")
    stars.bot_cancel(emu, subscription, p.boolean("is_canceled"))
    return True


@method("getStarTransactions")
async def get_star_transactions(emu: Emulator, p: Params) -> dict[str, Any]:
    offset = p.integer("offset") or 0
    limit = p.integer("limit")
    limit = MAX_TRANSACTIONS if limit is None else limit
    if offset < 0:
        raise bad_request("offset must be non-negative")
    if not 1 <= limit <= MAX_TRANSACTIONS:
        raise bad_request("limit must be between 1 and 100")
    return {"transactions": stars.transactions(emu, offset, limit)}
