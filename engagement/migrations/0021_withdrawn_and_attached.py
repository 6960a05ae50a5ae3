"""A reporter can withdraw a concern and add attachments later: two event kinds, and the
outcome a withdrawn concern is closed with (not offered to officers, so it is inactive)."""

from django.db import migrations, models


def load(apps, schema_editor):
    Outcome = apps.get_model("engagement", "Outcome")
    Outcome.objects.get_or_create(
        slug="withdrawn",
        defaults={
            "name": "Withdrawn by the reporter",
            "description": "The business withdrew this report.",
            "is_active": False,
            "position": 90,
        },
    )


class Migration(migrations.Migration):
    dependencies = [("engagement", "0020_concern_duplicates")]

    operations = [
        migrations.AlterField(
            model_name="concernevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("submitted", "Submitted"),
                    ("confirmed", "Confirmed by email"),
                    ("assigned", "Assigned"),
                    ("priority", "Priority changed"),
                    ("update", "Update posted"),
                    ("note", "Internal note added"),
                    ("question", "Question asked"),
                    ("replied", "Business replied"),
                    ("resolved", "Resolved"),
                    ("reopened", "Reopened by the business"),
                    ("closed", "Confirmed resolved by the business"),
                    ("escalated", "Escalated"),
                    ("returned", "Returned to the tier below"),
                    ("decision", "Decision recorded"),
                    ("action_done", "Action completed"),
                    ("flagged", "Flagged overdue to the chair"),
                    ("warned", "Deadline warning sent"),
                    ("legal_hold", "Legal hold placed or lifted"),
                    ("duplicate", "Closed as a duplicate"),
                    ("dup_joined", "Duplicate joined to it"),
                    ("attached", "Attachment added by the business"),
                    ("withdrawn", "Withdrawn by the reporter"),
                ],
                max_length=12,
            ),
        ),
        migrations.RunPython(load, migrations.RunPython.noop),
    ]
