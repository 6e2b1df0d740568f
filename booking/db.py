"""Database pieces that only PostgreSQL can hold, added so that SQLite still migrates."""

from django.db import migrations


class PostgresOnly:
    """A migration operation that is in the migration state everywhere but acts on the schema only on
    PostgreSQL, so that `makemigrations --check` agrees on both databases."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class PostgresOnlyAddConstraint(PostgresOnly, migrations.AddConstraint):
    """For an ExclusionConstraint. On SQLite the booking transaction's own overlap check is the guard."""


class PostgresOnlyAddIndex(PostgresOnly, migrations.AddIndex):
    """For an index SQLite cannot build (NULLS LAST in its ordering). SQLite still sorts that way in
    queries; it only lacks the index, which a small SQLite practice does not need."""
