"""Notification preferences per user and kind (on / silent / off), set in the Mini App and
honoured when the outbox queues a notification."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops

from models.notifications import DeliveryMode


class Migration(migrations.Migration):
    dependencies = [("models", "0014_affiliate_clicks")]

    initial = False

    operations = [
        ops.CreateModel(
            name="NotificationPreference",
            fields=[
                ("id", fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ("user", fields.ForeignKeyField("models.User", source_field="user_id", db_constraint=True, to_field="id", related_name="notification_preferences", on_delete=OnDelete.CASCADE)),
                ("kind", fields.CharField(max_length=16)),
                ("mode", fields.CharEnumField(default=DeliveryMode.ON, description="ON: on\nSILENT: silent\nOFF: off", enum_type=DeliveryMode, max_length=8)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={"table": "notification_preferences", "app": "models", "unique_together": (("user", "kind"),), "pk_attr": "id", "table_description": "The choice of one user for one kind of notification (a kind without a row is ON)."},
            bases=["Model"],
        ),
    ]
