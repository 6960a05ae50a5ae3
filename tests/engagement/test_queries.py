"""The pages that list rows cost the same number of queries for one row as for fifty."""

import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from engagement import services
from engagement.views import MY_CONCERNS_PAGE_SIZE as MY_PAGE
from tests import factories


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def make_concerns(n, business, owner, officer):
    """n concerns in every state a list shows: updates, questions, notes, outcomes."""
    concerns = []
    for i in range(n):
        concern = factories.ConcernFactory(
            business=business,
            reporter=owner,
            category=factories.category(["theft", "fraud", "damage"][i % 3]),
            created_at=timezone.now() - dt.timedelta(days=i),
        )
        services.concern_assign(concern=concern, officer=officer, actor=officer)
        services.concern_post_update(concern=concern, actor=officer, body=f"Update {i}")
        services.concern_add_note(concern=concern, actor=officer, body=f"Note {i}")
        if i % 3 == 1:
            services.concern_ask_question(concern=concern, actor=officer, body="When?")
        if i % 3 == 2:
            services.concern_resolve(concern=concern, actor=officer, outcome=factories.outcome())
        factories.AttachmentFactory(concern=concern)
        concerns.append(concern)
    return concerns


@pytest.mark.parametrize("rows", [1, 50])
def test_it_lists_my_concerns_in_eight_queries_however_many(
    client, django_assert_num_queries, owner, business, npt_officer, rows
):
    make_concerns(rows, business, owner, npt_officer)
    factories.BusinessFactory(owner=owner, npt_area=business.npt_area, name="Second shop")
    client.force_login(owner)
    # 1. the session
    # 2. the signed-in user
    # 3. how many concerns I have (for the paginator)
    # 4. a page of my concerns with their business, category, NPT area and outcome
    # 5. the public updates of those concerns (prefetch, with their authors)
    # 6. my businesses with their NPT area
    # 7. my seminar bookings still to come, with seminar and business
    # 8. my businesses' open Watch scheme memberships, with scheme, business and contact
    with django_assert_num_queries(8):
        response = client.get("/my/")
    assert response.status_code == 200
    assert response.content.decode().count("/my/concerns/DBC-") == min(rows, MY_PAGE)


@pytest.mark.parametrize("rows", [1, 50])
def test_it_lists_the_officers_concerns_in_nine_queries_however_many(
    client, django_assert_num_queries, owner, business, npt_officer, rows
):
    make_concerns(rows, business, owner, npt_officer)
    client.force_login(npt_officer)
    # 1. the session
    # 2. the signed-in officer
    # 3. the NPT areas the officer is posted to (read once per request)
    # 4. the categories for the category filter
    # 5. how many concerns match (for the paginator)
    # 6. the officer's own permissions (for the admin's app list)
    # 7. the officer's group permissions (likewise)
    # 8. the page of concerns with category and assigned officer
    # 9. the businesses of that page, by id (joined to the page, PostgreSQL hashed every
    #    business in the county before sorting: engagement.admin.WorkbenchChangeList)
    # (No date hierarchy, which read every matching row twice: the "reported" filter lists
    # years and months from the calendar, without a query.)
    with django_assert_num_queries(9):
        response = client.get("/admin/engagement/concern/")
    assert response.status_code == 200
    assert response.content.decode().count("/change/") >= rows


def change_page_queries(client, concern) -> int:
    url = f"/admin/engagement/concern/{concern.pk}/change/"
    client.get(url)  # warm the content-type cache, which fills once per process
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def test_it_shows_a_concern_in_the_admin_without_a_query_per_update_or_attachment(
    client, owner, business, npt_officer
):
    (quiet,) = make_concerns(1, business, owner, npt_officer)
    (busy,) = make_concerns(1, business, owner, npt_officer)
    for i in range(15):
        services.concern_post_update(concern=busy, actor=npt_officer, body=f"More {i}")
        services.concern_add_note(
            concern=busy, actor=factories.OfficerFactory(area=business.npt_area), body=f"Note {i}"
        )
        factories.AttachmentFactory(concern=busy)
    client.force_login(npt_officer)
    assert busy.updates.count() > quiet.updates.count() + 20
    assert change_page_queries(client, busy) == change_page_queries(client, quiet)


@pytest.mark.parametrize("templates_per_form", [1, 10])
def test_it_shows_a_concern_in_the_admin_in_fourteen_queries_however_many_templates(
    client, django_assert_num_queries, owner, business, npt_officer, templates_per_form
):
    (concern,) = make_concerns(1, business, owner, npt_officer)  # in progress, at the NPT
    for used_for in ("update", "question", "resolve"):
        for n in range(templates_per_form):
            factories.ResponseTemplateFactory(used_for=used_for, title=f"{used_for} {n}")
            factories.ResponseTemplateFactory(used_for=used_for, category=concern.category)
    url = f"/admin/engagement/concern/{concern.pk}/change/"
    client.force_login(npt_officer)
    client.get(url)  # warm the content-type cache, which fills once per process
    # 1. the session
    # 2. the signed-in officer
    # 3. the NPT areas the officer is posted to (read once per request)
    # 4. the concern, for the triage forms, with its business, category, area and outcome
    # 5. the response templates that fit it, for every form at once
    # 6. the concern again, for Django's change form
    # 7. its updates, questions, replies and notes with their authors
    # 8. the officer's own permissions (for the page's links)
    # 9. the officer's group permissions (likewise)
    # 10. its attachments
    # 11. its history with each event's actor
    # 12. the NPT's officers, for "Assign to"
    # 13. the outcomes, for "Resolve with an outcome"
    # 14. the concerns joined to it as duplicates (its "duplicate of" comes with query 6)
    with django_assert_num_queries(14):
        response = client.get(url)
    assert response.status_code == 200
    picker = response.context["triage_forms"]["update"]["templates"]
    assert len(picker["choices"]) == 2 * templates_per_form


