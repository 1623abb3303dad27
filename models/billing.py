"""Selling access: the plan catalog (versioned), entitlements, payments and what hangs off them
(Stars subscriptions, Stripe customers, processed webhook events, promo codes, trials, affiliates,
the VIP channel).

Money is stored as integers in the provider's smallest unit: Stars (XTR has no minor unit) and
cents for Stripe. Catalog prices in USD are `Decimal` with two places. Uniqueness that makes money
move exactly once lives in the schema: a payment by (provider, charge id), a webhook event by
(provider, event id), a trial by Telegram account.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from tortoise import fields
from tortoise.models import Model


class Provider(StrEnum):
    STARS = "stars"
    STRIPE = "stripe"


class EntitlementSource(StrEnum):
    GRANT = "grant"  # /grant by an admin (complimentary)
    TRIAL = "trial"
    STARS = "stars"
    STRIPE = "stripe"
    PROMO = "promo"  # a promo code's extra days


class EntitlementStatus(StrEnum):
    ACTIVE = "active"  # within its period (or past it, inside the grace period)
    GRACE = "grace"  # a renewal failed: access continues until the grace period ends
    ENDED = "ended"  # ended early (by an admin, a refund, an upgrade that replaced it)


class PaymentStatus(StrEnum):
    PAID = "paid"
    REFUNDED = "refunded"
    FAILED = "failed"


class SubscriptionState(StrEnum):
    ACTIVE = "active"
    CANCELED = "canceled"  # no renewal: access continues until the paid period ends
    FAILED = "failed"  # the last renewal failed
    EXPIRED = "expired"


class CommissionState(StrEnum):
    PENDING = "pending"  # inside the due period
    AVAILABLE = "available"  # may be paid out
    PAID = "paid"
    REVERSED = "reversed"  # the payment was refunded (or the owner refused it)


class PayoutStatus(StrEnum):
    REQUESTED = "requested"
    PAID = "paid"
    REJECTED = "rejected"


class Plan(Model):
    """A plan as the catalog names it (its prices and features live in versions)."""

    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)  # starter, pro_copy, ...
    hidden = fields.BooleanField(default=False)  # not listed (still reachable with a code)
    newcomers_only = fields.BooleanField(default=False)  # only for users who never paid
    access_code = fields.CharField(max_length=64, null=True)  # reachable only with this code
    # Digest of the plan's entry in the catalog file when it was last applied: the file is
    # applied again only when its entry changes, so /plans_admin edits win until then.
    file_digest = fields.CharField(max_length=64, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "plans"


class PlanVersion(Model):
    """One price and feature set of a plan (a new version whenever either changes). Entitlements
    reference the version they were bought at, so subscribers keep theirs."""

    id = fields.IntField(primary_key=True)
    plan: fields.ForeignKeyRelation[Plan] = fields.ForeignKeyField(
        "models.Plan", related_name="versions", on_delete=fields.RESTRICT
    )
    version = fields.IntField()
    usd_price = fields.DecimalField(max_digits=10, decimal_places=2)
    stars_price = fields.IntField(null=True)  # None: over Telegram's cap, card only
    period_days = fields.IntField(default=30)
    terminal_limit = fields.IntField()
    features: Any = fields.JSONField(default=list)  # feature names, sorted
    trial_days = fields.IntField(default=0)
    alert_quota = fields.IntField(default=0)  # active price alerts a subscriber may keep
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "plan_versions"
        unique_together = (("plan", "version"),)


class Payment(Model):
    """Money received (or refunded) for a plan version, recorded once per provider charge."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharEnumField(Provider, max_length=8)
    provider_charge_id = fields.CharField(max_length=255)
    user: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="payments", null=True, on_delete=fields.SET_NULL
    )
    plan_version: fields.ForeignKeyNullableRelation[PlanVersion] = fields.ForeignKeyField(
        "models.PlanVersion", related_name="payments", null=True, on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()  # smallest unit: Stars, or cents
    currency = fields.CharField(max_length=8)  # XTR, USD, ...
    status = fields.CharEnumField(PaymentStatus, max_length=10, default=PaymentStatus.PAID)
    is_recurring = fields.BooleanField(default=False)
    usd_cents = fields.BigIntField(default=0)  # its value in US cents (Stars at the owner's rate)
    raw_payload: Any = fields.JSONField(default=dict)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    refunded_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payments"
        unique_together = (("provider", "provider_charge_id"),)


class Entitlement(Model):
    """A period of access to a plan version: what `services.billing.entitlements` reads."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="entitlements", on_delete=fields.CASCADE
    )
    plan_version: fields.ForeignKeyRelation[PlanVersion] = fields.ForeignKeyField(
        "models.PlanVersion", related_name="entitlements", on_delete=fields.RESTRICT
    )
    source = fields.CharEnumField(EntitlementSource, max_length=8)
    status = fields.CharEnumField(
        EntitlementStatus, max_length=8, default=EntitlementStatus.ACTIVE
    )
    starts_at = fields.DatetimeField()
    ends_at = fields.DatetimeField()
    renews = fields.BooleanField(default=False)  # an active subscription will extend it
    # The subscription that bought it ("stars:<first charge id>", "stripe:<subscription id>"),
    # so a cancellation or a failed renewal finds its periods.
    subscription_ref = fields.CharField(max_length=300, null=True, db_index=True)
    payment: fields.ForeignKeyNullableRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="entitlements", null=True, on_delete=fields.SET_NULL
    )
    granted_by = fields.BigIntField(null=True)  # Telegram id of the admin, for grants
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "entitlements"
        indexes = (("user_id", "status"),)


class StarsSubscription(Model):
    """A Telegram Stars subscription, known by its first payment's charge id."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="stars_subscriptions", on_delete=fields.CASCADE
    )
    plan_version: fields.ForeignKeyRelation[PlanVersion] = fields.ForeignKeyField(
        "models.PlanVersion", related_name="stars_subscriptions", on_delete=fields.RESTRICT
    )
    first_charge_id = fields.CharField(max_length=255, unique=True)
    invoice_payload = fields.CharField(max_length=128)
    state = fields.CharEnumField(
        SubscriptionState, max_length=10, default=SubscriptionState.ACTIVE
    )
    expires_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "stars_subscriptions"


