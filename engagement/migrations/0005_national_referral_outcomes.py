"""Referral to each national body is an outcome of its own, so insight can count them."""

from django.db import migrations

OUTCOMES = [
    ("referred-nbcc", "Referred to the National Business Crime Centre",
     "We have referred this to the National Business Crime Centre, which works with police "
     "forces and businesses across the country.", False),
    ("referred-action-fraud", "Referred to Action Fraud / NFIB",
     "We have referred this to Action Fraud and the National Fraud Intelligence Bureau, who "
     "analyse fraud and cyber crime reports from across the country.", False),
    ("referred-ncsc", "Referred to the NCSC",
     "We have referred this to the National Cyber Security Centre.", False),
]


def load(apps, schema_editor):
    Outcome = apps.get_model("engagement", "Outcome")
    after = Outcome.objects.filter(slug="referred-national").values_list("position", flat=True)
    position = (after.first() or 4) + 1
    for offset, (slug, name, description, requires_note) in enumerate(OUTCOMES):
        Outcome.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "description": description, "requires_note": requires_note,
                      "position": position},
        )


class Migration(migrations.Migration):
    dependencies = [("engagement", "0004_escalation_links")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
