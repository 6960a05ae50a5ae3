"""Put back the rows our data migrations load, after a transactional test has flushed them.

A test that commits for real (live server, two connections) is cleaned up by emptying every
table, which also removes the categories, outcomes, policies and groups that migrations load.
Each migration's RunPython function is idempotent, so running them all again, with the
historical app registry a migration would get, restores what a migrated database starts with.
"""

from functools import lru_cache

from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import RunPython

OUR_APPS = ("engagement", "escalation", "resources", "privacy")


@lru_cache(maxsize=1)
def _plan():
    loader = MigrationLoader(connection, ignore_no_migrations=True)
    nodes = []
    for leaf in loader.graph.leaf_nodes():
        for node in loader.graph.forwards_plan(leaf):
            if node[0] in OUR_APPS and node not in nodes:
                nodes.append(node)
    operations = [
        operation.code
        for node in nodes
        for operation in loader.disk_migrations[node].operations
        if isinstance(operation, RunPython)
    ]
    return loader.project_state().apps, operations


def reload_reference_data() -> None:
    state_apps, operations = _plan()
    # Content type ids changed with the flush; neither registry may trust its cache.
    ContentType.objects.clear_cache()
    state_apps.get_model("contenttypes", "ContentType").objects.clear_cache()
    with connection.schema_editor(atomic=False) as schema_editor:
        for code in operations:
            code(state_apps, schema_editor)
