"""The specialist team's screens cost the same number of queries for one row as for thirty."""

import datetime as dt

import pytest
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone

from engagement import services
from engagement.models import SpecialistConcern
from tests import factories

LIST = "/admin/engagement/specialistconcern/"


def referred_concerns(n, businesses, owner, officer, specialist):
    """n rural concerns spread over the county, each with a thread, a note and an attachment."""
    concerns = []
    for i in range(n):
        business = businesses[i % len(businesses)]
        concern = factories.ConcernFactory(
            business=business,
            reporter=owner,
            category=factories.category("rural"),
            created_at=timezone.now() - dt.timedelta(days=i),
        )
        services.concern_refer_to_specialists(concern=concern)
        services.concern_post_update(concern=concern, actor=officer, body=f"Update {i}")
        services.concern_add_note(concern=concern, actor=specialist, body=f"Note {i}")
        factories.AttachmentFactory(concern=concern)
        concerns.append(concern)
    return concerns


@pytest.fixture
def county(business, other_business):
    return [business, other_business]


@pytest.mark.parametrize("rows", [1, 30])
def test_it_lists_the_teams_concerns_in_nine_queries_however_many(
    client, django_assert_num_queries, county, owner, npt_officer, rural_specialist, rows
):
    concerns = referred_concerns(rows, county, owner, npt_officer, rural_specialist)
    client.force_login(rural_specialist)
    # 1. the session
    # 2. the signed-in member
    # 3. the member's specialist teams and NPT postings (none), together, once per request
    # 4. the categories for the category filter
    # 5. the NPT areas for the NPT area filter
    # 6. how many concerns are referred to the team (for the paginator)
    # 7. the member's own permissions (for the admin's app list)
    # 8. the member's group permissions (likewise)
    # 9. the page of concerns with business, category and NPT area
    with django_assert_num_queries(9):
        response = client.get(LIST)
    assert response.status_code == 200
    page = response.content.decode()
    assert all(concern.reference in page for concern in concerns)


@pytest.mark.parametrize("rows", [1, 30])
def test_it_opens_a_concern_in_eleven_queries_however_long_its_thread(
    client, django_assert_num_queries, business, owner, npt_officer, rural_specialist, rows
):
    concern = factories.ConcernFactory(
        business=business, reporter=owner, category=factories.category("rural")
    )
    services.concern_refer_to_specialists(concern=concern)
    for i in range(rows):
        services.concern_post_update(concern=concern, actor=npt_officer, body=f"Update {i}")
        services.concern_add_note(concern=concern, actor=rural_specialist, body=f"Note {i}")
        factories.AttachmentFactory(concern=concern)
    client.force_login(rural_specialist)
    # A running server has the page model's content type cached (for its "History" link).
    ContentType.objects.get_for_model(SpecialistConcern, for_concrete_model=False)
    # 1. the session
    # 2. the signed-in member
    # 3. the member's specialist teams and NPT postings (none), together, once per request
    # 4. the concern, scoped to the team, for the note and advice forms
    # 5. the concern again, for Django's read-only form (the same scoped query)
    # 6. the thread: updates, questions, replies and notes, with their authors
    # 7. the member's own permissions (for the admin's sidebar of apps)
    # 8. the member's group permissions (likewise)
    # 9. the attachments
    # 10. the history of events, with their actors
    # 11. the teams the concern was referred to
    with django_assert_num_queries(11):
        response = client.get(f"{LIST}{concern.pk}/change/")
    assert response.status_code == 200
