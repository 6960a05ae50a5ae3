import pytest
from django.contrib.auth.models import Group

from engagement.models import OutboundEmail
from tests import factories


@pytest.fixture
def editor(db):
    """An OPCC editor: staff, in the group the data migration creates."""
    user = factories.UserFactory(
        email="editor@example.org", full_name="Eddie Editor", is_staff=True
    )
    user.groups.add(Group.objects.get(name="OPCC editors"))
    return user


@pytest.fixture
def coordinator(db):
    return factories.UserFactory(email="coordinator@example.org", full_name="Cora Coordinator")


@pytest.fixture
def scheme(coordinator):
    return factories.WatchSchemeFactory(
        name="Shop Watch", slug="shop-watch", coordinators=[coordinator]
    )


@pytest.fixture
def other_scheme(db):
    return factories.WatchSchemeFactory(name="Pub Watch", slug="pub-watch")


@pytest.fixture
def membership(scheme, business):
    """The owner's business is an approved member of Shop Watch, wanting every alert."""
    return factories.SchemeMembershipFactory(scheme=scheme, business=business)


@pytest.fixture
def seminar(db):
    return factories.SeminarFactory(title="Cyber crime: protect your business", slug="cyber")


def emails_to(address: str):
    return OutboundEmail.objects.filter(to=address).order_by("pk")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is right for real accounts and needlessly slow for hundreds of test users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
