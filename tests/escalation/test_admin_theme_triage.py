"""A theme returned to an NPT is the NPT's to settle: officers resolve or escalate it again."""

import pytest
from django.urls import reverse

from engagement.models import Business, Concern, OutboundEmail
from escalation.models import Theme, ThemeConcern
from tests import factories


def triage_url(theme, action):
    return reverse("admin:escalation_theme_triage", args=[theme.pk, action])


@pytest.fixture
def returned_theme(area, chain):
    """A theme of three businesses' concerns, back with the Poole NPT (tier 1)."""
    area.group = chain["group"]
    area.save(update_fields=["group"])
    theme = factories.ThemeFactory(npt_area=area, tier=Concern.Tier.NPT)
    for n in range(3):
        owner = factories.UserFactory()
        business = factories.BusinessFactory(owner=owner, npt_area=area, name=f"Shop {n}")
        concern = factories.ConcernFactory(business=business, reporter=owner)
        ThemeConcern.objects.create(theme=theme, concern=concern)
    return theme


def test_it_lets_the_npt_officer_resolve_a_returned_theme(client, npt_officer, returned_theme):
    client.force_login(npt_officer)
    page = client.get(reverse("admin:escalation_theme_change", args=[returned_theme.pk]))
    assert "Resolve with an outcome" in page.content.decode()

    response = client.post(
        triage_url(returned_theme, "resolve"),
        {"resolve-outcome": factories.outcome("action-taken").pk, "resolve-note": "Patrols."},
    )

    assert response.status_code == 302
    returned_theme.refresh_from_db()
    assert returned_theme.status == Theme.Status.RESOLVED
    assert returned_theme.events.filter(kind="resolved", actor=npt_officer).count() == 1
    owners = set(
        Business.objects.filter(concerns__theme_links__theme=returned_theme).values_list(
            "memberships__user__email", flat=True
        )
    )
    assert owners <= set(OutboundEmail.objects.values_list("to", flat=True))


def test_it_lets_the_npt_officer_escalate_it_again_with_a_reason(
    client, npt_officer, returned_theme
):
    client.force_login(npt_officer)
    missing = client.post(triage_url(returned_theme, "escalate"), {"escalate-reason": "  "})
    assert missing.status_code == 400
    assert "Give a reason for escalating" in missing.content.decode()

    client.post(triage_url(returned_theme, "escalate"), {"escalate-reason": "Still happening."})

    returned_theme.refresh_from_db()
    assert returned_theme.tier == Concern.Tier.GROUP
    assert returned_theme.events.filter(kind="escalated", actor=npt_officer).count() == 1


def test_it_refuses_triage_once_the_theme_is_above_the_npt(client, npt_officer, area):
    theme = factories.ThemeFactory(npt_area=area, tier=Concern.Tier.GROUP)
    client.force_login(npt_officer)

    response = client.post(
        triage_url(theme, "resolve"),
        {"resolve-outcome": factories.outcome("action-taken").pk, "resolve-note": ""},
    )

    assert response.status_code == 400
    assert "they decide its outcome in the partnership area" in response.content.decode()
    theme.refresh_from_db()
    assert theme.status == Theme.Status.OPEN


def test_it_hides_another_npts_theme_from_its_triage_urls(
    client, other_npt_officer, returned_theme
):
    client.force_login(other_npt_officer)
    for action in ("resolve", "escalate"):
        response = client.post(triage_url(returned_theme, action), {})
        assert response.status_code == 404
    returned_theme.refresh_from_db()
    assert (returned_theme.tier, returned_theme.status) == (Concern.Tier.NPT, Theme.Status.OPEN)


def test_it_gives_a_404_for_an_unknown_triage_action(client, npt_officer, returned_theme):
    client.force_login(npt_officer)
    assert client.post(triage_url(returned_theme, "delete"), {}).status_code == 404
