"""Fixes from the code review: the admin is tier-1 work only, the outbox tries each email once a
sweep with backoff and forgets private links, error pages, the guest race, one-time triage keys."""

import datetime as dt
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings as django_settings
from django.contrib.auth.models import Permission
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.template.loader import get_template
from django.test import RequestFactory
from django.utils import timezone
from django.views.defaults import server_error

from dorset_bcp.celery import app as celery_app
from engagement import emails, services, tasks
from engagement.models import Business, Concern, ConcernEvent, ConcernUpdate, OutboundEmail
from tests import factories

LONDON = ZoneInfo("Europe/London")
MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 10, 0, tzinfo=LONDON)
CHANGELIST = "/admin/engagement/concern/"
MOVED = "This concern is now with the {}; they decide what happens next."


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def triage_url(concern, action):
    return f"{CHANGELIST}{concern.pk}/triage/{action}/"


def move_to_tier(concern, tier):
    Concern.objects.filter(pk=concern.pk).update(tier=tier)
    concern.refresh_from_db()
    return concern


def snapshot(concern):
    concern.refresh_from_db()
    return (
        concern.status,
        concern.priority,
        concern.assigned_officer_id,
        concern.outcome_id,
        concern.tier,
        ConcernUpdate.objects.filter(concern=concern).count(),
        ConcernEvent.objects.filter(concern=concern).count(),
        OutboundEmail.objects.count(),
    )


def tier_one_actions(officer):
    return {
        "resolve": {"resolve-outcome": factories.outcome().pk, "resolve-note": "Done."},
        "priority": {"priority-priority": "urgent"},
        "question": {"question-body": "Do you have CCTV?"},
        "assign": {"assign-officer": officer.pk},
        "escalate": {"escalate-reason": "Needs the group."},
    }


# 1. The admin's tier-1 actions stop once the Group or the Partnership holds the concern


@pytest.mark.parametrize("tier", [Concern.Tier.GROUP, Concern.Tier.PARTNERSHIP])
@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign", "escalate"])
def test_it_refuses_an_officers_tier_1_action_once_the_concern_has_moved_up(
    client, npt_officer, concern, tier, action
):
    move_to_tier(concern, tier)
    client.force_login(npt_officer)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 400
    page = response.content.decode()
    if action == "escalate":  # escalation's own guard says the same in its words
        assert "now with" in page
    else:
        assert MOVED.format(Concern.Tier(tier).label) in page
    assert snapshot(concern) == before


@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign"])
def test_it_refuses_a_superusers_tier_1_action_at_tier_3_too(
    client, superuser, npt_officer, concern, action
):
    move_to_tier(concern, Concern.Tier.PARTNERSHIP)
    client.force_login(superuser)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 400
    assert MOVED.format("Business Safety Partnership") in response.content.decode()
    assert snapshot(concern) == before


@pytest.mark.parametrize("action", ["resolve", "priority", "question", "assign", "escalate"])
def test_it_lets_an_officer_act_at_tier_1(client, npt_officer, concern, action):
    client.force_login(npt_officer)
    before = snapshot(concern)
    response = client.post(triage_url(concern, action), tier_one_actions(npt_officer)[action])
    assert response.status_code == 302
    assert snapshot(concern) != before


@pytest.mark.parametrize("action", ["update", "note"])
def test_it_still_lets_an_officer_update_or_note_a_concern_at_tier_3(
    client, npt_officer, concern, action
):
    move_to_tier(concern, Concern.Tier.PARTNERSHIP)
    client.force_login(npt_officer)
    response = client.post(triage_url(concern, action), {f"{action}-body": "Still on it."})
    assert response.status_code == 302
    assert ConcernUpdate.objects.filter(concern=concern, body="Still on it.").exists()


