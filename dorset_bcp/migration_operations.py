"""Migration operations that a live database can take without a long lock.

A plain CREATE INDEX holds a lock that blocks every write to the table while it reads the whole
table (a minute or more at a million concerns): reports, triage and the sweep would all wait.
On PostgreSQL these build the index CONCURRENTLY instead (writes carry on; the build reads the
table twice and waits for transactions already running), so a migration using them must be
non-atomic (`atomic = False`). On SQLite, the development database, the index is built plainly,
or not at all when it is of a kind only PostgreSQL has (GIN).
"""

from django.db.migrations.operations import AddIndex


class AddIndexLive(AddIndex):
    """AddIndex, built CONCURRENTLY on PostgreSQL. `postgresql_only` skips it elsewhere."""

    def __init__(self, model_name, index, postgresql_only=False):
        super().__init__(model_name, index)
        self.postgresql_only = postgresql_only

    def deconstruct(self):
        name, args, kwargs = super().deconstruct()
        if self.postgresql_only:
            kwargs["postgresql_only"] = True
        return name, args, kwargs

    def _check_not_atomic(self, schema_editor):
        if schema_editor.connection.vendor == "postgresql" and schema_editor.atomic_migration:
            raise RuntimeError(
                f"{self.describe()} builds CONCURRENTLY: its migration needs atomic = False."
            )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.postgresql_only and schema_editor.connection.vendor != "postgresql":
            return
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            self._check_not_atomic(schema_editor)
            schema_editor.add_index(model, self.index, concurrently=True)
        else:
            schema_editor.add_index(model, self.index)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.postgresql_only and schema_editor.connection.vendor != "postgresql":
            return
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return
        if schema_editor.connection.vendor == "postgresql":
            self._check_not_atomic(schema_editor)
            schema_editor.remove_index(model, self.index, concurrently=True)
        else:
            schema_editor.remove_index(model, self.index)

    def describe(self):
        where = " (PostgreSQL only)" if self.postgresql_only else ""
        return f"Create index {self.index.name} concurrently on {self.model_name}{where}"
