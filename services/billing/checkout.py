"""Buying a plan with Telegram Stars in chat: invoice terms, the pre-checkout answer, the
successful payment (first, renewal, duplicate), Telegram's `subscription` updates, and our own
cancel / re-enable through `editUserStarSubscription`.

Invoice payloads (Telegram echoes them in the pre-checkout query, the successful payment, every
renewal and the `subscription` update) name what was offered, compactly and tamper-evidently:

    1<kind>.<user pk>.<plan version id>.<promo id>.<flags>.<issued unix>.<mac>

numbers in base 36; kind `s` (30-day subscription), `m` (30 days once), `q` (90 days once);
flags `a` when the plan was reached with its access code; mac = the first 12 bytes of
HMAC-SHA256 over everything before it, base64url, keyed by a subkey of MASTER_KEY (HKDF,
purpose `signaldesk-invoice-v1`). A payload is at most ~60 bytes (Telegram allows 128).

Pre-checkout (Telegram waits at most 10 s) refuses, with a reason the user reads: a payload that
does not verify or is not the payer's (tampered), older than PAYLOAD_TTL (stale), a plan version
that is no longer the plan's current one (plan changed), an amount or currency other than the
version's price (price changed), a banned payer, a plan now hidden or behind an access code the
payer did not use and is not on (no longer offered), a newcomers-only plan for a payer. It
reads the user row, the plan with its latest version and, only when needed, whether the user
ever paid or holds the plan: a few indexed queries.

Prices: the version's `stars_price` for 30 days (subscription or once); 90 days once costs three
periods' price. A plan without a Stars price (over Telegram's cap) is card-only and refused
here. Payments are recorded by `payments.record` (exactly once per charge id); a subscription
is named "stars:<first charge id>" and buys the period Telegram states
(`subscription_expiration_date` minus 30 days to it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from html import escape
from typing import Any, Protocol

from models.billing import (
    Entitlement,
    EntitlementSource,
    EntitlementStatus,
    Plan,
    PlanVersion,
    Provider,
    StarsSubscription,
    SubscriptionState,
)
from models.users import User, UserStatus
from services.billing import catalog, changes, payments, promos, storefront
from services.billing.catalog import Feature
from services.billing.entitlements import CURRENT, EntitlementInfo
from services.billing.payments import RenewalState
from services.errors import InvalidInput, NotFound
from services.outbox import notifications as outbox
from services.outbox.kinds import PlainText
from services.outbox.payloads import Button, Keyboard
from services.text.formatting import number
from services.text.i18n import msgid as _
from services.text.i18n import translator
from services.users import profiles
from services.users.profiles import UserInfo

log = logging.getLogger(__name__)

INVOICE_KEY_PURPOSE = b"signaldesk-invoice-v1"
SUBSCRIPTION_PERIOD = timedelta(seconds=2_592_000)  # Telegram's only subscription period
PAYLOAD_TTL = timedelta(hours=24)  # an invoice older than this is refused at pre-checkout
CLOCK_SKEW = timedelta(minutes=5)
MAC_BYTES = 12
STARS = "XTR"
_VERSION = "1"


class Kind(StrEnum):
    SUBSCRIPTION = "s"  # 30 days, renews (createInvoiceLink with subscription_period)
    ONCE_30 = "m"
    ONCE_90 = "q"

    @property
    def periods(self) -> int:
        return 3 if self is Kind.ONCE_90 else 1

    @property
    def days(self) -> int:
        return 30 * self.periods


class Refusal(StrEnum):
    """Why a pre-checkout is refused; the value is the message key the user reads."""

    TAMPERED = _("checkout.refused_tampered")
    STALE = _("checkout.refused_stale")
    PLAN_CHANGED = _("checkout.refused_plan_changed")
    PRICE_CHANGED = _("checkout.refused_price_changed")
    BANNED = _("checkout.refused_banned")
    NOT_OFFERED = _("checkout.refused_not_offered")
    NEWCOMERS_ONLY = _("checkout.refused_newcomers_only")


class LinkPort(Protocol):
    """createInvoiceLink for a 30-day Stars subscription (the job's side implements it)."""

    async def subscription_link(
        self, title: str, description: str, payload: str, stars: int
    ) -> str:
        """The link (t.me/$...) Telegram made."""


class StarsPort(Protocol):
    """What checkout needs Telegram to do (the handler layer implements it with aiogram)."""

    async def edit_subscription(self, telegram_id: int, charge_id: str, *, canceled: bool) -> None:
        """editUserStarSubscription(user_id, telegram_payment_charge_id, is_canceled)."""

    async def refund(self, telegram_id: int, charge_id: str) -> None:
        """refundStarPayment(user_id, telegram_payment_charge_id)."""


@dataclass(frozen=True, slots=True)
class Payload:
    kind: Kind
    user_id: int
    version_id: int
    promo_id: int
    with_code: bool
    issued_at: datetime


@dataclass(frozen=True, slots=True)
class InvoiceTerms:
    """What the handler puts on the invoice (it writes the title and description)."""

    plan: str
    kind: Kind
    stars: int
    days: int
    payload: str
    features: frozenset[Feature]
    terminal_limit: int


@dataclass(frozen=True, slots=True)
class PaidResult:
    """A successful payment as the user is told about it."""

    payment_id: int
    created: bool  # False: a duplicate delivery, nothing changed
    renewal: bool
    plan: str
    features: frozenset[Feature]
    terminal_limit: int
    ends_at: datetime | None
    renews: bool
    stars: int
    upgrade: changes.Upgrade | None = None


class BadPayload(ValueError):
    """The payload does not verify (tampered, foreign or malformed)."""


def plan_label(language: str | None, code: str) -> str:
    """The plan's name in `language` (its code, titled, without a translation)."""
    key = f"plan.{code}"
    name = translator(language)(key)
    return code.replace("_", " ").title() if name == key else name


def _b36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out


@dataclass(frozen=True, slots=True)
class Checkout:
    """The Stars checkout with its payload key and the owner's USD-per-Star rate."""

    key: bytes
    stars_usd_rate: Decimal

    # -- payloads --------------------------------------------------------------------------
    def _mac(self, body: str) -> str:
        digest = hmac.new(self.key, body.encode("ascii"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:MAC_BYTES]).decode("ascii")

    def encode(self, p: Payload) -> str:
        body = ".".join(
            (
                _VERSION + p.kind.value, _b36(p.user_id), _b36(p.version_id), _b36(p.promo_id),
                "a" if p.with_code else "-", _b36(int(p.issued_at.timestamp())),
            )
        )  # fmt: skip
        return f"{body}.{self._mac(body)}"

    def decode(self, text: str) -> Payload:
        """The payload's fields; BadPayload unless its MAC verifies under our key."""
        body, _, mac = text.rpartition(".")
        if not body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            msg = "invoice payload does not verify"
            raise BadPayload(msg)
        head, user, version, promo, flags, issued = body.split(".")
        return Payload(
            kind=Kind(head[1:]),
            user_id=int(user, 36),
            version_id=int(version, 36),
            promo_id=int(promo, 36),
            with_code=flags == "a",
            issued_at=datetime.fromtimestamp(int(issued, 36), UTC),
        )

    def usd_cents(self, stars: int) -> int:
        cents = Decimal(stars) * self.stars_usd_rate * 100
        return int(cents.quantize(Decimal(1), rounding=ROUND_HALF_UP))

    # -- the invoice -----------------------------------------------------------------------
    async def prepare(
        self, user: UserInfo, plan_code: str, kind: Kind, now: datetime,
        access_code: str | None = None,
    ) -> InvoiceTerms:  # fmt: skip
        """The invoice for `plan_code` as `kind`; InvalidInput/NotFound say why not."""
        offer = await catalog.offer(plan_code)
        if offer is None:
            known = ", ".join(o.code for o in await catalog.offers())
            raise NotFound("error.plan_unknown", plan=plan_code[:32], known=known)
        terms = offer.terms
        if terms.stars_price is None:
            raise InvalidInput("checkout.card_only", plan=plan_code)
        with_code = access_code is not None and access_code == terms.access_code
        if not (storefront.listed(offer, newcomer=True) or with_code
                or await _holds(user.id, offer.plan_id, now)):  # fmt: skip
            raise InvalidInput("checkout.not_offered", plan=plan_code)
        if terms.newcomers_only and await storefront.has_paid(user.id):
            raise InvalidInput("checkout.newcomers_only", plan=plan_code)
        if await Entitlement.filter(
            user_id=user.id, renews=True, ends_at__gt=now, subscription_ref__startswith="stripe:"
        ).exists():  # paying again in Stars would leave the card subscription charging too
            raise InvalidInput("checkout.card_renews", plan=plan_code)
        stars = terms.stars_price * kind.periods
        promo_id = 0
        discount = None if kind is Kind.SUBSCRIPTION else await promos.pending_discount(
            user.id, offer.code, now
        )  # fmt: skip
        if discount is not None:
            promo_id, stars = discount[0], promos.discounted(stars, discount[1])
        payload = Payload(kind, user.id, offer.version_id, promo_id, with_code, now)
        return InvoiceTerms(
            plan=offer.code, kind=kind, stars=stars,
            days=kind.days, payload=self.encode(payload), features=terms.features,
            terminal_limit=terms.terminal_limit,
        )  # fmt: skip

    async def pre_checkout(
        self, user_id: int, payload: str, total_amount: int, currency: str, now: datetime
    ) -> Refusal | None:
        """None: take the money. Otherwise why not (the rules in the module docstring)."""
        try:
            p = self.decode(payload)
        except (BadPayload, ValueError):
            return Refusal.TAMPERED
        if p.user_id != user_id:
            return Refusal.TAMPERED
        if not now - PAYLOAD_TTL <= p.issued_at <= now + CLOCK_SKEW:
            return Refusal.STALE
        row = await User.get_or_none(id=user_id).only("id", "status")
        if row is None:
            return Refusal.TAMPERED
        if row.status == UserStatus.BANNED:
            return Refusal.BANNED
        version = await PlanVersion.get_or_none(id=p.version_id).prefetch_related("plan")
        if version is None:
            return Refusal.TAMPERED
        return await _offer_refusal(p, version, total_amount, currency, now)

    # -- the money -------------------------------------------------------------------------
    async def paid(
        self, user: UserInfo, payment: SuccessfulPayment, now: datetime, port: StarsPort
    ) -> PaidResult:
        """Record a successful payment (once per charge id) and what it buys."""
        try:
            p = self.decode(payment.invoice_payload)
        except (BadPayload, ValueError) as exc:
            # Telegram only charges after our pre-checkout said yes: a payload that does not
            # verify here means the key changed; the money is in, so say so loudly.
            log.exception("successful payment with a payload that does not verify")
            raise InvalidInput("checkout.payload_unknown") from exc
        renewal = payment.is_recurring and not payment.is_first_recurring
        sub = None
        if renewal:
            sub = await _subscription_of(user.id, payment.invoice_payload)
        version_id = sub.plan_version_id if sub else p.version_id  # type: ignore[attr-defined]
        ref = None
        period_end = None
        if payment.is_recurring:
            first = sub.first_charge_id if sub else payment.charge_id
            ref = f"stars:{first}"
            period_end = payment.subscription_expiration_date
        # the payment, its promo's use and the subscription row commit together
        async with payments.transaction():
            recorded = await payments.record(
                payments.PaymentIn(
                    provider=Provider.STARS, charge_id=payment.charge_id, user_id=user.id,
                    plan_version_id=version_id, amount=payment.total_amount,
                    currency=payment.currency, usd_cents=self.usd_cents(payment.total_amount),
                    paid_at=now, period_start=None if period_end is None
                    else period_end - SUBSCRIPTION_PERIOD, period_end=period_end,
                    days=None if payment.is_recurring else p.kind.days, subscription_ref=ref,
                    is_recurring=renewal, raw=payment.raw or {},
                ),
                now,
            )  # fmt: skip
            if recorded.created and p.promo_id and not renewal:
                await promos.consume(p.promo_id, user.id, now, payment_id=recorded.payment_id)
            if ref is not None and period_end is not None:
                await _track_subscription(user.id, version_id, ref, payment, period_end, now)
        upgrade = None
        bought = recorded.entitlement or await _bought(recorded.payment_id)
        if bought is not None and not renewal:
            # also on a redelivery: an upgrade cut short by a crash completes (once, by its
            # processed-event row), one already applied finds nothing to do
            upgrade = await changes.apply_upgrade(user, bought, now, port)
        if renewal and ref is not None and period_end is not None:
            await changes.float_credit(ref, period_end)
        offer = await catalog.version(version_id)
        access = await _plan_access(user.id, offer.code, now)
        return PaidResult(
            payment_id=recorded.payment_id, created=recorded.created, renewal=renewal,
            plan=offer.code, features=offer.terms.features,
            terminal_limit=offer.terms.terminal_limit, ends_at=access[0], renews=access[1],
            stars=payment.total_amount, upgrade=upgrade,
        )  # fmt: skip

    async def subscription_update(
        self, user: UserInfo, invoice_payload: str, state: str, now: datetime
    ) -> SubscriptionChange | None:
        """Telegram's `subscription` update: the user canceled, re-enabled, or a renewal
        failed. None: no subscription of ours with that payload (nothing changed)."""
        try:
            renewal = RenewalState(state)
        except ValueError:  # a state newer than Bot API 10.3: change nothing, say so in the log
            log.warning("subscription update with an unknown state %r", state[:32])
            return None
        sub = await _subscription_of(user.id, invoice_payload)
        if sub is None:
            log.warning("subscription update for an unknown payload", extra={"user_id": user.id})
            return None
        ref = f"stars:{sub.first_charge_id}"
        await payments.set_renewal(ref, renewal, now)
        sub.state = {
            RenewalState.ACTIVE: SubscriptionState.ACTIVE,
            RenewalState.CANCELED: SubscriptionState.CANCELED,
            RenewalState.FAILED: SubscriptionState.FAILED,
        }[renewal]
        await sub.save(update_fields=["state", "updated_at"])
        offer = await catalog.version(sub.plan_version_id)  # type: ignore[attr-defined]
        return SubscriptionChange(offer.code, renewal, sub.expires_at, ref)

    async def cancel(self, user: UserInfo, now: datetime, port: StarsPort) -> SubscriptionChange:
        """Stop the user's renewing Stars subscription from our side (access continues to the
        end of the paid period); NotFound when none renews."""
        sub = await _renewing(user.id, now, SubscriptionState.ACTIVE)
        await port.edit_subscription(user.telegram_id, sub.first_charge_id, canceled=True)
        return await self._set(sub, RenewalState.CANCELED, now)

    async def reenable(self, user: UserInfo, now: datetime, port: StarsPort) -> SubscriptionChange:
        """Let a subscription canceled here (or by the user) renew again."""
        sub = await _renewing(user.id, now, SubscriptionState.CANCELED)
        await port.edit_subscription(user.telegram_id, sub.first_charge_id, canceled=False)
        return await self._set(sub, RenewalState.ACTIVE, now)

    async def deliver_changes(self, now: datetime, port: LinkPort) -> int:
        """Scheduled downgrades whose date came: send each user the new plan's subscription
        link (through the outbox, once per change). Returns how many were sent."""
        sent = 0
        for change in await changes.due(now):
            row = await User.get_or_none(id=change.user_id)  # type: ignore[attr-defined]
            if row is None:
                await changes.delivered(change.id, now)
                continue
            user = await profiles.get_by_telegram_id(row.telegram_id)
            try:
                terms = await self.prepare(user, change.plan_code, Kind.SUBSCRIPTION, now)
            except (InvalidInput, NotFound) as exc:  # no longer sold: nothing to link
                log.info("scheduled plan %s not sold any more: %s", change.plan_code, exc.key)
                await changes.delivered(change.id, now)
                continue
            t = translator(user.language)
            name = plan_label(user.language, terms.plan)
            title = t(_("checkout.title_subscription")).format(name=name)
            link = await port.subscription_link(
                title[:32], t(_("checkout.desc_subscription"))[:255], terms.payload, terms.stars
            )
            body = t(_("checkout.scheduled_link")).format(name=escape(name))
            button = Button(
                t(_("checkout.btn_pay_link")).format(stars=number(terms.stars, user.language, 0)),
                url=link,
            )
            async with payments.transaction():
                if not await changes.delivered(change.id, now):
                    continue
                await outbox.enqueue(
                    user.telegram_id, PlainText(body, Keyboard(((button,),))),
                    f"plan_change:{change.id}", user_id=user.id,
                )  # fmt: skip
            sent += 1
        return sent

    async def _set(
        self, sub: StarsSubscription, renewal: RenewalState, now: datetime
    ) -> SubscriptionChange:
        ref = f"stars:{sub.first_charge_id}"
        await payments.set_renewal(ref, renewal, now)
        state = (
            SubscriptionState.ACTIVE
            if renewal is RenewalState.ACTIVE
            else SubscriptionState.CANCELED
        )
        await StarsSubscription.filter(id=sub.id).update(state=state)
        offer = await catalog.version(sub.plan_version_id)  # type: ignore[attr-defined]
        return SubscriptionChange(offer.code, renewal, sub.expires_at, ref)


@dataclass(frozen=True, slots=True)
class SubscriptionChange:
    plan: str
    state: RenewalState
    expires_at: datetime  # end of the paid period (grace follows a failure)
    ref: str


@dataclass(frozen=True, slots=True)
class SuccessfulPayment:
    """The fields of Telegram's SuccessfulPayment that checkout reads (services import no
    aiogram: the handler copies them)."""

    currency: str
    total_amount: int
    invoice_payload: str
    charge_id: str  # telegram_payment_charge_id
    is_recurring: bool = False
    is_first_recurring: bool = False
    subscription_expiration_date: datetime | None = None
    raw: dict[str, Any] | None = None


async def _bought(payment_id: int) -> EntitlementInfo | None:
    """The period a recorded payment bought (None once it ended: refunded, replaced)."""
    row = (
        await Entitlement.filter(payment_id=payment_id, status__in=CURRENT)
        .prefetch_related("plan_version__plan")
        .first()
    )
    if row is None:
        return None
    return EntitlementInfo(
        id=row.id, user_id=row.user_id, plan=row.plan_version.plan.code,  # type: ignore[attr-defined]
        plan_version_id=row.plan_version_id,  # type: ignore[attr-defined]
        source=EntitlementSource(row.source), status=EntitlementStatus(row.status),
        starts_at=row.starts_at, ends_at=row.ends_at, renews=row.renews,
    )  # fmt: skip


async def _holds(user_id: int, plan_id: int, now: datetime) -> bool:
    """Whether the user has a current period of the plan (renewing a hidden plan is allowed)."""
    return await Entitlement.filter(
        user_id=user_id, status__in=CURRENT, ends_at__gt=now, plan_version__plan_id=plan_id
    ).exists()


async def _offer_refusal(
    p: Payload, version: PlanVersion, total_amount: int, currency: str, now: datetime
) -> Refusal | None:
    plan: Plan = version.plan
    latest = await PlanVersion.filter(plan_id=plan.id).order_by("-version").first().only("id")
    if latest is None or latest.id != version.id:
        return Refusal.PLAN_CHANGED
    if version.stars_price is None:
        return Refusal.NOT_OFFERED
    if currency != STARS or total_amount != await _price(p, plan.code, version.stars_price, now):
        return Refusal.PRICE_CHANGED
    if (plan.hidden or plan.access_code is not None) and not (
        (p.with_code and plan.access_code is not None) or await _holds(p.user_id, plan.id, now)
    ):
        return Refusal.NOT_OFFERED
    if plan.newcomers_only and await storefront.has_paid(p.user_id):
        return Refusal.NEWCOMERS_ONLY
    return None


async def _price(p: Payload, plan_code: str, stars_price: int, now: datetime) -> int | None:
    """What the payload's invoice must cost: the periods' price, less its promo's percent
    (None: that promo is no longer the user's best unused one for the plan)."""
    stars = stars_price * p.kind.periods
    if not p.promo_id:
        return stars
    found = await promos.pending_discount(p.user_id, plan_code, now)
    if found is None or found[0] != p.promo_id:
        return None
    return promos.discounted(stars, found[1])


async def _subscription_of(user_id: int, invoice_payload: str) -> StarsSubscription | None:
    return (
        await StarsSubscription.filter(user_id=user_id, invoice_payload=invoice_payload)
        .order_by("-created_at", "-id")
        .first()
    )


async def _renewing(user_id: int, now: datetime, state: SubscriptionState) -> StarsSubscription:
    sub = (
        await StarsSubscription.filter(user_id=user_id, state=state, expires_at__gt=now)
        .order_by("-expires_at")
        .first()
    )
    if sub is None:
        if state is SubscriptionState.ACTIVE:
            raise NotFound("checkout.no_subscription")
        raise NotFound("checkout.nothing_to_renew")
    return sub


async def _track_subscription(
    user_id: int,
    version_id: int,
    ref: str,
    payment: SuccessfulPayment,
    period_end: datetime,
    now: datetime,
) -> None:
    """The StarsSubscription row follows Telegram's expiration date (idempotent: a duplicate
    or out-of-order delivery leaves the latest date)."""
    first = ref.removeprefix("stars:")
    await payments.insert_once(
        "stars_subscriptions",
        {
            "user_id": user_id, "plan_version_id": version_id, "first_charge_id": first,
            "invoice_payload": payment.invoice_payload[:128], "state": SubscriptionState.ACTIVE.value,
            "expires_at": period_end, "created_at": now, "updated_at": now,
        },
    )  # fmt: skip
    await StarsSubscription.filter(first_charge_id=first, expires_at__lt=period_end).update(
        expires_at=period_end, state=SubscriptionState.ACTIVE
    )


async def _plan_access(
    user_id: int, plan_code: str, now: datetime
) -> tuple[datetime | None, bool]:
    """The end of the user's continuous access to `plan_code` and whether it renews."""
    rows = (
        await Entitlement.filter(
            user_id=user_id,
            status__in=CURRENT,
            ends_at__gt=now,
            plan_version__plan__code=plan_code,
        )
        .exclude(status=EntitlementStatus.ENDED)
        .order_by("starts_at")
    )
    end: datetime | None = None
    renews = False
    for row in rows:
        if end is None or row.starts_at <= end:
            if end is None or row.ends_at >= end:
                renews = row.renews
            end = row.ends_at if end is None else max(end, row.ends_at)
    return end, renews
