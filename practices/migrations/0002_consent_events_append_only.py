"""The database itself refuses to change a consent event, whatever code asks it to.

PostgreSQL refuses updates and row deletes (TRUNCATE, which test flushes use, is a separate trigger
event and stays allowed). SQLite refuses updates only: its test flush deletes rows one table at a time,
and it has no way to tell that from a stray DELETE; the model and queryset refuse deletes there.
"""

from django.db import migrations

TABLE = "practices_consentevent"

SQLITE_FORWARD = [
    f"""CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON {TABLE}
        BEGIN SELECT RAISE(ABORT, 'consent events are append-only'); END;""",
]
SQLITE_BACKWARD = ["DROP TRIGGER IF EXISTS consent_event_no_update;"]

POSTGRES_FORWARD = [
    """CREATE OR REPLACE FUNCTION consent_event_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'consent events are append-only'; END; $$ LANGUAGE plpgsql;""",
    f"""CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON {TABLE}
        FOR EACH ROW EXECUTE FUNCTION consent_event_append_only();""",
]
POSTGRES_BACKWARD = [
    f"DROP TRIGGER IF EXISTS consent_event_append_only ON {TABLE};",
    "DROP FUNCTION IF EXISTS consent_event_append_only();",
]


def forward(apps, schema_editor):
    statements = {"sqlite": SQLITE_FORWARD, "postgresql": POSTGRES_FORWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    statements = {"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRES_BACKWARD}.get(schema_editor.connection.vendor, [])
    for statement in statements:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("practices", "0001_initial")]

    operations = [migrations.RunPython(forward, backward)]
