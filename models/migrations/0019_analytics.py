"""Analytics of the track record: the closed signals each scope counts and their rollups by
day, month, hour of day and weekday (services/analytics)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.analytics import RollupPeriod, RollupScope
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0018_price_alerts')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AnalyticsResult',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharEnumField(description='ALL: all\nPUBLIC: public', enum_type=RollupScope, max_length=8)),
                ('signal', fields.ForeignKeyField('models.Signal', source_field='signal_id', db_constraint=True, to_field='id', related_name='analytics_results', on_delete=OnDelete.CASCADE)),
                ('closed_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('result_r', fields.DecimalField(max_digits=10, decimal_places=4)),
                ('token', fields.CharField(max_length=32)),
                ('counted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_results', 'app': 'models', 'unique_together': (('scope', 'signal'),), 'indexes': [Index(fields=['scope', 'closed_at'])], 'pk_attr': 'id', 'table_description': 'One closed signal counted in one scope: its close time and result, as counted.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AnalyticsRollup',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharEnumField(description='ALL: all\nPUBLIC: public', enum_type=RollupScope, max_length=8)),
                ('period', fields.CharEnumField(description='DAY: day\nMONTH: month\nHOUR: hour\nWEEKDAY: weekday', enum_type=RollupPeriod, max_length=8)),
                ('bucket', fields.IntField()),
                ('signals', fields.IntField(default=0)),
                ('wins', fields.IntField(default=0)),
                ('losses', fields.IntField(default=0)),
                ('total_r', fields.DecimalField(default=0, max_digits=16, decimal_places=4)),
                ('gross_win_r', fields.DecimalField(default=0, max_digits=16, decimal_places=4)),
                ('gross_loss_r', fields.DecimalField(default=0, max_digits=16, decimal_places=4)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'analytics_rollups', 'app': 'models', 'unique_together': (('scope', 'period', 'bucket'),), 'pk_attr': 'id', 'table_description': 'The sums of one bucket of one period in one scope (R exact: Decimal sums).'},
            bases=['Model'],
        ),
    ]
