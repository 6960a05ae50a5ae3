"""Staff find their screens: each person lands where they work and the header links to it."""

import importlib
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.sites.models import Site
from django.db import connection

from engagement.models import OutboundEmail
from tests import factories

LOGIN = "/accounts/login/"


@pytest.fixture
def editor(db):
    """An OPCC editor: staff, with no NPT posting."""
    return factories.UserFactory(
        email="editor@example.org", full_name="Eddie Editor", is_staff=True
    )


@pytest.fixture
def group_member(area):
    group = factories.CoordinatingGroupFactory(name="BCP Business Co-ordinating Group")
    area.group = group
    area.save(update_fields=["group"])
    return factories.GroupMemberFactory(group=group, email="bid.manager@example.org")


@pytest.fixture
def partnership_member(db):
    return factories.PartnershipMemberFactory(email="champion@example.org")


def sign_in(client, person, next_url=None):
    url = f"{LOGIN}?next={next_url}" if next_url else LOGIN
    response = client.post(url, {"login": person.email, "password": factories.PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]
    return response["Location"]


# Where each person lands


def test_it_lands_an_npt_officer_in_the_admin(client, npt_officer):
    assert sign_in(client, npt_officer) == "/admin/"


def test_it_lands_an_editor_in_the_admin(client, editor):
    assert sign_in(client, editor) == "/admin/"


def test_it_lands_a_co_ordinating_group_member_on_the_partnership_queue(client, group_member):
    assert sign_in(client, group_member) == "/partnership/"


def test_it_lands_a_partnership_member_on_the_partnership_queue(client, partnership_member):
    assert sign_in(client, partnership_member) == "/partnership/"


def test_it_lands_a_business_owner_on_my_page(client, owner):
    assert sign_in(client, owner) == "/my/"


def test_it_follows_a_safe_next_address_whoever_signs_in(client, npt_officer):
    assert sign_in(client, npt_officer, next_url="/resources/") == "/resources/"


def test_it_ignores_a_next_address_on_another_site(client, owner):
    assert sign_in(client, owner, next_url="https://evil.example.org/") == "/my/"


# The header links to each screen the person may use, and to no other


def header_links(client) -> dict[str, bool]:
    page = client.get("/").content.decode()
    return {
        "admin": '<a class="nav-link" href="/admin/">Admin</a>' in page,
        "partnership": '<a class="nav-link" href="/partnership/">Partnership</a>' in page,
    }


def test_it_links_an_officer_to_the_admin_only(client, npt_officer):
    sign_in(client, npt_officer)
    assert header_links(client) == {"admin": True, "partnership": False}


def test_it_links_a_group_member_to_the_partnership_only(client, group_member):
    sign_in(client, group_member)
    assert header_links(client) == {"admin": False, "partnership": True}


def test_it_links_a_partnership_member_to_the_partnership_only(client, partnership_member):
    sign_in(client, partnership_member)
    assert header_links(client) == {"admin": False, "partnership": True}


def test_it_links_a_business_owner_to_neither(client, owner):
    sign_in(client, owner)
    assert header_links(client) == {"admin": False, "partnership": False}


def test_it_links_a_visitor_to_neither(client, db):
    assert header_links(client) == {"admin": False, "partnership": False}


def test_it_links_a_staff_member_who_also_sits_on_a_group_to_both(client, group_member):
    group_member.is_staff = True
    group_member.save(update_fields=["is_staff"])
    sign_in(client, group_member)
    assert header_links(client) == {"admin": True, "partnership": True}


# The admin greets people by name


def test_it_greets_an_officer_by_full_name_not_rank(client, area):
    officer = factories.OfficerFactory(area=area, full_name="PC Jane Smith")
    client.force_login(officer)
    page = client.get("/admin/").content.decode()
    assert "<strong>PC Jane Smith</strong>" in page
    assert "<strong>PC</strong>" not in page


def test_it_greets_someone_without_a_name_by_email(client, area):
    officer = factories.OfficerFactory(area=area, full_name="", email="pcso.7@example.org")
    client.force_login(officer)
    assert "<strong>pcso.7@example.org</strong>" in client.get("/admin/").content.decode()


# The Sites row names the portal at SITE_URL


def test_the_data_migration_sets_the_site_from_site_url(db, settings):
    Site.objects.update_or_create(
        pk=settings.SITE_ID, defaults={"domain": "example.com", "name": "example.com"}
    )
    settings.SITE_URL = "https://portal.example.org"
    migration = importlib.import_module("engagement.migrations.0008_site_from_site_url")

    migration.site_from_site_url(apps, SimpleNamespace(connection=connection))

    site = Site.objects.get(pk=settings.SITE_ID)
    assert (site.domain, site.name) == ("portal.example.org", "Dorset Business Crime Partnership")


def test_the_migrated_database_names_the_site_at_site_url(db):
    # pytest-django runs this before any transactional test flushes the row back to example.com.
    site = Site.objects.get(pk=settings.SITE_ID)
    assert site.domain == urlsplit(settings.SITE_URL).netloc


# Links in allauth's emails use SITE_URL, not the host the request came in on


def test_it_links_a_password_reset_email_to_site_url(client, owner, settings):
    settings.SITE_URL = "https://portal.example.org"
    client.post("/accounts/password/reset/", {"email": owner.email})
    (message,) = OutboundEmail.objects.all()
    assert "https://portal.example.org/accounts/password/reset/key/" in message.body_text
    assert "://testserver/" not in message.body_text


def test_it_links_a_sign_up_confirmation_email_to_site_url(db, client, settings):
    settings.SITE_URL = "https://portal.example.org"
    client.post(
        "/accounts/signup/",
        {
            "email": "new.owner@example.org",
            "password1": "a-long-pass-phrase-9",
            "password2": "a-long-pass-phrase-9",
        },
    )
    (message,) = OutboundEmail.objects.all()
    assert "https://portal.example.org/accounts/confirm-email/" in message.body_text
    assert "://testserver/" not in message.body_text


# View on site


def test_it_offers_no_view_on_site_for_a_concern_officers_cannot_open_there(
    client, npt_officer, concern
):
    client.force_login(npt_officer)
    page = client.get(f"/admin/engagement/concern/{concern.pk}/change/").content.decode()
    assert "View on site" not in page


def view_on_site_href(page: str) -> str:
    return re.search(r'href="(/admin/r/\d+/\d+/)" class="viewsitelink"', page).group(1)


def test_it_sends_view_on_site_to_site_url(client, superuser, settings):
    settings.SITE_URL = "https://portal.example.org"
    resource = factories.ResourceFactory()
    client.force_login(superuser)
    page = client.get(f"/admin/resources/resource/{resource.pk}/change/").content.decode()

    response = client.get(view_on_site_href(page))

    assert response.status_code == 302
    assert response["Location"] == f"https://portal.example.org{resource.get_absolute_url()}"


def test_it_refuses_view_on_site_to_those_who_may_not_view_the_object(
    client, superuser, npt_officer, owner
):
    resource = factories.ResourceFactory()
    client.force_login(superuser)
    href = view_on_site_href(
        client.get(f"/admin/resources/resource/{resource.pk}/change/").content.decode()
    )
    client.force_login(npt_officer)  # staff, but resources are the editors'
    assert client.get(href).status_code == 404
    client.force_login(owner)
    assert client.get(href)["Location"].startswith("/admin/login/")


def test_it_answers_404_to_a_view_on_site_for_nothing(client, superuser):
    client.force_login(superuser)
    assert client.get("/admin/r/999999/1/").status_code == 404
