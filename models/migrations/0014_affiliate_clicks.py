"""Affiliate link openings (`/start ref_CODE`), counted for `/affiliate` whether or not they
made a referral (a link opened by an existing user is counted, never attributed)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0013_stripe_links")]

    initial = False

    operations = [
        ops.CreateModel(
            name="AffiliateClick",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("referrer", fields.ForeignKeyField("models.User", source_field="referrer_id", db_constraint=True, to_field="id", related_name="affiliate_clicks", on_delete=OnDelete.CASCADE)),
                ("telegram_id", fields.BigIntField()),
                ("attributed", fields.BooleanField(default=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False, db_index=True)),
            ],
            options={"table": "affiliate_clicks", "app": "models", "pk_attr": "id", "table_description": "An opening of an affiliate's link (`/start ref_CODE`), attributed or not."},
            bases=["Model"],
        ),
    ]
