"""The list pages read a fixed number of queries, whether they show one row or twenty."""

import pytest
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from engagement.models import NPTArea
from resources.models import WatchScheme
from tests import factories

SIZES = [1, 20]
QUERIES_SCHEME_ADMIN = 9
QUERIES_ALERT_ARCHIVE = 9
QUERIES_SCHEME_MANAGE = 12


def group_model():
    try:
        return apps.get_model("escalation", "CoordinatingGroup")
    except LookupError:
        return None


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_library_in_five_queries(client, db, rows, django_assert_num_queries):
    topic = factories.TopicFactory(slug="cyber", name="Cyber security")
    for _ in range(rows):
        factories.ResourceFactory(topics=[topic], sectors=["retail", "farm"])

    # 1 topics for the filter, 2 count for the pages, 3 the page of resources,
    # 4 their topics, 5 their sectors.
    with django_assert_num_queries(5):
        response = client.get(reverse("resources:resource_list"), {"sector": "retail"})
    assert len(response.context["page"]) == rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_schemes_in_one_query(client, db, rows, django_assert_num_queries):
    for _ in range(rows):
        factories.WatchSchemeFactory()

    # 1 the schemes.
    with django_assert_num_queries(1):
        response = client.get(reverse("resources:scheme_list"))
    assert len(response.context["schemes"]) == rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_schemes_for_a_member_in_four_queries(
    client, owner, business, rows, django_assert_num_queries
):
    for _ in range(rows):
        factories.SchemeMembershipFactory(business=business)
    client.force_login(owner)

    # 1 session, 2 user, 3 the schemes, 4 the person's memberships with their businesses.
    with django_assert_num_queries(4):
        response = client.get(reverse("resources:scheme_list"))
    assert sum(len(s.my_memberships) for s in response.context["schemes"]) == rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_seminars_in_one_query(client, db, rows, django_assert_num_queries):
    for _ in range(rows):
        seminar = factories.SeminarFactory()
        factories.BookingFactory(
            seminar=seminar, business=factories.BusinessFactory(owner=factories.UserFactory())
        )

    # 1 the upcoming seminars with their places taken.
    with django_assert_num_queries(1):
        response = client.get(reverse("resources:seminar_list"))
    assert [s.places_taken for s in response.context["seminars"]] == [1] * rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_seminars_for_a_booker_in_four_queries(
    client, owner, business, rows, django_assert_num_queries
):
    for _ in range(rows):
        factories.BookingFactory(business=business, user=owner)
    client.force_login(owner)

    # 1 session, 2 user, 3 the seminars, 4 the person's bookings on them.
    with django_assert_num_queries(4):
        response = client.get(reverse("resources:seminar_list"))
    assert all(s.my_booking for s in response.context["seminars"])


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_contacts_in_a_fixed_number_of_queries(
    client, db, rows, django_assert_num_queries
):
    groups = group_model()
    for n in range(rows):
        area = factories.NPTAreaFactory(name=f"Team {n}", districts=[f"BH{n + 1}", f"DT{n + 1}"])
        factories.SpecialistContactFactory(team="rural" if n % 2 else "cyber")
        if groups is not None:
            group = groups.objects.create(name=f"Group {n}", slug=f"group-{n}")
            NPTArea.objects.filter(pk=area.pk).update(group=group)

    # 1 NPT areas (with their group), 2 their postcode districts, 3 specialist contacts, and
    # once the escalation app exists: 4 groups, 5 each group's NPT areas, 6 the partnership.
    expected = 3 if groups is None else 6
    with django_assert_num_queries(expected):
        response = client.get(reverse("resources:contacts"))
    assert len(response.context["directory"].areas) == rows


# Pinned after the review of issue 4: the Watch scheme admin, the alert archive, manage page.


@pytest.mark.parametrize("rows", SIZES)
def test_it_opens_a_watch_schemes_admin_page_in_a_fixed_number_of_queries(
    client, superuser, rows, django_assert_num_queries
):
    scheme = factories.WatchSchemeFactory()
    for _ in range(rows):
        factories.SchemeMembershipFactory(scheme=scheme)
    client.force_login(superuser)
    url = reverse("admin:resources_watchscheme_change", args=[scheme.pk])
    ContentType.objects.get_for_model(WatchScheme)  # cached for the process, whichever runs first

    # 1 session, 2 user, 3 the scheme, 4 its coordinators, 5 their emails for the form,
    # 6 the memberships with their businesses, schemes and contacts, 7 the person's NPT postings
    # and specialist teams (the admin's scope, read once), 8-9 the navigation's escalation checks.
    with django_assert_num_queries(QUERIES_SCHEME_ADMIN):
        response = client.get(url)
    assert response.status_code == 200
    assert len(response.context["inline_admin_formsets"][0].formset.forms) == rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_alert_archive_in_a_fixed_number_of_queries(
    client, owner, business, rows, django_assert_num_queries
):
    scheme = factories.WatchSchemeFactory()
    factories.SchemeMembershipFactory(scheme=scheme, business=business)
    poster = factories.UserFactory()
    for _ in range(rows):
        factories.AlertFactory(scheme=scheme, posted_by=poster)
    client.force_login(owner)

    # 1 session, 2 user, 3 the scheme, 4-5 the person's permissions, 6 coordinator check,
    # 7 membership check, 8 count for the pages, 9 the page of alerts with who posted them.
    with django_assert_num_queries(QUERIES_ALERT_ARCHIVE):
        response = client.get(reverse("resources:alert_list", args=[scheme.slug]))
    assert len(response.context["page"]) == rows


@pytest.mark.parametrize("rows", SIZES)
def test_it_reads_the_manage_page_in_a_fixed_number_of_queries(
    client, db, rows, django_assert_num_queries
):
    coordinator = factories.UserFactory()
    scheme = factories.WatchSchemeFactory(coordinators=[coordinator])
    for _ in range(rows):
        factories.SchemeMembershipFactory(scheme=scheme)
        factories.SchemeMembershipFactory(scheme=scheme, status="pending", decided_at=None)
    client.force_login(coordinator)

    # 1 session, 2 user, 3 the scheme, 4-5 permissions, 6-8 coordinator checks (finding the
    # scheme, deciding, posting), 9 count of pending applications, 10 their page, 11 count of
    # members, 12 their page; each page with businesses and contacts.
    with django_assert_num_queries(QUERIES_SCHEME_MANAGE):
        response = client.get(reverse("resources:scheme_manage", args=[scheme.slug]))
    members, pending = response.context["members"], response.context["pending"]
    assert (members.paginator.count, pending.paginator.count) == (rows, rows)
