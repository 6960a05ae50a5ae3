"""A specialist team member in the admin: the team's concerns county-wide, read-only, with the
thread; an internal note and advice to the business; and nothing else."""

import re
import uuid

import pytest

from engagement import services
from engagement.models import (
    Concern,
    ConcernEvent,
    ConcernUpdate,
    OutboundEmail,
    SpecialistReferral,
)
from tests import factories

LIST = "/admin/engagement/specialistconcern/"


def change_url(concern):
    return f"{LIST}{concern.pk}/change/"


def triage_url(concern, action):
    return f"{LIST}{concern.pk}/triage/{action}/"


def refer(concern):
    services.concern_refer_to_specialists(concern=concern)
    return concern


@pytest.fixture
def rural_concern(business, owner):
    """A rural crime concern in Poole's NPT."""
    return refer(
        factories.ConcernFactory(
            business=business, reporter=owner, category=factories.category("rural")
        )
    )


@pytest.fixture
def far_rural_concern(other_business, other_owner):
    """A concern from a rural business in Dorchester's NPT, at the other end of the county."""
    other_business.is_rural = True
    other_business.save(update_fields=["is_rural"])
    return refer(factories.ConcernFactory(business=other_business, reporter=other_owner))


@pytest.fixture
def cyber_concern(business, owner):
    return refer(
        factories.ConcernFactory(
            business=business, reporter=owner, category=factories.category("cyber")
        )
    )


@pytest.fixture
def shop_theft(concern):
    """Theft from a shop: it reaches no specialist team."""
    return refer(concern)


def seen(concern) -> str:
    return f"status={concern.status}&tier={concern.tier}&priority={concern.priority}"


# What they see


def test_it_lists_the_teams_concerns_from_every_npt_and_nothing_else(
    client, rural_specialist, rural_concern, far_rural_concern, cyber_concern, shop_theft
):
    client.force_login(rural_specialist)
    page = client.get(LIST).content.decode()
    assert rural_concern.reference in page
    assert far_rural_concern.reference in page  # county-wide
    assert cyber_concern.reference not in page
    assert shop_theft.reference not in page


def test_it_opens_a_referred_concern_with_the_npts_public_updates(
    client, rural_specialist, npt_officer, rural_concern
):
    services.concern_post_update(
        concern=rural_concern, actor=npt_officer, body="We have visited the yard."
    )
    client.force_login(rural_specialist)
    page = client.get(change_url(rural_concern)).content.decode()
    assert "We have visited the yard." in page
    assert "Rural Crime Team" in page  # referred to


def test_it_hides_an_unreferred_concern_however_its_id_is_guessed(
    client, rural_specialist, cyber_concern, shop_theft
):
    client.force_login(rural_specialist)
    for concern in (cyber_concern, shop_theft):
        response = client.get(change_url(concern))
        assert response.status_code == 302 and response.url == "/admin/"
        assert client.post(triage_url(concern, "note"), {"note-body": "x"}).status_code == 404
        assert client.get(f"{LIST}{concern.pk}/history/").status_code == 302
    attachment = factories.AttachmentFactory(concern=cyber_concern)
    assert client.get(f"{LIST}{cyber_concern.pk}/attachments/{attachment.pk}/").status_code == 404
    assert not ConcernUpdate.objects.exists()


def test_the_other_team_cannot_see_the_rural_teams_concerns(
    client, cyber_specialist, rural_concern, cyber_concern
):
    client.force_login(cyber_specialist)
    page = client.get(LIST).content.decode()
    assert cyber_concern.reference in page
    assert rural_concern.reference not in page
    assert client.get(change_url(rural_concern)).status_code == 302


def test_it_downloads_an_attachment_of_a_referred_concern(client, rural_specialist, rural_concern):
    attachment = factories.AttachmentFactory(concern=rural_concern)
    client.force_login(rural_specialist)
    page = client.get(change_url(rural_concern)).content.decode()
    url = f"{LIST}{rural_concern.pk}/attachments/{attachment.pk}/"
    assert url in page
    assert client.get(url).status_code == 200


def test_it_offers_nothing_but_the_note_and_the_advice(client, rural_specialist, rural_concern):
    client.force_login(rural_specialist)
    page = client.get(change_url(rural_concern)).content.decode()
    assert "Send advice" in page and "Add note" in page
    for control in ("Assign", "Set priority", "Resolve", "Escalate", "Ask question"):
        assert f">{control}</button>" not in page
    assert 'name="_save"' not in page  # no field can be edited
    assert not re.search(r'<(input|textarea|select)[^>]+name="(description|status|priority)"', page)
    assert 'name="action"' not in client.get(LIST).content.decode()  # no bulk actions


