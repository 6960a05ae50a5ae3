import io

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from engagement.models import (
    Business,
    Concern,
    ConcernCategory,
    NPTOfficer,
    Outcome,
    PostcodeDistrict,
    SpecialistReferral,
    SpecialistTeamMember,
    User,
)

DEMO_ACCOUNTS = [
    "owner@demo.test",
    "npt@demo.test",
    "group@demo.test",
    "partnership@demo.test",
    "editor@demo.test",
    "specialist@demo.test",
    "cyber@demo.test",
    "admin@demo.test",
]
PASSWORD = "a-test-demo-password"

# DESIGN.md's demo geography: every district and the NPT that covers it.
GEOGRAPHY = {
    "Bournemouth": [f"BH{n}" for n in range(1, 12)],
    "Poole": [f"BH{n}" for n in range(12, 18)],
    "Christchurch": ["BH23"],
    "East Dorset": ["BH18", "BH21", "BH22", "BH31"],
    "Purbeck": ["BH19", "BH20"],
    "Weymouth and Portland": ["DT3", "DT4", "DT5"],
    "Dorchester": ["DT1", "DT2"],
    "Bridport and Lyme Regis": ["DT6", "DT7", "DT8"],
    "Sherborne": ["DT9"],
    "North Dorset": ["DT10", "DT11", "SP7", "SP8"],
}


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are about which password, not how it is hashed.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def seeded(db):
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


def test_it_runs_twice_without_duplicating_anything(seeded):
    first = row_counts()
    call_command("seed_demo", password=PASSWORD, stdout=io.StringIO())
    second = row_counts()
    assert {
        label: (first[label], second[label]) for label in first if first[label] != second[label]
    } == {}
    assert first["engagement.Concern"] > 0


def test_it_creates_the_demo_accounts_that_can_sign_in(seeded):
    assert set(User.objects.values_list("email", flat=True)) >= set(DEMO_ACCOUNTS)
    for email in DEMO_ACCOUNTS:
        assert authenticate(username=email, password=PASSWORD) is not None, email
        assert authenticate(username=email, password="dorset-demo-2026") is None, email
        assert EmailAddress.objects.get(email=email).verified, email


def test_it_signs_the_demo_owner_in_through_the_login_page(client, seeded):
    response = client.post("/accounts/login/", {"login": "owner@demo.test", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/my/").status_code == 200


def test_it_sets_the_new_password_when_run_again(seeded):
    call_command("seed_demo", password="another-password-1", stdout=io.StringIO())
    assert authenticate(username="npt@demo.test", password="another-password-1") is not None
    assert authenticate(username="npt@demo.test", password=PASSWORD) is None


def test_it_gives_the_demo_accounts_their_roles(seeded):
    assert User.objects.get(email="admin@demo.test").is_superuser
    officer = User.objects.get(email="npt@demo.test")
    assert officer.is_staff and NPTOfficer.objects.filter(user=officer).exists()
    assert not User.objects.get(email="owner@demo.test").is_staff
    assert Business.objects.filter(memberships__user__email="owner@demo.test").count() >= 2


def test_it_puts_the_demo_specialists_in_their_teams_with_a_concern_each(seeded):
    members = dict(SpecialistTeamMember.objects.values_list("user__email", "team__slug"))
    assert members == {
        "specialist@demo.test": "rural-crime-team",
        "cyber@demo.test": "cyber-protect",
    }
    assert all(User.objects.get(email=email).is_staff for email in members)
    referred = set(SpecialistReferral.objects.values_list("team__slug", flat=True))
    assert referred == {"rural-crime-team", "cyber-protect"}


def test_it_loads_the_dorset_geography(seeded):
    loaded = dict(PostcodeDistrict.objects.values_list("code", "area__name"))
    expected = {district: area for area, districts in GEOGRAPHY.items() for district in districts}
    assert loaded == expected
    assert loaded["BH15"] == "Poole"
    assert loaded["DT10"] == "North Dorset"


def test_it_loads_categories_outcomes_and_concerns_in_several_states(seeded):
    assert ConcernCategory.objects.filter(is_active=True).count() >= 11
    assert Outcome.objects.filter(requires_note=True).exists()
    statuses = set(Concern.objects.values_list("status", flat=True))
    assert statuses >= {"new", "in_progress", "waiting", "resolved"}
    for concern in Concern.objects.all():
        assert concern.npt_area == concern.business.npt_area
        assert concern.events.filter(kind="submitted").count() == 1


def test_it_routes_the_demo_businesses_by_postcode(seeded):
    for business in Business.objects.all():
        district = PostcodeDistrict.objects.get(code=business.postcode.split(" ")[0])
        assert business.npt_area == district.area, business


def test_it_is_refused_in_production_settings(settings, db):
    settings.PRODUCTION = True
    before = row_counts()
    with pytest.raises(CommandError, match="refused in production"):
        call_command("seed_demo", password=PASSWORD)
    assert row_counts() == before
    assert not User.objects.filter(email__endswith="@demo.test").exists()


def test_it_refuses_a_short_password(db):
    with pytest.raises(CommandError, match="at least 10 characters"):
        call_command("seed_demo", password="short")
    assert not User.objects.exists()
