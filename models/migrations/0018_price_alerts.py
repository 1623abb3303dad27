"""Price alerts (`price_alerts`: a user's level on a symbol, its state and firings) and the
per-plan alert quota on plan versions (services.billing.catalog: Starter 0, Pro 20, Elite 100)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.alerts import AlertCondition, AlertState

class Migration(migrations.Migration):
    dependencies = [('models', '0017_ledger')]

    initial = False

    operations = [
        ops.CreateModel(
            name='PriceAlert',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='price_alerts', on_delete=OnDelete.CASCADE)),
                ('symbol', fields.CharField(max_length=32)),
                ('condition', fields.CharEnumField(description='ABOVE: above\nBELOW: below\nCROSS: cross', enum_type=AlertCondition, max_length=8)),
                ('level', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('note', fields.CharField(default='', max_length=200)),
                ('repeat', fields.BooleanField(default=False)),
                ('cooldown_s', fields.IntField(default=300)),
                ('state', fields.CharEnumField(default=AlertState.ACTIVE, description='ACTIVE: active\nFIRED: fired\nDELETED: deleted', enum_type=AlertState, max_length=8)),
                ('fired_count', fields.IntField(default=0)),
                ('last_fired_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'price_alerts', 'app': 'models', 'indexes': [Index(fields=['state', 'symbol']), Index(fields=['user_id', 'state'])], 'pk_attr': 'id', 'table_description': "One alert. `fired_count` numbers its firings: the n-th firing's notification is keyed"},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='PlanVersion',
            name='alert_quota',
            field=fields.IntField(default=0),
        ),
    ]
