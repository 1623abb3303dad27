"""Access over time (issue 11, lifecycle): a plan remembers the catalog file entry it last
applied (so owner edits win until the file changes), promo codes can be switched off, and a
redemption records when (and by which payment) its discount was used."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0011_plan_changes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Plan",
            name="file_digest",
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name="PromoCode",
            name="disabled_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="PromoRedemption",
            name="consumed_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="PromoRedemption",
            name="payment_id",
            field=fields.BigIntField(null=True),
        ),
    ]
