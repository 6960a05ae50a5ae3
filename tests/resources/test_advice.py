"""Advice that fits: resources and specialist contacts on the confirmation and concern pages."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from resources.selectors import advice_for_concern
from tests import factories


@pytest.fixture
def cyber_concern(business, owner):
    return factories.ConcernFactory(
        business=business, reporter=owner, category=factories.category("cyber")
    )


@pytest.fixture
def specialists(db):
    return {
        "rural": factories.SpecialistContactFactory(team="rural", name="Rural Crime Team"),
        "cyber": factories.SpecialistContactFactory(
            team="cyber", name="Cyber-Crime Protect and Prevention Officer"
        ),
    }


def submitted_url(concern):
    return reverse("engagement:report_submitted", args=[concern.reference])


def test_it_shows_resources_for_the_category_on_the_confirmation_page(
    client, owner, cyber_concern, specialists
):
    factories.ResourceFactory(
        title="Small Business Guide", categories=[factories.category("cyber")]
    )
    factories.ResourceFactory(title="Shop theft advice", categories=[factories.category("theft")])
    client.force_login(owner)

    response = client.get(submitted_url(cyber_concern))

    content = response.content.decode()
    assert "Advice that fits your concern" in content
    assert "Small Business Guide" in content
    assert "Shop theft advice" not in content


def test_it_names_the_cyber_protect_officer_for_cyber_crime(
    client, owner, cyber_concern, specialists
):
    client.force_login(owner)

    content = client.get(cyber_concern.get_absolute_url()).content.decode()

    assert "Cyber-Crime Protect and Prevention Officer" in content
    assert "cyber.team@example.org" in content
    assert "Rural Crime Team" not in content


def test_it_names_the_rural_crime_team_for_a_rural_business(client, owner, business, specialists):
    business.is_rural = True
    business.save()
    concern = factories.ConcernFactory(business=business, reporter=owner)  # theft, not rural
    client.force_login(owner)

    content = client.get(concern.get_absolute_url()).content.decode()

    assert "Rural Crime Team" in content
    assert "Cyber-Crime Protect" not in content


def test_it_names_the_rural_crime_team_for_rural_crime_anywhere(
    client, owner, business, specialists
):
    concern = factories.ConcernFactory(
        business=business, reporter=owner, category=factories.category("rural")
    )
    client.force_login(owner)

    assert b"Rural Crime Team" in client.get(submitted_url(concern)).content


def test_it_prefers_resources_for_the_business_sector_and_skips_other_sectors(
    business, cyber_concern
):
    cyber = factories.category("cyber")
    factories.ResourceFactory(title="A general", categories=[cyber], position=1)
    factories.ResourceFactory(
        title="B for shops", categories=[cyber], sectors=["retail"], position=2
    )
    factories.ResourceFactory(title="C for farms", categories=[cyber], sectors=["farm"], position=0)

    advice = advice_for_concern(cyber_concern)

    assert [r.title for r in advice.resources] == ["B for shops", "A general"]


def test_it_leaves_out_unpublished_resources(cyber_concern):
    factories.ResourceFactory(
        title="Draft", status="draft", categories=[factories.category("cyber")]
    )

    assert advice_for_concern(cyber_concern).resources == []


def test_it_leaves_out_inactive_specialists(cyber_concern, specialists):
    specialists["cyber"].is_active = False
    specialists["cyber"].save()

    assert advice_for_concern(cyber_concern).contacts == []


def test_it_shows_nothing_when_nothing_fits(client, owner, concern):
    client.force_login(owner)

    response = client.get(concern.get_absolute_url())

    assert response.status_code == 200
    assert b"Advice that fits" not in response.content


def test_it_reads_advice_in_two_queries(cyber_concern, specialists, django_assert_num_queries):
    for _ in range(6):
        factories.ResourceFactory(categories=[factories.category("cyber")], sectors=["retail"])

    # 1: the matching resources; 2: the specialist contacts.
    with django_assert_num_queries(2):
        advice = advice_for_concern(cyber_concern)
    assert len(advice.resources) == 5


def test_it_reads_advice_in_one_query_when_no_specialist_applies(
    concern, django_assert_num_queries
):
    with django_assert_num_queries(1):
        advice_for_concern(concern)


def test_it_keeps_the_concern_page_query_count_flat(client, owner, cyber_concern, specialists):
    client.force_login(owner)
    cyber = factories.category("cyber")
    factories.ResourceFactory(categories=[cyber])
    with CaptureQueriesContext(connection) as one:
        client.get(cyber_concern.get_absolute_url())
    for _ in range(10):
        factories.ResourceFactory(categories=[cyber])
    factories.SpecialistContactFactory(team="cyber", name="Second cyber officer")
    with CaptureQueriesContext(connection) as many:
        client.get(cyber_concern.get_absolute_url())

    assert len(many) == len(one)


def test_it_shows_advice_on_a_guest_tracking_page(client, business, specialists):
    from engagement import services

    concern = factories.ConcernFactory(business=business, category=factories.category("cyber"))
    token = "guest-token-for-advice-test"
    concern.tracking_token_hash = services._hash_token(token)
    concern.save()

    response = client.get(reverse("engagement:guest_track", args=[token]))

    assert b"Cyber-Crime Protect and Prevention Officer" in response.content
