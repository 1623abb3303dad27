"""Selling access (issue 11): the plan catalog and its versions, entitlements, payments, Stars
subscriptions, Stripe customers, processed webhook events, promo codes, trials, affiliates
(referrals, commissions, payouts) and the VIP channel's invites and memberships."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.billing import CommissionState, EntitlementSource, EntitlementStatus, PaymentStatus, PayoutStatus, Provider, SubscriptionState
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0008_access_follows_roles')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Payout',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('affiliate', fields.ForeignKeyField('models.User', source_field='affiliate_id', db_constraint=True, to_field='id', related_name='payouts', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(default='USD', max_length=8)),
                ('status', fields.CharEnumField(default=PayoutStatus.REQUESTED, description='REQUESTED: requested\nPAID: paid\nREJECTED: rejected', enum_type=PayoutStatus, max_length=10)),
                ('reference', fields.CharField(null=True, max_length=255)),
                ('requested_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payouts', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Plan',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('hidden', fields.BooleanField(default=False)),
                ('newcomers_only', fields.BooleanField(default=False)),
                ('access_code', fields.CharField(null=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'plans', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A plan as the catalog names it (its prices and features live in versions).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PlanVersion',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('plan', fields.ForeignKeyField('models.Plan', source_field='plan_id', db_constraint=True, to_field='id', related_name='versions', on_delete=OnDelete.RESTRICT)),
                ('version', fields.IntField()),
                ('usd_price', fields.DecimalField(max_digits=10, decimal_places=2)),
                ('stars_price', fields.IntField(null=True)),
                ('period_days', fields.IntField(default=30)),
                ('terminal_limit', fields.IntField()),
                ('features', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('trial_days', fields.IntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'plan_versions', 'app': 'models', 'unique_together': (('plan', 'version'),), 'pk_attr': 'id', 'table_description': 'One price and feature set of a plan (a new version whenever either changes). Entitlements'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Payment',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharEnumField(description='STARS: stars\nSTRIPE: stripe', enum_type=Provider, max_length=8)),
                ('provider_charge_id', fields.CharField(max_length=255)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.SET_NULL)),
                ('plan_version', fields.ForeignKeyField('models.PlanVersion', source_field='plan_version_id', null=True, db_constraint=True, to_field='id', related_name='payments', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(max_length=8)),
                ('status', fields.CharEnumField(default=PaymentStatus.PAID, description='PAID: paid\nREFUNDED: refunded\nFAILED: failed', enum_type=PaymentStatus, max_length=10)),
                ('is_recurring', fields.BooleanField(default=False)),
                ('raw_payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('refunded_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'payments', 'app': 'models', 'unique_together': (('provider', 'provider_charge_id'),), 'pk_attr': 'id', 'table_description': 'Money received (or refunded) for a plan version, recorded once per provider charge.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Entitlement',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='entitlements', on_delete=OnDelete.CASCADE)),
                ('plan_version', fields.ForeignKeyField('models.PlanVersion', source_field='plan_version_id', db_constraint=True, to_field='id', related_name='entitlements', on_delete=OnDelete.RESTRICT)),
                ('source', fields.CharEnumField(description='GRANT: grant\nTRIAL: trial\nSTARS: stars\nSTRIPE: stripe\nPROMO: promo', enum_type=EntitlementSource, max_length=8)),
                ('status', fields.CharEnumField(default=EntitlementStatus.ACTIVE, description='ACTIVE: active\nGRACE: grace\nENDED: ended', enum_type=EntitlementStatus, max_length=8)),
                ('starts_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('renews', fields.BooleanField(default=False)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', null=True, db_constraint=True, to_field='id', related_name='entitlements', on_delete=OnDelete.SET_NULL)),
                ('granted_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'entitlements', 'app': 'models', 'indexes': [Index(fields=['user_id', 'status'])], 'pk_attr': 'id', 'table_description': 'A period of access to a plan version: what `services.billing.entitlements` reads.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProcessedEvent',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharEnumField(description='STARS: stars\nSTRIPE: stripe', enum_type=Provider, max_length=8)),
                ('event_id', fields.CharField(max_length=255)),
                ('event_type', fields.CharField(max_length=64)),
                ('processed_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'processed_events', 'app': 'models', 'unique_together': (('provider', 'event_id'),), 'pk_attr': 'id', 'table_description': 'A provider event applied once: inserted in the transaction of its effects.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PromoCode',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('code', fields.CharField(unique=True, max_length=32)),
                ('plan', fields.ForeignKeyField('models.Plan', source_field='plan_id', null=True, db_constraint=True, to_field='id', related_name='promo_codes', on_delete=OnDelete.CASCADE)),
                ('percent_off', fields.IntField(null=True)),
                ('extra_days', fields.IntField(null=True)),
                ('max_redemptions', fields.IntField(null=True)),
                ('redemptions', fields.IntField(default=0)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'promo_codes', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PromoRedemption',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('promo', fields.ForeignKeyField('models.PromoCode', source_field='promo_id', db_constraint=True, to_field='id', related_name='uses', on_delete=OnDelete.CASCADE)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='promo_redemptions', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'promo_redemptions', 'app': 'models', 'unique_together': (('promo', 'user'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Referral',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('referrer', fields.ForeignKeyField('models.User', source_field='referrer_id', db_constraint=True, to_field='id', related_name='affiliate_referrals', on_delete=OnDelete.CASCADE)),
                ('referred', fields.OneToOneField('models.User', source_field='referred_id', db_constraint=True, to_field='id', related_name='affiliate_referral', on_delete=OnDelete.CASCADE)),
                ('first_paid_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'referrals', 'app': 'models', 'pk_attr': 'id', 'table_description': "An affiliate's referred user (first touch: one referrer per referred user)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Commission',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('referral', fields.ForeignKeyField('models.Referral', source_field='referral_id', db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.CASCADE)),
                ('payment', fields.ForeignKeyField('models.Payment', source_field='payment_id', db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.RESTRICT)),
                ('amount', fields.BigIntField()),
                ('currency', fields.CharField(default='USD', max_length=8)),
                ('rate_pct', fields.DecimalField(max_digits=5, decimal_places=2)),
                ('state', fields.CharEnumField(default=CommissionState.PENDING, description='PENDING: pending\nAVAILABLE: available\nPAID: paid\nREVERSED: reversed', enum_type=CommissionState, max_length=10)),
                ('flagged', fields.CharField(null=True, max_length=64)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('payout', fields.ForeignKeyField('models.Payout', source_field='payout_id', null=True, db_constraint=True, to_field='id', related_name='commissions', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'commissions', 'app': 'models', 'unique_together': (('referral', 'payment'),), 'pk_attr': 'id', 'table_description': "An affiliate's share of one payment: pending -> available -> paid | reversed."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StarsSubscription',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='stars_subscriptions', on_delete=OnDelete.CASCADE)),
                ('plan_version', fields.ForeignKeyField('models.PlanVersion', source_field='plan_version_id', db_constraint=True, to_field='id', related_name='stars_subscriptions', on_delete=OnDelete.RESTRICT)),
                ('first_charge_id', fields.CharField(unique=True, max_length=255)),
                ('invoice_payload', fields.CharField(max_length=128)),
                ('state', fields.CharEnumField(default=SubscriptionState.ACTIVE, description='ACTIVE: active\nCANCELED: canceled\nFAILED: failed\nEXPIRED: expired', enum_type=SubscriptionState, max_length=10)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'stars_subscriptions', 'app': 'models', 'pk_attr': 'id', 'table_description': "A Telegram Stars subscription, known by its first payment's charge id."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='StripeCustomer',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('customer_id', fields.CharField(unique=True, max_length=255)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', null=True, db_constraint=True, to_field='id', related_name='stripe_customers', on_delete=OnDelete.SET_NULL)),
                ('email', fields.CharField(null=True, max_length=255)),
                ('subscription_id', fields.CharField(null=True, unique=True, max_length=255)),
                ('link_code', fields.CharField(null=True, unique=True, max_length=32)),
                ('linked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'stripe_customers', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A Stripe customer, linked to a Telegram user once they send the one-time link code.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='TrialUse',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_id', fields.BigIntField(unique=True)),
                ('plan', fields.ForeignKeyField('models.Plan', source_field='plan_id', db_constraint=True, to_field='id', related_name='trials', on_delete=OnDelete.RESTRICT)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'trial_uses', 'app': 'models', 'pk_attr': 'id', 'table_description': 'One free trial per Telegram account, whatever the plan (the UNIQUE holds it).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VipInvite',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='vip_invites', on_delete=OnDelete.CASCADE)),
                ('chat_id', fields.BigIntField()),
                ('invite_link', fields.CharField(unique=True, max_length=255)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'vip_invites', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A single-use invite link to the VIP chat, issued to one user.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='VipMembership',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='vip_memberships', on_delete=OnDelete.CASCADE)),
                ('chat_id', fields.BigIntField()),
                ('joined_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('removed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'vip_memberships', 'app': 'models', 'unique_together': (('chat_id', 'user'),), 'pk_attr': 'id', 'table_description': "A user's presence in the VIP chat as we last saw it."},
            bases=['Model'],
        ),
    ]
