"""What the emails say, that user text in them (and on pages) is inert, and that the outbox
sends each email exactly once even when the broker is down."""

import datetime as dt
import uuid
from zoneinfo import ZoneInfo

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone
from kombu.exceptions import OperationalError

from engagement import emails, services, tasks
from engagement.models import OutboundEmail
from tests import factories

LONDON = ZoneInfo("Europe/London")
MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
SITE = "https://portal.example"
SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'
SCRIPT_ESCAPED = (
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;"
)


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = SITE
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def details(**overrides):
    values = {
        "category": factories.category("theft"),
        "description": "Two people took bottles of gin.",
        "occurred_on": timezone.localdate() - dt.timedelta(days=1),
        "location": "1 High Street",
        "impact": "some",
        "contact_name": "Olive Owner",
        "contact_email": "owner@example.org",
    }
    values.update(overrides)
    return services.ConcernDetails(**values)


def submit(business, owner, **overrides):
    concern, _ = services.concern_submit(
        business=business,
        reporter=owner,
        details=details(**overrides),
        submission_key=uuid.uuid4(),
    )
    return concern


def guest_submit(**overrides):
    return services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=details(
            **{"contact_name": "Gita Guest", "contact_email": "guest@example.org", **overrides}
        ),
        submission_key=uuid.uuid4(),
    )


def email(template_subject_start) -> OutboundEmail:
    return OutboundEmail.objects.get(subject__startswith=template_subject_start)


def bodies(message: OutboundEmail) -> list[str]:
    return [message.body_text, message.body_html]


# Content of each email


