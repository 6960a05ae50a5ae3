"""Insight reads a fixed number of queries however much there is to count."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from engagement.models import Concern, ConcernEvent
from escalation import rollup
from escalation.models import Theme, ThemeEvent
from tests import factories

CATEGORIES = ["theft", "fraud", "asb", "cyber", "burglary"]


def fill(business, other_business, area, other_area, size):
    """`size` of everything insight counts, spread over categories, areas, tiers and months."""
    now = timezone.now()
    outcomes = [factories.outcome(slug) for slug in ("advice-given", "referred-nbcc")]
    for index in range(size):
        target = other_business if index % 2 else business
        concern = factories.concern_at(
            target, tier=1 + index % 3, category=factories.category(CATEGORIES[index % 5])
        )
        Concern.objects.filter(pk=concern.pk).update(
            created_at=now - dt.timedelta(days=29 * (index % 12))
        )
        if index % 4 == 0:
            Concern.objects.filter(pk=concern.pk).update(
                status=Concern.Status.CLOSED,
                outcome=outcomes[index % 2],
                resolved_at=now - dt.timedelta(days=1),
                reporter_satisfied=bool(index % 3),
            )
        if index % 5 == 0:
            ConcernEvent.objects.create(
                concern=concern, kind="escalated", rule="overdue", from_tier=1, to_tier=2
            )
    for index in range(min(size, len(CATEGORIES))):
        theme = factories.ThemeFactory(
            npt_area=area if index % 2 else other_area,
            category=factories.category(CATEGORIES[index]),
        )
        ThemeEvent.objects.create(
            theme=theme, kind="escalated", rule="overdue", from_tier=2, to_tier=3
        )
        if index % 2:
            Theme.objects.filter(pk=theme.pk).update(
                status=Theme.Status.RESOLVED, outcome=outcomes[0], resolved_at=now
            )
    rollup.insight_refresh(full=True)


# 1. the session
# 2. the signed-in user
# 3. the groups the person is in (member_scope)
# 4. whether they are in the Partnership (member_scope)
# 5. the NPT areas with their groups, for the area or group choice (the Partnership only)
# 6. concerns reported by NPT area and category (roll-up; by category and by area)
# 7. the categories
# 8. the NPT areas in scope
# 9. concerns reported by month, with the businesses' answers (roll-up; satisfaction too)
# 10. open themes by tier
# 11. open and overdue concerns by tier (roll-up)
# 12. concern deadlines met, late and swept per tier (roll-up)
# 13. themes met, late and overdue per tier
# 14. themes moved up by the overdue sweep, per tier they left
# 15. themes open and resolved by category
# 16. themes given each outcome
# 17. concerns given each outcome (roll-up)
# 18. the outcomes
# 19. when the roll-up last counted
PAGE_QUERIES = {"partnership_member": 19, "group_member": 18}


@pytest.mark.parametrize("size", [1, 40])
@pytest.mark.parametrize("person", ["partnership_member", "group_member"])
def test_it_reads_the_insight_page_in_a_fixed_number_of_queries(
    request,
    client,
    chain,
    business,
    other_business,
    area,
    other_area,
    size,
    person,
    django_assert_num_queries,
):
    fill(business, other_business, area, other_area, size)
    client.force_login(request.getfixturevalue(person))

    with django_assert_num_queries(PAGE_QUERIES[person]):
        response = client.get("/partnership/insight/")
    assert response.status_code == 200
    assert sum(d.total for d in response.context["datasets"]) > 0


@pytest.mark.parametrize("size", [1, 40])
def test_it_reads_a_csv_export_in_a_fixed_number_of_queries(
    client,
    chain,
    business,
    other_business,
    area,
    other_area,
    partnership_member,
    size,
    django_assert_num_queries,
):
    fill(business, other_business, area, other_area, size)
    client.force_login(partnership_member)

    # session, user, member_scope (2), the NPT areas for the choice, then the dataset's own
    # four queries: concern deadlines and open concerns (roll-up), theme deadlines, theme moves
    with django_assert_num_queries(9):
        response = client.get(reverse("escalation:insight_csv", args=["deadline-performance"]))
    assert response.status_code == 200
