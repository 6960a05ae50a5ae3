"""Setting up the chain in the admin: groups, the partnership, policies, theme settings."""

import pytest
from django.urls import reverse

from escalation.models import DeadlinePolicy, ThemeSettings
from tests import factories


@pytest.mark.parametrize(
    "name",
    [
        "coordinatinggroup",
        "partnership",
        "deadlinepolicy",
        "themesettings",
        "theme",
        "sweep",
        "decision",
        "partnerorganisation",
    ],
)
def test_an_administrator_can_browse_each_list(client, superuser, chain, name):
    client.force_login(superuser)

    response = client.get(reverse(f"admin:escalation_{name}_changelist"))

    assert response.status_code == 200


def test_an_administrator_edits_a_deadline_policy(client, superuser):
    policy = DeadlinePolicy.objects.get(tier=2, priority="normal")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:escalation_deadlinepolicy_change", args=[policy.pk]),
        {
            "tier": 2,
            "priority": "normal",
            "first_response_days": 4,
            "resolution_days": 15,
            "warning_days": 2,
        },
    )

    assert response.status_code == 302
    policy.refresh_from_db()
    assert (policy.first_response_days, policy.resolution_days) == (4, 15)


def test_a_policy_cannot_ask_for_a_first_response_after_the_resolution(client, superuser):
    policy = DeadlinePolicy.objects.get(tier=1, priority="low")
    client.force_login(superuser)

    response = client.post(
        reverse("admin:escalation_deadlinepolicy_change", args=[policy.pk]),
        {
            "tier": 1,
            "priority": "low",
            "first_response_days": 9,
            "resolution_days": 3,
            "warning_days": 1,
        },
    )

    assert response.status_code == 200
    assert b"cannot be due after the resolution" in response.content


def test_an_administrator_edits_the_theme_thresholds(client, superuser):
    client.force_login(superuser)

    response = client.post(
        reverse("admin:escalation_themesettings_change", args=[1]),
        {"min_businesses": 4, "window_days": 14},
    )

    assert response.status_code == 302
    assert ThemeSettings.load().min_businesses == 4


def test_there_is_only_one_partnership_to_add(client, superuser):
    client.force_login(superuser)

    response = client.get(reverse("admin:escalation_partnership_add"))

    assert response.status_code == 403


def test_the_group_page_lists_the_npt_areas_it_covers(client, superuser, chain):
    client.force_login(superuser)

    response = client.get(
        reverse("admin:escalation_coordinatinggroup_change", args=[chain["group"].pk])
    )

    assert b"Poole" in response.content


@pytest.mark.parametrize("name", ["coordinatinggroup", "deadlinepolicy", "partnership"])
def test_an_officer_cannot_change_the_set_up(client, npt_officer, chain, name):
    client.force_login(npt_officer)

    response = client.get(reverse(f"admin:escalation_{name}_changelist"))

    assert response.status_code == 403


def test_an_officer_sees_only_their_npts_themes(client, npt_officer, area, other_area):
    mine = factories.ThemeFactory(npt_area=area)
    theirs = factories.ThemeFactory(npt_area=other_area)
    client.force_login(npt_officer)

    listing = client.get(reverse("admin:escalation_theme_changelist"))
    other = client.get(reverse("admin:escalation_theme_change", args=[theirs.pk]))

    assert mine.reference in listing.content.decode()
    assert theirs.reference not in listing.content.decode()
    assert other.status_code == 302  # the admin redirects away from an object it hides
