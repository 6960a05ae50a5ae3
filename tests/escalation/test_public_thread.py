"""Group and Partnership item pages show what the business and the police said to each other."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from engagement.models import ConcernUpdate
from tests import factories


def url(kind, item):
    return reverse("escalation:item", args=[kind, item.pk])


def say(concern, kind, body, *, minutes, author=None):
    update = factories.ConcernUpdateFactory(concern=concern, kind=kind, body=body, author=author)
    # Written out of order on purpose: the page orders by when each was said.
    ConcernUpdate.objects.filter(pk=update.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=minutes)
    )
    return update


@pytest.fixture
def concern(chain, business, owner):
    return factories.concern_at(business, tier=2, reporter=owner)


@pytest.fixture
def thread(concern, npt_officer, owner):
    say(concern, "reply", "The van came back on Tuesday at 4pm.", minutes=10, author=owner)
    say(concern, "public", "We have checked the CCTV on the quay.", minutes=40, author=npt_officer)
    say(concern, "internal", "Known to us: the same van in Hamworthy.", minutes=30)
    say(concern, "question", "Which day did the van come back?", minutes=20, author=npt_officer)
    return concern


def test_it_shows_the_public_thread_in_time_order_without_internal_notes(
    client, thread, group_member, owner
):
    client.force_login(group_member)

    page = client.get(url("concern", thread)).content.decode()

    said = [
        "We have checked the CCTV on the quay.",
        "Which day did the van come back?",
        "The van came back on Tuesday at 4pm.",
    ]
    positions = [page.index(text) for text in said]
    assert positions == sorted(positions)
    assert "Known to us" not in page
    assert "Reply from the business" in page and "The business" in page
    # Partners see the business, never the person who reported for it.
    assert owner.get_full_name() not in page


def test_the_partnership_sees_the_thread_too(client, chain, business, owner, partnership_member):
    concern = factories.concern_at(business, tier=3, reporter=owner)
    say(concern, "reply", "Still happening every Friday.", minutes=5, author=owner)
    client.force_login(partnership_member)

    page = client.get(url("concern", concern)).content.decode()

    assert "Still happening every Friday." in page


def test_a_theme_page_shows_each_concerns_thread(client, chain, area, business, group_member):
    theme = factories.ThemeFactory(npt_area=area)
    first = factories.ConcernFactory(business=business)
    second = factories.ConcernFactory(business=factories.BusinessFactory(npt_area=area))
    theme.concerns.add(first, second)
    say(first, "reply", "Ours was the back door.", minutes=5)
    say(second, "public", "A patrol is booked for Saturday.", minutes=5)
    say(second, "internal", "Informant says Saturday.", minutes=4)
    client.force_login(group_member)

    page = client.get(url("theme", theme)).content.decode()

    assert page.index(first.reference) < page.index("Ours was the back door.")
    assert page.index(second.reference) < page.index("A patrol is booked for Saturday.")
    assert "Informant" not in page


def test_a_member_of_another_group_cannot_read_the_thread(client, thread, other_group_member):
    client.force_login(other_group_member)

    response = client.get(url("concern", thread))

    assert response.status_code == 404
    assert b"The van came back" not in response.content


def test_the_business_owner_cannot_open_the_partners_page(client, thread, owner):
    client.force_login(owner)

    response = client.get(url("concern", thread))

    assert response.status_code == 403
