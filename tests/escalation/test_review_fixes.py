"""Found in review: a theme's outcome settles its concerns, stale pages never resolve, odd input."""

import pytest
from django.urls import reverse

from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Theme
from tests import factories


def url(item, name):
    kind = "theme" if isinstance(item, Theme) else "concern"
    return reverse(f"escalation:{name}", args=[kind, item.pk])


@pytest.fixture
def theme(chain, area, other_owner):
    theme = factories.ThemeFactory(npt_area=area)
    for name in ("Quay Gifts", "Harbour Books", "Old Town Deli"):
        business = factories.BusinessFactory(owner=other_owner, npt_area=area, name=name)
        theme.concerns.add(
            factories.ConcernFactory(
                business=business,
                reporter=other_owner,
                contact_email=name.lower().replace(" ", ".") + "@example.org",
            )
        )
    return theme


def test_it_settles_every_open_linked_concern_with_the_themes_outcome(theme, group_member):
    closed = theme.concerns.first()
    Concern.objects.filter(pk=closed.pk).update(status=Concern.Status.CLOSED)
    outcome = factories.outcome("action-taken")

    services.item_resolve(item=theme, actor=group_member, outcome=outcome, note="Patrols.")

    settled = theme.concerns.exclude(pk=closed.pk)
    assert {c.status for c in settled} == {Concern.Status.RESOLVED}
    assert {c.outcome for c in settled} == {outcome}
    assert all(theme.reference in c.outcome_note and "Patrols." in c.outcome_note for c in settled)
    events = ConcernEvent.objects.filter(concern__in=settled, kind=ConcernEvent.Kind.RESOLVED)
    assert events.count() == 2
    assert set(events.values_list("rule", flat=True)) == {services.RULE_COMMON_THEME}
    assert Concern.objects.get(pk=closed.pk).status == Concern.Status.CLOSED
    assert not ConcernEvent.objects.filter(concern=closed).exists()


def test_it_lets_a_business_reopen_its_own_concern_after_a_theme_outcome(
    theme, group_member, other_owner
):
    from engagement import services as engagement_services

    services.item_resolve(
        item=theme, actor=group_member, outcome=factories.outcome("action-taken"), note=""
    )
    concern = theme.concerns.first()

    engagement_services.concern_feedback(concern=concern, author=other_owner, resolved=False)

    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS
    assert Theme.objects.get(pk=theme.pk).status == Theme.Status.RESOLVED


def test_it_does_not_email_a_reporter_who_deleted_their_account(theme, group_member):
    gone = theme.concerns.first()
    Concern.objects.filter(pk=gone.pk).update(contact_email="", reporter=None)

    services.item_resolve(
        item=theme, actor=group_member, outcome=factories.outcome("action-taken"), note=""
    )

    assert not OutboundEmail.objects.filter(to="").exists()
    assert OutboundEmail.objects.count() == 2  # the two businesses still reachable


def test_it_refuses_to_resolve_an_item_that_moved_since_the_page_was_shown(
    client, chain, business, owner, group_member
):
    concern = factories.concern_at(business, tier=2, reporter=owner)
    client.force_login(group_member)
    page_tier = "2"
    Concern.objects.filter(pk=concern.pk).update(tier=3)  # a sweep moved it meanwhile

    response = client.post(
        url(concern, "resolve"),
        {
            "resolve-outcome": str(factories.outcome("action-taken").pk),
            "resolve-note": "",
            "resolve-from_tier": page_tier,
        },
        follow=True,
    )

    assert response.status_code in (200, 403)
    concern.refresh_from_db()
    assert concern.status != Concern.Status.RESOLVED


def test_the_service_checks_the_tier_under_the_lock(chain, business, owner, group_member):
    from django.core.exceptions import ValidationError

    concern = factories.concern_at(business, tier=3, reporter=owner)
    with pytest.raises(ValidationError, match="is now with the Business Safety Partnership"):
        services.item_resolve(
            item=concern,
            actor=group_member,
            outcome=factories.outcome("action-taken"),
            from_tier=2,
        )
    concern.refresh_from_db()
    assert concern.is_open


@pytest.mark.parametrize("odd", ["²", "٣", "2.0", "-1", "9" * 40, ""])
def test_it_never_fails_on_an_odd_tier_field(client, chain, business, owner, group_member, odd):
    concern = factories.concern_at(business, tier=2, reporter=owner)
    client.force_login(group_member)

    response = client.post(url(concern, "escalate"), {"escalate-from_tier": odd})

    assert response.status_code < 500
