import pytest
from django.contrib.auth.models import Group

from tests import factories


@pytest.fixture
def editor(db):
    """An OPCC editor: staff, in the group the data migrations give the pages to."""
    user = factories.UserFactory(
        email="editor@example.org", full_name="Eddie Editor", is_staff=True
    )
    user.groups.add(Group.objects.get(name="OPCC editors"))
    return user


@pytest.fixture
def scheme(db):
    return factories.WatchSchemeFactory(name="Shop Watch", slug="shop-watch")
