"""The review queue: what each member sees, time left, filters and sorting, query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from engagement.models import Concern
from escalation import review
from tests import factories

QUEUE = "/partnership/"


def refs(response) -> list[str]:
    """The item references on the page, in the order shown."""
    return [row["ref"] for row in response.context["items"]]


@pytest.fixture
def poole_items(chain, business, area):
    now = timezone.now()
    return {
        "soon": factories.concern_at(business, tier=2, due=now + dt.timedelta(days=2)),
        "later": factories.concern_at(
            business, tier=2, due=now + dt.timedelta(days=20), priority=Concern.Priority.URGENT
        ),
        "overdue": factories.concern_at(business, tier=2, due=now - dt.timedelta(hours=3)),
        "theme": factories.ThemeFactory(
            npt_area=area, resolution_due_at=now + dt.timedelta(days=9)
        ),
        "top": factories.concern_at(business, tier=3, due=now + dt.timedelta(days=30)),
    }


@pytest.fixture
def dorchester_items(chain, other_business, other_area):
    return {
        "concern": factories.concern_at(other_business, tier=2),
        "theme": factories.ThemeFactory(npt_area=other_area),
        "top": factories.concern_at(other_business, tier=3),
    }


def test_it_shows_a_group_member_their_groups_open_items_at_tier_2(
    client, poole_items, dorchester_items, business, group_member
):
    factories.concern_at(business, tier=2, status=Concern.Status.RESOLVED)
    client.force_login(group_member)

    response = client.get(QUEUE)

    assert response.status_code == 200
    assert set(refs(response)) == {
        poole_items[name].reference for name in ("soon", "later", "overdue", "theme")
    }


def test_it_shows_the_partnership_the_county_at_tier_3_by_default(
    client, poole_items, dorchester_items, partnership_member
):
    client.force_login(partnership_member)

    response = client.get(QUEUE)

    assert set(refs(response)) == {poole_items["top"].reference, dorchester_items["top"].reference}


def test_it_lets_the_partnership_look_at_every_groups_queue(
    client, poole_items, dorchester_items, partnership_member
):
    client.force_login(partnership_member)

    tier_2 = set(refs(client.get(QUEUE, {"tier": "2"})))
    everything = set(refs(client.get(QUEUE, {"tier": "0"})))

    assert tier_2 == {
        poole_items[name].reference for name in ("soon", "later", "overdue", "theme")
    } | {dorchester_items["concern"].reference, dorchester_items["theme"].reference}
    assert everything == tier_2 | {poole_items["top"].reference, dorchester_items["top"].reference}


def test_it_does_not_let_a_group_member_widen_the_queue(
    client, poole_items, dorchester_items, group_member
):
    client.force_login(group_member)

    for tier in ("3", "0", "2"):
        shown = set(refs(client.get(QUEUE, {"tier": tier})))
        assert dorchester_items["concern"].reference not in shown
        assert poole_items["top"].reference not in shown


def test_it_shows_the_time_left_and_says_plainly_when_an_item_is_overdue(
    client, poole_items, group_member
):
    client.force_login(group_member)

    page = client.get(QUEUE).content.decode()

    assert "Overdue since" in page or "Overdue by" in page
    assert "working days left" in page or "working day left" in page


def test_it_does_not_call_a_concern_waiting_for_the_business_overdue(
    client, chain, business, group_member
):
    paused_at = timezone.now() - dt.timedelta(days=7)
    concern = factories.concern_at(
        business, tier=2, due=timezone.now() - dt.timedelta(days=1), status="waiting"
    )
    Concern.objects.filter(pk=concern.pk).update(paused_at=paused_at)
    client.force_login(group_member)

    page = client.get(QUEUE).content.decode()

    assert "Clock paused while waiting for the business" in page
    assert "Overdue" not in page
    assert refs(client.get(QUEUE, {"overdue": "on"})) == []


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"kind": "theme"}, {"theme"}),
        ({"kind": "concern"}, {"soon", "later", "overdue"}),
        ({"priority": "urgent"}, {"later"}),
        ({"overdue": "on"}, {"overdue"}),
    ],
)
def test_it_filters_the_queue(client, poole_items, group_member, params, expected):
    client.force_login(group_member)

    assert set(refs(client.get(QUEUE, params))) == {poole_items[n].reference for n in expected}


def test_it_filters_by_category_and_npt_area(
    client, chain, business, other_business, area, partnership_member
):
    fraud = factories.category("fraud")
    wanted = factories.concern_at(business, tier=3, category=fraud)
    factories.concern_at(business, tier=3)
    factories.concern_at(other_business, tier=3, category=fraud)
    client.force_login(partnership_member)

    response = client.get(QUEUE, {"category": fraud.pk, "area": area.pk})

    assert refs(response) == [wanted.reference]


def test_it_ignores_filter_values_that_make_no_sense(client, poole_items, group_member):
    client.force_login(group_member)

    response = client.get(
        QUEUE, {"category": "abc", "area": "99999", "priority": "<b>", "sort": "x", "page": "z"}
    )

    assert response.status_code == 200
    assert len(refs(response)) == 4


def test_it_sorts_by_due_date_newest_and_priority(client, poole_items, group_member):
    client.force_login(group_member)
    Concern.objects.filter(pk=poole_items["soon"].pk).update(
        created_at=timezone.now() + dt.timedelta(minutes=5)
    )
    names = {item.reference: name for name, item in poole_items.items()}

    def order(sort):
        return [names[ref] for ref in refs(client.get(QUEUE, {"sort": sort}))]

    assert order("due") == ["overdue", "soon", "theme", "later"]
    assert order("newest")[0] == "soon"
    assert order("priority")[0] == "later"
    assert order("priority")[1:] == ["overdue", "soon", "theme"]


def test_it_keeps_the_filters_when_paging(client, chain, business, group_member, monkeypatch):
    from escalation import views

    monkeypatch.setattr(views, "QUEUE_PAGE_SIZE", 2)
    for _ in range(5):
        factories.concern_at(business, tier=2)
    client.force_login(group_member)

    first = client.get(QUEUE, {"kind": "concern"})
    second = client.get(QUEUE, {"kind": "concern", "page": "2"})
    third = client.get(QUEUE, {"kind": "concern", "page": "3"})

    assert "kind=concern&amp;page=2" in first.content.decode()
    shown = refs(first) + refs(second) + refs(third)
    assert len(shown) == len(set(shown)) == 5


def test_it_links_each_row_to_its_item_page(client, poole_items, group_member):
    client.force_login(group_member)

    page = client.get(QUEUE).content.decode()

    theme = poole_items["theme"]
    assert f'href="/partnership/themes/{theme.pk}/"' in page
    assert f'href="/partnership/concerns/{poole_items["soon"].pk}/"' in page


def test_it_counts_time_left_in_working_days():
    now = timezone.make_aware(dt.datetime(2026, 12, 21, 10, 0))  # a Monday before Christmas
    due = timezone.make_aware(dt.datetime(2026, 12, 30, 10, 0))

    left = review.time_left(due, now=now)
    late = review.time_left(now, now=due)

    # Tue 22, Wed 23, Thu 24, Tue 29, Wed 30: Christmas and Boxing Day (moved to 28th) skipped.
    assert left.text == "5 working days left"
    assert not left.overdue
    assert late.text == "Overdue by 5 working days"
    assert late.overdue


@pytest.mark.parametrize("rows", [1, 30])
def test_it_reads_the_queue_in_a_fixed_number_of_queries(
    client, chain, business, area, group_member, rows, django_assert_num_queries
):
    factories.ThemeFactory(npt_area=area)
    for _ in range(rows):
        factories.concern_at(business, tier=2)
    client.force_login(group_member)
    # 1. the session
    # 2. the signed-in user
    # 3. the groups the person is in (member_scope)
    # 4. whether they are in the Partnership (member_scope)
    # 5. the categories for the filter
    # 6. the NPT areas in their scope for the filter
    # 7. how many items match (for the paginator)
    # 8. the page of concerns and themes (one UNION)
    with django_assert_num_queries(8):
        response = client.get(QUEUE, {"sort": "priority"})
    assert len(response.context["items"]) == rows + 1


def test_it_shows_a_member_of_both_their_group_and_the_county_top(
    client, chain, poole_items, dorchester_items, group
):
    from escalation.models import GroupMembership

    both = factories.PartnershipMemberFactory(email="both@example.org")
    GroupMembership.objects.create(user=both, group=group)
    client.force_login(both)

    shown = set(refs(client.get(QUEUE)))

    assert shown == {
        poole_items[name].reference for name in ("soon", "later", "overdue", "theme", "top")
    } | {dorchester_items["top"].reference}


@pytest.mark.postgres
def test_it_reads_the_queue_from_its_index(poole_items, partnership_member):
    # Open concerns above tier 1 come from concern_queue_idx (engagement migration 0015), not a
    # scan of every concern with a probe of its events; the tiny test table would hide that, so
    # sequential scans are priced out.
    rows = review.queue(partnership_member, review.QueueFilters(tiers=(2, 3)))
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Either index of open concerns serves it; which one a tiny table prefers is a coin toss.
    assert "concern_queue_idx" in plan or "concern_open_idx" in plan
    assert "engagement_concernevent" not in plan
