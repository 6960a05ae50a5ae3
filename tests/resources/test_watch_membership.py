"""Joining, deciding and leaving Watch schemes."""

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from engagement.models import OutboundEmail
from resources import services
from resources.models import CommunityEvent, SchemeMembership
from tests import factories
from tests.resources.conftest import emails_to


def apply_url(scheme):
    return reverse("resources:scheme_apply", args=[scheme.slug])


def manage_url(scheme):
    return reverse("resources:scheme_manage", args=[scheme.slug])


def decide_url(membership):
    return reverse("resources:membership_decide", args=[membership.scheme.slug, membership.pk])


@pytest.fixture
def application(scheme, business, owner):
    return services.membership_apply(scheme=scheme, business=business, user=owner)


# Applying


def test_it_shows_the_schemes_to_everyone(client, scheme, other_scheme):
    response = client.get(reverse("resources:scheme_list"))

    assert response.status_code == 200
    assert b"Shop Watch" in response.content and b"Pub Watch" in response.content
    assert b"Sign in to apply" in client.get(scheme.get_absolute_url()).content


def test_it_lets_a_business_apply_and_tells_the_coordinator(client, owner, business, scheme):
    client.force_login(owner)

    response = client.post(apply_url(scheme), {"business": business.pk, "note": "Corner shop."})

    assert response.status_code == 302
    membership = SchemeMembership.objects.get()
    assert (membership.business, membership.contact, membership.status) == (
        business,
        owner,
        "pending",
    )
    assert membership.events.get().kind == CommunityEvent.Kind.APPLIED
    [email] = emails_to("coordinator@example.org")
    assert business.name in email.subject
    assert "Corner shop." in email.body_text
    assert manage_url(scheme) in email.body_text


def test_it_emails_the_scheme_address_when_there_is_no_coordinator(client, owner, business):
    scheme = factories.WatchSchemeFactory(email="farmwatch@example.org")
    client.force_login(owner)

    client.post(apply_url(scheme), {"business": business.pk})

    assert emails_to("farmwatch@example.org").count() == 1


def test_it_keeps_one_application_when_the_form_is_sent_twice(client, owner, business, scheme):
    client.force_login(owner)

    client.post(apply_url(scheme), {"business": business.pk})
    client.post(apply_url(scheme), {"business": business.pk})

    assert SchemeMembership.objects.count() == 1
    assert emails_to("coordinator@example.org").count() == 1


def test_it_refuses_to_apply_for_someone_elses_business(client, owner, other_business, scheme):
    client.force_login(owner)

    response = client.post(apply_url(scheme), {"business": other_business.pk})

    assert response.status_code == 400
    assert b"Choose one of your own businesses from the list." in response.content
    assert not SchemeMembership.objects.exists()
    with pytest.raises(PermissionDenied):
        services.membership_apply(scheme=scheme, business=other_business, user=owner)


def test_it_asks_which_business_when_none_is_chosen(client, owner, business, scheme):
    client.force_login(owner)

    response = client.post(apply_url(scheme), {"note": "<b>bold</b>"})

    assert response.status_code == 400
    assert b"There is a problem" in response.content
    assert b"&lt;b&gt;bold&lt;/b&gt;" in response.content  # kept, and escaped
    assert not SchemeMembership.objects.exists()


def test_it_refuses_applications_when_the_scheme_is_closed(client, owner, business, scheme):
    scheme.is_accepting = False
    scheme.save()
    client.force_login(owner)

    client.post(apply_url(scheme), {"business": business.pk})

    assert not SchemeMembership.objects.exists()


def test_it_sends_the_anonymous_to_sign_in_before_applying(client, business, scheme):
    response = client.post(apply_url(scheme), {"business": business.pk})

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]
    assert not SchemeMembership.objects.exists()


def test_it_refuses_a_get_on_the_apply_address(client, owner, scheme):
    client.force_login(owner)

    assert client.get(apply_url(scheme)).status_code == 405


# Deciding


def test_it_lets_the_coordinator_approve_and_tells_the_business(
    client, coordinator, owner, application
):
    client.force_login(coordinator)
    assert client.get(manage_url(application.scheme)).status_code == 200

    response = client.post(decide_url(application), {f"d{application.pk}-decision": "approve"})

    assert response.status_code == 302
    application.refresh_from_db()
    assert (application.status, application.decided_by) == ("approved", coordinator)
    [email] = emails_to(owner.email)
    assert "Welcome to Shop Watch" in email.subject


