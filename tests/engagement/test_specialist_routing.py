"""Which concerns reach which specialist team, and how each team's members are told of them.

Routing is data (SpecialistTeam: categories, business types, rural businesses); a concern is
referred to each team it reaches when it arrives (on submission, or when a guest confirms), and
each member is emailed once, through the outbox, after the arrival commits.
"""

import datetime as dt
import uuid

import pytest
from django.db import transaction
from django.utils import timezone

from engagement import services
from engagement.models import OutboundEmail, SpecialistReferral, SpecialistTeam
from tests import factories

SITE = "https://portal.example"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE


def details(category="theft", **overrides):
    values = {
        "category": factories.category(category),
        "description": "Someone took the quad bike from the yard overnight.",
        "occurred_on": timezone.localdate() - dt.timedelta(days=1),
        "location": "Yard, Mill Lane",
        "impact": "some",
        "contact_name": "Olive Owner",
        "contact_email": "owner@example.org",
        **overrides,
    }
    return services.ConcernDetails(**values)


def submit(business, owner, category="theft", key=None):
    concern, _ = services.concern_submit(
        business=business,
        reporter=owner,
        details=details(category),
        submission_key=key or uuid.uuid4(),
    )
    return concern


def teams_of(concern) -> set[str]:
    return set(
        SpecialistReferral.objects.filter(concern=concern).values_list("team__slug", flat=True)
    )


def specialist_emails(*people) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(to__in=[p.email for p in people]))


# Routing


def test_it_refers_a_cyber_concern_to_the_cyber_team(owner, business):
    assert teams_of(submit(business, owner, "cyber")) == {"cyber-protect"}


def test_it_refers_a_rural_crime_concern_to_the_rural_team(owner, business):
    assert teams_of(submit(business, owner, "rural")) == {"rural-crime-team"}


def test_it_refers_any_concern_from_a_rural_business_to_the_rural_team(owner, business):
    business.is_rural = True
    business.save(update_fields=["is_rural"])
    assert teams_of(submit(business, owner, "theft")) == {"rural-crime-team"}


def test_it_refers_a_farms_concern_to_the_rural_team_by_its_business_type(owner, business):
    business.sector = "farm"
    business.save(update_fields=["sector"])
    assert teams_of(submit(business, owner, "theft")) == {"rural-crime-team"}


def test_it_refers_a_rural_businesss_cyber_concern_to_both_teams(owner, business):
    business.is_rural = True
    business.save(update_fields=["is_rural"])
    assert teams_of(submit(business, owner, "cyber")) == {"cyber-protect", "rural-crime-team"}


def test_it_refers_a_shops_theft_to_no_team_and_tells_no_specialist(
    owner, business, rural_specialist, cyber_specialist
):
    concern = submit(business, owner, "theft")
    assert teams_of(concern) == set()
    assert specialist_emails(rural_specialist, cyber_specialist) == []


