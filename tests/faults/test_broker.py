"""A frozen, killed or refusing Redis never holds up a person reporting, and loses no email."""

import time

import pytest
from django.db import connection

from engagement import emails
from engagement.models import Concern, OutboundEmail
from tests import factories

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def post_report(owner_client, business):
    started = time.monotonic()
    response = factories.send_report(
        owner_client, factories.concern_form_data(business=business.pk)
    )
    return response, time.monotonic() - started


def test_it_takes_a_report_while_redis_is_frozen_and_sends_its_email_once_after(
    owner_client, business, celery_on_redis, smtp_sink
):
    celery_on_redis.freeze()
    response, took = post_report(owner_client, business)
    assert response.status_code == 302
    assert took < 3, f"the report took {took:.1f} s with Redis frozen"
    assert Concern.objects.count() == 1
    queued = OutboundEmail.objects.count()
    assert queued >= 1
    assert smtp_sink.messages == []

    celery_on_redis.thaw()
    print(f"report posted in {took:.2f} s with Redis frozen; {queued} email(s) queued")
    emails.email_deliver_pending()
    emails.email_deliver_pending()  # a second sweep beside the first sends nothing more
    assert len(smtp_sink.messages) == queued
    assert set(smtp_sink.count_by_message_id().values()) == {1}
    assert not OutboundEmail.objects.filter(sent_at__isnull=True).exists()


def test_it_takes_a_report_while_redis_is_down(owner_client, business, celery_on_redis):
    celery_on_redis.stop()
    response, took = post_report(owner_client, business)
    assert response.status_code == 302
    assert took < 3
    assert Concern.objects.count() == 1


@pytest.mark.parametrize("fault", ["frozen", "killed", "refusing"])
def test_healthz_answers_503_within_2_s_and_names_the_broker(client, celery_on_redis, fault):
    assert client.get("/healthz").status_code == 200
    if fault == "frozen":
        celery_on_redis.freeze()
    elif fault == "killed":
        celery_on_redis.stop()
    else:  # a port with nothing listening refuses at once
        celery_on_redis.stop()
        from dorset_bcp.celery import app

        app.conf.broker_url = "redis://127.0.0.1:1/0"
    started = time.monotonic()
    response = client.get("/healthz")
    took = time.monotonic() - started
    assert response.status_code == 503
    assert response.json()["broker"] == "unavailable"
    assert response.json()["database"] == "ok"
    assert took < 2, f"/healthz took {took:.1f} s"
    assert connection.is_usable()
