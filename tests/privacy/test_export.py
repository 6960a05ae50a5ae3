"""A person's copy of their data: asked for on /my/account/, built by a task, emailed as a
link that only they can use, deleted when it expires."""

import datetime as dt
import io
import json
import re
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.files.storage import default_storage

from engagement.models import ConcernUpdate, OutboundEmail
from privacy import services, tasks
from privacy.models import DataExport, DisposalLog, RetentionRule
from tests import factories

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=LONDON)
REQUEST = "/my/account/data/"


@pytest.fixture
def june(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def link_in(email: OutboundEmail) -> str:
    (url,) = re.findall(r"https?://\S+?(/my/account/data/[^/\s]+/)", email.body_text)
    return url


def built(owner) -> tuple[DataExport, str]:
    export, _ = services.export_request(user=owner)
    assert services.export_build(export_id=export.pk)
    export.refresh_from_db()
    email = OutboundEmail.objects.get(to=owner.email, subject__icontains="copy of your data")
    return export, link_in(email)


def test_it_asks_anonymous_visitors_to_sign_in(client, db):
    response = client.post(REQUEST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not DataExport.objects.exists()


def test_it_offers_the_button_on_the_account_page(client, owner):
    client.force_login(owner)
    page = client.get("/my/account/").content.decode()
    assert "Download your data" in page
    assert 'action="/my/account/data/"' in page


def test_it_prepares_one_copy_however_often_the_button_is_pressed(
    client, owner, django_capture_on_commit_callbacks
):
    client.force_login(owner)
    with django_capture_on_commit_callbacks(execute=False) as first:
        response = client.post(REQUEST, follow=True)
    assert "We are preparing a copy of your data" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=False) as second:
        response = client.post(REQUEST, follow=True)
    assert "already being prepared" in response.content.decode()
    assert DataExport.objects.filter(user=owner).count() == 1
    # The build task is published once, after the request's commit.
    assert len(first) == 1 and len(second) == 0


def test_the_database_refuses_a_second_pending_copy(owner):
    from django.db import IntegrityError, transaction

    DataExport.objects.create(user=owner)
    with pytest.raises(IntegrityError), transaction.atomic():
        DataExport.objects.create(user=owner)


def test_it_builds_a_zip_of_everything_about_the_person(owner, business, other_concern, scheme):
    concern = factories.ConcernFactory(
        business=business, reporter=owner, description="Gin taken by the door."
    )
    attachment = factories.AttachmentFactory(concern=concern, original_name="cctv still.png")
    factories.ConcernUpdateFactory(concern=concern, kind="public", body="We are looking into it.")
    factories.ConcernUpdateFactory(
        concern=concern, kind="internal", body="Officers only: known to us."
    )
    factories.ConcernUpdateFactory(
        concern=concern, kind=ConcernUpdate.Kind.REPLY, author=owner, body="Thank you."
    )
    factories.SchemeMembershipFactory(
        scheme=scheme, business=business, contact=owner, application_note="We sell gin."
    )
    factories.BookingFactory(user=owner, business=business)

    export, _ = built(owner)

    archive = zipfile.ZipFile(default_storage.open(export.file.name))
    data = json.loads(archive.read("my-data.json"))
    assert data["account"]["email"] == owner.email
    assert [b["name"] for b in data["businesses"]] == [business.name]
    (mine,) = data["concerns"]  # not the other owner's
    assert mine["reference"] == concern.reference
    assert mine["description"] == "Gin taken by the door."
    bodies = [m["body"] for m in mine["messages"]]
    assert bodies == ["We are looking into it.", "Thank you."]  # no internal note
    assert data["watch_scheme_memberships"][0]["application_note"] == "We sell gin."
    assert len(data["seminar_bookings"]) == 1
    (stored,) = mine["attachments"]
    assert stored["file_in_this_archive"] in archive.namelist()
    assert archive.read(stored["file_in_this_archive"]) == attachment.file.open("rb").read()


def test_building_twice_builds_and_emails_once(owner, concern):
    export, _ = built(owner)
    assert services.export_build(export_id=export.pk) is False
    assert tasks.build_data_export(export.pk) is False
    assert OutboundEmail.objects.filter(subject__icontains="copy of your data").count() == 1


def test_it_builds_a_request_the_broker_lost(owner, june, time_machine):
    export, _ = services.export_request(user=owner)
    assert services.export_build_pending() == 0  # a worker may be on it now
    time_machine.move_to(NOW + dt.timedelta(minutes=6), tick=False)
    assert tasks.build_pending_data_exports() == 1
    export.refresh_from_db()
    assert export.status == DataExport.Status.READY


def test_the_link_downloads_for_its_owner_without_caching(client, owner, concern):
    _, link = built(owner)
    client.force_login(owner)
    response = client.get(link)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"]
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert "my-data.json" in archive.namelist()


def test_another_owner_cannot_use_the_link(client, owner, other_owner, concern):
    _, link = built(owner)
    client.force_login(other_owner)
    assert client.get(link).status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, owner, concern):
    _, link = built(owner)
    response = client.get(link)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_a_tampered_link_is_refused(client, owner, concern):
    _, link = built(owner)
    client.force_login(owner)
    assert client.get(link[:-3] + "xx/").status_code == 404


def test_the_link_expires_and_the_file_is_deleted(
    client, owner, concern, june, time_machine, django_capture_on_commit_callbacks
):
    export, link = built(owner)
    assert export.expires_at == NOW + dt.timedelta(days=7)
    time_machine.move_to(NOW + dt.timedelta(days=6, hours=23), tick=False)
    client.force_login(owner)  # a session does not last a week
    assert client.get(link).status_code == 200
    assert tasks.apply_retention_schedule()["export_files"] == 0

    time_machine.move_to(NOW + dt.timedelta(days=7, minutes=1), tick=False)
    client.force_login(owner)
    assert client.get(link).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        done = tasks.apply_retention_schedule()
    assert done["export_files"] == 1
    assert not DataExport.objects.exists()
    assert not default_storage.exists(export.file.name)
    log = DisposalLog.objects.filter(kind="export_files").latest("started_at")
    assert (log.count, log.started_at) == (1, NOW + dt.timedelta(days=7, minutes=1))


def test_the_link_lasts_as_long_as_the_schedule_says(owner, concern, june):
    RetentionRule.objects.filter(kind="export_files").update(days=2)
    export, _ = built(owner)
    assert export.expires_at == NOW + dt.timedelta(days=2)


def test_it_includes_reports_sent_as_a_guest_from_the_same_address(owner, area):
    guest = factories.ConcernFactory(
        business=factories.BusinessFactory(owner=None, npt_area=area),
        reporter=None,
        contact_email=owner.email.upper(),
    )
    data, _ = services.export_collect(user=owner)
    assert [c["reference"] for c in data["concerns"]] == [guest.reference]