def test_it_checks_the_tier_on_the_locked_row_not_the_callers_copy(npt_officer, concern):
    stale = Concern.objects.get(pk=concern.pk)  # read while still at tier 1
    move_to_tier(concern, Concern.Tier.GROUP)
    assert stale.tier == Concern.Tier.NPT
    with pytest.raises(ValidationError, match="Business Co-ordinating Group"):
        services.concern_resolve(
            concern=stale, actor=npt_officer, outcome=factories.outcome(), from_tier=1
        )
    concern.refresh_from_db()
    assert concern.is_open
    # Without from_tier (the Group's own resolve) the tier is not in question.
    services.concern_resolve(concern=stale, actor=npt_officer, outcome=factories.outcome())
    concern.refresh_from_db()
    assert concern.status == Concern.Status.RESOLVED


def test_it_assigns_to_me_only_the_concerns_still_at_tier_1(client, npt_officer, business, owner):
    at_npt = factories.ConcernFactory(business=business, reporter=owner)
    moved = move_to_tier(factories.ConcernFactory(business=business, reporter=owner), 2)
    client.force_login(npt_officer)
    response = client.post(
        CHANGELIST,
        {"action": "assign_to_me", "_selected_action": [at_npt.pk, moved.pk]},
        follow=True,
    )
    assert "1 concern(s) assigned to you." in response.content.decode()
    at_npt.refresh_from_db()
    moved.refresh_from_db()
    assert at_npt.assigned_officer == npt_officer
    assert moved.assigned_officer is None


# 2. The outbox: one attempt per email per sweep, backoff, claim before send


def queued(n=1, **kwargs):
    out = []
    for _ in range(n):
        update = factories.ConcernUpdateFactory(kind="reply")
        out.append(
            emails.email_queue(
                to="someone@example.org",
                template="officer_reply",
                context={"concern": update.concern, "update": update},
                **kwargs,
            )
        )
    return out


class BrokenBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("SMTP server down")


class KilledOnThirdBackend(LocmemBackend):
    """Sends two emails, then the worker's soft time limit strikes mid-send."""

    def send_messages(self, messages):
        if len(mail.outbox) >= 2:
            raise SoftTimeLimitExceeded()
        return super().send_messages(messages)


def test_it_stops_a_sweep_at_the_first_refused_connection_when_the_mail_server_is_down(
    settings, time_machine, db
):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    first, *others = queued(5)
    settings.EMAIL_BACKEND = "tests.engagement.test_review_fixes.BrokenBackend"
    assert emails.email_deliver_pending(batch_size=2) == 0
    first.refresh_from_db()
    assert first.attempts == 1
    assert first.next_attempt_at == MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1)
    # The rest were not tried against a relay that is not there, and stay due.
    assert {row.attempts for row in OutboundEmail.objects.exclude(pk=first.pk)} == {0}
    assert emails.email_deliver_pending(batch_size=2) == 0
    assert OutboundEmail.objects.get(pk=others[0].pk).attempts == 1


def test_it_backs_off_1_2_4_minutes_up_to_an_hour(settings, time_machine, db):
    assert [emails.backoff(n).total_seconds() / 60 for n in range(1, 10)] == [
        1,
        2,
        4,
        8,
        16,
        32,
        60,
        60,
        60,
    ]
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_review_fixes.BrokenBackend"
    now = MONDAY_1_JUNE_2026
    for attempt in range(1, 4):
        assert emails.email_deliver_pending() == 0
        message.refresh_from_db()
        assert message.attempts == attempt
        assert message.next_attempt_at == now + emails.backoff(attempt)
        now = message.next_attempt_at
        time_machine.move_to(now - dt.timedelta(seconds=1), tick=False)
        emails.email_deliver_pending()  # a second early: not due yet
        message.refresh_from_db()
        assert message.attempts == attempt
        time_machine.move_to(now, tick=False)


