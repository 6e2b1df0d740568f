"""Database pieces that only PostgreSQL can hold, added so that SQLite still migrates."""

from django.db import migrations


class PostgresOnlyAddConstraint(migrations.AddConstraint):
    """AddConstraint for an ExclusionConstraint: in the migration state everywhere, in the schema on
    PostgreSQL only. On SQLite the booking transaction's own overlap check is the guard."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyAddIndex(migrations.AddIndex):
    """AddIndex for an index SQLite cannot build (NULLS LAST ordering): in the state everywhere, in the
    schema on PostgreSQL; SQLite sorts NULLs first in descending order and manages without it."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
