from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.notifications import NotificationStatus
from models.signals import ApprovalSource, CloseReason, Decision, SignalSource, SignalStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('models', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='AppSetting',
            fields=[
                ('key', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=64)),
                ('value', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'app_settings', 'app': 'models', 'pk_attr': 'key', 'table_description': 'Owner-tunable settings stored in the database (visibility, disclaimer version, ...).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChannelRoute',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('symbol', fields.CharField(db_index=True, max_length=24)),
                ('chat_id', fields.BigIntField()),
                ('title', fields.CharField(default='', max_length=128)),
                ('created_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'channel_routes', 'app': 'models', 'unique_together': (('symbol', 'chat_id'),), 'pk_attr': 'id', 'table_description': "A Telegram channel or group that receives the public version of a symbol's signals."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Consent',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='consents', on_delete=OnDelete.CASCADE)),
                ('version', fields.CharField(max_length=16)),
                ('accepted_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'consents', 'app': 'models', 'unique_together': (('user', 'version'),), 'pk_attr': 'id', 'table_description': "A user's acceptance of a version of the risk disclaimer."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('chat_id', fields.BigIntField(db_index=True)),
                ('user_id', fields.BigIntField(null=True)),
                ('kind', fields.CharField(max_length=48)),
                ('payload', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('dedupe_key', fields.CharField(unique=True, max_length=160)),
                ('depends_on', fields.CharField(null=True, max_length=160)),
                ('signal_id', fields.IntField(null=True, db_index=True)),
                ('status', fields.CharEnumField(default=NotificationStatus.PENDING, db_index=True, description='PENDING: pending\nSENDING: sending\nSENT: sent\nFAILED: failed\nSKIPPED: skipped', enum_type=NotificationStatus, max_length=10)),
                ('priority', fields.SmallIntField(default=5)),
                ('attempts', fields.SmallIntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('sent_message_id', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'models', 'indexes': [Index(fields=['status', 'next_attempt_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Signal',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('setup_key', fields.CharField(unique=True, max_length=96)),
                ('symbol', fields.CharField(db_index=True, max_length=24)),
                ('side', fields.CharField(max_length=4)),
                ('source', fields.CharEnumField(default=SignalSource.STRATEGY, description='STRATEGY: strategy\nMANUAL: manual', enum_type=SignalSource, max_length=12)),
                ('status', fields.CharEnumField(default=SignalStatus.PUBLISHED, description='PUBLISHED: published\nREVISED: revised\nFILLED: filled\nEXPIRED: expired\nREPLACED: replaced\nCANCELLED: cancelled\nCLOSED: closed', enum_type=SignalStatus, max_length=12)),
                ('close_reason', fields.CharEnumField(null=True, description='TP: tp\nSL: sl\nMANUAL: manual', enum_type=CloseReason, max_length=8)),
                ('version', fields.IntField(default=1)),
                ('final', fields.BooleanField(default=False)),
                ('entry', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('stop', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('take_profit', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('price_adjusted', fields.BooleanField(default=False)),
                ('trigger_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('leg2_start', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('point1_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('point1_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('point2_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('point2_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('rationale', fields.CharField(default='', max_length=255)),
                ('published_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('expires_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('filled_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('fill_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('closed_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('exit_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('result_r', fields.DecimalField(null=True, max_digits=10, decimal_places=4)),
                ('created_by', fields.BigIntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'signals', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Approval',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='approvals', on_delete=OnDelete.CASCADE)),
                ('signal', fields.ForeignKeyField('models.Signal', source_field='signal_id', db_constraint=True, to_field='id', related_name='approvals', on_delete=OnDelete.CASCADE)),
                ('decision', fields.CharEnumField(description='APPROVED: approved\nREJECTED: rejected', enum_type=Decision, max_length=10)),
                ('consent_version', fields.CharField(null=True, max_length=16)),
                ('source', fields.CharEnumField(default=ApprovalSource.CHAT, description='CHAT: chat\nMINI_APP: mini_app', enum_type=ApprovalSource, max_length=10)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'approvals', 'app': 'models', 'unique_together': (('user', 'signal'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ChartFile',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signal', fields.ForeignKeyField('models.Signal', source_field='signal_id', db_constraint=True, to_field='id', related_name='charts', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('path', fields.CharField(max_length=255)),
                ('file_id', fields.CharField(null=True, max_length=255)),
                ('render_ms', fields.FloatField(default=0.0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'chart_files', 'app': 'models', 'unique_together': (('signal', 'version'),), 'pk_attr': 'id', 'table_description': "A rendered chart per signal version: the file on disk and Telegram's `file_id` once sent."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SignalRevision',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('signal', fields.ForeignKeyField('models.Signal', source_field='signal_id', db_constraint=True, to_field='id', related_name='revisions', on_delete=OnDelete.CASCADE)),
                ('version', fields.IntField()),
                ('entry', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('stop', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('take_profit', fields.DecimalField(max_digits=20, decimal_places=8)),
                ('point2_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('point2_price', fields.DecimalField(null=True, max_digits=20, decimal_places=8)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'signal_revisions', 'app': 'models', 'unique_together': (('signal', 'version'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SymbolState',
            fields=[
                ('symbol', fields.CharField(primary_key=True, unique=True, db_index=True, max_length=24)),
                ('paused', fields.BooleanField(default=False)),
                ('last_bar_time', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('bars_seen', fields.IntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'symbol_states', 'app': 'models', 'pk_attr': 'symbol', 'table_description': 'Per-symbol trading-loop state: the pause switch and the last processed bar.'},
            bases=['Model'],
        ),
    ]
