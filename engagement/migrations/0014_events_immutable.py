# On PostgreSQL a trigger refuses UPDATE and DELETE on the event table; dorset_bcp/event_log.py
# says what it allows and how an erasure gets past it. A no-op on SQLite.
from django.db import migrations

from dorset_bcp.event_log import install_trigger, remove_trigger

TABLE = "engagement_concernevent"


def forwards(apps, schema_editor):
    install_trigger(schema_editor, TABLE)


def backwards(apps, schema_editor):
    remove_trigger(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0013_specialist_team_routing"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
