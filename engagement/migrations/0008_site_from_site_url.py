"""The Sites row names the portal at SITE_URL, not Django's example.com.

allauth's emails and anything else that asks the Sites framework for the domain read this row;
it was never set, so they said example.com. Run again after SITE_URL changes
(`manage.py migrate engagement 0007 && manage.py migrate`), or edit the row in the admin.
"""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations

SITE_NAME = "Dorset Business Crime Partnership"


def site_from_site_url(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    domain = urlsplit(settings.SITE_URL).netloc or "127.0.0.1:8000"
    Site.objects.using(schema_editor.connection.alias).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain, "name": SITE_NAME}
    )


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0007_outbox_claims_and_failures"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [migrations.RunPython(site_from_site_url, migrations.RunPython.noop)]
