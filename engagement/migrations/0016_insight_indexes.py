from django.db import migrations, models

from dorset_bcp.migration_operations import AddIndexLive


class Migration(migrations.Migration):
    # CREATE INDEX CONCURRENTLY cannot run inside a transaction; on the live table a plain
    # CREATE INDEX would hold back every new report until the build finished.
    atomic = False

    dependencies = [
        ("engagement", "0015_search_and_workbench_indexes"),
    ]

    operations = [
        AddIndexLive(
            model_name="concern",
            index=models.Index(
                condition=models.Q(resolved_at__isnull=False),
                fields=["resolved_at"],
                name="concern_resolved_at_idx",
            ),
        ),
        AddIndexLive(
            model_name="concern",
            index=models.Index(
                condition=models.Q(status__in=["new", "in_progress", "waiting"]),
                fields=["npt_area", "tier"],
                name="concern_open_idx",
            ),
        ),
    ]
