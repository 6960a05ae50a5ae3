import re
import uuid
from urllib.parse import quote

import pytest
from django.core.cache import cache
from django.utils import timezone
from django.utils.formats import date_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engagement import services
from engagement.models import Business, Concern, ConcernUpdate, OutboundEmail
from tests import factories

HYPOTHESIS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
NASTY = [
    "",
    " ",
    "\x00",
    "\x00\x00<>",
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR '1'='1' --",
    "'; DROP TABLE engagement_concern; --",
    "a" * 10_001,
    "😀" * 50,
    "\u202egnp.exe",
    "%s%s%n{0}{{ settings.SECRET_KEY }}",
    "../../../../etc/passwd",
    "-1",
    "0",
    "99999999999999999999999999",
    "1e309",
    "NaN",
    "null",
    "true",
    "2026-02-30",
    "9999-12-31",
    "0001-01-01",
    "25:61",
    "\r\n\r\nBcc: victim@example.org",
    "BH15 1AA\x00",
    "sw1a 1aa",
]
nasty = st.sampled_from(NASTY) | st.text(max_size=200)
REPORT_FIELDS = [
    "business",
    "category",
    "description",
    "occurred_on",
    "occurred_time",
    "location",
    "existing_reference",
    "impact",
    "impact_details",
    "contact_name",
    "contact_email",
    "contact_phone",
    "contact_preference",
    "submission_key",
]
GUEST_FIELDS = [f for f in REPORT_FIELDS if f != "business"] + [
    "business_name",
    "sector",
    "town",
    "postcode",
]
BUSINESS_FIELDS = ["name", "sector", "size_band", "address_line1", "address_line2", "town"]
BUSINESS_FIELDS += ["postcode", "is_rural", "bid_member"]


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def report_data(own_business, **overrides):
    return factories.concern_form_data(**{"business": own_business.pk, **overrides})


def track_path_from_email() -> str:
    email = OutboundEmail.objects.get(subject__startswith="Confirm your report")
    return re.search(r"http://[^/\s]+(/report/track/[^/\s]+/)", email.body_text).group(1)


# Before reporting


def test_it_signposts_emergencies_and_other_services_before_the_report(client, db):
    response = client.get("/report/")
    assert response.status_code == 200
    page = response.content.decode()
    for signpost in ["999", "101", "Action Fraud", "0300 123 2040", "Crimestoppers"]:
        assert signpost in page, signpost
    assert 'href="/report/guest/"' in page
    assert "/accounts/login/?next=/report/new/" in page


def test_it_sends_an_owner_without_a_business_to_add_one_first(owner_client):
    response = owner_client.get("/report/new/")
    assert response.status_code == 302
    assert response["Location"] == "/my/businesses/add/?next=/report/new/"


def test_it_explains_an_unknown_postcode_when_adding_a_business(owner_client, area):
    response = owner_client.post(
        "/my/businesses/add/", factories.business_form_data(postcode="SW1A 1AA")
    )
    assert response.status_code == 200
    assert "SW1A 1AA is not in an area Dorset Police covers" in response.content.decode()
    assert not Business.objects.exists()


def test_it_adds_a_business_and_returns_to_the_report(owner_client, owner, area):
    response = owner_client.post(
        "/my/businesses/add/?next=/report/new/",
        factories.business_form_data(name="Quay Café", postcode="bh15 1hj"),
    )
    assert response.status_code == 302
    assert response["Location"] == "/report/new/"
    business = Business.objects.get(memberships__user=owner)
    assert (business.name, business.postcode, business.npt_area) == ("Quay Café", "BH15 1HJ", area)
    page = owner_client.get("/report/new/").content.decode()
    assert "Quay Café is added. Your local team is Poole." in page


def test_it_does_not_follow_a_next_link_off_the_site(owner_client, area):
    response = owner_client.post(
        "/my/businesses/add/?next=https://evil.example/",
        factories.business_form_data(),
    )
    assert response["Location"] == "/my/"


