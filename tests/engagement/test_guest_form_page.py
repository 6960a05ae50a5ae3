"""The empty guest report form's fields are rendered once and reused: every page is still the
page the form renders in full, with its own submission key and CSRF token."""

import re
import uuid

import pytest
from django.test import Client

from engagement import forms, views
from engagement.models import ConcernCategory, HeldAttachment
from tests import factories
from tests.factories import force_login_with_second_factor

KEY = uuid.UUID("6f1d3c2a-5b4e-4a79-8c1d-2e3f4a5b6c7d")


def without_csrf_token(html: str) -> str:
    # A masked token differs on every page, whichever way the page is rendered.
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "TOKEN", html)


def page(client, url="/report/guest/", **headers) -> str:
    response = client.get(url, **headers)
    assert response.status_code == 200
    return response.content.decode()


def rendered_in_full(monkeypatch, client, url="/report/guest/", **headers) -> str:
    with monkeypatch.context() as patch:
        patch.setattr(views, "_empty_guest_fields", lambda key: None)
        return page(client, url, **headers)


@pytest.fixture
def fixed_key(monkeypatch):
    monkeypatch.setattr(uuid, "uuid4", lambda: KEY)


@pytest.mark.django_db
@pytest.mark.parametrize("headers", [{}, {"HTTP_ACCEPT_LANGUAGE": "fr"}])
def test_the_empty_guest_form_is_the_page_rendered_in_full(monkeypatch, fixed_key, headers):
    client = Client()
    in_full = rendered_in_full(monkeypatch, client, **headers)
    assert f'name="submission_key" value="{KEY}"' in in_full
    for _ in range(2):  # rendered, then reused
        assert without_csrf_token(page(client, **headers)) == without_csrf_token(in_full)


@pytest.mark.django_db
def test_a_signed_in_person_on_the_guest_form_sees_the_page_rendered_in_full(
    monkeypatch, fixed_key, owner
):
    client = Client()
    force_login_with_second_factor(client, owner)
    in_full = rendered_in_full(monkeypatch, client)
    assert "Sign out" in in_full
    page(client)
    assert without_csrf_token(page(client)) == without_csrf_token(in_full)


def removed_a_held_file(client, key: str):
    """Hold a file for a draft, then remove it: "The file is removed." waits for the next page."""
    data = factories.guest_form_data(submission_key=key, location="")
    client.post("/report/guest/", {**data, "attachments": [factories.png_upload("till.png")]})
    held = HeldAttachment.objects.get(submission_key=key)
    client.post("/report/guest/", {**data, "remove_attachment": str(held.pk)})


@pytest.mark.django_db
def test_a_message_waiting_shows_above_the_ready_made_fields(monkeypatch, fixed_key):
    client = Client()
    removed_a_held_file(client, "0b5c7c9e-1111-4222-8333-444455556666")
    in_full = rendered_in_full(monkeypatch, client)
    client = Client()
    removed_a_held_file(client, "0b5c7c9e-1111-4222-8333-444455556667")
    fast = page(client)
    assert "The file is removed." in fast
    assert without_csrf_token(fast) == without_csrf_token(in_full)
    assert "The file is removed." not in page(client)


@pytest.mark.django_db
def test_each_page_has_its_own_submission_key():
    client = Client()
    keys = [re.findall(r'name="submission_key" value="([^"]+)"', page(client)) for _ in range(3)]
    assert all(len(found) == 1 for found in keys)
    assert len({found[0] for found in keys}) == 3
    assert all(uuid.UUID(found[0]).version == 4 for found in keys)


def test_the_ready_made_form_posts_with_its_own_csrf_token_and_key(area):
    client = Client(enforce_csrf_checks=True)
    html = page(client)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
    key = re.search(r'name="submission_key" value="([^"]+)"', html)[1]
    data = factories.guest_form_data(submission_key=key, csrfmiddlewaretoken=token)
    response = client.post("/report/guest/", data)
    assert response.status_code == 302
    assert response["Location"] == f"/report/guest/{key}/check/"


@pytest.mark.django_db
def test_refused_without_the_csrf_token_as_before():
    client = Client(enforce_csrf_checks=True)
    page(client)
    response = client.post("/report/guest/", factories.guest_form_data())
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_category_changed_shows_on_the_ready_made_form(django_assert_num_queries):
    client = Client()
    first = ConcernCategory.objects.filter(is_active=True).first()
    assert first.name in page(client)
    with django_assert_num_queries(0):
        page(client)
    ConcernCategory.objects.create(name="Dog fouling", slug="dog-fouling", position=99)
    assert "Dog fouling" in page(client)
    # Another process's change: no signal reaches this one; a minute on, it shows.
    ConcernCategory.objects.filter(pk=first.pk).update(is_active=False)
    assert first.name in page(client)
    forms._category_choices["until"] = 0.0
    assert first.name not in page(client)


@pytest.mark.django_db
def test_resuming_a_draft_still_renders_what_was_typed():
    client = Client()
    data = factories.guest_form_data(description="Someone <b>broke</b> the window", location="")
    client.post("/report/guest/", data)
    resumed = page(client, f"/report/guest/?resume={data['submission_key']}&change=description")
    assert "Someone &lt;b&gt;broke&lt;/b&gt; the window" in resumed
    assert f'name="submission_key" value="{data["submission_key"]}"' in resumed
    assert re.search(r"<textarea[^>]*autofocus", resumed)
    # And the empty form after it is empty again, with a new key.
    empty = page(client)
    assert "broke" not in empty
    assert data["submission_key"] not in empty
