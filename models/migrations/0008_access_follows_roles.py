"""Access follows role changes: each outbox row carries its audience (checked again just before
it is sent), and on PostgreSQL a change of a user's role, status or language is announced on the
replica bus's channel by the database itself, whoever made it (a replica, the CLI, psql), so every
replica drops its cached copy of that user at once.

SQLite has no cross-process notification; the app notices other processes' writes with
`PRAGMA data_version` instead (core/db_changes.py), so no trigger is needed there.
"""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.dialect_sql import per_dialect

POSTGRES_UP = """
CREATE FUNCTION users_changed_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('signaldesk_events', json_build_object('user', NEW.telegram_id)::text);
    RETURN NEW;
END
$$;
CREATE TRIGGER users_changed_notify AFTER UPDATE ON users
    FOR EACH ROW
    WHEN (OLD.role IS DISTINCT FROM NEW.role OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.language IS DISTINCT FROM NEW.language)
    EXECUTE FUNCTION users_changed_notify();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS users_changed_notify ON users;
DROP FUNCTION IF EXISTS users_changed_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0007_metrics_indexes")]

    initial = False

    operations = [
        ops.AddField(
            model_name="Notification",
            name="audience",
            field=fields.CharField(null=True, max_length=16),
        ),
        per_dialect(postgres=(POSTGRES_UP, POSTGRES_DOWN), sqlite=("SELECT 1;", "SELECT 1;")),
    ]
