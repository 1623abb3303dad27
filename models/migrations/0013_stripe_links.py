"""Card payments (Stripe): link codes expire; each paid invoice keeps the period it bought and
its payment intent (a buyer who links their Telegram account later gets that period; a refund
names the payment intent)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_subscription_refs")]

    initial = False

    operations = [
        ops.AddField(
            model_name="StripeCustomer",
            name="link_expires_at",
            field=fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name="StripeCustomer",
            name="subscription_state",
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.CreateModel(
            name="StripeInvoice",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("invoice_id", fields.CharField(unique=True, max_length=255)),
                ("payment", fields.ForeignKeyField("models.Payment", source_field="payment_id", db_constraint=True, to_field="id", related_name="stripe_invoices", on_delete=OnDelete.CASCADE)),
                ("customer_id", fields.CharField(max_length=255, db_index=True)),
                ("subscription_id", fields.CharField(null=True, max_length=255)),
                ("payment_intent_id", fields.CharField(null=True, max_length=255, db_index=True)),
                ("period_start", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("period_end", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={"table": "stripe_invoices", "app": "models", "pk_attr": "id", "table_description": "A paid Stripe invoice as we recorded it: the payment it became, the period it bought (for"},
            bases=["Model"],
        ),
    ]