def test_it_neither_resends_nor_loses_emails_when_a_sweep_is_killed(settings, time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    first, second, third, fourth, fifth = queued(5)
    settings.EMAIL_BACKEND = "tests.engagement.test_review_fixes.KilledOnThirdBackend"
    with pytest.raises(SoftTimeLimitExceeded):
        emails.email_deliver_pending()
    assert len(mail.outbox) == 2
    sent = set(OutboundEmail.objects.filter(sent_at__isnull=False).values_list("pk", flat=True))
    assert sent == {first.pk, second.pk}
    third.refresh_from_db()
    assert third.sent_at is None and third.attempts == 1  # claimed, so not retried at once

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.email_deliver_pending() == 2  # the two never tried
    time_machine.move_to(MONDAY_1_JUNE_2026 + emails.UNKNOWN_OUTCOME_AFTER, tick=False)
    assert emails.email_deliver_pending() == 1  # the interrupted one, once its outcome is stale
    assert emails.email_deliver_pending() == 0
    assert len(mail.outbox) == 5
    assert sorted(len(m.to) for m in mail.outbox) == [1] * 5
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def test_it_does_not_swallow_the_soft_time_limit_sending_one_email(settings, db):
    queued(2)
    first, second = OutboundEmail.objects.order_by("pk")
    emails.email_deliver(email_id=first.pk)
    mail.outbox.append(mail.outbox[0])  # two in the outbox: the backend now "times out"
    settings.EMAIL_BACKEND = "tests.engagement.test_review_fixes.KilledOnThirdBackend"
    with pytest.raises(SoftTimeLimitExceeded):
        emails.email_deliver(email_id=second.pk)
    second.refresh_from_db()
    assert second.sent_at is None and second.attempts == 1


def test_it_does_not_send_a_single_email_again_before_its_backoff(settings, time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    (message,) = queued()
    settings.EMAIL_BACKEND = "tests.engagement.test_review_fixes.BrokenBackend"
    assert emails.email_deliver(email_id=message.pk) is False
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.email_deliver(email_id=message.pk) is False
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(minutes=1), tick=False)
    assert emails.email_deliver(email_id=message.pk) is True
    message.refresh_from_db()
    assert message.attempts == 2 and message.sent_at is not None


# 3. Private links do not outlive the send; sent emails are purged; superusers only


def guest_submit(submission_key=None):
    return services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Someone took the charity box.",
            occurred_on=timezone.localdate() - dt.timedelta(days=1),
            location="The Quay",
            impact="some",
            contact_name="Gita Guest",
            contact_email="guest@example.org",
        ),
        submission_key=submission_key or uuid.uuid4(),
    )


def test_it_forgets_the_guests_private_link_once_the_email_is_sent(area, owner, business):
    concern, token = guest_submit()
    services.concern_submit(
        business=business,
        reporter=owner,
        details=services.ConcernDetails(
            category=factories.category(),
            description="Owner's report",
            occurred_on=timezone.localdate(),
            location="1 High Street",
            impact="some",
            contact_name="Olive Owner",
            contact_email=owner.email,
        ),
        submission_key=uuid.uuid4(),
    )
    secret = OutboundEmail.objects.get(to="guest@example.org")
    assert secret.contains_secret and token in secret.body_text
    assert emails.email_deliver_pending() == 2
    assert token in mail.outbox[0].body  # the guest still got the link
    secret.refresh_from_db()
    assert secret.sent_at is not None
    assert (secret.body_text, secret.body_html) == ("", "")
    assert not OutboundEmail.objects.filter(body_text__contains=token).exists()
    ordinary = OutboundEmail.objects.get(to=owner.email)
    assert not ordinary.contains_secret and ordinary.body_text  # kept for support


def test_it_purges_sent_emails_after_30_days_and_keeps_failed_ones(time_machine, db):
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    old_sent, old_unsent, old_failed = queued(3)
    OutboundEmail.objects.filter(pk=old_sent.pk).update(sent_at=timezone.now())
    OutboundEmail.objects.filter(pk=old_failed.pk).update(failed_at=timezone.now())
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=30, minutes=1), tick=False)
    (recent_sent,) = queued()
    OutboundEmail.objects.filter(pk=recent_sent.pk).update(sent_at=timezone.now())
    assert tasks.purge_sent_emails() == 1
    left = set(OutboundEmail.objects.values_list("pk", flat=True))
    assert left == {old_unsent.pk, old_failed.pk, recent_sent.pk}
    assert emails.email_purge_sent() == 0


def test_it_schedules_the_purge_nightly():
    entry = django_settings.CELERY_BEAT_SCHEDULE["purge-sent-emails"]
    assert entry["task"] == "engagement.tasks.purge_sent_emails"
    assert entry["task"] in celery_app.tasks
    assert entry["schedule"].hour == {3}