def test_it_follows_the_routing_an_administrator_edits_in_the_admin(
    client, superuser, owner, business, cyber_specialist
):
    team = SpecialistTeam.objects.get(slug="cyber-protect")
    client.force_login(superuser)
    response = client.post(
        f"/admin/engagement/specialistteam/{team.pk}/change/",
        {
            "name": team.name,
            "slug": team.slug,
            "categories": [factories.category("cyber").pk, factories.category("fraud").pk],
            "sectors": ["office"],
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(team.memberships.get().pk),
            "memberships-0-team": str(team.pk),
            "memberships-0-user": str(cyber_specialist.pk),
        },
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    team.refresh_from_db()
    assert team.sectors == ["office"]
    assert teams_of(submit(business, owner, "fraud")) == {"cyber-protect"}
    business.sector = "office"
    business.save(update_fields=["sector"])
    assert teams_of(submit(business, owner, "theft")) == {"cyber-protect"}


def test_it_refers_nothing_to_an_inactive_team(owner, business, cyber_specialist):
    SpecialistTeam.objects.filter(slug="cyber-protect").update(is_active=False)
    assert teams_of(submit(business, owner, "cyber")) == set()
    assert specialist_emails(cyber_specialist) == []


# Emails


def test_it_emails_each_member_of_the_team_once(owner, business, cyber_specialist):
    colleague = factories.SpecialistFactory(team="cyber-protect", email="second@example.org")
    key = uuid.uuid4()
    concern = submit(business, owner, "cyber", key=key)
    # The same form again, and the referral run again, tell nobody twice.
    submit(business, owner, "cyber", key=key)
    assert services.concern_refer_to_specialists(concern=concern) == []
    assert sorted(e.to for e in specialist_emails(cyber_specialist, colleague)) == [
        "cyber.protect@example.org",
        "second@example.org",
    ]


def test_it_does_not_email_a_member_whose_account_is_closed(owner, business, cyber_specialist):
    cyber_specialist.is_active = False
    cyber_specialist.save(update_fields=["is_active"])
    submit(business, owner, "cyber")
    assert specialist_emails(cyber_specialist) == []


def test_it_emails_someone_in_two_teams_once_naming_both(owner, business, cyber_specialist):
    from engagement.models import SpecialistTeamMember

    SpecialistTeamMember.objects.create(
        user=cyber_specialist, team=SpecialistTeam.objects.get(slug="rural-crime-team")
    )
    business.is_rural = True
    business.save(update_fields=["is_rural"])
    concern = submit(business, owner, "cyber")
    assert teams_of(concern) == {"cyber-protect", "rural-crime-team"}
    [email] = specialist_emails(cyber_specialist)
    for text in (email.subject, email.body_text, email.body_html):
        assert "Cyber-Crime Protect and Prevention Officer" in text
        assert "Rural Crime Team" in text


def test_it_does_not_email_a_member_without_staff_status(owner, business, cyber_specialist):
    # The email links into the admin, which only staff can open.
    cyber_specialist.is_staff = False
    cyber_specialist.save(update_fields=["is_staff"])
    submit(business, owner, "cyber")
    assert specialist_emails(cyber_specialist) == []


def test_it_publishes_the_email_only_after_the_arrival_commits(
    django_capture_on_commit_callbacks, owner, business, cyber_specialist
):
    factories.published_tasks()  # start from an empty broker queue
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        submit(business, owner, "cyber")
        [email] = specialist_emails(cyber_specialist)
        assert factories.published_tasks() == []
    for callback in callbacks:
        callback()
    assert ("engagement.tasks.deliver_email", [email.pk]) in factories.published_tasks()


def test_it_writes_no_email_when_the_arrival_rolls_back(owner, business, cyber_specialist):
    with pytest.raises(RuntimeError), transaction.atomic():
        submit(business, owner, "cyber")
        raise RuntimeError("the request failed after the concern was written")
    assert specialist_emails(cyber_specialist) == []
    assert not SpecialistReferral.objects.exists()


def test_it_tells_the_team_of_a_guest_report_only_when_the_guest_confirms(area, cyber_specialist):
    concern, _token = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=details("cyber", contact_email="guest@example.org"),
        submission_key=uuid.uuid4(),
    )
    assert teams_of(concern) == set()
    assert services.concern_refer_to_specialists(concern=concern) == []
    assert specialist_emails(cyber_specialist) == []

    assert services.concern_confirm_guest(concern=concern)
    assert not services.concern_confirm_guest(concern=concern)  # the link clicked twice
    assert teams_of(concern) == {"cyber-protect"}
    assert len(specialist_emails(cyber_specialist)) == 1


def test_the_email_names_the_reference_category_and_area_and_links_to_the_admin(
    owner, business, cyber_specialist
):
    concern = submit(business, owner, "cyber")
    [email] = specialist_emails(cyber_specialist)
    link = f"{SITE}/admin/engagement/specialistconcern/{concern.pk}/change/"
    assert concern.reference in email.subject
    for body in (email.body_text, email.body_html):
        assert concern.reference in body
        assert "Cyber crime" in body
        assert "Poole" in body
        assert link in body
        # Kept short: what happened and who reported it are in the admin, behind sign-in.
        assert "quad bike" not in body
        assert "Olive Owner" not in body
