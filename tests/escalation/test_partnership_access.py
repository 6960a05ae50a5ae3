"""Who may reach the review area: every page, by URL and by guessed ids, for concerns and themes."""

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from engagement.models import Concern, ConcernEvent
from escalation import services
from escalation.models import Action, Decision, Theme
from tests import factories

PAGES = ["escalation:queue", "escalation:insight"]
ITEM_POSTS = {
    "decide": {"decision-summary": "Do it."},
    "escalate": {"escalate-reason": "Up.", "escalate-from_tier": "2"},
    "return": {"return-guidance": "Down.", "return-from_tier": "2"},
    "resolve": {"resolve-outcome": "1", "resolve-from_tier": "2"},
}


@pytest.fixture
def items(chain, business, other_business, area, other_area, group_member):
    poole = factories.concern_at(business, tier=2)
    decision = services.decision_record(
        item=poole,
        actor=group_member,
        summary="Lighting in the lane.",
        actions=[
            services.ActionSpec(
                "Fix the lights", factories.partner("bcp-council"), dt.date(2030, 1, 1)
            )
        ],
    )
    return {
        "poole_concern": poole,
        "poole_theme": factories.ThemeFactory(npt_area=area),
        "poole_top": factories.concern_at(business, tier=3),
        "poole_npt_only": factories.ConcernFactory(business=business),
        "dorchester_concern": factories.concern_at(other_business, tier=2),
        "dorchester_theme": factories.ThemeFactory(npt_area=other_area),
        "action": decision.actions.get(),
    }


def kind_of(item):
    return "theme" if isinstance(item, Theme) else "concern"


def item_url(item, name="item"):
    return reverse(f"escalation:{name}", args=[kind_of(item), item.pk])


def action_url(item, action):
    return reverse("escalation:action_done", args=[kind_of(item), item.pk, action.pk])


def every_url(items):
    """Every GET page and every POST endpoint of the review area, for a concern and a theme."""
    gets = [reverse(name) for name in PAGES]
    gets.append(reverse("escalation:insight_csv", args=["concerns-by-category"]))
    posts = []
    for item in (items["poole_concern"], items["poole_theme"]):
        gets.append(item_url(item))
        posts += [(item_url(item, name), data) for name, data in ITEM_POSTS.items()]
    posts.append((action_url(items["poole_concern"], items["action"]), {}))
    return gets, posts


def assert_nothing_changed(items):
    concern = Concern.objects.get(pk=items["poole_concern"].pk)
    theme = Theme.objects.get(pk=items["poole_theme"].pk)
    assert (concern.tier, concern.status) == (2, Concern.Status.NEW)
    assert (theme.tier, theme.status) == (2, Theme.Status.OPEN)
    assert Decision.objects.count() == 1
    assert not Action.objects.filter(completed_at__isnull=False).exists()
    assert not ConcernEvent.objects.filter(kind__in=["returned", "resolved", "action_done"])


def test_it_sends_anonymous_people_to_sign_in(client, items):
    gets, posts = every_url(items)
    for url in gets:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    for url, data in posts:
        response = client.post(url, data)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("account_login")), url
    assert_nothing_changed(items)


@pytest.mark.parametrize("person", ["owner", "npt_officer", "other_npt_officer", "superuser"])
def test_it_refuses_every_page_to_people_outside_the_chain(request, client, items, person):
    client.force_login(request.getfixturevalue(person))
    gets, posts = every_url(items)

    for url in gets:
        assert client.get(url).status_code == 403, url
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert_nothing_changed(items)


def test_it_hides_another_groups_concerns_and_themes(client, items, other_group_member):
    client.force_login(other_group_member)
    gets, posts = every_url(items)

    for url in gets[3:]:  # the item pages; the queue and insight are theirs to see
        assert client.get(url).status_code == 404, url
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
    assert_nothing_changed(items)
    queue = client.get(reverse("escalation:queue")).content.decode()
    assert items["poole_concern"].reference not in queue
    assert items["poole_theme"].reference not in queue