def test_it_refuses_a_change_posted_to_the_concern_itself(client, rural_specialist, rural_concern):
    client.force_login(rural_specialist)
    response = client.post(change_url(rural_concern), {"priority": "urgent", "status": "resolved"})
    assert response.status_code == 403
    rural_concern.refresh_from_db()
    assert (rural_concern.priority, rural_concern.status) == ("normal", "new")


def test_it_refuses_the_officers_triage_actions(client, rural_specialist, rural_concern):
    client.force_login(rural_specialist)
    for action in ("assign", "priority", "resolve", "escalate", "question"):
        assert client.post(triage_url(rural_concern, action), {}).status_code == 404
        assert client.post(
            f"/admin/engagement/concern/{rural_concern.pk}/triage/{action}/", {}
        ).status_code in (403, 404)
    assert rural_concern.events.exclude(kind="submitted").count() == 0


# What they do


def test_it_adds_an_internal_note_in_the_members_name(
    client, rural_specialist, rural_concern, npt_officer
):
    client.force_login(rural_specialist)
    response = client.post(
        triage_url(rural_concern, "note"),
        {"note-body": "Same pattern as the thefts near Wareham.", "note-seen": seen(rural_concern)},
    )
    assert response.status_code == 302
    note = ConcernUpdate.objects.get(concern=rural_concern)
    assert (note.kind, note.author, note.specialist_team) == ("internal", rural_specialist, None)
    assert not OutboundEmail.objects.filter(to=rural_concern.contact_email).exists()
    # The NPT reads it on its own page.
    client.force_login(npt_officer)
    page = client.get(f"/admin/engagement/concern/{rural_concern.pk}/change/").content.decode()
    assert "Same pattern as the thefts near Wareham." in page


def test_it_sends_advice_to_the_business_in_the_teams_name(
    client, rural_specialist, rural_concern, owner
):
    client.force_login(rural_specialist)
    key = uuid.uuid4()
    form = {
        "advice-body": "Mark your saddles with your postcode and photograph them.",
        "advice-submission_key": str(key),
        "advice-seen": seen(rural_concern),
    }
    assert client.post(triage_url(rural_concern, "advice"), form).status_code == 302
    assert client.post(triage_url(rural_concern, "advice"), form).status_code == 302  # twice
    advice = ConcernUpdate.objects.get(concern=rural_concern)
    assert (advice.kind, advice.author, advice.specialist_team.slug) == (
        "public",
        rural_specialist,
        "rural-crime-team",
    )
    event = rural_concern.events.get(kind=ConcernEvent.Kind.UPDATE_POSTED)
    assert (event.actor, event.detail) == (rural_specialist, "Advice from Rural Crime Team")
    # The business is emailed, and sees it on its page in the team's name.
    [email] = OutboundEmail.objects.filter(to=owner.email, subject__startswith="Advice")
    assert "Rural Crime Team" in email.body_text and "postcode" in email.body_text
    client.force_login(owner)
    page = client.get(rural_concern.get_absolute_url()).content.decode()
    assert "Advice from the Rural Crime Team" in page
    # The NPT's own triage is left as it was: still new, its first response still owed.
    rural_concern.refresh_from_db()
    assert (rural_concern.status, rural_concern.first_responded_at) == ("new", None)


def test_it_keeps_an_empty_advice_form_with_a_message(client, rural_specialist, rural_concern):
    client.force_login(rural_specialist)
    response = client.post(
        triage_url(rural_concern, "advice"), {"advice-body": "", "advice-seen": seen(rural_concern)}
    )
    assert response.status_code == 400
    assert "This field is required." in response.content.decode()
    assert not ConcernUpdate.objects.exists()


def test_advice_is_refused_for_a_team_the_concern_never_reached(rural_specialist, cyber_concern):
    from django.core.exceptions import ValidationError

    from engagement.models import SpecialistTeam

    with pytest.raises(ValidationError):
        services.concern_send_advice(
            concern=cyber_concern,
            actor=rural_specialist,
            team=SpecialistTeam.objects.get(slug="rural-crime-team"),
            body="Not ours.",
        )
    assert not ConcernUpdate.objects.exists()


def advise(client, concern, body="Mark your saddles with your postcode."):
    return client.post(
        triage_url(concern, "advice"),
        {
            "advice-body": body,
            "advice-submission_key": str(uuid.uuid4()),
            "advice-seen": seen(concern),
        },
    )


