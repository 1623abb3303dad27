"""The database writes the `user.registered` audit row, in the statement that inserts the user.

Registration is the only write on a first contact, and on SQLite every transaction holds the one
connection for all its round trips: a trigger makes "insert the user and audit it" a single
atomic statement, so a burst of new users costs one INSERT instead of a transaction each. The
row is the same one `services.audit.record` would write.
"""

from tortoise import migrations

from models.dialect_sql import per_dialect

SQLITE_UP = """
CREATE TRIGGER users_registered_audit AFTER INSERT ON users
BEGIN
    INSERT INTO audit_log (actor_id, action, target, data, created_at)
    VALUES (NEW.telegram_id, 'user.registered', NULL, '{}', NEW.created_at);
END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS users_registered_audit;"

POSTGRES_UP = """
CREATE FUNCTION users_registered_audit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO audit_log (actor_id, action, target, data, created_at)
    VALUES (NEW.telegram_id, 'user.registered', NULL, '{}', NEW.created_at);
    RETURN NEW;
END
$$;
CREATE TRIGGER users_registered_audit AFTER INSERT ON users
    FOR EACH ROW EXECUTE FUNCTION users_registered_audit();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS users_registered_audit ON users;
DROP FUNCTION IF EXISTS users_registered_audit();
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0003_devices")]

    initial = False

    operations = [
        per_dialect(postgres=(POSTGRES_UP, POSTGRES_DOWN), sqlite=(SQLITE_UP, SQLITE_DOWN))
    ]
