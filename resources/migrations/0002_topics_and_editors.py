"""Topics every installation starts with (editable) and the "OPCC editors" group."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

TOPICS = [
    ("cyber", "Cyber security", "Phishing, ransomware, passwords, backups and staff training."),
    ("fraud", "Fraud and scams", "Invoice and payment fraud, refund scams, counterfeit money."),
    ("retail-theft", "Shop theft", "Shoplifting, organised retail crime and store layout."),
    ("violence-against-staff", "Violence and abuse against staff",
     "Keeping staff safe from threats, abuse and assault at work."),
    ("premises-security", "Premises security", "Burglary, break-ins, criminal damage and CCTV."),
    ("rural", "Rural crime", "Farm machinery, fuel, livestock, equine and wildlife crime."),
    ("hospitality", "Pubs, bars and hotels", "Licensed premises, Pubwatch and night-time safety."),
    ("asb", "Anti-social behaviour", "Working with your NPT and neighbours on persistent problems."),
]

EDITOR_GROUP = "OPCC editors"
MODELS = [
    "topic",
    "resource",
    "resourcesector",
    "specialistcontact",
    "watchscheme",
    "schememembership",
    "alert",
    "alertdelivery",
    "seminar",
    "booking",
    "communityevent",
]


def load(apps, schema_editor):
    Topic = apps.get_model("resources", "Topic")
    for position, (slug, name, description) in enumerate(TOPICS):
        Topic.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )

    # Permissions are normally created after migrate; create them now so the group gets them
    # on a fresh database too.
    app_config = apps.get_app_config("resources")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    codenames = [f"{action}_{model}" for model in MODELS for action in ("add", "change", "view", "delete")]
    group.permissions.add(
        *Permission.objects.filter(content_type__app_label="resources", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("resources", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