class StripeCustomer(Model):
    """A Stripe customer, linked to a Telegram user once they send the one-time link code."""

    id = fields.BigIntField(primary_key=True)
    customer_id = fields.CharField(max_length=255, unique=True)
    user: fields.ForeignKeyNullableRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="stripe_customers", null=True, on_delete=fields.SET_NULL
    )
    email = fields.CharField(max_length=255, null=True)
    subscription_id = fields.CharField(max_length=255, null=True, unique=True)
    link_code = fields.CharField(max_length=32, null=True, unique=True)
    linked_at = fields.DatetimeField(null=True)
    link_expires_at = fields.DatetimeField(null=True)  # the link code is refused after this
    # The subscription's renewal as Stripe last told us (active | canceled | failed), applied
    # to the periods its invoices bought, also to those granted when the buyer links later.
    subscription_state = fields.CharField(max_length=16, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stripe_customers"


class StripeInvoice(Model):
    """A paid Stripe invoice as we recorded it: the payment it became, the period it bought (for
    a buyer who links their Telegram account later) and the payment intent a refund names."""

    id = fields.BigIntField(primary_key=True)
    invoice_id = fields.CharField(max_length=255, unique=True)
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="stripe_invoices", on_delete=fields.CASCADE
    )
    customer_id = fields.CharField(max_length=255, db_index=True)
    subscription_id = fields.CharField(max_length=255, null=True)
    payment_intent_id = fields.CharField(max_length=255, null=True, db_index=True)
    period_start = fields.DatetimeField()
    period_end = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "stripe_invoices"


class ProcessedEvent(Model):
    """A provider event applied once: inserted in the transaction of its effects."""

    id = fields.BigIntField(primary_key=True)
    provider = fields.CharEnumField(Provider, max_length=8)
    event_id = fields.CharField(max_length=255)
    event_type = fields.CharField(max_length=64)
    processed_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "processed_events"
        unique_together = (("provider", "event_id"),)


class PromoCode(Model):
    id = fields.IntField(primary_key=True)
    code = fields.CharField(max_length=32, unique=True)
    plan: fields.ForeignKeyNullableRelation[Plan] = fields.ForeignKeyField(
        "models.Plan", related_name="promo_codes", null=True, on_delete=fields.CASCADE
    )
    percent_off = fields.IntField(null=True)
    extra_days = fields.IntField(null=True)
    max_redemptions = fields.IntField(null=True)
    redemptions = fields.IntField(default=0)
    expires_at = fields.DatetimeField(null=True)
    disabled_at = fields.DatetimeField(null=True)  # /promo_off: no more redemptions
    created_by = fields.BigIntField(null=True)  # Telegram id
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "promo_codes"


