"""The two specialist teams every installation starts with, routed as the categories' flags said.

Concerns that already arrived and fit a team are referred to it (without emails: they are not
news), so the team's members see them from the start. Each step is idempotent.
"""

from django.db import migrations

# slug, name, category flag, rural businesses, business types
TEAMS = [
    ("rural-crime-team", "Rural Crime Team", "is_rural", True, ["farm", "equestrian"]),
    (
        "cyber-protect",
        "Cyber-Crime Protect and Prevention Officer",
        "is_cyber",
        False,
        [],
    ),
]
BATCH = 2000


def load(apps, schema_editor):
    Category = apps.get_model("engagement", "ConcernCategory")
    Concern = apps.get_model("engagement", "Concern")
    Team = apps.get_model("engagement", "SpecialistTeam")
    Referral = apps.get_model("engagement", "SpecialistReferral")
    for slug, name, flag, rural_businesses, sectors in TEAMS:
        team, created = Team.objects.get_or_create(
            slug=slug,
            defaults={"name": name, "rural_businesses": rural_businesses, "sectors": sectors},
        )
        if created:
            team.categories.set(Category.objects.filter(**{flag: True}))
        reaches = Concern.objects.exclude(status="unconfirmed").filter(
            category__in=team.categories.all()
        )
        if team.rural_businesses:
            reaches = reaches | Concern.objects.exclude(status="unconfirmed").filter(
                business__is_rural=True
            )
        if team.sectors:
            reaches = reaches | Concern.objects.exclude(status="unconfirmed").filter(
                business__sector__in=team.sectors
            )
        reaches = reaches.exclude(specialist_referrals__team=team).distinct()
        pending = []
        for concern_id in reaches.values_list("pk", flat=True).iterator(chunk_size=BATCH):
            pending.append(Referral(concern_id=concern_id, team=team))
            if len(pending) == BATCH:
                Referral.objects.bulk_create(pending)
                pending = []
        Referral.objects.bulk_create(pending)


class Migration(migrations.Migration):
    dependencies = [("engagement", "0012_specialist_teams")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