def test_it_changes_a_business_and_routes_it_again(owner_client, business, other_area):
    response = owner_client.post(
        f"/my/businesses/{business.pk}/",
        factories.business_form_data(name="Renamed", postcode="DT1 2AA", town="Dorchester"),
    )
    assert response.status_code == 302
    business.refresh_from_db()
    assert (business.name, business.npt_area) == ("Renamed", other_area)


# Reporting


def test_it_submits_a_report_with_an_attachment_and_shows_the_reference_and_due_dates(
    owner_client, owner, business
):
    data = report_data(business)
    data["attachments"] = [factories.png_upload("till.png")]
    response = factories.send_report(owner_client, data)
    concern = Concern.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/report/{concern.reference}/submitted/"
    assert concern.reporter == owner
    assert concern.attachments.get().original_name == "till.png"
    page = owner_client.get(response["Location"]).content.decode()
    assert concern.reference in page
    assert date_format(timezone.localtime(concern.first_response_due_at), "l j F Y") in page
    assert date_format(timezone.localtime(concern.resolution_due_at), "l j F Y") in page
    assert "Poole Neighbourhood Policing Team" in page
    assert "owner@example.org" in page


def test_it_creates_one_concern_when_the_form_and_its_check_are_posted_twice(
    owner_client, business
):
    data = report_data(business)
    first = owner_client.post("/report/new/", {**data, "attachments": [factories.png_upload()]})
    again = owner_client.post("/report/new/", {**data, "attachments": [factories.png_upload()]})
    assert first["Location"] == again["Location"] == f"/report/new/{data['submission_key']}/check/"
    sent = owner_client.post(first["Location"], {"action": "send"})
    sent_again = owner_client.post(first["Location"], {"action": "send"})
    assert sent["Location"] == sent_again["Location"]
    assert Concern.objects.count() == 1
    assert Concern.objects.get().attachments.count() == 1


def test_it_lists_the_owners_concerns_on_my_page(owner_client, concern, business):
    response = owner_client.get("/my/")
    assert response.status_code == 200
    page = response.content.decode()
    assert concern.reference in page
    assert business.name in page
    assert "New" in page


def test_it_pages_the_owners_concerns_newest_first(owner_client, business, owner):
    from engagement.views import MY_CONCERNS_PAGE_SIZE

    concerns = [
        factories.ConcernFactory(business=business, reporter=owner)
        for _ in range(MY_CONCERNS_PAGE_SIZE + 1)
    ]
    oldest = min(concerns, key=lambda c: (c.created_at, c.pk))

    first = owner_client.get("/my/").content.decode()
    second = owner_client.get("/my/?page=2").content.decode()

    assert first.count("/my/concerns/DBC-") == MY_CONCERNS_PAGE_SIZE
    assert 'aria-label="Pages of your reports"' in first
    assert "Page 1 of 2" in first and 'href="?page=2"' in first
    assert oldest.reference not in first
    assert second.count("/my/concerns/DBC-") == 1 and oldest.reference in second
    for hostile in ("0", "-1", "x", "99999999999999999999"):
        assert owner_client.get(f"/my/?page={hostile}").status_code == 200


def test_it_shows_public_updates_but_never_internal_notes(owner_client, concern, npt_officer):
    services.concern_post_update(concern=concern, actor=npt_officer, body="Patrols added tonight.")
    services.concern_add_note(concern=concern, actor=npt_officer, body="INTEL: suspect is known.")
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Any CCTV?")
    for url in [f"/my/concerns/{concern.reference}/", "/my/"]:
        page = owner_client.get(url).content.decode()
        assert "Patrols added tonight." in page
        assert "Any CCTV?" in page
        assert "INTEL" not in page


def test_it_takes_a_reply_and_restarts_the_clock(owner_client, concern, npt_officer):
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Any CCTV?")
    response = owner_client.post(
        f"/my/concerns/{concern.reference}/reply/", {"body": "Yes, from the till camera."}
    )
    assert response.status_code == 302
    assert response["Location"] == f"/my/concerns/{concern.reference}/"
    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS
    assert concern.updates.get(kind="reply").body == "Yes, from the till camera."
    page = owner_client.get(response["Location"]).content.decode()
    assert "Your reply has been sent to the Poole Neighbourhood Policing Team." in page


