"""Database pieces: operations only PostgreSQL can hold (added so that SQLite still migrates), and a
fast way to read many rows."""

from django.core.exceptions import EmptyResultSet
from django.db import connection, migrations
from psycopg.types.datetime import TimestamptzLoader


def fast_rows(queryset, *fields) -> list[tuple]:
    """values_list rows, unordered, read fast where the rows are many.

    On PostgreSQL Django parses every timestamptz in Python (its loader subclasses psycopg's, which
    keeps psycopg from using its C one); over thousands of rows that is most of the time spent. With
    the session in UTC, psycopg's own loader gives the same aware UTC values. Django's converters do
    not run, so ask only for fields psycopg returns as Django would (times, numbers, text, JSON, ids).
    """
    queryset = queryset.order_by().values_list(*fields)
    if connection.vendor != "postgresql" or connection.timezone_name != "UTC":
        return list(queryset)
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:
        return []
    with connection.cursor() as cursor:
        cursor.cursor.adapters.register_loader("timestamptz", TimestamptzLoader)
        cursor.execute(sql, params)
        return cursor.fetchall()


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


class PostgresOnlyAlterField(PostgresOnly, migrations.AlterField):
    """For widening a column on a model that carries a PostgreSQL-only index: SQLite does not enforce
    a varchar's length, and rebuilding its table would try to build that index."""


class AddFieldInPlace(migrations.AddField):
    """An AddField that, on SQLite, adds the column in place (ALTER TABLE ADD COLUMN with its default
    written into the schema) instead of rebuilding the table, since the rebuild would try to build the
    PostgreSQL-only exclusion constraint on appointments. Elsewhere, a plain AddField."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "sqlite":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        field = model._meta.get_field(self.name)
        definition, params = schema_editor.column_sql(model, field, include_default=True)
        quote = schema_editor.quote_name
        schema_editor.execute(
            f"ALTER TABLE {quote(model._meta.db_table)} ADD COLUMN {quote(field.column)} {definition}", params
        )
