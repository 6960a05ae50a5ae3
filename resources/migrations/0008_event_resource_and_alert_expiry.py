"""Library resources get events (published, unpublished, edited while published), alerts a
column the expiry rule claims when it records an alert's expiry, and new event kinds.

Both new columns are nullable with no default: on PostgreSQL an instant catalogue change. The
two partial indexes are built CONCURRENTLY (dorset_bcp.migration_operations), so writes to the
event table and to alerts carry on; that needs a non-atomic migration. If a build is
interrupted PostgreSQL leaves an INVALID index behind: drop it (DROP INDEX CONCURRENTLY <name>)
and migrate again.
"""

import django.db.models.deletion
from django.db import migrations, models

from dorset_bcp.migration_operations import AddIndexLive


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("resources", "0007_event_changes"),
    ]

    operations = [
        migrations.AddField(
            model_name="alert",
            name="expiry_recorded_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="communityevent",
            name="resource",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="events",
                to="resources.resource",
            ),
        ),
        migrations.AlterField(
            model_name="communityevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("applied", "Applied to join"),
                    ("approved", "Application approved"),
                    ("declined", "Application declined"),
                    ("left", "Left the scheme"),
                    ("preference", "Alert preference changed"),
                    ("contact", "Contact handed over"),
                    ("alert", "Alert posted"),
                    ("booked", "Place booked"),
                    ("waitlisted", "Joined the waiting list"),
                    ("promoted", "Given a place from the waiting list"),
                    ("unbooked", "Booking cancelled"),
                    ("cancelled", "Seminar cancelled"),
                    ("sem_changed", "Seminar details changed"),
                    ("expiry", "Alert expiry changed"),
                    ("expired", "Alert expired"),
                    ("published", "Published"),
                    ("unpublished", "Unpublished"),
                    ("res_edited", "Published resource edited"),
                ],
                max_length=12,
            ),
        ),
        AddIndexLive(
            model_name="alert",
            index=models.Index(
                condition=models.Q(
                    ("expires_at__isnull", False), ("expiry_recorded_at__isnull", True)
                ),
                fields=["expires_at"],
                name="alert_expiry_due_idx",
            ),
        ),
        AddIndexLive(
            model_name="communityevent",
            index=models.Index(
                condition=models.Q(("resource__isnull", False)),
                fields=["resource"],
                name="communityevent_resource_idx",
            ),
        ),
    ]
