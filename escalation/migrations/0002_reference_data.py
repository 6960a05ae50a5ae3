"""Deadline policies, theme settings, the partnership and partner organisations (all editable).

The policy values are copied here, not imported, so this migration means the same thing forever.
"""

from django.db import migrations

# (tier, priority): working days to first response, to resolution, warning point (days before).
POLICIES = {
    (1, "urgent"): (1, 5, 1),
    (1, "high"): (2, 10, 1),
    (1, "normal"): (3, 20, 2),
    (1, "low"): (5, 30, 2),
    (2, "urgent"): (2, 10, 2),
    (2, "high"): (3, 15, 2),
    (2, "normal"): (5, 20, 3),
    (2, "low"): (5, 30, 3),
    (3, "urgent"): (3, 15, 2),
    (3, "high"): (5, 20, 3),
    (3, "normal"): (10, 30, 5),
    (3, "low"): (10, 40, 5),
}

PARTNERS = [
    ("dorset-police", "Dorset Police", "police", "https://www.dorset.police.uk/"),
    ("rural-crime-team", "Dorset Police Rural Crime Team", "police", ""),
    ("cyber-protect", "Dorset Police Cyber Crime Protect and Prevention", "police", ""),
    ("opcc", "Office of the Police and Crime Commissioner for Dorset", "council",
     "https://www.dorset.pcc.police.uk/"),
    ("bcp-council", "BCP Council", "council", "https://www.bcpcouncil.gov.uk/"),
    ("dorset-council", "Dorset Council", "council", "https://www.dorsetcouncil.gov.uk/"),
    ("fsb", "Federation of Small Businesses", "business", "https://www.fsb.org.uk/"),
    ("chamber", "Dorset Chamber of Commerce and Industry", "business", ""),
    ("nfu", "National Farmers' Union", "business", "https://www.nfuonline.com/"),
    ("bids", "Local Business Improvement Districts", "bid", ""),
    ("nbcc", "National Business Crime Centre", "national", "https://nbcc.police.uk/"),
    ("action-fraud", "Action Fraud / National Fraud Intelligence Bureau", "national",
     "https://www.actionfraud.police.uk/"),
    ("ncsc", "National Cyber Security Centre", "national", "https://www.ncsc.gov.uk/"),
]


def load(apps, schema_editor):
    DeadlinePolicy = apps.get_model("escalation", "DeadlinePolicy")
    ThemeSettings = apps.get_model("escalation", "ThemeSettings")
    Partnership = apps.get_model("escalation", "Partnership")
    PartnerOrganisation = apps.get_model("escalation", "PartnerOrganisation")
    for (tier, priority), (first, resolution, warning) in POLICIES.items():
        DeadlinePolicy.objects.get_or_create(
            tier=tier,
            priority=priority,
            defaults={
                "first_response_days": first,
                "resolution_days": resolution,
                "warning_days": warning,
            },
        )
    ThemeSettings.objects.get_or_create(pk=1, defaults={"min_businesses": 3, "window_days": 28})
    Partnership.objects.get_or_create(
        singleton=True,
        defaults={
            "name": "Dorset Business Safety Partnership",
            "description": "The county-wide partnership of Dorset Police, the Office of the "
            "Police and Crime Commissioner, the councils and the lead business organisations. "
            "It takes what the Business Co-ordinating Groups cannot settle.",
        },
    )
    for slug, name, kind, website in PARTNERS:
        PartnerOrganisation.objects.get_or_create(
            slug=slug, defaults={"name": name, "kind": kind, "website": website}
        )


class Migration(migrations.Migration):
    dependencies = [("escalation", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
