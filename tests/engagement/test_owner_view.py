"""The owner's own view: what they entered, attachments added later, withdrawing a report,
their bookings and Watch schemes on /my/, and a guest's private link sent again."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from engagement import services
from engagement.models import Concern, ConcernEvent, ConcernUpdate, OutboundEmail, Outcome
from tests import factories


def page_of(client, concern):
    return client.get(concern.get_absolute_url()).content.decode()


def attach_url(concern):
    return reverse("engagement:concern_attach", args=[concern.reference])


def withdraw_url(concern):
    return reverse("engagement:concern_withdraw", args=[concern.reference])


# What they entered, and every public update and outcome


def test_it_shows_the_owner_everything_they_entered(client, owner, business):
    concern = factories.ConcernFactory(
        business=business,
        reporter=owner,
        occurred_on=dt.date(2026, 3, 14),
        occurred_time=dt.time(16, 45),
        location="The car park behind the shop",
        existing_reference="AF-12345",
        impact=Concern.Impact.SERIOUS,
        impact_details="Staff are frightened to lock up.",
        contact_phone="01202 123456",
        contact_preference=Concern.ContactPreference.PHONE,
    )
    client.force_login(owner)

    content = page_of(client, concern)

    for shown in (
        business.name,
        "Theft or shoplifting",
        "14 March 2026, 16:45",
        "The car park behind the shop",
        "AF-12345",
        "Serious loss, or staff feel unsafe",
        "Staff are frightened to lock up.",
        "01202 123456",
        "By phone",
        "Someone keeps taking stock from the shelf by the door.",
    ):
        assert shown in content, shown


def test_it_shows_every_public_update_and_the_outcome_but_no_internal_note(
    client, owner, concern, npt_officer
):
    services.concern_post_update(concern=concern, actor=npt_officer, body="Patrols arranged.")
    services.concern_add_note(concern=concern, actor=npt_officer, body="Known to us already.")
    services.concern_resolve(
        concern=concern, actor=npt_officer, outcome=factories.outcome(), note="Advice sent."
    )
    client.force_login(owner)

    content = page_of(client, concern)

    assert "Patrols arranged." in content
    assert "Advice sent." in content
    assert f"Outcome: {factories.outcome().name}" in content
    assert "Known to us already." not in content
    # Once there is an outcome, no promise of a first reply.
    assert "Your team will reply by" not in content


# Attachments added later


def test_it_lets_the_owner_add_an_attachment_to_an_open_concern(client, owner, concern):
    client.force_login(owner)

    response = client.post(
        attach_url(concern), {"attachments": [factories.png_upload("later.png")]}, follow=True
    )

    assert "Attached: later.png." in response.content.decode()
    assert "later.png" in response.content.decode()
    assert list(concern.attachments.values_list("original_name", flat=True)) == ["later.png"]
    event = concern.events.get(kind=ConcernEvent.Kind.ATTACHED)
    assert event.actor == owner
    assert event.detail == "later.png"


def test_it_tells_whoever_holds_the_concern_of_a_later_attachment(
    client, owner, concern, npt_officer
):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    client.force_login(owner)

    client.post(attach_url(concern), {"attachments": [factories.png_upload("later.png")]})

    email = OutboundEmail.objects.get(to=npt_officer.email, subject__contains="attached")
    assert email.subject == f"{concern.reference}: the business attached a file"
    assert "later.png" in email.body_text


def test_it_checks_a_later_attachment_as_the_report_form_does(client, owner, concern):
    client.force_login(owner)
    fake = SimpleUploadedFile("invoice.png", b"not an image at all", content_type="image/png")

    response = client.post(attach_url(concern), {"attachments": [fake]})

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count("“invoice.png” is not a photo (JPEG, PNG, WebP, GIF) or a PDF") == 2
    assert "<title>Error:" in content
    assert not concern.attachments.exists()


def test_it_asks_for_a_file_when_none_was_chosen(client, owner, concern):
    client.force_login(owner)

    response = client.post(attach_url(concern), {})

    assert "Choose at least one photo or PDF to attach." in response.content.decode()


def test_it_attaches_nothing_once_the_concern_has_an_outcome(client, owner, concern, npt_officer):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    client.force_login(owner)

    response = client.post(
        attach_url(concern), {"attachments": [factories.png_upload()]}, follow=True
    )

    assert "no longer open" in response.content.decode()
    assert not concern.attachments.exists()
    assert 'action="' + attach_url(concern) not in page_of(client, concern)


def test_it_caps_the_attachments_of_one_concern(owner, concern, settings):
    from engagement.forms import accepted_attachment

    factories.AttachmentFactory.create_batch(
        services.MAX_ATTACHMENTS_PER_CONCERN - 1, concern=concern
    )
    two = [accepted_attachment(factories.png_upload(f"{n}.png")) for n in range(2)]

    with pytest.raises(services.ValidationError, match="room for 1 more"):
        services.concern_add_attachments(concern=concern, author=owner, attachments=two)
    assert concern.attachments.count() == services.MAX_ATTACHMENTS_PER_CONCERN - 1


def test_another_owner_cannot_add_an_attachment_to_my_concern(client, other_owner, concern):
    client.force_login(other_owner)

    response = client.post(attach_url(concern), {"attachments": [factories.png_upload()]})

    assert response.status_code == 404
    assert not concern.attachments.exists()


def test_it_asks_a_signed_out_visitor_to_sign_in_before_attaching(client, concern):
    response = client.post(attach_url(concern), {"attachments": [factories.png_upload()]})

    assert response.status_code == 302
    assert not concern.attachments.exists()


# Withdrawing


def test_it_withdraws_a_concern_with_a_reason_and_tells_the_officer(
    client, owner, concern, npt_officer, django_capture_on_commit_callbacks
):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    client.force_login(owner)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(
            withdraw_url(concern), {"reason": "The stock turned up in the stockroom."}, follow=True
        )

    concern.refresh_from_db()
    assert concern.status == Concern.Status.CLOSED
    assert concern.outcome.slug == Outcome.WITHDRAWN_SLUG
    assert concern.outcome_note == "The stock turned up in the stockroom."
    event = concern.events.get(kind=ConcernEvent.Kind.WITHDRAWN)
    assert (event.actor, event.from_status, event.to_status) == (owner, "in_progress", "closed")
    content = response.content.decode()
    assert f"Your report {concern.reference} is withdrawn." in content
    assert "Outcome: Withdrawn by the reporter" in content
    assert "The stock turned up in the stockroom." in content
    # The officer is told through the outbox, sent once the change is committed.
    email = OutboundEmail.objects.get(to=npt_officer.email)
    assert email.subject == f"{concern.reference} withdrawn by the business"
    assert "The stock turned up in the stockroom." in email.body_text
    assert callbacks  # the send is queued after commit, not during the request


def test_it_withdraws_once_however_often_it_is_asked(client, owner, concern, npt_officer):
    client.force_login(owner)

    client.post(withdraw_url(concern), {"reason": "Sorted out."})
    response = client.post(withdraw_url(concern), {"reason": "Sorted out."}, follow=True)

    assert concern.events.filter(kind=ConcernEvent.Kind.WITHDRAWN).count() == 1
    assert OutboundEmail.objects.filter(subject__contains="withdrawn").count() == 1
    assert "was already withdrawn" in response.content.decode()


def test_it_does_not_withdraw_a_concern_that_already_has_an_outcome(
    client, owner, concern, npt_officer
):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    client.force_login(owner)

    response = client.post(withdraw_url(concern), {"reason": "Sorted out."}, follow=True)

    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED
    assert concern.outcome.slug == "advice-given"
    assert not concern.events.filter(kind=ConcernEvent.Kind.WITHDRAWN).exists()
    assert "cannot be withdrawn" in response.content.decode()


def test_it_asks_for_a_reason_before_withdrawing(client, owner, concern):
    client.force_login(owner)

    response = client.post(withdraw_url(concern), {"reason": "  "})

    assert "Say why you are withdrawing this report." in response.content.decode()
    concern.refresh_from_db()
    assert concern.is_open


def test_another_owner_cannot_withdraw_my_concern(client, other_owner, concern):
    client.force_login(other_owner)

    response = client.post(withdraw_url(concern), {"reason": "Mischief."})

    assert response.status_code == 404
    concern.refresh_from_db()
    assert concern.is_open


def test_officers_are_not_offered_the_withdrawn_outcome(db):
    withdrawn = Outcome.objects.get(slug=Outcome.WITHDRAWN_SLUG)

    assert withdrawn.name == "Withdrawn by the reporter"
    assert not withdrawn.is_active


# A guest's concern page


@pytest.fixture
def guest_concern(area):
    concern, token = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Cards skimmed at the till.",
            occurred_on=timezone.localdate() - dt.timedelta(days=2),
            location="The till",
            impact=Concern.Impact.SOME,
            contact_name="Gita Guest",
            contact_email="gita@example.org",
        ),
        submission_key=factories.uuid.uuid4(),
    )
    return concern, token


def test_a_guest_sees_an_unconfirmed_report_as_not_yet_with_the_police(client, guest_concern):
    concern, token = guest_concern

    content = client.get(reverse("engagement:guest_track", args=[token])).content.decode()

    assert "only once you confirm it" in content
    assert "With the Poole Neighbourhood Policing Team" not in content
    assert "Not sent yet" in content


def test_a_guest_can_attach_and_withdraw_by_their_private_link(client, guest_concern):
    concern, token = guest_concern
    services.concern_confirm_guest(concern=concern)

    client.post(
        reverse("engagement:guest_attach", args=[token]),
        {"attachments": [factories.png_upload("till.png")]},
    )
    response = client.post(
        reverse("engagement:guest_withdraw", args=[token]),
        {"reason": "Bank refunded us."},
        follow=True,
    )

    concern.refresh_from_db()
    assert list(concern.attachments.values_list("original_name", flat=True)) == ["till.png"]
    assert concern.status == Concern.Status.CLOSED
    assert concern.events.get(kind=ConcernEvent.Kind.WITHDRAWN).actor is None
    assert "till.png" in response.content.decode()


def test_a_guest_cannot_withdraw_or_attach_before_confirming_or_with_a_wrong_link(
    client, guest_concern
):
    concern, token = guest_concern

    for path in (
        reverse("engagement:guest_withdraw", args=[token]),
        reverse("engagement:guest_withdraw", args=["not-the-token"]),
        reverse("engagement:guest_attach", args=[token]),
    ):
        assert client.post(path, {"reason": "x"}).status_code == 404
    concern.refresh_from_db()
    assert concern.status == Concern.Status.UNCONFIRMED


# /my/: bookings and Watch schemes


def test_it_lists_my_bookings_and_watch_schemes_on_my_page(client, owner, business):
    seminar = factories.SeminarFactory(title="Protect your till")
    factories.BookingFactory(seminar=seminar, business=business, user=owner)
    past = factories.SeminarFactory(
        title="Last year's seminar", starts_at=timezone.now() - dt.timedelta(days=30)
    )
    factories.BookingFactory(seminar=past, business=business, user=owner)
    factories.SchemeMembershipFactory(
        scheme=factories.WatchSchemeFactory(name="Shop Watch"), business=business
    )
    factories.SchemeMembershipFactory(
        scheme=factories.WatchSchemeFactory(name="Pub Watch"), business=business, status="left"
    )
    client.force_login(owner)

    content = client.get("/my/").content.decode()

    assert "Protect your till" in content
    assert "Last year's seminar" not in content
    assert "Shop Watch</a>\n        for " + business.name + ": Member." in content
    assert "Pub Watch" not in content


def test_it_shows_nobody_elses_bookings_or_schemes_on_my_page(
    client, owner, business, other_owner, other_business
):
    factories.BookingFactory(
        seminar=factories.SeminarFactory(title="Someone else's seminar"),
        business=other_business,
        user=other_owner,
    )
    factories.SchemeMembershipFactory(
        scheme=factories.WatchSchemeFactory(name="Farm Watch"), business=other_business
    )
    client.force_login(owner)

    content = client.get("/my/").content.decode()

    assert "Someone else's seminar" not in content
    assert "Farm Watch" not in content
    assert "You have no seminars booked." in content


@pytest.mark.parametrize("rows", [1, 10])
def test_it_reads_my_page_with_bookings_and_schemes_in_eight_queries_however_many(
    client, owner, business, rows, django_assert_num_queries
):
    for n in range(rows):
        factories.BookingFactory(
            seminar=factories.SeminarFactory(title=f"Seminar {n}"), business=business, user=owner
        )
        factories.SchemeMembershipFactory(
            scheme=factories.WatchSchemeFactory(name=f"Scheme {n}"), business=business
        )
        factories.ConcernFactory(business=business, reporter=owner)
    client.force_login(owner)

    # 1. the session
    # 2. the signed-in user
    # 3. how many concerns I have (for the paginator)
    # 4. a page of my concerns with their business, category, NPT area and outcome
    # 5. the public updates of those concerns (prefetch, with their authors)
    # 6. my businesses with their NPT area
    # 7. my seminar bookings still to come, with seminar and business
    # 8. my businesses' open Watch scheme memberships, with scheme, business and contact
    with django_assert_num_queries(8):
        response = client.get("/my/")

    content = response.content.decode()
    assert content.count("/seminars/seminar-") == rows
    assert all(f">Scheme {n}</a>" in content for n in range(rows))


# A guest's private link, sent again


LINK_URL = reverse("engagement:guest_link")


def ask_for_link(client, email, reference, **extra):
    return client.post(LINK_URL, {"email": email, "reference": reference}, follow=True, **extra)


def test_it_sends_a_guest_a_new_link_only_to_the_reports_own_address(client, guest_concern):
    concern, old_token = guest_concern
    OutboundEmail.objects.all().delete()

    response = ask_for_link(client, "GITA@example.org", concern.reference.lower())

    email = OutboundEmail.objects.get()
    assert email.to == "gita@example.org"
    assert email.contains_secret
    assert concern.reference in email.subject
    new_path = email.body_text.split("http://127.0.0.1:8000", 1)[1].split()[0]
    # The new link opens the report; the old one no longer does.
    assert client.get(new_path).status_code == 200
    assert client.get(reverse("engagement:guest_track", args=[old_token])).status_code == 404
    assert "If the email address and reference match a report" in response.content.decode()


@pytest.mark.parametrize(
    "email, reference",
    [
        ("someone.else@example.org", None),  # the right reference, another address
        ("gita@example.org", "DBC-2026-999999"),  # the right address, another reference
    ],
)
def test_it_says_the_same_and_sends_nothing_when_the_details_do_not_match(
    client, guest_concern, email, reference
):
    concern, token = guest_concern
    OutboundEmail.objects.all().delete()
    matched = ask_for_link(Client(), "gita@example.org", concern.reference)
    OutboundEmail.objects.all().delete()

    response = ask_for_link(client, email, reference or concern.reference)

    assert not OutboundEmail.objects.exists()
    assert response.status_code == matched.status_code == 200
    assert response.redirect_chain == matched.redirect_chain
    assert _main(response) == _main(matched)


def _main(response):
    content = response.content.decode()
    return content[content.index("<main") : content.index("</main>")]


def test_it_never_sends_an_account_holders_report_by_this_form(client, owner, concern):
    OutboundEmail.objects.all().delete()

    ask_for_link(client, owner.email, concern.reference)

    assert not OutboundEmail.objects.exists()


def test_it_limits_requests_per_address_and_says_the_same_over_the_limit(client, guest_concern):
    concern, _ = guest_concern
    OutboundEmail.objects.all().delete()

    responses = [
        ask_for_link(client, "gita@example.org", concern.reference, REMOTE_ADDR=f"10.0.0.{n}")
        for n in range(5)
    ]

    assert OutboundEmail.objects.count() == 3
    assert len({_main(response) for response in responses}) == 1


def test_it_limits_requests_per_ip_whatever_the_address(client, guest_concern):
    concern, _ = guest_concern
    OutboundEmail.objects.all().delete()
    for n in range(10):
        ask_for_link(client, f"nobody{n}@example.org", concern.reference)

    ask_for_link(client, "gita@example.org", concern.reference)

    assert not OutboundEmail.objects.exists()


def test_it_explains_what_is_missing_and_keeps_what_was_typed(client, db):
    response = client.post(LINK_URL, {"email": "gita@example", "reference": ""})

    content = response.content.decode()
    assert "<title>Error:" in content
    assert "Enter an email address in the right format, like name@example.com." in content
    assert "Enter the report reference, like DBC-2026-000123." in content
    assert 'value="gita@example"' in content


def test_public_updates_never_include_internal_kinds():
    assert ConcernUpdate.Kind.INTERNAL not in ConcernUpdate.PUBLIC_KINDS
