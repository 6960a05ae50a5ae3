"""Which indexes the engagement tables carry, and that schema changes keep working on SQLite."""

import pytest
from django.db import connection

from engagement.models import ConcernUpdate


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
