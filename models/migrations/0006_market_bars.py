"""Recent closed bars per symbol (the last known price and the chart of manual signals)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_audit_append_only')]

    initial = False

    operations = [
        ops.CreateModel(
            name='MarketBar',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('symbol', fields.CharField(max_length=24)),
                ('time', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('timeframe_s', fields.IntField()),
                ('open', fields.FloatField()),
                ('high', fields.FloatField()),
                ('low', fields.FloatField()),
                ('close', fields.FloatField()),
                ('volume', fields.FloatField(default=0.0)),
                ('recorded_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'market_bars', 'app': 'models', 'unique_together': (('symbol', 'time'),), 'pk_attr': 'id', 'table_description': 'A recent closed bar of a symbol, stored as the trading loop applies it (the loop runs on'},
            bases=['Model'],
        ),
    ]
