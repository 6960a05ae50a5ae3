"""The indexes the community event table and alerts carry for their histories and rules."""

import pytest
from django.db import connection

from resources.models import Alert, CommunityEvent


def indexes_on(model, columns):
    with connection.cursor() as cursor:
        constraints = connection.introspection.get_constraints(cursor, model._meta.db_table)
    return sorted(
        name
        for name, info in constraints.items()
        if info["columns"] == columns
        and info["index"]
        and not info["primary_key"]
        and not info["foreign_key"]
    )


@pytest.mark.django_db
def test_it_indexes_only_the_events_that_belong_to_a_resource():
    # Most events are of memberships, alerts and bookings: a full index on the resource column
    # would be almost all NULLs, so there is only the partial one.
    assert indexes_on(CommunityEvent, ["resource_id"]) == ["communityevent_resource_idx"]


@pytest.mark.django_db
def test_it_indexes_the_alerts_the_expiry_rule_looks_for():
    assert "alert_expiry_due_idx" in indexes_on(Alert, ["expires_at"])


@pytest.mark.postgres
@pytest.mark.django_db
def test_it_reads_a_resources_events_through_the_partial_index():
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT id FROM resources_communityevent WHERE resource_id = 1 "
            "ORDER BY created_at, id"
        )
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "communityevent_resource_idx" in plan
