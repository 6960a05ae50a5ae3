import datetime as dt

from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from engagement import emails
from engagement.models import OutboundEmail
from tests import factories

NOW = dt.datetime(2026, 12, 2, 10, 0, tzinfo=dt.UTC)


def test_it_counts_the_emails_that_need_attention_on_the_admin_index(
    client, superuser, time_machine
):
    time_machine.move_to(NOW, tick=False)
    OutboundEmail.objects.create(
        to="owner@example.org", subject="Failed", body_text="x", failed_at=timezone.now()
    )
    OutboundEmail.objects.create(
        to="owner@example.org", subject="Sent", body_text="x", sent_at=timezone.now()
    )
    client.force_login(superuser)

    page = client.get(reverse("admin:index")).content.decode()

    assert "Outbound emails (1 need attention)" in page
    assert "?delivery=attention" in page


def test_it_shows_no_count_when_every_email_went(client, superuser, time_machine):
    time_machine.move_to(NOW, tick=False)
    OutboundEmail.objects.create(
        to="owner@example.org", subject="Sent", body_text="x", sent_at=timezone.now()
    )
    client.force_login(superuser)

    page = client.get(reverse("admin:index")).content.decode()

    assert "need attention" not in page


def test_it_shows_the_email_outbox_to_superusers_only(client, superuser, db):
    update = factories.ConcernUpdateFactory(kind="reply")
    message = emails.email_queue(
        to="someone@example.org",
        template="officer_reply",
        context={"concern": update.concern, "update": update},
    )
    clerk = factories.UserFactory(is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="view_outboundemail"))
    urls = [
        "/admin/engagement/outboundemail/",
        f"/admin/engagement/outboundemail/{message.pk}/change/",
    ]
    client.force_login(clerk)
    for url in urls:
        assert client.get(url).status_code == 403
    assert "outboundemail" not in client.get("/admin/").content.decode()
    client.force_login(superuser)
    for url in urls:
        assert client.get(url).status_code == 200