def test_it_confirms_a_report_with_reference_what_next_by_when_and_a_link(
    time_machine, owner, business
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern = submit(business, owner)
    message = email("We have your report")
    assert message.subject == f"We have your report {concern.reference}"
    assert message.to == "owner@example.org"
    for body in bodies(message):
        assert "Hello Olive Owner" in body
        assert concern.reference in body
        assert business.name in body
        assert "Theft or shoplifting" in body
        assert "What happens next" in body
        assert "Poole Neighbourhood Policing Team will reply by Thursday 4 June 2026" in body
        assert "outcome by Monday 29 June 2026" in body
        assert f"{SITE}/my/concerns/{concern.reference}/" in body
        assert "This is not a crime report" in body
        assert "999" in body
    assert f'href="{SITE}/my/concerns/{concern.reference}/"' in message.body_html


def test_it_sends_a_guest_the_private_link_to_confirm(area):
    concern, token = guest_submit()
    message = email("Confirm your report")
    assert message.subject == f"Confirm your report {concern.reference}"
    assert message.to == "guest@example.org"
    for body in bodies(message):
        assert "Gita Guest" not in body  # the sender's words: tests/engagement/test_guest_spam.py
        assert concern.reference in body
        assert f"{SITE}/report/track/{token}/" in body
        assert "Poole Neighbourhood Policing Team only once you confirm it" in body
        assert "deleted after 7 days" in body
    assert f'href="{SITE}/report/track/{token}/"' in message.body_html


def test_it_tells_a_confirmed_guest_what_next_without_an_account_link(time_machine, area):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern, _ = guest_submit()
    services.concern_confirm_guest(concern=concern)
    message = email("We have your report")
    for body in bodies(message):
        assert "reply by Thursday 4 June 2026" in body
        assert "Follow it with the private link in your confirmation email." in body
        assert "/my/concerns/" not in body


def test_it_emails_an_update_with_its_text_and_a_link(concern, npt_officer):
    services.concern_post_update(concern=concern, actor=npt_officer, body="Patrols from tonight.")
    message = email("Update on your concern")
    assert message.subject == f"Update on your concern {concern.reference}"
    for body in bodies(message):
        assert "Poole Neighbourhood Policing Team has posted an update" in body
        assert "Patrols from tonight." in body
        assert f"{SITE}/my/concerns/{concern.reference}/" in body


def test_it_emails_a_question_saying_the_deadline_is_paused(concern, npt_officer):
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Do you have CCTV?")
    message = email("A question about your concern")
    assert message.subject == f"A question about your concern {concern.reference}"
    for body in bodies(message):
        assert "Do you have CCTV?" in body
        assert "The deadline for your concern is paused until you do." in body
        assert f"{SITE}/my/concerns/{concern.reference}/" in body


def test_it_emails_the_outcome_and_how_to_say_it_is_not_resolved(concern, npt_officer):
    services.concern_resolve(
        concern=concern,
        actor=npt_officer,
        outcome=factories.outcome("no-further-action"),
        note="There is no footage.",
    )
    message = email("Outcome of your concern")
    assert message.subject == f"Outcome of your concern {concern.reference}"
    for body in bodies(message):
        assert "No further action" in body
        assert "We cannot take this further" in body
        assert "There is no footage." in body
        assert "If it did not, say so and it will be reopened." in body
        assert f"{SITE}/my/concerns/{concern.reference}/" in body


def test_it_tells_the_officer_the_business_replied(concern, npt_officer, owner):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_reply(concern=concern, author=owner, body="Footage attached tomorrow.")
    message = email(f"{concern.reference}: the business replied")
    assert message.to == npt_officer.email
    for body in bodies(message):
        assert "Footage attached tomorrow." in body
        assert concern.business.name in body
        assert f"{SITE}/admin/engagement/concern/{concern.pk}/change/" in body


def test_it_tells_the_officer_a_concern_was_reopened_with_its_new_deadline(
    time_machine, concern, npt_officer, owner
):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    services.concern_feedback(
        concern=concern, author=owner, resolved=False, comment="They came back."
    )
    message = email(f"{concern.reference} reopened")
    assert message.subject == f"{concern.reference} reopened: the business says it is not resolved"
    assert message.to == npt_officer.email
    for body in bodies(message):
        assert "new deadline of Monday 29 June 2026" in body
        assert "They came back." in body
        assert f"{SITE}/admin/engagement/concern/{concern.pk}/change/" in body


def test_it_keeps_apostrophes_plain_in_text_and_escaped_in_html(owner, area):
    business = factories.BusinessFactory(owner=owner, npt_area=area, name="Harper's & Sons")
    submit(business, owner)
    message = email("We have your report")
    assert "Harper's & Sons" in message.body_text
    assert "Harper&#x27;s &amp; Sons" in message.body_html
    assert "Harper's & Sons" not in message.body_html


def test_it_keeps_every_subject_on_one_line(concern, npt_officer, owner):
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_post_update(concern=concern, actor=npt_officer, body="Line one\nLine two")
    services.concern_ask_question(concern=concern, actor=npt_officer, body="Q\r\nBcc: x@y.z")
    services.concern_reply(concern=concern, author=owner, body="A\nB")
    services.concern_resolve(concern=concern, actor=npt_officer, outcome=factories.outcome())
    services.concern_feedback(concern=concern, author=owner, resolved=False, comment="C\nD")
    assert OutboundEmail.objects.count() == 5
    for subject in OutboundEmail.objects.values_list("subject", flat=True):
        assert "\n" not in subject and "\r" not in subject
        assert subject == subject.strip()


# Markup in user text is inert


def test_it_escapes_markup_in_the_html_emails(concern, npt_officer, owner, area):
    services.concern_post_update(concern=concern, actor=npt_officer, body=SCRIPT)
    message = email("Update on your concern")
    assert SCRIPT_ESCAPED in message.body_html
    assert "<script" not in message.body_html and "<img" not in message.body_html
    assert SCRIPT in message.body_text  # plain text: nothing runs it

    guest_submit(contact_name=SCRIPT)
    message = email("Confirm your report")
    assert "<script" not in message.body_html
    assert SCRIPT_ESCAPED not in message.body_html  # not even escaped: the name is not in it


@pytest.fixture
def hostile_concern(owner, area, npt_officer):
    business = factories.BusinessFactory(owner=owner, npt_area=area, name=f"Shop {SCRIPT}")
    concern = submit(business, owner, description=f"What happened {SCRIPT}", location=SCRIPT)
    services.concern_post_update(concern=concern, actor=npt_officer, body=f"Update {SCRIPT}")
    factories.AttachmentFactory(concern=concern, original_name=f"{SCRIPT}.png")
    return concern


def assert_inert(page: str, shown=True):
    assert "<img src=x" not in page
    assert 'alert("x")</script>' not in page
    if shown:  # the text is on the page, escaped
        assert "&lt;script&gt;" in page


def test_it_shows_markup_inert_on_the_owners_pages(client, owner, hostile_concern):
    client.force_login(owner)
    for url in ["/my/", f"/my/concerns/{hostile_concern.reference}/"]:
        assert_inert(client.get(url).content.decode())
    page = client.get(f"/report/{hostile_concern.reference}/submitted/").content.decode()
    assert_inert(page, shown=False)


def test_it_shows_markup_inert_on_the_guest_tracking_page(client, area):
    concern, token = guest_submit(description=f"Guest {SCRIPT}")
    assert_inert(client.get(f"/report/track/{token}/").content.decode())


def test_it_shows_markup_inert_in_the_admin(client, npt_officer, hostile_concern):
    client.force_login(npt_officer)
    for url in [
        "/admin/engagement/concern/",
        f"/admin/engagement/concern/{hostile_concern.pk}/change/",
        f"/admin/engagement/concern/?q={hostile_concern.reference}",
    ]:
        assert_inert(client.get(url).content.decode())


def test_it_shows_markup_inert_in_the_email_outbox_admin(client, superuser, hostile_concern):
    client.force_login(superuser)
    message = email("Update on your concern")
    page = client.get(f"/admin/engagement/outboundemail/{message.pk}/change/").content.decode()
    assert "<img src=x" not in page
    assert 'alert("x")</script>' not in page


# Delivery: once, and never lost


def queued(n=1, to="someone@example.org"):
    return [
        emails.email_queue(to=to, template="officer_reply", context={"concern": c, "update": u})
        for c, u in [_concern_and_update() for _ in range(n)]
    ]


def _concern_and_update():
    update = factories.ConcernUpdateFactory(kind="reply")
    return update.concern, update


def test_it_sends_an_email_once(db):
    (message,) = queued()
    assert emails.email_deliver(email_id=message.pk) is True
    assert emails.email_deliver(email_id=message.pk) is False
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert (sent.to, sent.subject, sent.body) == (
        ["someone@example.org"],
        message.subject,
        message.body_text,
    )
    assert sent.alternatives[0][1] == "text/html"
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 1


def test_it_sends_through_the_task_function_once(db):
    (message,) = queued()
    tasks.deliver_email(message.pk)
    tasks.deliver_email(message.pk)
    assert len(mail.outbox) == 1


def test_it_does_nothing_for_an_email_that_does_not_exist(db):
    assert emails.email_deliver(email_id=987654) is False
    assert mail.outbox == []


def test_it_sends_every_unsent_email_and_is_safe_to_run_twice(db):
    first, *rest = queued(4)
    emails.email_deliver(email_id=first.pk)
    mail.outbox.clear()
    assert emails.email_deliver_pending() == 3
    assert emails.email_deliver_pending() == 0
    assert tasks.deliver_pending_emails() == 0
    assert sorted(m.subject for m in mail.outbox) == sorted(m.subject for m in rest)
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def test_it_sends_more_than_one_batch(db):
    queued(5)
    assert emails.email_deliver_pending(batch_size=2) == 5
    assert len(mail.outbox) == 5


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


def test_it_keeps_an_email_the_mail_server_refused_for_the_next_sweep(settings, time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_emails.BrokenBackend"
    assert emails.email_deliver(email_id=message.pk) is False
    message.refresh_from_db()
    assert message.sent_at is None
    assert message.attempts == 1
    assert "SMTP server down" in message.last_error
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.email_deliver_pending() == 0  # not due until the backoff has passed
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1), tick=False)
    assert emails.email_deliver_pending() == 1
    assert len(mail.outbox) == 1


