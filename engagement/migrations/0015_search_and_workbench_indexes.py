"""Indexes for the officers' search and workbench and the partnership queue, built live.

Each is built with CREATE INDEX CONCURRENTLY on PostgreSQL (dorset_bcp.migration_operations),
so reports, triage and the sweep keep writing while it runs; that needs a non-atomic migration.
At a million concerns each build reads the table twice; the trigram and full-text ones are
skipped on SQLite, which has neither. If a build is interrupted PostgreSQL leaves an INVALID
index behind: drop it (DROP INDEX CONCURRENTLY <name>) and migrate again.
"""

import django.contrib.postgres.indexes
import django.contrib.postgres.search
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

from dorset_bcp.migration_operations import AddIndexLive


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("engagement", "0014_events_immutable"),
    ]

    operations = [
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database's owner may create it.
        # Nothing happens on SQLite.
        TrigramExtension(),
        AddIndexLive(
            model_name="business",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["name"], opclasses=["gin_trgm_ops"], name="business_name_trgm_idx"
            ),
            postgresql_only=True,
        ),
        AddIndexLive(
            model_name="business",
            index=django.contrib.postgres.indexes.GinIndex(
                fields=["postcode"], opclasses=["gin_trgm_ops"], name="business_postcode_trgm_idx"
            ),
            postgresql_only=True,
        ),
        AddIndexLive(
            model_name="concern",
            index=models.Index(
                models.F("npt_area"),
                models.Case(
                    models.When(status__in=["new", "in_progress"], then=models.Value(0)),
                    models.When(status="waiting", then=models.Value(1)),
                    default=models.Value(2),
                    output_field=models.IntegerField(),
                ),
                models.Case(
                    models.When(
                        models.Q(("status__in", ["new", "in_progress", "waiting"]), _negated=True),
                        then=models.Value(None),
                    ),
                    models.When(
                        first_responded_at__isnull=True,
                        first_response_due_at__isnull=False,
                        then=models.F("first_response_due_at"),
                    ),
                    default=models.F("resolution_due_at"),
                ),
                models.OrderBy(models.F("created_at"), descending=True),
                models.OrderBy(models.F("id"), descending=True),
                name="concern_workbench_idx",
            ),
        ),
        AddIndexLive(
            model_name="concern",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["new", "in_progress", "waiting"]), ("tier__gte", 2)
                ),
                fields=["resolution_due_at", "id"],
                name="concern_queue_idx",
            ),
        ),
        AddIndexLive(
            model_name="concern",
            index=django.contrib.postgres.indexes.GinIndex(
                django.contrib.postgres.search.SearchVector(
                    "description", "contact_email", config="simple"
                ),
                name="concern_words_idx",
            ),
            postgresql_only=True,
        ),
    ]
