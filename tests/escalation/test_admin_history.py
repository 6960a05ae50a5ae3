"""The admin's History page of a common theme: its events with the values they changed, for
the officers of its NPT only."""

import pytest

from escalation import services
from tests import factories
from tests.engagement.test_admin_history import history_url, page_words


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def theme(area):
    return factories.ThemeFactory(npt_area=area, tier=1)


def test_a_themes_history_shows_its_escalation_and_outcome_from_and_to(client, theme, npt_officer):
    services.item_escalate(item=theme, actor=npt_officer, reason="Too big for the team")
    outcome = factories.outcome()
    services.theme_resolve(theme=theme, actor=npt_officer, outcome=outcome)
    client.force_login(npt_officer)

    response = client.get(history_url(theme))

    assert response.status_code == 200
    words = page_words(response)
    assert "Tier : Neighbourhood Policing Team → Business Co-ordinating Group" in words
    assert "Status : Open → Outcome given" in words
    assert f"Outcome : — → {outcome}" in words
    assert "Too big for the team" in words


def test_an_officer_of_another_npt_cannot_read_a_themes_history(
    client, theme, npt_officer, other_npt_officer
):
    services.item_escalate(item=theme, actor=npt_officer, reason="Too big for the team")
    client.force_login(other_npt_officer)

    response = client.get(history_url(theme))

    assert response.status_code in (302, 403, 404)
    assert "Too big for the team" not in response.content.decode()


def test_a_themes_page_lists_what_each_event_changed_in_its_history(client, theme, npt_officer):
    services.item_escalate(item=theme, actor=npt_officer, reason="Too big for the team")
    client.force_login(npt_officer)

    response = client.get(f"/admin/escalation/theme/{theme.pk}/change/")

    assert response.status_code == 200
    words = page_words(response)
    # The tiers in their own columns; the changes column adds the deadlines the move set.
    assert "Neighbourhood Policing Team Business Co-ordinating Group" in words
    assert "Resolution due at:" in words
