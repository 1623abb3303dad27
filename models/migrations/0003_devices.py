from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.devices import CommandStatus, CommandType, DeviceMode, DeviceStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0002_signals')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Device',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device_id', fields.CharField(unique=True, max_length=40)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='devices', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=64)),
                ('secret_enc', fields.TextField(unique=False)),
                ('mode', fields.CharEnumField(default=DeviceMode.APPROVAL, description='APPROVAL: approval\nCOPY: copy', enum_type=DeviceMode, max_length=10)),
                ('status', fields.CharEnumField(default=DeviceStatus.ACTIVE, description='ACTIVE: active\nPAUSED: paused\nREVOKED: revoked', enum_type=DeviceStatus, max_length=10)),
                ('paused_reason', fields.CharField(null=True, max_length=64)),
                ('encrypt_payloads', fields.BooleanField(default=False)),
                ('symbol_map', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('last_seen_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('offline_notified', fields.BooleanField(default=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'devices', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='AccountSnapshot',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='snapshots', on_delete=OnDelete.CASCADE)),
                ('balance', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('equity', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('margin', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('currency', fields.CharField(max_length=8)),
                ('high_water', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('drawdown_pct', fields.DecimalField(max_digits=6, decimal_places=2)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'account_snapshots', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Command',
            fields=[
                ('id', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=40)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='commands', on_delete=OnDelete.CASCADE)),
                ('signal_id', fields.IntField(null=True, db_index=True)),
                ('type', fields.CharEnumField(description='OPEN: open\nMODIFY: modify\nCANCEL: cancel\nCLOSE: close', enum_type=CommandType, max_length=8)),
                ('status', fields.CharEnumField(default=CommandStatus.PENDING, description='PENDING: pending\nACCEPTED: accepted\nPLACED: placed\nFILLED: filled\nCLOSED: closed\nCANCELLED: cancelled\nREJECTED: rejected\nFAILED: failed\nEXPIRED: expired', enum_type=CommandStatus, max_length=10)),
                ('dedupe_key', fields.CharField(unique=True, max_length=120)),
                ('payload', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('ticket', fields.BigIntField(null=True)),
                ('last_ack', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('error', fields.CharField(null=True, max_length=255)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('acked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'commands', 'app': 'models', 'indexes': [Index(fields=['device_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CopySettings',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.OneToOneField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='copy_settings', on_delete=OnDelete.CASCADE)),
                ('risk_pct', fields.DecimalField(null=True, max_digits=6, decimal_places=3)),
                ('lot_multiplier', fields.DecimalField(null=True, max_digits=5, decimal_places=2)),
                ('max_lot', fields.DecimalField(null=True, max_digits=10, decimal_places=2)),
                ('max_open_positions', fields.IntField(null=True)),
                ('max_trades_per_day', fields.IntField(null=True)),
                ('max_drawdown_pct', fields.DecimalField(default=20, max_digits=5, decimal_places=2)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'copy_settings', 'app': 'models', 'pk_attr': 'id', 'table_description': 'Per-device risk settings (copy mode, and caps that also bind approval mode).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='DeviceSymbol',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='symbols', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=32)),
                ('symbol', fields.CharField(null=True, db_index=True, max_length=24)),
                ('spec', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'device_symbols', 'app': 'models', 'unique_together': (('device', 'name'),), 'pk_attr': 'id', 'table_description': 'A symbol as the terminal reports it (broker name and specs), mapped to ours.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Execution',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('command', fields.OneToOneField('models.Command', source_field='command_id', db_constraint=True, to_field='id', related_name='execution', on_delete=OnDelete.CASCADE)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='executions', on_delete=OnDelete.CASCADE)),
                ('signal_id', fields.IntField(null=True, db_index=True)),
                ('ticket', fields.BigIntField()),
                ('symbol', fields.CharField(max_length=32)),
                ('side', fields.CharField(max_length=4)),
                ('volume', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('requested_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('fill_price', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('slippage_points', fields.DecimalField(null=True, max_digits=12, decimal_places=2)),
                ('latency_ms', fields.IntField(null=True)),
                ('filled_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('close_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('profit', fields.DecimalField(null=True, max_digits=16, decimal_places=2)),
            ],
            options={'table': 'executions', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A fill of an open command: price, slippage against the signal, latency from approval.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Position',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device', fields.ForeignKeyField('models.Device', source_field='device_id', db_constraint=True, to_field='id', related_name='positions', on_delete=OnDelete.CASCADE)),
                ('ticket', fields.BigIntField()),
                ('symbol', fields.CharField(max_length=32)),
                ('side', fields.CharField(max_length=4)),
                ('volume', fields.DecimalField(max_digits=12, decimal_places=2)),
                ('open_price', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('sl', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('tp', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('profit', fields.DecimalField(max_digits=16, decimal_places=2)),
                ('comment', fields.CharField(default='', max_length=64)),
                ('command_id', fields.CharField(null=True, max_length=40)),
                ('orphan', fields.BooleanField(default=False)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'positions', 'app': 'models', 'unique_together': (('device', 'ticket'),), 'pk_attr': 'id', 'table_description': "The terminal's open positions as last reported (reconciliation compares with commands)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='UsedNonce',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('device_id', fields.CharField(max_length=40)),
                ('nonce', fields.CharField(max_length=64)),
                ('seen_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'used_nonces', 'app': 'models', 'unique_together': (('device_id', 'nonce'),), 'pk_attr': 'id', 'table_description': 'Replay protection across replicas: (device, nonce) seen within the window.'},
            bases=['Model'],
        ),
    ]
