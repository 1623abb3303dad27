"""An index on commands (status, created_at): /metrics counts the pending EA commands and reads
the oldest one's age on every scrape, a range of this index instead of a scan of the table."""

from tortoise import migrations
from tortoise.indexes import Index
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0006_market_bars")]

    initial = False

    operations = [
        ops.AddIndex(
            model_name="Command",
            index=Index(fields=["status", "created_at"]),
        ),
    ]
