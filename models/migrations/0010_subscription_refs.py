"""Payments carry their value in US cents (Stars at the owner's rate) for revenue and
commissions; entitlements name the subscription that bought them, so a cancellation or a failed
renewal finds its periods."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0009_billing")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Payment",
            name="usd_cents",
            field=fields.BigIntField(default=0),
        ),
        ops.AddField(
            model_name="Entitlement",
            name="subscription_ref",
            field=fields.CharField(null=True, max_length=300, db_index=True),
        ),
    ]