@pytest.mark.parametrize("kind", ["concern", "theme"])
def test_it_404s_guessed_ids(client, items, group_member, kind):
    client.force_login(group_member)
    largest = max(Concern.objects.order_by("-pk")[0].pk, Theme.objects.order_by("-pk")[0].pk)
    for pk in (largest + 1, 999_999, 0):
        assert client.get(reverse("escalation:item", args=[kind, pk])).status_code == 404
        for name, data in ITEM_POSTS.items():
            url = reverse(f"escalation:{name}", args=[kind, pk])
            assert client.post(url, data).status_code == 404, url


def test_it_404s_a_concern_the_npt_still_holds(client, items, group_member):
    client.force_login(group_member)
    concern = items["poole_npt_only"]

    assert client.get(item_url(concern)).status_code == 404
    assert client.post(item_url(concern, "escalate"), ITEM_POSTS["escalate"]).status_code == 404


def test_it_404s_an_action_guessed_onto_another_item(client, items, group_member):
    client.force_login(group_member)
    other = items["poole_theme"]

    response = client.post(action_url(other, items["action"]))

    assert response.status_code == 404
    assert_nothing_changed(items)


def test_it_lets_a_group_member_follow_but_not_change_an_item_at_the_partnership(
    client, items, group_member
):
    client.force_login(group_member)
    top = items["poole_top"]

    page = client.get(item_url(top))
    assert page.status_code == 200
    assert "Record a decision" not in page.content.decode()
    for name, data in ITEM_POSTS.items():
        data = {**data, f"{name}-from_tier": "3"}
        assert client.post(item_url(top, name), data).status_code == 403, name
    top.refresh_from_db()
    assert (top.tier, top.status) == (3, Concern.Status.NEW)


def test_it_lets_the_partnership_see_but_not_change_an_item_a_group_holds(
    client, items, partnership_member
):
    client.force_login(partnership_member)
    concern = items["dorchester_concern"]

    assert client.get(item_url(concern)).status_code == 200
    for name, data in ITEM_POSTS.items():
        assert client.post(item_url(concern, name), data).status_code == 403, name
    assert client.post(action_url(items["poole_concern"], items["action"])).status_code == 403
    concern.refresh_from_db()
    assert concern.tier == 2
    assert_nothing_changed(items)


def test_it_accepts_changes_only_by_post(client, items, group_member):
    client.force_login(group_member)
    concern = items["poole_concern"]

    for name in ITEM_POSTS:
        assert client.get(item_url(concern, name)).status_code == 405
    assert client.get(action_url(concern, items["action"])).status_code == 405


def test_it_shows_the_partnership_link_only_to_members(
    client, items, owner, group_member, partnership_member
):
    link = f'href="{reverse("escalation:queue")}"'
    client.force_login(owner)
    assert link not in client.get("/").content.decode()
    for member in (group_member, partnership_member):
        client.force_login(member)
        assert link in client.get("/").content.decode()


def test_it_never_shows_partners_the_reporters_contact_details(
    client, chain, business, area, owner, group_member
):
    concern = factories.concern_at(
        business,
        tier=2,
        reporter=owner,
        contact_name="Olive Secretname",
        contact_email="olive.private@example.org",
        contact_phone="07700 900123",
    )
    theme = factories.ThemeFactory(npt_area=area)
    theme.concerns.add(concern)
    client.force_login(group_member)

    for url in (item_url(concern), item_url(theme)):
        page = client.get(url).content.decode()
        assert concern.business.name in page
        for private in ("Secretname", "olive.private", "07700", owner.email, owner.full_name):
            assert private not in page, (url, private)


def test_it_names_the_business_not_the_reporter_in_the_timeline(
    client, chain, business, owner, group_member
):
    concern = factories.concern_at(business, tier=2, reporter=owner)
    ConcernEvent.objects.create(concern=concern, kind="submitted", actor=owner)
    ConcernEvent.objects.create(
        concern=concern, kind="replied", actor=owner, created_at=timezone.now()
    )
    client.force_login(group_member)

    page = client.get(item_url(concern)).content.decode()

    assert "The business" in page
    assert owner.full_name not in page
