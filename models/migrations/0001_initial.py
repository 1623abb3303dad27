from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from models.users import Role, UserStatus
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='AuditLog',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('actor_id', fields.BigIntField(null=True, db_index=True)),
                ('action', fields.CharField(db_index=True, max_length=64)),
                ('target', fields.CharField(null=True, max_length=128)),
                ('data', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'audit_log', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('telegram_id', fields.BigIntField(unique=True)),
                ('username', fields.CharField(null=True, db_index=True, max_length=64)),
                ('first_name', fields.CharField(default='', max_length=128)),
                ('last_name', fields.CharField(null=True, max_length=128)),
                ('language', fields.CharField(null=True, max_length=8)),
                ('role', fields.CharEnumField(default=Role.PUBLIC, description='PUBLIC: public\nSUBSCRIBER: subscriber\nADMIN: admin\nOWNER: owner', enum_type=Role, max_length=16)),
                ('status', fields.CharEnumField(default=UserStatus.ACTIVE, description='ACTIVE: active\nBANNED: banned\nBLOCKED_BOT: blocked_bot', enum_type=UserStatus, max_length=16)),
                ('referral_code', fields.CharField(unique=True, max_length=16)),
                ('referred_by', fields.ForeignKeyField('models.User', source_field='referred_by_id', null=True, db_constraint=True, to_field='id', related_name='referrals', on_delete=OnDelete.SET_NULL)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'users', 'app': 'models', 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