def test_it_refuses_an_empty_reply_and_explains(owner_client, concern):
    response = owner_client.post(f"/my/concerns/{concern.reference}/reply/", {"body": " "})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert not ConcernUpdate.objects.exists()


@pytest.fixture
def resolved(concern, npt_officer):
    services.concern_resolve(
        concern=concern,
        actor=npt_officer,
        outcome=factories.outcome("no-further-action"),
        note="No footage.",
    )
    return concern


def test_it_shows_the_outcome_and_asks_whether_it_resolved_the_concern(owner_client, resolved):
    page = owner_client.get(f"/my/concerns/{resolved.reference}/").content.decode()
    assert "Outcome: No further action" in page
    assert "No footage." in page
    assert "Has this resolved your concern?" in page


def test_it_closes_a_concern_the_owner_says_is_resolved(owner_client, resolved):
    response = owner_client.post(
        f"/my/concerns/{resolved.reference}/feedback/", {"resolved": "yes"}
    )
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Concern.Status.CLOSED


def test_it_reopens_a_concern_the_owner_says_is_not_resolved(owner_client, resolved):
    response = owner_client.post(
        f"/my/concerns/{resolved.reference}/feedback/",
        {"resolved": "no", "comment": "They were back on Tuesday."},
    )
    assert response.status_code == 302
    resolved.refresh_from_db()
    assert resolved.status == Concern.Status.IN_PROGRESS
    page = owner_client.get(response["Location"]).content.decode()
    assert "We have reopened your concern and told the Poole Neighbourhood Policing Team." in page


