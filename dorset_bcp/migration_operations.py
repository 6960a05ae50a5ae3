"""Migration operations that are safe on the live county database (a million concerns)."""

from django.contrib.postgres.operations import AddIndexConcurrently as PostgresAddIndexConcurrently
from django.db.migrations.operations import AddIndex


class AddIndexConcurrently(PostgresAddIndexConcurrently):
    """CREATE INDEX CONCURRENTLY on PostgreSQL, so reports keep being written while the index
    builds (a plain CREATE INDEX locks out writes for the whole build); a plain index on SQLite,
    which has no such option and no live county data. The migration must say `atomic = False`.

    If a concurrent build is interrupted it leaves an invalid index behind: drop it
    (`DROP INDEX CONCURRENTLY <name>`) and migrate again.
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_forwards(self, app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
        else:
            AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)
