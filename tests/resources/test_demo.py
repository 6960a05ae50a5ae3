from urllib.parse import urlparse

import pytest

from engagement import demo as engagement_demo
from engagement.models import OutboundEmail, User
from resources import demo
from resources.models import (
    Alert,
    Booking,
    Resource,
    SchemeMembership,
    Seminar,
    SpecialistContact,
    WatchScheme,
)

PASSWORD = "demo-password-for-tests"
MODELS = [Resource, WatchScheme, SchemeMembership, Alert, Seminar, Booking, SpecialistContact]


@pytest.fixture
def seeded(db):
    engagement_demo.seed(password=PASSWORD)
    return demo.seed(password=PASSWORD)


def counts():
    return [model.objects.count() for model in [*MODELS, OutboundEmail]]


def test_it_seeds_the_five_watch_schemes_coordinated_by_the_editor(seeded):
    editor = User.objects.get(email="editor@demo.test")

    assert set(WatchScheme.objects.values_list("name", flat=True)) == {
        "Shop Watch",
        "Pub Watch",
        "Hotel Watch",
        "Farm Watch",
        "Horse Watch",
    }
    assert all(editor in scheme.coordinators.all() for scheme in WatchScheme.objects.all())
    assert editor.groups.filter(name="OPCC editors").exists()
    assert editor.has_perm("resources.add_alert")


def test_it_seeds_real_resources_as_https_links_mapped_to_categories(seeded):
    resources = list(Resource.objects.filter(status="published"))

    assert len(resources) >= 10
    assert all(urlparse(r.link_url).scheme == "https" and not r.document for r in resources)
    urls = {r.link_url for r in resources}
    assert "https://www.ncsc.gov.uk/collection/small-business-guide" in urls
    assert "https://www.cyberalarm.police.uk/" in urls
    assert Resource.objects.filter(title__icontains="Little Book of Cyber Scams").exists()
    assert Resource.objects.filter(categories__slug="cyber").count() >= 4
    assert Resource.objects.filter(categories__slug="rural").exists()


def test_it_seeds_the_specialists_and_seminars_ahead(seeded):
    teams = set(SpecialistContact.objects.values_list("team", flat=True))
    assert teams == {"rural", "cyber"}
    assert all(seminar.is_bookable for seminar in Seminar.objects.all())
    assert Seminar.objects.count() >= 3


def test_it_changes_nothing_when_run_again(seeded):
    before = counts()

    lines = demo.seed(password=PASSWORD)

    assert counts() == before
    assert lines == seeded
