"""The audit log is append-only in the database itself: UPDATE and DELETE are refused for every
client (the ORM's bulk `.update()`/`.delete()`, a psql session), not only by the model class.

PostgreSQL's TRUNCATE fires no row triggers: dropping history wholesale stays an operator's
deliberate act (and `tests/dbutil.truncate_all` relies on it); on SQLite the same helper drops
and re-creates these triggers around its DELETE.
"""

from tortoise import migrations

from models.dialect_sql import per_dialect

MESSAGE = "the audit log is append-only: rows cannot be changed or deleted"

SQLITE_UP = f"""
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
"""
SQLITE_DOWN = """
DROP TRIGGER IF EXISTS audit_log_no_update;
DROP TRIGGER IF EXISTS audit_log_no_delete;
"""

POSTGRES_UP = f"""
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS audit_log_append_only ON audit_log;
DROP FUNCTION IF EXISTS audit_log_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0004_registration_audit")]

    initial = False

    operations = [
        per_dialect(postgres=(POSTGRES_UP, POSTGRES_DOWN), sqlite=(SQLITE_UP, SQLITE_DOWN))
    ]
