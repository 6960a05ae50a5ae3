# On PostgreSQL a trigger refuses UPDATE and DELETE on the event table; dorset_bcp/event_log.py
# says what it allows and how an erasure gets past it. A no-op on SQLite.
from django.db import migrations

from dorset_bcp.event_log import install_trigger, remove_trigger

TABLE = "resources_communityevent"


def forwards(apps, schema_editor):
    install_trigger(schema_editor, TABLE)


def backwards(apps, schema_editor):
    remove_trigger(schema_editor, TABLE)


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0004_alert_queued_at_and_digest_week"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
