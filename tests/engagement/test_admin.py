"""NPT triage in the admin: officers see and act on their own NPT's concerns only."""

import datetime as dt
import uuid

import pytest
from django.utils import timezone

from engagement import services
from engagement.admin import TRIAGE_ACTIONS
from engagement.models import Concern, ConcernEvent, ConcernUpdate, OutboundEmail
from tests import factories

CHANGELIST = "/admin/engagement/concern/"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def officer_client(client, npt_officer):
    client.force_login(npt_officer)
    return client


def change_url(concern):
    return f"{CHANGELIST}{concern.pk}/change/"


def triage_url(concern, action):
    return f"{CHANGELIST}{concern.pk}/triage/{action}/"


def changelist_references(client, query="") -> set[str]:
    response = client.get(f"{CHANGELIST}{query}")
    assert response.status_code == 200
    return {
        reference
        for reference in Concern.objects.values_list("reference", flat=True)
        if reference and reference in response.content.decode()
    }


def guest_concern():
    concern, _ = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Unconfirmed guest report",
            occurred_on=timezone.localdate(),
            location="The Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
    )
    return concern


# Who sees what


def test_it_lists_only_the_officers_npt_concerns(officer_client, concern, other_concern):
    assert changelist_references(officer_client) == {concern.reference}


def test_it_lists_every_concern_for_a_superuser(client, superuser, concern, other_concern):
    client.force_login(superuser)
    assert changelist_references(client) == {concern.reference, other_concern.reference}


def test_it_shows_staff_without_an_npt_posting_nothing(client, concern, other_concern):
    client.force_login(factories.UserFactory(is_staff=True))
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(change_url(concern)).status_code in (302, 403)
    assert client.get(triage_url(concern, "assign")).status_code == 404
    index = client.get("/admin/").content.decode()
    assert "Concerns" not in index


def test_it_sends_a_business_owner_to_the_admin_sign_in(client, owner, concern):
    client.force_login(owner)
    for url in [CHANGELIST, change_url(concern), triage_url(concern, "note")]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


def test_it_hides_unconfirmed_guest_reports_from_officers(officer_client, area, superuser, client):
    concern = guest_concern()
    assert concern.reference not in changelist_references(officer_client)
    assert officer_client.get(change_url(concern)).status_code == 302
    response = officer_client.post(triage_url(concern, "note"), {"note-body": "Seen"})
    assert response.status_code == 404
    services.concern_confirm_guest(concern=concern)
    assert concern.reference in changelist_references(officer_client)


def test_it_refuses_another_npts_concern_page(officer_client, other_concern):
    for url in [change_url(other_concern), f"{CHANGELIST}{other_concern.pk}/history/"]:
        response = officer_client.get(url)
        assert response.status_code in (302, 404), url
        assert other_concern.description not in response.content.decode()
    response = officer_client.get(change_url(other_concern), follow=True)
    assert other_concern.reference not in response.content.decode()


def test_it_refuses_guessed_ids_on_every_admin_url(officer_client, concern, other_concern):
    other_attachment = factories.AttachmentFactory(concern=other_concern)
    guesses = [other_concern.pk, other_concern.pk + 1000, 0]
    for pk in guesses:
        for action in TRIAGE_ACTIONS:
            url = f"{CHANGELIST}{pk}/triage/{action}/"
            assert officer_client.get(url).status_code == 404, url
            assert officer_client.post(url, {}).status_code == 404, url
        url = f"{CHANGELIST}{pk}/attachments/{other_attachment.pk}/"
        assert officer_client.get(url).status_code == 404, url
    # The officer's own concern with the other NPT's attachment id.
    url = f"{CHANGELIST}{concern.pk}/attachments/{other_attachment.pk}/"
    assert officer_client.get(url).status_code == 404
    assert not other_concern.events.exists()


@pytest.mark.parametrize("object_id", ["abc", "%00", "1.5", "-1", "99999999999999999999999"])
def test_it_answers_a_malformed_id_without_an_error(officer_client, concern, object_id):
    response = officer_client.get(f"{CHANGELIST}{object_id}/change/")
    assert response.status_code in (302, 404)


def test_it_refuses_the_other_npts_officer_too(client, other_npt_officer, concern, other_concern):
    client.force_login(other_npt_officer)
    assert changelist_references(client) == {other_concern.reference}
    response = client.post(triage_url(concern, "note"), {"note-body": "Not mine"})
    assert response.status_code == 404
    assert not concern.updates.exists()


def test_it_lists_and_opens_only_the_officers_npt_businesses(
    officer_client, business, other_business
):
    page = officer_client.get("/admin/engagement/business/").content.decode()
    assert business.name in page
    assert other_business.name not in page
    response = officer_client.get(f"/admin/engagement/business/{other_business.pk}/change/")
    assert response.status_code in (302, 404)
    assert other_business.address_line1 not in response.content.decode()


