"""Every owner page refuses everyone but the concern's or business's own members."""

import re
import uuid

import pytest
from django.utils import timezone

from engagement import services
from engagement.models import Business, BusinessMembership, Concern, ConcernUpdate
from tests import factories


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def attachment(concern):
    return factories.AttachmentFactory(concern=concern)


@pytest.fixture
def owner_pages(concern, business, attachment):
    """Every page of the owner's, with what it must never show anyone else."""
    return {
        f"/my/concerns/{concern.reference}/": concern.description,
        f"/report/{concern.reference}/submitted/": concern.reference,
        f"/my/concerns/{concern.reference}/attachments/{attachment.pk}/": "",
        f"/my/businesses/{business.pk}/": business.name,
    }


@pytest.fixture
def owner_actions(concern):
    return {
        f"/my/concerns/{concern.reference}/reply/": {"body": "Injected reply"},
        f"/my/concerns/{concern.reference}/feedback/": {"resolved": "no", "comment": "Injected"},
    }


def test_it_refuses_another_owner_every_page_by_url(
    client, other_owner, other_concern, owner_pages
):
    client.force_login(other_owner)
    for url, secret in owner_pages.items():
        response = client.get(url)
        assert response.status_code == 404, url
        if secret:
            assert secret not in response.content.decode(), url


def test_it_refuses_an_officer_the_owner_pages(client, npt_officer, owner_pages):
    # Officers triage in the admin; the owner's pages are the owner's.
    client.force_login(npt_officer)
    for url in owner_pages:
        assert client.get(url).status_code == 404, url


def test_it_refuses_another_owner_every_action(
    client, other_owner, concern, npt_officer, owner_actions
):
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    client.force_login(other_owner)
    for url, data in owner_actions.items():
        assert client.post(url, data).status_code == 404, url
    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED
    assert not ConcernUpdate.objects.filter(kind="reply").exists()


def test_it_refuses_another_owner_changing_the_business(client, other_owner, business):
    client.force_login(other_owner)
    response = client.post(
        f"/my/businesses/{business.pk}/", factories.business_form_data(name="Hijacked")
    )
    assert response.status_code == 404
    business.refresh_from_db()
    assert business.name != "Hijacked"


def test_it_refuses_guessed_references_and_ids(client, other_owner, concern, business, attachment):
    client.force_login(other_owner)
    year, number = re.fullmatch(r"DBC-(\d{4})-(\d{6})", concern.reference).groups()
    guesses = [
        concern.reference,
        concern.reference.lower(),
        f" {concern.reference}",
        f"DBC-{year}-{int(number) + 1:06d}",
        f"DBC-{year}-{int(number) - 1:06d}",
        f"DBC-{year}-{concern.pk:06d}",
        str(concern.pk),
    ]
    for guess in guesses:
        for url in [f"/my/concerns/{guess}/", f"/report/{guess}/submitted/"]:
            assert client.get(url).status_code == 404, url
    for pk in [business.pk, business.pk + 1, 0]:
        assert client.get(f"/my/businesses/{pk}/").status_code == 404
    for pk in [attachment.pk, attachment.pk + 1]:
        url = f"/my/concerns/{concern.reference}/attachments/{pk}/"
        assert client.get(url).status_code == 404


def test_it_refuses_another_concerns_attachment_through_ones_own_concern(
    client, other_owner, other_concern, attachment
):
    # The attachment id is the owner's; the reference is other_owner's own concern.
    client.force_login(other_owner)
    url = f"/my/concerns/{other_concern.reference}/attachments/{attachment.pk}/"
    assert client.get(url).status_code == 404


def test_it_shows_another_owner_none_of_the_owners_concerns_on_my_page(
    client, other_owner, concern, business, other_concern
):
    client.force_login(other_owner)
    page = client.get("/my/").content.decode()
    assert other_concern.reference in page
    assert concern.reference not in page
    assert business.name not in page


def test_it_lets_a_second_member_of_the_business_see_its_concerns(client, concern, business):
    manager = factories.UserFactory()
    BusinessMembership.objects.create(user=manager, business=business, role="manager")
    client.force_login(manager)
    assert client.get(f"/my/concerns/{concern.reference}/").status_code == 200


def test_it_refuses_a_report_on_another_owners_business(
    client, other_owner, business, other_business
):
    client.force_login(other_owner)
    data = factories.concern_form_data(business=business.pk)
    response = factories.send_report(client, data)
    assert response.status_code == 200
    assert not Concern.objects.filter(business=business).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/my/",
        "/report/new/",
        "/my/businesses/add/",
        "/my/businesses/1/",
        "/my/concerns/DBC-2026-000001/",
        "/report/DBC-2026-000001/submitted/",
        "/my/concerns/DBC-2026-000001/attachments/1/",
    ],
)
def test_it_sends_anonymous_visitors_to_sign_in(client, db, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize("suffix", ["reply/", "feedback/"])
def test_it_sends_anonymous_posts_to_sign_in_and_changes_nothing(client, concern, suffix):
    response = client.post(f"/my/concerns/{concern.reference}/{suffix}", {"body": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not ConcernUpdate.objects.exists()


def _guest_report(area, description):
    return services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description=description,
            occurred_on=timezone.localdate(),
            location="The Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
    )


def test_it_opens_only_its_own_concern_by_a_guest_tracking_link(client, area, npt_officer):
    first, first_token = _guest_report(area, "First report: the till was forced.")
    second, second_token = _guest_report(area, "Second report: graffiti on the shutter.")
    services.concern_confirm_guest(concern=first)
    services.concern_confirm_guest(concern=second)
    services.concern_ask_question(concern=second, actor=npt_officer, body="When?")

    page = client.get(f"/report/track/{first_token}/").content.decode()
    assert first.reference in page and "the till was forced" in page
    assert second.reference not in page and "graffiti" not in page

    client.post(f"/report/track/{first_token}/reply/", {"body": "Reply to the first"})
    second.refresh_from_db()
    assert second.status == Concern.Status.WAITING
    assert not second.updates.filter(kind="reply").exists()
    assert first.updates.get(kind="reply").body == "Reply to the first"


def test_it_does_not_open_a_guest_concern_by_its_reference_or_hash(client, area, other_owner):
    concern, token = _guest_report(area, "Guest report")
    concern.refresh_from_db()
    client.force_login(other_owner)
    for url in [
        f"/report/track/{concern.reference}/",
        f"/report/track/{concern.tracking_token_hash}/",
        f"/report/track/{token[:-1]}/",
        f"/my/concerns/{concern.reference}/",
    ]:
        assert client.get(url).status_code == 404, url


def test_it_does_not_let_a_guest_download_attachments_by_link(client, area):
    concern, token = _guest_report(area, "Guest report")
    attachment = factories.AttachmentFactory(concern=concern)
    url = f"/my/concerns/{concern.reference}/attachments/{attachment.pk}/"
    assert client.get(url).status_code == 302  # to sign in; a guest has no account
    assert Business.objects.get(pk=concern.business_id).memberships.count() == 0
