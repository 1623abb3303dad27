"""Outside producers (issue 15): `producers`, their held signals (`held_signals`), and on
`signals` the producer, its `external_id` (unique per producer: the ingest dedupe) and the
card's "via" label. Depends on 0019 until the lead re-points it after 0020_market_facts."""

from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.ingest import HeldStatus, ProducerMode
from models.signals import SignalSource
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

class Migration(migrations.Migration):
    dependencies = [("models", "0020_fill_conditions")]

    initial = False

    operations = [
        ops.CreateModel(
            name='Producer',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('producer_id', fields.CharField(unique=True, max_length=40)),
                ('name', fields.CharField(max_length=64)),
                ('secret_enc', fields.TextField(unique=False)),
                ('mode', fields.CharEnumField(default=ProducerMode.PUBLISH, description='PUBLISH: publish\nHOLD: hold', enum_type=ProducerMode, max_length=8)),
                ('symbols', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('rate_per_hour', fields.IntField(default=60)),
                ('paused', fields.BooleanField(default=False)),
                ('revoked', fields.BooleanField(default=False)),
                ('tv_token_hash', fields.CharField(null=True, unique=True, max_length=64)),
                ('allowed_sources', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'producers', 'app': 'models', 'pk_attr': 'id', 'table_description': 'An outside source of signals (public id ``prd_...``).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='HeldSignal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('producer', fields.ForeignKeyField('models.Producer', source_field='producer_id', db_constraint=True, to_field='id', related_name='held', on_delete=OnDelete.CASCADE)),
                ('external_id', fields.CharField(max_length=64)),
                ('request', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=HeldStatus.HELD, description='HELD: held\nCONFIRMED: confirmed\nDISCARDED: discarded', enum_type=HeldStatus, max_length=10)),
                ('signal', fields.ForeignKeyField('models.Signal', source_field='signal_id', null=True, db_constraint=True, to_field='id', related_name='held_as', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('decided_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('decided_by', fields.BigIntField(null=True)),
            ],
            options={'table': 'held_signals', 'app': 'models', 'unique_together': (('producer', 'external_id'),), 'pk_attr': 'id', 'table_description': "A producer's signal waiting for the owner (hold mode): the checked request as JSON."},
            bases=['Model'],
        ),
        ops.AlterField(
            model_name='Signal',
            name='source',
            field=fields.CharEnumField(default=SignalSource.STRATEGY, description='STRATEGY: strategy\nMANUAL: manual\nEXTERNAL: external', enum_type=SignalSource, max_length=12),
        ),
        ops.AddField(
            model_name='Signal',
            name='external_id',
            field=fields.CharField(null=True, max_length=64),
        ),
        ops.AddField(
            model_name='Signal',
            name='producer',
            field=fields.ForeignKeyField('models.Producer', source_field='producer_id', null=True, db_constraint=True, to_field='id', related_name='signals', on_delete=OnDelete.RESTRICT),
        ),
        ops.AddField(
            model_name='Signal',
            name='via',
            field=fields.CharField(default='', db_default='', max_length=96),
        ),
        ops.AddConstraint(
            model_name='Signal',
            constraint=UniqueConstraint(fields=('producer', 'external_id'), name=None),
        ),
    ]
