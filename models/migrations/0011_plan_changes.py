"""Downgrades chosen by users, applied at renewal (`plan_changes`)."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.migrations import operations as ops


class Migration(migrations.Migration):
    dependencies = [("models", "0010_subscription_refs")]

    initial = False

    operations = [
        ops.CreateModel(
            name='PlanChange',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('models.User', source_field='user_id', db_constraint=True, to_field='id', related_name='plan_changes', on_delete=OnDelete.CASCADE)),
                ('plan_code', fields.CharField(max_length=32)),
                ('from_plan', fields.CharField(max_length=32)),
                ('effective_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('delivered_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'plan_changes', 'app': 'models', 'pk_attr': 'id', 'table_description': 'A downgrade chosen by the user, applied when the current paid period ends.'},
            bases=['Model'],
        ),
    ]