def test_it_shows_a_concern_to_its_owner_without_a_query_per_update(
    client, owner, business, npt_officer
):
    (quiet,) = make_concerns(1, business, owner, npt_officer)
    (busy,) = make_concerns(1, business, owner, npt_officer)
    for i in range(15):
        services.concern_post_update(concern=busy, actor=npt_officer, body=f"More {i}")
        factories.AttachmentFactory(concern=busy)
    client.force_login(owner)
    counts = []
    for concern in (quiet, busy):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(f"/my/concerns/{concern.reference}/").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


@pytest.mark.parametrize("rows", [1, 50])
def test_it_lists_my_concerns_at_every_tier_in_eight_queries(
    client, django_assert_num_queries, owner, business, rows
):
    from escalation.models import CoordinatingGroup

    area = business.npt_area
    area.group = CoordinatingGroup.objects.create(name="BCP Group", slug="bcp")
    area.save()
    for i in range(rows):
        factories.ConcernFactory(business=business, reporter=owner, tier=[2, 3, 1][i % 3])
    client.force_login(owner)
    # The same eight queries as above: "where it is now" names the group without a query.
    with django_assert_num_queries(8):
        response = client.get("/my/")
    assert "With the BCP Group" in response.content.decode()


WORKBENCH_NOW = timezone.make_aware(dt.datetime(2026, 12, 2, 10, 0))  # a Wednesday


def sign_in_at_workbench_now(client, user):
    # Signed in when the page is read: a session left idle since the real now would have ended.
    with time_machine.travel(WORKBENCH_NOW, tick=False):
        client.force_login(user)


def workbench_rows(n, business, owner, officer) -> dict[str, int]:
    """n concerns made a month ago, by thirds overdue, waiting for the business, resolved."""
    with time_machine.travel(WORKBENCH_NOW - dt.timedelta(days=30), tick=False):
        make_concerns(n, business, owner, officer)
    return {"overdue": (n + 2) // 3, "waiting": (n + 1) // 3}


@pytest.mark.parametrize("rows", [1, 30])
def test_it_lists_the_workbench_with_its_deadlines_in_nine_queries_however_many(
    client, django_assert_num_queries, owner, business, npt_officer, rows
):
    states = workbench_rows(rows, business, owner, npt_officer)
    sign_in_at_workbench_now(client, npt_officer)
    # The same nine as without the deadline columns: the next due date and the words for
    # it are worked out in the page's query (an annotation) and in Python, not per row.
    # 1. the session
    # 2. the signed-in officer
    # 3. the NPT areas the officer is posted to (read once per request)
    # 4. the categories for the category filter
    # 5. how many concerns match (for the paginator)
    # 6. the officer's own permissions (for the admin's app list)
    # 7. the officer's group permissions (likewise)
    # 8. the page of concerns with category, assigned officer and next due date
    # 9. the businesses of that page, by id
    with time_machine.travel(WORKBENCH_NOW, tick=False), django_assert_num_queries(9):
        response = client.get("/admin/engagement/concern/")
    page = response.content.decode()
    assert response.status_code == 200
    assert page.count("/change/") >= rows
    assert page.count("Overdue by") == states["overdue"]
    assert page.count("Clock paused while waiting for the business") == states["waiting"]


@pytest.mark.parametrize("rows", [1, 30])
def test_it_filters_the_overdue_in_nine_queries_however_many(
    client, django_assert_num_queries, owner, business, npt_officer, rows
):
    states = workbench_rows(rows, business, owner, npt_officer)
    sign_in_at_workbench_now(client, npt_officer)
    # The same nine as the unfiltered list: the filter is a condition in queries 5 and 8.
    with time_machine.travel(WORKBENCH_NOW, tick=False), django_assert_num_queries(9):
        response = client.get("/admin/engagement/concern/?due=overdue")
    assert response.content.decode().count("Overdue by") == states["overdue"]


@pytest.mark.parametrize("rows", [1, 30])
def test_it_counts_the_workbench_on_the_admin_index_in_seven_queries_however_many(
    client, django_assert_num_queries, owner, business, npt_officer, rows
):
    states = workbench_rows(rows, business, owner, npt_officer)
    sign_in_at_workbench_now(client, npt_officer)
    # 1. the session
    # 2. the signed-in officer
    # 3. the officer's own permissions (for the app list)
    # 4. the officer's group permissions (likewise)
    # 5. the NPT areas the officer is posted to
    # 6. overdue, waiting and new counted together (one aggregate, once per request)
    # 7. the officer's recent actions (the index's side panel)
    with time_machine.travel(WORKBENCH_NOW, tick=False), django_assert_num_queries(7):
        response = client.get("/admin/")
    assert response.status_code == 200
    assert f"Concerns ({states['overdue']} overdue" in response.content.decode()