def test_it_offers_no_advice_on_a_concern_with_an_outcome_and_refuses_it_posted(
    client, rural_specialist, rural_concern
):
    Concern.objects.filter(pk=rural_concern.pk).update(status=Concern.Status.RESOLVED)
    rural_concern.refresh_from_db()
    client.force_login(rural_specialist)
    page = client.get(change_url(rural_concern)).content.decode()
    assert "Send advice" not in page and "Add note" in page
    assert "advice is no longer sent" in page
    response = advise(client, rural_concern)
    assert response.status_code == 400
    page = response.content.decode()
    assert "has an outcome already (Outcome given); advice was not sent." in page
    assert "Advice for the business" not in page  # not offered again
    from engagement.models import SpecialistTeam

    with pytest.raises(services.ValidationError, match="has an outcome already"):
        services.concern_send_advice(
            concern=rural_concern,
            actor=rural_specialist,
            team=SpecialistTeam.objects.get(slug="rural-crime-team"),
            body="Too late.",
        )
    assert not ConcernUpdate.objects.exists()
    assert not OutboundEmail.objects.filter(subject__startswith="Advice").exists()


def test_it_offers_no_advice_from_a_team_no_longer_active_and_refuses_it_posted(
    client, rural_specialist, rural_concern
):
    from engagement.models import SpecialistTeam

    SpecialistTeam.objects.filter(slug="rural-crime-team").update(is_active=False)
    client.force_login(rural_specialist)
    page = client.get(change_url(rural_concern)).content.decode()
    assert "Send advice" not in page and "Add note" in page
    assert "no longer active" in page
    response = advise(client, rural_concern)
    assert response.status_code == 400
    assert "The Rural Crime Team is no longer active" in response.content.decode()
    assert not ConcernUpdate.objects.exists()
    with pytest.raises(services.ValidationError, match="no longer active"):
        services.concern_send_advice(
            concern=rural_concern,
            actor=rural_specialist,
            team=SpecialistTeam.objects.get(slug="rural-crime-team"),
            body="Still here.",
        )


# Nothing else


def test_the_admin_index_shows_them_only_their_teams_concerns(client, rural_specialist):
    client.force_login(rural_specialist)
    page = client.get("/admin/").content.decode()
    assert set(re.findall(r'href="/admin/(\w+)/(\w+)/"', page)) == {
        ("engagement", "specialistconcern")
    }


@pytest.mark.parametrize(
    "url",
    [
        "/admin/engagement/concern/",
        "/admin/engagement/business/",
        "/admin/engagement/nptarea/",
        "/admin/engagement/user/",
        "/admin/engagement/outboundemail/",
        "/admin/engagement/specialistteam/",
        "/admin/engagement/concerncategory/",
        "/admin/escalation/theme/",
        "/admin/escalation/deadlinepolicy/",
        "/admin/resources/resource/",
        "/partnership/",
        "/partnership/insight/",
    ],
)
def test_it_keeps_them_out_of_every_other_screen(client, rural_specialist, url):
    client.force_login(rural_specialist)
    assert client.get(url).status_code in (403, 404)


def test_it_keeps_them_out_of_the_officers_page_of_a_referred_concern(
    client, rural_specialist, rural_concern
):
    client.force_login(rural_specialist)
    assert client.get(f"/admin/engagement/concern/{rural_concern.pk}/change/").status_code in (
        302,
        403,
    )


def test_officers_and_owners_cannot_open_the_specialist_screens(
    client, npt_officer, owner, rural_concern
):
    client.force_login(npt_officer)
    assert client.get(LIST).status_code == 403
    assert client.get(change_url(rural_concern)).status_code == 403
    assert client.post(triage_url(rural_concern, "advice"), {}).status_code == 404
    # The officer's own workbench is as it was.
    page = client.get("/admin/engagement/concern/").content.decode()
    assert rural_concern.reference in page
    client.force_login(owner)
    assert client.get(LIST).status_code == 302  # to the admin's sign-in
    assert not ConcernUpdate.objects.exists()


def test_an_administrator_edits_the_teams_but_does_not_see_the_members_screen(
    client, superuser, rural_concern
):
    client.force_login(superuser)
    assert client.get("/admin/engagement/specialistteam/").status_code == 200
    assert client.get(LIST).status_code == 403


def test_a_member_whose_account_is_closed_sees_nothing(client, rural_specialist, rural_concern):
    client.force_login(rural_specialist)
    rural_specialist.is_staff = False
    rural_specialist.save(update_fields=["is_staff"])
    assert client.get(LIST).status_code == 302


def test_signing_in_lands_them_in_the_admin(client, rural_specialist):
    response = client.post(
        "/accounts/login/", {"login": rural_specialist.email, "password": factories.PASSWORD}
    )
    assert response.status_code == 302 and response.url == "/admin/"


def test_referrals_are_not_repeated_for_a_concern_already_referred(rural_concern):
    assert SpecialistReferral.objects.filter(concern=rural_concern).count() == 1
    assert services.concern_refer_to_specialists(concern=rural_concern) == []
    assert Concern.objects.filter(pk=rural_concern.pk).exists()