def test_it_shows_the_email_outbox_to_superusers_only(client, superuser, db):
    (message,) = queued()
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


# 4. Too many files, and the error pages


def test_it_explains_eleven_files_on_the_form_keeping_what_was_typed(client, area):
    data = factories.guest_form_data(description="Eleven photos of the same van.")
    data["attachments"] = [factories.png_upload(f"p{n}.png") for n in range(11)]
    response = factories.send_report(client, data, guest=True)
    assert response.status_code == 200
    page = response.content.decode()
    assert "You attached 11 files; the most is 5." in page
    assert "Eleven photos of the same van." in page
    assert not Concern.objects.exists()


def test_it_answers_a_flood_of_files_with_the_sites_400_page(client, area):
    data = factories.guest_form_data()
    data["attachments"] = [factories.png_upload(f"p{n}.png") for n in range(101)]
    response = factories.send_report(client, data, guest=True)
    assert response.status_code == 400
    page = response.content.decode()
    assert "Dorset Business Crime Partnership" in page
    assert "<h1>We could not read that request</h1>" in page
    assert 'href="/report/"' in page
    assert "Traceback" not in page and "TooManyFilesSent" not in page
    assert not Concern.objects.exists()


def test_it_uses_the_sites_404_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "404.html" in [t.name for t in response.templates]
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page
    assert 'href="/report/"' in page


def test_it_renders_the_500_page_without_the_database(django_assert_num_queries, db):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "<h1>Something went wrong</h1>" in page
    assert "/static/css/site.css" in page
    assert 'href="/report/"' in page
    assert "extends" not in get_template("500.html").template.source


# 5. A racing duplicate guest submission leaves no placeholder business


def test_it_leaves_no_orphan_business_when_a_duplicate_guest_submission_races(monkeypatch, area):
    key = uuid.uuid4()
    real_deadlines_for = services.deadlines.deadlines_for
    raced = []

    def the_other_request_wins(**kwargs):
        # Between this request's "already submitted?" check and its insert, the other request
        # with the same key submits and commits.
        if not raced:
            raced.append(True)
            monkeypatch.setattr(services.deadlines, "deadlines_for", real_deadlines_for)
            guest_submit(submission_key=key)
        return real_deadlines_for(**kwargs)

    monkeypatch.setattr(services.deadlines, "deadlines_for", the_other_request_wins)
    concern, token = guest_submit(submission_key=key)
    assert raced
    assert token is None  # the duplicate path
    assert Concern.objects.get() == concern
    assert Business.objects.count() == 1
    assert Business.objects.get() == concern.business


# 6. A double-click on a triage message posts it once


@pytest.mark.parametrize("action", ["update", "question", "note"])
def test_it_posts_a_triage_message_once_when_the_form_is_sent_twice(
    client, npt_officer, concern, action
):
    client.force_login(npt_officer)
    page = client.get(f"{CHANGELIST}{concern.pk}/change/").content.decode()
    match = re.search(
        rf'<form id="triage-form-{action}".*?'
        rf'<input type="hidden" name="{action}-submission_key" value="([0-9a-f-]+)"',
        page,
        re.DOTALL,
    )
    assert match, "the triage form carries a hidden one-time key"
    data = {f"{action}-body": "Patrols tonight.", f"{action}-submission_key": match.group(1)}
    assert client.post(triage_url(concern, action), data).status_code == 302
    assert client.post(triage_url(concern, action), data).status_code == 302
    assert ConcernUpdate.objects.filter(concern=concern, body="Patrols tonight.").count() == 1
    emailed = 0 if action == "note" else 1
    assert OutboundEmail.objects.count() == emailed


def test_it_refuses_a_one_time_key_reused_on_another_concern(npt_officer, concern, business, owner):
    key = uuid.uuid4()
    services.concern_post_update(concern=concern, actor=npt_officer, body="A", submission_key=key)
    other = factories.ConcernFactory(business=business, reporter=owner)
    with pytest.raises(ValidationError):
        services.concern_post_update(concern=other, actor=npt_officer, body="B", submission_key=key)
    assert not other.updates.exists()
