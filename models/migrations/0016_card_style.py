"""The chat card style per user (full: the chart photo with its caption; compact: text only),
set in the Mini App's Settings and honoured by the signal fan-out and its card edits."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.users import CardStyle


class Migration(migrations.Migration):
    dependencies = [("models", "0015_notification_preferences")]

    initial = False

    operations = [
        ops.AddField(
            model_name="User",
            name="card_style",
            field=fields.CharEnumField(CardStyle, max_length=8, default=CardStyle.FULL, db_default="full", description="FULL: full\nCOMPACT: compact"),
        ),
    ]
