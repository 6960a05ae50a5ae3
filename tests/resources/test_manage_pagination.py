"""The coordinator's manage page shows members and applications a page at a time."""

import pytest
from django.urls import reverse

from resources import views
from tests import factories


@pytest.fixture
def small_pages(monkeypatch):
    monkeypatch.setattr(views, "MANAGE_ROWS_PER_PAGE", 3)


def fill(scheme, *, members, pending):
    for i in range(members):
        factories.SchemeMembershipFactory(
            scheme=scheme, business=factories.BusinessFactory(name=f"Member {i:02}")
        )
    for i in range(pending):
        factories.SchemeMembershipFactory(
            scheme=scheme,
            business=factories.BusinessFactory(name=f"Applicant {i:02}"),
            status="pending",
            decided_at=None,
        )


def test_it_pages_members_and_applications_each_keeping_the_other(
    client, scheme, coordinator, small_pages
):
    fill(scheme, members=7, pending=4)
    client.force_login(coordinator)
    url = reverse("resources:scheme_manage", args=[scheme.slug])

    first = client.get(url).content.decode()
    third = client.get(url, {"members": 3, "applications": 2}).content.decode()

    assert "Members (7)" in first and "Applications waiting for a decision (4)" in first
    assert "Member 00" in first and "Member 03" not in first
    assert 'aria-label="Pages of members"' in first
    assert 'href="?applications=1&amp;members=2"' in first
    assert "Member 06" in third and "Member 00" not in third
    assert "Applicant 03" in third and "Applicant 00" not in third
    assert 'href="?members=3&amp;applications=1"' in third  # back a page, members kept


def test_it_answers_a_page_number_out_of_range_with_the_last_page(
    client, scheme, coordinator, small_pages
):
    fill(scheme, members=4, pending=0)
    client.force_login(coordinator)

    response = client.get(
        reverse("resources:scheme_manage", args=[scheme.slug]), {"members": "999"}
    )

    assert response.status_code == 200
    assert response.context["members"].number == 2


@pytest.mark.parametrize("rows", [1, 8])
def test_it_reads_a_page_in_the_same_number_of_queries_whatever_the_size(
    client, scheme, coordinator, small_pages, rows, django_assert_num_queries
):
    fill(scheme, members=rows, pending=rows)
    client.force_login(coordinator)

    # As pinned in test_query_counts: 1 session, 2 user, 3 the scheme, 4-5 permissions, 6-8
    # coordinator checks, 9-10 count and page of applications, 11-12 count and page of members.
    with django_assert_num_queries(12):
        client.get(reverse("resources:scheme_manage", args=[scheme.slug]), {"members": 2})


def test_it_404s_every_page_for_someone_who_does_not_coordinate(client, other_owner, scheme):
    fill(scheme, members=2, pending=0)
    client.force_login(other_owner)

    response = client.get(reverse("resources:scheme_manage", args=[scheme.slug]), {"members": 2})

    assert response.status_code == 404


def test_it_shows_a_refused_decision_with_its_error_on_a_later_page(
    client, scheme, coordinator, small_pages
):
    fill(scheme, members=4, pending=5)
    client.force_login(coordinator)
    later = scheme.memberships.get(business__name="Applicant 04")  # on page 2 of 2
    page = client.get(
        reverse("resources:scheme_manage", args=[scheme.slug]),
        {"applications": 2, "members": 2},
    ).content.decode()
    action = reverse("resources:membership_decide", args=[scheme.slug, later.pk])
    assert f'action="{action}?applications=2&amp;members=2"' in page

    response = client.post(
        f"{action}?applications=1&members=2",  # a stale address still finds the application
        {f"d{later.pk}-decision": "decline", f"d{later.pk}-reason": ""},
    )

    body = response.content.decode()
    assert response.status_code == 400
    assert response.context["pending"].number == 2
    assert response.context["members"].number == 2
    assert "Applicant 04" in body
    assert "Give the business a reason for declining." in body
    later.refresh_from_db()
    assert later.status == "pending"