class PromoRedemption(Model):
    id = fields.BigIntField(primary_key=True)
    promo: fields.ForeignKeyRelation[PromoCode] = fields.ForeignKeyField(
        "models.PromoCode", related_name="uses", on_delete=fields.CASCADE
    )
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="promo_redemptions", on_delete=fields.CASCADE
    )
    # A percent-off code is a pending discount until a Stars purchase uses it (consumed_at, the
    # payment); an extra-days code is used when redeemed (consumed_at = created_at).
    consumed_at = fields.DatetimeField(null=True)
    payment_id = fields.BigIntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "promo_redemptions"
        unique_together = (("promo", "user"),)


class TrialUse(Model):
    """One free trial per Telegram account, whatever the plan (the UNIQUE holds it)."""

    id = fields.BigIntField(primary_key=True)
    telegram_id = fields.BigIntField(unique=True)
    plan: fields.ForeignKeyRelation[Plan] = fields.ForeignKeyField(
        "models.Plan", related_name="trials", on_delete=fields.RESTRICT
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "trial_uses"


class Referral(Model):
    """An affiliate's referred user (first touch: one referrer per referred user)."""

    id = fields.BigIntField(primary_key=True)
    referrer: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="affiliate_referrals", on_delete=fields.CASCADE
    )
    referred: fields.OneToOneRelation[Any] = fields.OneToOneField(
        "models.User", related_name="affiliate_referral", on_delete=fields.CASCADE
    )
    first_paid_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "referrals"


class Payout(Model):
    id = fields.BigIntField(primary_key=True)
    affiliate: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="payouts", on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()  # cents
    currency = fields.CharField(max_length=8, default="USD")
    status = fields.CharEnumField(PayoutStatus, max_length=10, default=PayoutStatus.REQUESTED)
    reference = fields.CharField(max_length=255, null=True)
    requested_at = fields.DatetimeField(auto_now_add=True)
    paid_at = fields.DatetimeField(null=True)

    class Meta:
        table = "payouts"


class Commission(Model):
    """An affiliate's share of one payment: pending -> available -> paid | reversed."""

    id = fields.BigIntField(primary_key=True)
    referral: fields.ForeignKeyRelation[Referral] = fields.ForeignKeyField(
        "models.Referral", related_name="commissions", on_delete=fields.CASCADE
    )
    payment: fields.ForeignKeyRelation[Payment] = fields.ForeignKeyField(
        "models.Payment", related_name="commissions", on_delete=fields.RESTRICT
    )
    amount = fields.BigIntField()  # cents
    currency = fields.CharField(max_length=8, default="USD")
    rate_pct = fields.DecimalField(max_digits=5, decimal_places=2)
    state = fields.CharEnumField(CommissionState, max_length=10, default=CommissionState.PENDING)
    flagged = fields.CharField(max_length=64, null=True)  # why it waits for the owner
    due_at = fields.DatetimeField()
    payout: fields.ForeignKeyNullableRelation[Payout] = fields.ForeignKeyField(
        "models.Payout", related_name="commissions", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "commissions"
        unique_together = (("referral", "payment"),)


class VipInvite(Model):
    """A single-use invite link to the VIP chat, issued to one user."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="vip_invites", on_delete=fields.CASCADE
    )
    chat_id = fields.BigIntField()
    invite_link = fields.CharField(max_length=255, unique=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "vip_invites"


class VipMembership(Model):
    """A user's presence in the VIP chat as we last saw it."""

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="vip_memberships", on_delete=fields.CASCADE
    )
    chat_id = fields.BigIntField()
    joined_at = fields.DatetimeField()
    removed_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "vip_memberships"
        unique_together = (("chat_id", "user"),)


class PlanChange(Model):
    """A downgrade chosen by the user, applied when the current paid period ends."""

    # The user is sent the new plan's subscription link then; one pending change per user.

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="plan_changes", on_delete=fields.CASCADE
    )
    plan_code = fields.CharField(max_length=32)
    from_plan = fields.CharField(max_length=32)
    effective_at = fields.DatetimeField(db_index=True)
    delivered_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "plan_changes"


class AffiliateClick(Model):
    """An opening of an affiliate's link (`/start ref_CODE`), attributed or not."""

    id = fields.BigIntField(primary_key=True)
    referrer: fields.ForeignKeyRelation[Any] = fields.ForeignKeyField(
        "models.User", related_name="affiliate_clicks", on_delete=fields.CASCADE
    )
    telegram_id = fields.BigIntField()  # who opened it
    attributed = fields.BooleanField(default=False)  # it made them this referrer's referral
    created_at = fields.DatetimeField(db_index=True)

    class Meta:
        table = "affiliate_clicks"
