import datetime as dt

from django.urls import reverse
from django.utils import timezone

from engagement.models import OutboundEmail

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
