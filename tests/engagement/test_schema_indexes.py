"""Which indexes the engagement tables carry, and that schema changes keep working on SQLite."""

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from engagement.models import Business, Concern, ConcernUpdate


@pytest.mark.django_db
def test_it_builds_no_index_for_the_team_an_update_came_from():
    table = ConcernUpdate._meta.db_table
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, table)

    on_team = [
        name
        for name, info in constraints.items()
        if info["columns"] == ["specialist_team_id"] and info["index"] and not info["primary_key"]
    ]

    # Building it would lock writes to a large, busy table, and nothing looks updates up by team.
    assert on_team == []


def rebuild(model, field_name):
    """Alter a column and put it back: on SQLite each alteration rebuilds the whole table."""
    old = model._meta.get_field(field_name)
    new = old.clone()
    new.set_attributes_from_name(field_name)
    new.model = model
    new.max_length = old.max_length + 1
    with connection.schema_editor() as editor:
        editor.alter_field(model, old, new, strict=True)
        editor.alter_field(model, new, old, strict=True)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="only SQLite rebuilds a table")
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(("model", "field_name"), [(Business, "name"), (Concern, "contact_email")])
def test_it_rebuilds_a_searched_table_on_sqlite(model, field_name):
    # A future AlterField or non-null AddField on these tables rebuilds them on SQLite, and the
    # rebuild recreates every index the model declares: none of them may be PostgreSQL's own.
    rebuild(model, field_name)

    with connection.cursor() as cursor:
        columns = connection.introspection.get_table_description(cursor, model._meta.db_table)
    assert field_name in {column.name for column in columns}


def test_the_migrations_leave_no_postgresql_only_index_in_the_state_a_rebuild_uses():
    loader = MigrationLoader(None, ignore_no_migrations=True)
    state = loader.project_state()

    names = {
        index.name
        for model in ("business", "concern")
        for index in state.models["engagement", model].options.get("indexes", [])
    }

    assert names.isdisjoint(
        {"business_name_trgm_idx", "business_postcode_trgm_idx", "concern_words_idx"}
    )