def test_it_serves_an_attachment_of_the_officers_own_npt(officer_client, concern):
    attachment = factories.AttachmentFactory(concern=concern)
    response = officer_client.get(f"{CHANGELIST}{concern.pk}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_it_shows_the_concern_with_updates_attachments_history_and_triage(
    officer_client, concern, npt_officer
):
    services.concern_post_update(concern=concern, actor=npt_officer, body="Patrols tonight.")
    services.concern_add_note(concern=concern, actor=npt_officer, body="Known to us.")
    factories.AttachmentFactory(concern=concern, original_name="till-cctv.png")
    page = officer_client.get(change_url(concern)).content.decode()
    for text in [
        concern.reference,
        concern.description,
        "Patrols tonight.",
        "Known to us.",
        "till-cctv.png",
        "Update posted",
        "Post an update to the business",
        "Resolve with an outcome",
    ]:
        assert text in page, text


# Triage actions call services


def test_it_assigns_through_the_triage_form(officer_client, concern, npt_officer):
    response = officer_client.post(
        triage_url(concern, "assign"), {"assign-officer": npt_officer.pk}
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(concern)
    concern.refresh_from_db()
    assert (concern.assigned_officer, concern.status) == (npt_officer, "in_progress")
    assert list(concern.events.values_list("kind", "actor")) == [("assigned", npt_officer.pk)]


def test_it_sets_priority_through_the_triage_form(officer_client, concern):
    response = officer_client.post(triage_url(concern, "priority"), {"priority-priority": "high"})
    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.priority == "high"
    assert list(concern.events.values_list("kind", flat=True)) == ["priority"]


def test_it_posts_an_update_through_the_triage_form(officer_client, concern):
    response = officer_client.post(triage_url(concern, "update"), {"update-body": "On our way."})
    assert response.status_code == 302
    assert concern.updates.get().kind == ConcernUpdate.Kind.PUBLIC
    assert list(concern.events.values_list("kind", flat=True)) == ["update"]
    email = OutboundEmail.objects.get()
    assert email.to == concern.contact_email and "On our way." in email.body_text


def test_it_asks_a_question_through_the_triage_form(officer_client, concern):
    response = officer_client.post(triage_url(concern, "question"), {"question-body": "CCTV?"})
    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.status == Concern.Status.WAITING and concern.paused_at is not None
    assert list(concern.events.values_list("kind", flat=True)) == ["question"]
    assert "CCTV?" in OutboundEmail.objects.get().body_text


def test_it_adds_a_note_through_the_triage_form(officer_client, concern):
    response = officer_client.post(triage_url(concern, "note"), {"note-body": "Known to us."})
    assert response.status_code == 302
    assert concern.updates.get().kind == ConcernUpdate.Kind.INTERNAL
    assert list(concern.events.values_list("kind", flat=True)) == ["note"]
    assert not OutboundEmail.objects.exists()


def test_it_resolves_through_the_triage_form(officer_client, concern):
    outcome = factories.outcome("no-further-action")
    response = officer_client.post(
        triage_url(concern, "resolve"),
        {"resolve-outcome": outcome.pk, "resolve-note": "No footage and no suspect."},
    )
    assert response.status_code == 302
    concern.refresh_from_db()
    assert (concern.status, concern.outcome, concern.outcome_note) == (
        "resolved",
        outcome,
        "No footage and no suspect.",
    )
    assert list(concern.events.values_list("kind", flat=True)) == ["resolved"]
    assert OutboundEmail.objects.get().subject == f"Outcome of your concern {concern.reference}"


def test_it_redirects_a_get_of_a_triage_url_to_the_concern(officer_client, concern):
    response = officer_client.get(triage_url(concern, "note"))
    assert response.status_code == 302
    assert not ConcernEvent.objects.exists()


def test_it_answers_404_to_an_unknown_triage_action(officer_client, concern):
    assert officer_client.post(triage_url(concern, "delete"), {}).status_code == 404


# Bad triage input


def test_it_re_renders_an_over_long_question_keeping_the_text(officer_client, concern):
    text = "Please tell us more <about> the van. " * 140  # over 5,000 characters
    response = officer_client.post(triage_url(concern, "question"), {"question-body": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert "Ensure this value has at most 5000 characters" in page
    assert "Please tell us more &lt;about&gt; the van." in page
    assert "What you typed has been kept." in page
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    assert not concern.events.exists()


def test_it_re_renders_a_resolve_without_the_note_its_outcome_needs(officer_client, concern):
    outcome = factories.outcome("no-further-action")
    response = officer_client.post(
        triage_url(concern, "resolve"), {"resolve-outcome": outcome.pk, "resolve-note": "  "}
    )
    assert response.status_code == 400
    assert "Explain the outcome “No further action” to the business." in response.content.decode()
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW


def test_it_refuses_to_assign_an_officer_of_another_npt(officer_client, concern, other_npt_officer):
    response = officer_client.post(
        triage_url(concern, "assign"), {"assign-officer": other_npt_officer.pk}
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    concern.refresh_from_db()
    assert concern.assigned_officer is None


@pytest.mark.parametrize(
    "action, data",
    [
        ("priority", {"priority-priority": "whenever"}),
        ("update", {"update-body": ""}),
        ("note", {"note-body": "\x00"}),
        ("resolve", {"resolve-outcome": "999999"}),
        ("resolve", {"resolve-outcome": "<script>"}),
        ("assign", {"assign-officer": "\x00"}),
    ],
)
def test_it_re_renders_invalid_triage_input_with_errors(officer_client, concern, action, data):
    response = officer_client.post(triage_url(concern, action), data)
    assert response.status_code == 400
    assert "Please correct the errors below." in response.content.decode()
    assert not concern.events.exists()


def test_it_explains_a_question_on_a_concern_that_has_an_outcome(
    officer_client, concern, npt_officer
):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    response = officer_client.post(triage_url(concern, "question"), {"question-body": "More?"})
    assert response.status_code == 400
    assert "This concern has an outcome" in response.content.decode()


def test_it_does_not_let_status_tier_or_deadlines_be_edited_by_hand(officer_client, concern):
    before = Concern.objects.values().get(pk=concern.pk)
    response = officer_client.post(
        change_url(concern),
        {
            "status": "closed",
            "tier": "3",
            "priority": "urgent",
            "npt_area": "999",
            "first_response_due_at_0": "2030-01-01",
            "first_response_due_at_1": "09:00",
            "resolution_due_at_0": "2030-01-01",
            "resolution_due_at_1": "09:00",
            "description": "Rewritten",
            "assigned_officer": "1",
            "_save": "Save",
            **{
                f"{prefix}-{name}": value
                for prefix in ["updates", "attachments", "events"]
                for name, value in [("TOTAL_FORMS", "0"), ("INITIAL_FORMS", "0")]
            },
        },
    )
    assert response.status_code in (200, 302, 403)
    after = Concern.objects.values().get(pk=concern.pk)
    after.pop("updated_at"), before.pop("updated_at")
    assert after == before
    assert not concern.events.exists()


def test_it_assigns_the_selected_concerns_to_me_in_my_npt_only(
    officer_client, npt_officer, concern, other_concern
):
    response = officer_client.post(
        CHANGELIST,
        {"action": "assign_to_me", "_selected_action": [concern.pk, other_concern.pk]},
    )
    assert response.status_code == 302
    concern.refresh_from_db()
    other_concern.refresh_from_db()
    assert concern.assigned_officer == npt_officer
    assert other_concern.assigned_officer is None


# Search and filters


@pytest.fixture
def triage_queue(business, owner, npt_officer):
    """Three concerns of the officer's NPT that differ in every filter."""
    now = timezone.now()
    fresh = factories.ConcernFactory(business=business, reporter=owner, created_at=now)
    fraud = factories.ConcernFactory(
        business=factories.BusinessFactory(name="Harbour Chandlery", npt_area=business.npt_area),
        category=factories.category("fraud"),
        priority="high",
        created_at=now - dt.timedelta(days=10),
        description="A fake invoice arrived by email.",
    )
    old = factories.ConcernFactory(
        business=business,
        reporter=owner,
        category=factories.category("damage"),
        priority="low",
        created_at=now - dt.timedelta(days=40),
    )
    services.concern_ask_question(concern=old, actor=npt_officer, body="Still a problem?")
    return {"fresh": fresh, "fraud": fraud, "old": old}


def test_it_searches_by_reference_business_and_text(officer_client, triage_queue):
    fraud = triage_queue["fraud"]
    assert changelist_references(officer_client, f"?q={fraud.reference}") == {fraud.reference}
    assert changelist_references(officer_client, "?q=Chandlery") == {fraud.reference}
    assert changelist_references(officer_client, "?q=fake+invoice") == {fraud.reference}


def test_it_filters_by_status_category_priority_and_age(officer_client, triage_queue):
    q = triage_queue
    ref = {name: concern.reference for name, concern in q.items()}
    fraud_category = factories.category("fraud").pk
    cases = {
        "?status__exact=waiting": {ref["old"]},
        "?status__exact=new": {ref["fresh"], ref["fraud"]},
        f"?category__id__exact={fraud_category}": {ref["fraud"]},
        "?priority__exact=high": {ref["fraud"]},
        "?priority__exact=low": {ref["old"]},
        "?age=today": {ref["fresh"]},
        "?age=week": {ref["fresh"]},
        "?age=month": {ref["fresh"], ref["fraud"]},
        "?age=older": {ref["old"]},
        "?assigned=nobody": {ref["fresh"], ref["fraud"], ref["old"]},
    }
    for query, expected in cases.items():
        assert changelist_references(officer_client, query) == expected, query


def test_it_does_not_fail_on_hostile_filter_values(officer_client, triage_queue):
    for query in [
        "?status__exact=%00",
        "?priority__exact=%00",
        "?q=%00",
        "?age=%00",
        "?category__id__exact=abc",
        "?created_at__year=%00",
        "?q=" + "x" * 5000,
        "?o=999",
    ]:
        response = officer_client.get(f"{CHANGELIST}{query}")
        assert response.status_code in (200, 302, 400), query