def test_it_retries_hourly_for_three_days_then_marks_the_email_failed_and_keeps_it(
    settings, time_machine, db
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_emails.BrokenBackend"
    for hour in range(3 * 24 + 3):
        time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(hours=hour), tick=False)
        emails.email_deliver_pending()
    message.refresh_from_db()
    assert message.attempts == 3 * 24 + 1  # hourly from the start, one last at 72 hours
    assert message.failed_at == MONDAY_1_JUNE_2026 + emails.RETRY_FOR
    assert message.sent_at is None and "SMTP server down" in message.last_error
    assert emails.email_purge_sent(older_than_days=0) == 0  # failed emails are kept


@pytest.fixture
def broker_down(monkeypatch):
    """Publishing a task fails as it does when Redis is unreachable; returns the attempts."""
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    factories.published_tasks()
    monkeypatch.setattr(tasks.deliver_email, "apply_async", refuse)
    monkeypatch.setattr(emails, "_broker_failed_at", None)  # and put back after the test
    return attempts


def test_it_leaves_the_email_for_the_sweep_when_the_broker_is_down(
    broker_down, django_capture_on_commit_callbacks, client, owner, business
):
    client.force_login(owner)
    data = factories.concern_form_data(business=business.pk)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = factories.send_report(client, data)
    assert response.status_code == 302
    assert len(callbacks) == 1  # the publish ran after commit and did not raise
    message = OutboundEmail.objects.get()
    assert broker_down == [((message.pk,),)]
    assert factories.published_tasks() == []
    assert message.sent_at is None
    assert mail.outbox == []
    assert tasks.deliver_pending_emails() == 1
    assert [m.subject for m in mail.outbox] == [message.subject]


def test_it_publishes_the_task_when_the_broker_is_up(
    django_capture_on_commit_callbacks, client, owner, business
):
    factories.published_tasks()
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=True):
        factories.send_report(client, factories.concern_form_data(business=business.pk))
    message = OutboundEmail.objects.get()
    assert factories.published_tasks() == [("engagement.tasks.deliver_email", [message.pk])]
