import pytest

from engagement.models import Business, Concern, User
from privacy.models import REMOVED
from privacy.services import REMOVED_BUSINESS
from tests.factories import PASSWORD, ConcernFactory

URL = "/my/account/delete/"


def test_it_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_it_refuses_a_wrong_password_and_keeps_the_account(client, owner):
    client.force_login(owner)
    response = client.post(URL, {"password": "not-my-password"})
    assert response.status_code == 200
    assert "That password is not right" in response.content.decode()
    assert User.objects.filter(pk=owner.pk).exists()


def test_it_deletes_the_account_and_anonymises_its_concerns(client, owner, concern):
    client.force_login(owner)
    response = client.post(URL, {"password": PASSWORD})
    assert response.status_code == 302
    assert not User.objects.filter(pk=owner.pk).exists()
    concern.refresh_from_db()
    assert concern.reporter is None
    assert (concern.contact_name, concern.contact_email) == (REMOVED, "")
    assert concern.description == REMOVED
    # Its business, left with nobody, stays without its name so the concern is still counted.
    assert Business.objects.get(pk=concern.business_id).name == REMOVED_BUSINESS
    assert client.get("/my/").status_code == 302  # signed out


def test_it_leaves_other_owners_alone(client, owner, other_owner, other_concern):
    client.force_login(owner)
    client.post(URL, {"password": PASSWORD})
    other_concern.refresh_from_db()
    assert other_concern.reporter == other_owner
    assert other_concern.contact_email == other_owner.email


def test_it_refuses_to_delete_staff_accounts_here(client, npt_officer):
    client.force_login(npt_officer)
    response = client.post(URL, {"password": PASSWORD})
    assert response.status_code == 200
    assert "closed by an administrator" in response.content.decode()
    assert User.objects.filter(pk=npt_officer.pk).exists()


@pytest.mark.django_db
def test_it_sends_no_email_to_a_deleted_reporter(owner, npt_officer, business):
    from engagement import services
    from engagement.models import OutboundEmail

    concern = ConcernFactory(business=business, reporter=owner)
    services.user_delete(user=owner)
    concern.refresh_from_db()
    services.concern_post_update(concern=concern, actor=npt_officer, body="An update.")
    assert not OutboundEmail.objects.filter(to="").exists()
    assert Concern.objects.get(pk=concern.pk).updates.count() == 1