def test_it_asks_again_when_feedback_is_not_chosen(owner_client, resolved):
    response = owner_client.post(f"/my/concerns/{resolved.reference}/feedback/", {"comment": "x"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    resolved.refresh_from_db()
    assert resolved.status == Concern.Status.RESOLVED


def test_it_serves_an_attachment_to_its_owner_safely(owner_client, concern):
    attachment = factories.AttachmentFactory(concern=concern)
    response = owner_client.get(f"/my/concerns/{concern.reference}/attachments/{attachment.pk}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert b"".join(response.streaming_content) == factories.png_bytes()


# Guests


def test_it_takes_a_guest_report_confirmed_from_the_emailed_link(client, area):
    response = factories.send_report(client, factories.guest_form_data(), guest=True)
    assert response.status_code == 302
    assert response["Location"] == "/report/guest/sent/"
    concern = Concern.objects.get()
    assert concern.status == Concern.Status.UNCONFIRMED
    assert concern.reference in client.get("/report/guest/sent/").content.decode()

    track = track_path_from_email()
    page = client.get(track).content.decode()
    assert "Confirm my report" in page
    assert concern.reference in page

    response = client.post(track, {"action": "confirm"})
    assert response.status_code == 302
    assert response["Location"] == track
    concern.refresh_from_db()
    assert concern.status == Concern.Status.NEW
    page = client.get(track).content.decode()
    assert f"Thank you. Your report {concern.reference} is confirmed." in page
    assert "Confirm my report" not in page


def test_it_lets_a_guest_reply_by_the_link_once_confirmed(client, area, npt_officer):
    factories.send_report(client, factories.guest_form_data(), guest=True)
    track = track_path_from_email()
    concern = Concern.objects.get()
    assert client.post(f"{track}reply/", {"body": "Early"}).status_code == 404
    client.post(track, {"action": "confirm"})
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Any CCTV?")
    response = client.post(f"{track}reply/", {"body": "Yes."})
    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS


def test_it_keeps_one_guest_report_when_the_form_is_posted_twice(client, area):
    data = factories.guest_form_data()
    factories.send_report(client, data, guest=True)
    factories.send_report(client, data, guest=True)
    assert Concern.objects.count() == 1
    assert Business.objects.count() == 1


@pytest.mark.parametrize(
    "token",
    [
        "x" * 43,
        "not-a-token",
        quote("<script>"),
        "%00",
        quote("\x00" * 10),
        "a" * 101,
        "a" * 10_000,
        quote("😀" * 20),
    ],
)
def test_it_answers_404_to_a_wrong_garbage_or_huge_token(client, area, token):
    factories.send_report(client, factories.guest_form_data(), guest=True)
    for suffix in ["", "reply/", "feedback/"]:
        response = client.post(f"/report/track/{token}/{suffix}", {"action": "confirm"})
        assert response.status_code == 404
    assert client.get(f"/report/track/{token}/").status_code == 404
    assert Concern.objects.get().status == Concern.Status.UNCONFIRMED


def test_it_sends_a_visitor_without_a_report_back_to_the_start(client, db):
    response = client.get("/report/guest/sent/")
    assert response["Location"] == "/report/"


# No input gives a 500.


@HYPOTHESIS
@given(field=st.sampled_from(REPORT_FIELDS), value=nasty)
def test_it_never_fails_on_hostile_report_input(owner_client, business, field, value):
    response = factories.send_report(owner_client, report_data(business, **{field: value}))
    assert response.status_code in (200, 302)


@HYPOTHESIS
@given(field=st.sampled_from(GUEST_FIELDS), value=nasty)
def test_it_never_fails_on_hostile_guest_report_input(client, area, field, value):
    cache.clear()  # each example a first report, not the throttle's business
    response = factories.send_report(
        client, factories.guest_form_data(**{field: value}), guest=True
    )
    assert response.status_code in (200, 302)


@HYPOTHESIS
@given(field=st.sampled_from(BUSINESS_FIELDS), value=nasty)
def test_it_never_fails_on_hostile_business_input(owner_client, business, field, value):
    data = factories.business_form_data(**{field: value})
    assert owner_client.post("/my/businesses/add/", data).status_code in (200, 302)
    assert owner_client.post(f"/my/businesses/{business.pk}/", data).status_code in (200, 302)


@HYPOTHESIS
@given(body=nasty, resolved=nasty, comment=nasty)
def test_it_never_fails_on_hostile_replies_and_feedback(
    owner_client, concern, body, resolved, comment
):
    cache.clear()  # each example a first reply, not the throttle's business
    base = f"/my/concerns/{concern.reference}"
    assert owner_client.post(f"{base}/reply/", {"body": body}).status_code in (200, 302)
    response = owner_client.post(f"{base}/feedback/", {"resolved": resolved, "comment": comment})
    assert response.status_code in (200, 302)


@HYPOTHESIS
@given(action=nasty, body=nasty)
def test_it_never_fails_on_hostile_guest_link_input(client, area, action, body):
    _, token = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Stock taken.",
            occurred_on=timezone.localdate(),
            location="Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
    )
    track = f"/report/track/{token}/"
    assert client.post(track, {"action": action}).status_code in (200, 302)
    assert client.post(f"{track}reply/", {"body": body}).status_code in (200, 302, 404)


@HYPOTHESIS
@given(password=nasty)
def test_it_never_fails_on_hostile_account_deletion_input(owner_client, owner, password):
    response = owner_client.post("/my/account/delete/", {"password": password})
    assert response.status_code == 200  # never the right password, so never deleted
    owner.refresh_from_db()


@pytest.mark.parametrize("value", NASTY)
def test_it_never_fails_on_hostile_values_in_urls(owner_client, concern, value):
    segment = quote(value, safe="") or "x"
    for url in [
        f"/my/concerns/{segment}/",
        f"/report/{segment}/submitted/",
        f"/my/concerns/{concern.reference}/attachments/{segment}/",
        f"/my/concerns/{segment}/attachments/1/",
        f"/my/businesses/{segment}/",
        f"/report/track/{segment}/",
        f"/my/businesses/add/?next={segment}",
        f"/report/new/?business={segment}",
    ]:
        response = owner_client.get(url)
        assert response.status_code in (200, 302, 404), url
    for url in [f"/my/concerns/{segment}/reply/", f"/my/concerns/{segment}/feedback/"]:
        assert owner_client.post(url, {"body": "x"}).status_code == 404
