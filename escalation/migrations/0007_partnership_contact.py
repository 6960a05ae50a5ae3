"""The Business Safety Partnership's contact entry on /contacts/: how a business reaches it.

It has no public mailbox of its own; businesses reach it through Dorset Police's 101, which
passes the message to the Force Business Crime Champion. An administrator can change both in
the admin; an entry someone has already filled in is left alone."""

from django.db import migrations

DESCRIPTION = (
    "The county-wide partnership of Dorset Police, the Office of the Police and Crime "
    "Commissioner, the councils and the lead business organisations. It takes what the "
    "Business Co-ordinating Groups cannot settle. To contact it, call 101 and ask for the "
    "Force Business Crime Champion, or ask your Neighbourhood Policing Team to pass on a message."
)


def load(apps, schema_editor):
    Partnership = apps.get_model("escalation", "Partnership")
    partnership, _ = Partnership.objects.get_or_create(
        singleton=True, defaults={"name": "Dorset Business Safety Partnership"}
    )
    changed = []
    if not partnership.phone:
        partnership.phone = "101"
        changed.append("phone")
    if not partnership.description or partnership.description.startswith(
        "The county-wide partnership"
    ):
        partnership.description = DESCRIPTION
        changed.append("description")
    if changed:
        partnership.save(update_fields=changed)


class Migration(migrations.Migration):
    dependencies = [("escalation", "0006_insight_rollup")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
