"""What the EA reports about where and how a fill happened: the terminal's broker (the
account's company, reported with each account report) and the spread in points at the
moment of a fill (reported with the fill's ack). Both optional: older EAs send neither."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0019_analytics")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Device",
            name="broker",
            field=fields.CharField(max_length=64, null=True),
        ),
        ops.AddField(
            model_name="Execution",
            name="spread_points",
            field=fields.IntField(null=True),
        ),
    ]