def test_it_declines_with_the_reason_the_business_is_told(client, coordinator, owner, application):
    client.force_login(coordinator)

    client.post(
        decide_url(application),
        {
            f"d{application.pk}-decision": "decline",
            f"d{application.pk}-reason": "Shop Watch covers Bournemouth town centre only.",
        },
    )

    application.refresh_from_db()
    assert application.status == "declined"
    [email] = emails_to(owner.email)
    assert "covers Bournemouth town centre only" in email.body_text
    assert "covers Bournemouth town centre only" in email.body_html


def test_it_will_not_decline_without_a_reason(client, coordinator, owner, application):
    client.force_login(coordinator)

    response = client.post(decide_url(application), {f"d{application.pk}-decision": "decline"})

    assert response.status_code == 400
    assert b"Give the business a reason" in response.content
    application.refresh_from_db()
    assert application.status == "pending"
    assert not emails_to(owner.email).exists()


def test_it_decides_once_when_two_decisions_race(client, coordinator, editor, owner, application):
    services.membership_approve(membership=application, actor=coordinator)
    services.membership_decline(membership=application, actor=editor, reason="Too late.")

    application.refresh_from_db()
    assert (application.status, application.decided_by) == ("approved", coordinator)
    assert emails_to(owner.email).count() == 1


def test_it_lets_an_editor_decide_for_any_scheme(client, editor, application):
    client.force_login(editor)

    client.post(decide_url(application), {f"d{application.pk}-decision": "approve"})

    application.refresh_from_db()
    assert application.status == "approved"


@pytest.mark.parametrize("who", ["owner", "other_owner", "npt_officer"])
def test_it_hides_the_manage_page_from_everyone_else(client, request, application, who):
    client.force_login(request.getfixturevalue(who))

    assert client.get(manage_url(application.scheme)).status_code == 404
    response = client.post(decide_url(application), {f"d{application.pk}-decision": "approve"})
    assert response.status_code == 404
    application.refresh_from_db()
    assert application.status == "pending"


def test_it_hides_another_schemes_applications_from_a_coordinator(
    client, coordinator, other_scheme, other_business, other_owner
):
    foreign = services.membership_apply(
        scheme=other_scheme, business=other_business, user=other_owner
    )
    client.force_login(coordinator)

    assert client.get(manage_url(other_scheme)).status_code == 404
    # The coordinator's own scheme in the URL, another scheme's application id.
    url = reverse("resources:membership_decide", args=["shop-watch", foreign.pk])
    assert client.post(url, {f"d{foreign.pk}-decision": "approve"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == "pending"


def test_it_sends_the_anonymous_to_sign_in_for_the_manage_page(client, application):
    response = client.get(manage_url(application.scheme))

    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


# Members: alert choice and leaving


def test_it_saves_the_alert_choice(client, owner, membership):
    client.force_login(owner)
    url = reverse("resources:membership_preference", args=["shop-watch", membership.pk])

    response = client.post(url, {f"m{membership.pk}-alert_preference": "digest"})

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.alert_preference == "digest"


def test_it_refuses_a_made_up_alert_choice(client, owner, membership):
    client.force_login(owner)
    url = reverse("resources:membership_preference", args=["shop-watch", membership.pk])

    response = client.post(url, {f"m{membership.pk}-alert_preference": "hourly"})

    assert response.status_code == 400
    membership.refresh_from_db()
    assert membership.alert_preference == "every"


def test_it_lets_a_member_leave(client, owner, membership):
    client.force_login(owner)

    response = client.post(
        reverse("resources:membership_leave", args=["shop-watch", membership.pk])
    )

    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.status == "left" and membership.left_at is not None


def test_it_lets_a_former_member_apply_again(client, owner, business, membership):
    services.membership_leave(membership=membership, user=owner)
    client.force_login(owner)

    client.post(apply_url(membership.scheme), {"business": business.pk})

    assert SchemeMembership.objects.filter(business=business, status="pending").count() == 1


def test_it_hides_another_businesss_membership(client, other_owner, membership):
    client.force_login(other_owner)

    leave = reverse("resources:membership_leave", args=["shop-watch", membership.pk])
    choose = reverse("resources:membership_preference", args=["shop-watch", membership.pk])
    assert client.post(leave).status_code == 404
    assert client.post(choose, {f"m{membership.pk}-alert_preference": "digest"}).status_code == 404
    assert client.post(leave.replace(str(membership.pk), "999999")).status_code == 404
    membership.refresh_from_db()
    assert (membership.status, membership.alert_preference) == ("approved", "every")


def test_it_sends_no_email_when_a_member_leaves(client, owner, membership):
    client.force_login(owner)

    client.post(reverse("resources:membership_leave", args=["shop-watch", membership.pk]))

    assert not OutboundEmail.objects.exists()
