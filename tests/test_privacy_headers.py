"""Permissions-Policy everywhere; personal pages and downloads are never stored by a cache."""

import pytest

from tests import factories


def no_store(response) -> bool:
    return "no-store" in response.get("Cache-Control", "")


@pytest.mark.parametrize("path", ["/", "/report/", "/resources/", "/accounts/login/"])
def test_it_switches_off_powerful_features_on_every_page(client, db, path):
    response = client.get(path)
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_it_lets_public_pages_be_cached_for_people_not_signed_in(client, db):
    assert not no_store(client.get("/resources/"))


def test_it_never_stores_an_owners_pages_or_downloads(client, owner, concern):
    attachment = factories.AttachmentFactory(concern=concern)
    client.force_login(owner)
    for path in [
        "/my/",
        f"/my/concerns/{concern.reference}/",
        f"/my/concerns/{concern.reference}/attachments/{attachment.pk}/",
        "/resources/",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert no_store(response), path


def test_it_never_stores_the_admin_or_the_partnership_pages(client, superuser):
    client.force_login(superuser)
    assert no_store(client.get("/admin/"))
    assert no_store(client.get("/admin/engagement/concern/"))
    assert no_store(client.get("/partnership/"))


def test_it_never_stores_a_guests_private_link_page(client, db):
    assert no_store(client.get("/report/track/" + "x" * 43 + "/"))
