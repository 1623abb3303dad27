"""The verifiable signal ledger (issue 13): its entries (a hash chain of signal events), the
private commitments behind entries that hide live levels, and the heads posted to the public
channel. The database refuses UPDATE and DELETE of ledger entries for every client, as
migration 0005 does for the audit log (PostgreSQL's TRUNCATE fires no row triggers: dropping
the ledger wholesale stays an operator's deliberate act; tests/dbutil.truncate_all relies on
it, and on SQLite drops and re-creates these triggers around its DELETE)."""

from tortoise import fields, migrations
from tortoise.migrations import operations as ops

from models.dialect_sql import per_dialect

MESSAGE = "the ledger is append-only: entries cannot be changed or deleted"

SQLITE_UP = f"""
CREATE TRIGGER ledger_entries_no_update BEFORE UPDATE ON ledger_entries
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
CREATE TRIGGER ledger_entries_no_delete BEFORE DELETE ON ledger_entries
BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END;
"""
SQLITE_DOWN = """
DROP TRIGGER IF EXISTS ledger_entries_no_update;
DROP TRIGGER IF EXISTS ledger_entries_no_delete;
"""

POSTGRES_UP = f"""
CREATE FUNCTION ledger_entries_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{MESSAGE}';
END
$$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_append_only();
"""
POSTGRES_DOWN = """
DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries;
DROP FUNCTION IF EXISTS ledger_entries_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("models", "0016_card_style")]

    initial = False

    operations = [
        ops.CreateModel(
            name="LedgerCommitment",
            fields=[
                (
                    "seq",
                    fields.BigIntField(
                        generated=False, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("signal_id", fields.IntField(db_index=True)),
                ("salt", fields.CharField(max_length=64)),
                ("levels", fields.TextField(unique=False)),
            ],
            options={
                "table": "ledger_commitments",
                "app": "models",
                "pk_attr": "seq",
                "table_description": "What an entry committed to while the signal was live (never served before the signal",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerEntry",
            fields=[
                (
                    "seq",
                    fields.BigIntField(
                        generated=False, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("signal_id", fields.IntField(db_index=True)),
                ("kind", fields.CharField(max_length=16)),
                ("event", fields.TextField(unique=False)),
                ("prev_hash", fields.CharField(unique=True, max_length=64)),
                ("hash", fields.CharField(unique=True, max_length=64)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "ledger_entries",
                "app": "models",
                "pk_attr": "seq",
                "table_description": "One signal event: `event` is its canonical JSON (the exact UTF-8 text that is hashed),",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="LedgerHead",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                ("seq", fields.BigIntField()),
                ("hash", fields.CharField(max_length=64)),
                ("at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ("chat_id", fields.BigIntField()),
                ("channel", fields.CharField(default="", max_length=128)),
                ("dedupe_key", fields.CharField(unique=True, max_length=160)),
                ("message_id", fields.BigIntField(null=True)),
            ],
            options={
                "table": "ledger_heads",
                "app": "models",
                "pk_attr": "id",
                "table_description": "A head of the chain posted to the public channel: the post's outbox row is",
            },
            bases=["Model"],
        ),
        per_dialect(postgres=(POSTGRES_UP, POSTGRES_DOWN), sqlite=(SQLITE_UP, SQLITE_DOWN)),
    ]
