"""Who sees what above tier 1: the scoping the /partnership/ pages are built on."""

import pytest
from django.http import Http404

from engagement.models import Concern, ConcernEvent
from escalation import selectors, services
from escalation.models import Theme
from tests import factories

from .conftest import concern_at_tier


def queue(model, user):
    """Open items waiting at the person's tier(s), within their scope."""
    scope = selectors.member_scope(user)
    return model.objects.filter(selectors.own_queue_q(scope), status__in=model.OPEN_STATUSES)


@pytest.fixture
def items(chain, business, other_business, area, other_area, npt_officer):
    """One of everything: concerns at each tier in each group's area, and a theme in each."""
    return {
        "poole_t1": concern_at_tier(business, 1),
        "poole_t2": concern_at_tier(business, 2),
        "poole_t3": concern_at_tier(business, 3),
        "dorchester_t2": concern_at_tier(other_business, 2),
        "dorchester_t3": concern_at_tier(other_business, 3),
        "poole_theme": factories.ThemeFactory(npt_area=area),
        "dorchester_theme": factories.ThemeFactory(npt_area=other_area),
    }


def test_a_group_member_sees_only_their_groups_items(items, group_member):
    concerns = set(selectors.concerns_in_scope(group_member))
    themes = set(selectors.themes_in_scope(group_member))

    assert concerns == {items["poole_t2"], items["poole_t3"]}
    assert themes == {items["poole_theme"]}


def test_a_partnership_member_sees_the_county(items, partnership_member):
    concerns = set(selectors.concerns_in_scope(partnership_member))

    assert concerns == {
        items["poole_t2"],
        items["poole_t3"],
        items["dorchester_t2"],
        items["dorchester_t3"],
    }
    assert set(selectors.themes_in_scope(partnership_member)) == {
        items["poole_theme"],
        items["dorchester_theme"],
    }


def test_the_chair_is_a_partnership_member(items, chair):
    assert selectors.member_scope(chair).is_partnership
    assert items["dorchester_t3"] in selectors.concerns_in_scope(chair)


@pytest.mark.parametrize("person", ["owner", "npt_officer", "superuser"])
def test_nobody_else_sees_items_above_tier_1(request, items, person):
    user = request.getfixturevalue(person)

    assert not selectors.concerns_in_scope(user).exists()
    assert not selectors.themes_in_scope(user).exists()
    assert queue(Concern, user).count() == 0


def test_the_queue_holds_open_items_at_the_persons_tier(items, group_member, partnership_member):
    Concern.objects.filter(pk=items["poole_t2"].pk).update(status=Concern.Status.IN_PROGRESS)

    assert list(queue(Concern, group_member)) == [items["poole_t2"]]
    assert list(queue(Theme, group_member)) == [items["poole_theme"]]
    assert set(queue(Concern, partnership_member)) == {
        items["poole_t3"],
        items["dorchester_t3"],
    }


def test_a_returned_concern_stays_visible_to_the_group_that_returned_it(
    items, group_member, other_group_member
):
    concern = items["poole_t2"]
    ConcernEvent.objects.create(concern=concern, kind="escalated", from_tier=1, to_tier=2)
    services.item_return(item=concern, actor=group_member, guidance="Back to you.")

    assert concern in selectors.concerns_in_scope(group_member)
    assert concern not in queue(Concern, group_member)
    assert concern not in selectors.concerns_in_scope(other_group_member)


def test_item_for_user_404s_what_the_person_may_not_see(items, group_member):
    assert selectors.item_for_user(group_member, "concern", items["poole_t2"].pk)
    assert selectors.item_for_user(group_member, "theme", items["poole_theme"].pk)
    for kind, pk in [
        ("concern", items["dorchester_t2"].pk),
        ("concern", items["poole_t1"].pk),
        ("theme", items["dorchester_theme"].pk),
        ("concern", 999_999),
        ("nonsense", items["poole_t2"].pk),
    ]:
        with pytest.raises(Http404):
            selectors.item_for_user(group_member, kind, pk)


def test_only_the_owning_body_may_act(items, group_member, other_group_member, partnership_member):
    assert selectors.user_can_act(group_member, items["poole_t2"])
    assert not selectors.user_can_act(group_member, items["poole_t3"])
    assert not selectors.user_can_act(other_group_member, items["poole_t2"])
    assert selectors.user_can_act(partnership_member, items["dorchester_t3"])
    assert not selectors.user_can_act(partnership_member, items["dorchester_t2"])


def test_it_names_the_body_that_owns_each_item(items):
    assert str(selectors.owning_body(items["poole_t1"])) == "Poole Neighbourhood Policing Team"
    assert str(selectors.owning_body(items["poole_t2"])) == "BCP Business Co-ordinating Group"
    assert str(selectors.owning_body(items["poole_t3"])) == "Dorset Business Safety Partnership"


def test_the_timeline_and_decisions_load_in_constant_queries(
    items, group_member, django_assert_num_queries
):
    concern = items["poole_t2"]
    for n in range(3):
        services.decision_record(item=concern, actor=group_member, summary=f"Decision {n}")

    with django_assert_num_queries(1):  # events with their actors
        events = list(selectors.item_events(concern))
    with django_assert_num_queries(2):  # decisions with their makers; their actions with owners
        decisions = list(selectors.item_decisions(concern))
        _ = [list(d.actions.all()) for d in decisions]
    assert len(events) == 3 and len(decisions) == 3
