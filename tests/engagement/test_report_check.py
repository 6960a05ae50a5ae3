"""The report form keeps what was given (held files, drafts) and asks people to check their
answers before sending, offering to add the report to a similar concern or theme instead."""

import datetime as dt
import re
import uuid

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from engagement import services, similar
from engagement.models import Business, Concern, ConcernUpdate, HeldAttachment
from engagement.tasks import purge_held_attachments
from escalation.models import Theme, ThemeConcern, ThemeEvent
from tests import factories


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


def report_data(business, **overrides):
    return factories.concern_form_data(**{"business": business.pk, **overrides})


def check_url(data, *, guest=False):
    return f"/report/{'guest' if guest else 'new'}/{data['submission_key']}/check/"


# Held attachments


def test_it_holds_a_photo_that_passed_when_another_field_is_wrong(owner_client, owner, business):
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    page = owner_client.post("/report/new/", data).content.decode()
    held = HeldAttachment.objects.get()
    assert (held.original_name, held.holder) == ("till.png", f"u{owner.pk}")
    assert str(held.submission_key) == data["submission_key"]
    assert "till.png" in page
    assert f'name="remove_attachment" value="{held.pk}"' in page
    assert '<a href="#id_description">Describe what happened.</a>' in page


def test_it_sends_the_held_photo_with_the_report(owner_client, business):
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    owner_client.post("/report/new/", data)
    # The file input comes back empty, as a browser sends it after an error.
    del data["attachments"]
    response = factories.send_report(owner_client, {**data, "description": "Gin taken."})
    concern = Concern.objects.get()
    assert response["Location"] == f"/report/{concern.reference}/submitted/"
    attachment = concern.attachments.get()
    assert (attachment.original_name, attachment.content_type) == ("till.png", "image/png")
    assert attachment.file.open("rb").read() == HeldAttachmentBytes.png
    assert not HeldAttachment.objects.exists()


class HeldAttachmentBytes:
    png = factories.png_bytes()


def test_it_removes_a_held_photo_and_keeps_what_was_typed(owner_client, business):
    data = report_data(business, description="", location="Back door, 1 Quay Street")
    data["attachments"] = [factories.png_upload("till.png")]
    owner_client.post("/report/new/", data)
    held = HeldAttachment.objects.get()
    response = owner_client.post("/report/new/", {**data, "remove_attachment": str(held.pk)})
    assert response["Location"] == (
        f"/report/new/?resume={data['submission_key']}&change=attachments"
    )
    assert not HeldAttachment.objects.exists()
    page = owner_client.get(response["Location"]).content.decode()
    assert "The file is removed." in page
    assert "Back door, 1 Quay Street" in page
    assert "There is a problem" not in page  # a resumed form does not complain


def test_it_refuses_another_owner_removing_or_sending_a_held_photo(
    owner_client, business, other_owner, other_business
):
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    owner_client.post("/report/new/", data)
    held = HeldAttachment.objects.get()
    intruder = Client()
    intruder.force_login(other_owner)
    assert intruder.get(check_url(data))["Location"] == "/report/new/"  # no such draft for them
    # Even with the same one-time key, what they see and send is theirs alone.
    theirs = report_data(other_business, submission_key=data["submission_key"])
    intruder.post("/report/new/", {**theirs, "remove_attachment": str(held.pk)})
    assert HeldAttachment.objects.filter(pk=held.pk).exists()
    resumed = intruder.get(f"/report/new/?resume={held.submission_key}").content.decode()
    assert "till.png" not in resumed
    assert "till.png" not in intruder.get(check_url(theirs)).content.decode()
    intruder.post(check_url(theirs), {"action": "send"})
    assert not Concern.objects.get().attachments.exists()
    assert HeldAttachment.objects.filter(pk=held.pk).exists()


def test_it_keeps_a_guests_held_photo_to_their_session(client, area):
    data = factories.guest_form_data(description="")
    data["attachments"] = [factories.png_upload("van.png")]
    page = client.post("/report/guest/", data).content.decode()
    assert "van.png" in page
    del data["attachments"]
    stranger = Client()
    stranger.post("/report/guest/", {**data, "description": "Stolen van."})
    assert "van.png" not in stranger.get(check_url(data, guest=True)).content.decode()
    factories.send_report(stranger, {**data, "description": "Stolen van."}, guest=True)
    assert Concern.objects.get().attachments.count() == 0
    assert HeldAttachment.objects.filter(original_name="van.png").exists()


def test_it_refuses_more_files_than_the_limit_across_posts(owner_client, business, settings):
    settings.ATTACHMENT_MAX_FILES = 2
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("a.png"), factories.png_upload("b.png", (3, 3))]
    owner_client.post("/report/new/", data)
    data["attachments"] = [factories.png_upload("c.png", (4, 4))]
    page = owner_client.post("/report/new/", data).content.decode()
    assert "You have 2 files attached and chose 1 more; the most is 2." in page
    assert HeldAttachment.objects.count() == 2


def test_it_purges_held_files_nobody_sent_after_a_day(db, django_capture_on_commit_callbacks):
    key = uuid.uuid4()
    upload = factories.png_upload("old.png")
    upload.detected_kind = "image/png"
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False):
        old = services.attachment_hold(submission_key=key, holder="sx", upload=upload)
    fresh_upload = factories.png_upload("new.png")
    fresh_upload.detected_kind = "image/png"
    with time_machine.travel(dt.datetime(2026, 3, 3, 8, 0, tzinfo=dt.UTC), tick=False):
        fresh = services.attachment_hold(submission_key=key, holder="sx", upload=fresh_upload)
    storage, name = old.file.storage, old.file.name
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.UTC), tick=False):
        with django_capture_on_commit_callbacks(execute=True):
            assert purge_held_attachments() == 1
        assert purge_held_attachments() == 0  # safe to run twice
    assert list(HeldAttachment.objects.all()) == [fresh]
    assert not storage.exists(name)


def test_it_purges_held_files_every_hour(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["purge-held-attachments"]
    assert entry["task"] == "engagement.tasks.purge_held_attachments"


# "Add another business" and back


def test_it_keeps_what_was_typed_while_another_business_is_added(
    owner_client, owner, business, area
):
    data = report_data(business, description="Gin taken from the bar.")
    data["attachments"] = [factories.png_upload("bar.png")]
    response = owner_client.post("/report/new/", {**data, "add_business": "1"})
    resume = f"/report/new/?resume={data['submission_key']}"
    assert (
        response["Location"]
        == f"/my/businesses/add/?next=%2Freport%2Fnew%2F%3Fresume%3D{data['submission_key']}"
    )
    form_page = owner_client.get(response["Location"]).content.decode()
    assert f'href="{resume}"' in form_page  # "Back to your report"
    added = owner_client.post(response["Location"], factories.business_form_data(name="Quay Bar"))
    assert added["Location"] == resume
    page = owner_client.get(resume).content.decode()
    assert "Gin taken from the bar." in page
    assert "bar.png" in page
    new_business = Business.objects.get(name="Quay Bar")
    assert re.search(rf'value="{new_business.pk}"[^>]*checked', page)


def test_it_returns_only_to_a_draft_of_this_session(owner_client, area):
    response = owner_client.post(
        f"/my/businesses/add/?next=/report/new/?resume={uuid.uuid4()}",
        factories.business_form_data(),
    )
    assert response["Location"] == "/my/"


# Check your answers


def test_it_shows_every_answer_with_a_change_link_before_sending(owner_client, business):
    data = report_data(business, existing_reference="AF-12345", description="Gin taken.")
    response = owner_client.post("/report/new/", data)
    assert response["Location"] == check_url(data)
    assert not Concern.objects.exists()
    page = owner_client.get(check_url(data)).content.decode()
    assert "Check your answers before sending your report" in page
    for answer in [business.name, "Gin taken.", "AF-12345", "1 High Street, Poole", "Olive Owner"]:
        assert answer in page
    resume = f"/report/new/?resume={data['submission_key']}"
    for field in ["business", "description", "occurred_on", "contact_email", "attachments"]:
        assert f'href="{resume}&amp;change={field}#id_{field}"' in page
    assert "Send report" in page


def test_it_returns_to_the_form_from_a_change_link_with_focus_on_that_field(owner_client, business):
    data = report_data(business, location="Car park behind the shop")
    owner_client.post("/report/new/", data)
    page = owner_client.get(
        f"/report/new/?resume={data['submission_key']}&change=location"
    ).content.decode()
    field = re.search(r'<input[^>]*name="location"[^>]*>', page).group(0)
    assert "autofocus" in field
    assert 'value="Car park behind the shop"' in field


def test_it_refuses_another_owner_the_check_page(owner_client, business, other_owner):
    data = report_data(business)
    owner_client.post("/report/new/", data)
    intruder = Client()
    intruder.force_login(other_owner)
    assert intruder.post(check_url(data), {"action": "send"}).status_code == 302
    assert not Concern.objects.exists()
    assert Client().get(check_url(data))["Location"].startswith("/accounts/login/")


def test_it_sends_one_concern_when_send_is_clicked_twice(owner_client, business):
    data = report_data(business)
    owner_client.post("/report/new/", data)
    first = owner_client.post(check_url(data), {"action": "send"})
    second = owner_client.post(check_url(data), {"action": "send"})
    assert first["Location"] == second["Location"]
    assert Concern.objects.count() == 1


def test_it_pins_the_queries_of_the_check_page(owner_client, business, django_assert_num_queries):
    for n in range(5):
        factories.ConcernFactory(business=business, description=f"Gin taken again {n}.")
    data = report_data(business, description="Gin taken from the shelf.")
    owner_client.post("/report/new/", data)
    owner_client.get(check_url(data))  # warm the session and the user
    # session, user, the person's businesses (choices), the business chosen (validation),
    # the category (validation), held files, similar concerns, similar themes
    with django_assert_num_queries(8):
        page = owner_client.get(check_url(data)).content.decode()
    assert page.count("instead</button>") == similar.SIMILAR_LIMIT


# Similar concerns and themes


def test_it_offers_a_similar_open_concern_and_adds_the_report_to_it(
    owner_client, owner, business, npt_officer
):
    earlier = factories.ConcernFactory(
        business=business, reporter=owner, description="Bottles of gin taken from the shelf."
    )
    data = report_data(business, description="More gin taken from the same shelf.")
    data["attachments"] = [factories.png_upload("shelf.png")]
    owner_client.post("/report/new/", data)
    page = owner_client.get(check_url(data)).content.decode()
    assert "These look similar" in page
    assert f"Add to {earlier.reference} instead" in page
    post = {"action": "add_to_concern", "reference": earlier.reference}
    response = owner_client.post(check_url(data), post)
    assert response["Location"] == earlier.get_absolute_url()
    assert owner_client.post(check_url(data), post)["Location"] == earlier.get_absolute_url()
    reply = ConcernUpdate.objects.get(concern=earlier)
    assert reply.kind == ConcernUpdate.Kind.REPLY
    assert "More gin taken from the same shelf." in reply.body
    assert earlier.attachments.get().original_name == "shelf.png"
    assert Concern.objects.count() == 1


def test_it_does_not_offer_another_business_or_a_closed_or_old_concern(
    owner_client, owner, business, other_business
):
    factories.ConcernFactory(business=other_business, description="Gin taken.")
    factories.ConcernFactory(business=business, status=Concern.Status.CLOSED)
    factories.ConcernFactory(business=business, created_at=timezone.now() - dt.timedelta(days=40))
    data = report_data(business)
    owner_client.post("/report/new/", data)
    assert "These look similar" not in owner_client.get(check_url(data)).content.decode()


def test_it_refuses_adding_to_a_concern_that_was_not_offered(owner_client, business, other_concern):
    data = report_data(business)
    owner_client.post("/report/new/", data)
    post = {"action": "add_to_concern", "reference": other_concern.reference}
    response = owner_client.post(check_url(data), post)
    assert response["Location"] == check_url(data)
    assert not ConcernUpdate.objects.exists()


def test_it_finds_a_similar_concern_by_its_words_in_another_category(business):
    words = factories.ConcernFactory(
        business=business,
        category=factories.category("damage"),
        description="Graffiti sprayed across the shutters overnight.",
    )
    factories.ConcernFactory(business=business, category=factories.category("damage"))
    found = similar.similar_concerns(
        business=business,
        category=factories.category(),
        description="Shutters sprayed again",
    )
    assert found == [words]


def test_it_reads_similar_concerns_and_themes_in_one_query_each(
    business, django_assert_num_queries
):
    category = factories.category()
    for n in range(10):
        factories.ConcernFactory(business=business, description=f"Gin taken {n}.")
    with django_assert_num_queries(1):
        found = similar.similar_concerns(
            business=business, category=category, description="Gin taken"
        )
    assert len(found) == similar.SIMILAR_LIMIT
    with django_assert_num_queries(1):
        similar.similar_themes(npt_area=business.npt_area, category=category)


def test_it_sends_a_report_as_part_of_an_open_theme(owner_client, owner, business):
    theme = factories.ThemeFactory(npt_area=business.npt_area)
    data = report_data(business)
    owner_client.post("/report/new/", data)
    page = owner_client.get(check_url(data)).content.decode()
    assert f"Send it as part of {theme.reference}" in page
    post = {"action": "add_to_theme", "reference": theme.reference}
    response = owner_client.post(check_url(data), post)
    concern = Concern.objects.get()
    assert response["Location"] == f"/report/{concern.reference}/submitted/"
    assert ThemeConcern.objects.get().concern == concern
    event = ThemeEvent.objects.get(theme=theme, kind=ThemeEvent.Kind.LINKED)
    assert event.actor == owner
    owner_client.post(check_url(data), post)
    assert ThemeConcern.objects.count() == 1


def test_it_shows_a_guest_a_theme_but_never_other_peoples_concerns(client, area):
    theirs = factories.ConcernFactory(
        business=factories.BusinessFactory(npt_area=area), description="Gin taken."
    )
    theme = factories.ThemeFactory(npt_area=area)
    closed = factories.ThemeFactory(
        npt_area=area, status=Theme.Status.RESOLVED, reference="THM-2026-00001"
    )
    data = factories.guest_form_data()
    assert client.post("/report/guest/", data)["Location"] == check_url(data, guest=True)
    page = client.get(check_url(data, guest=True)).content.decode()
    assert theme.reference in page
    assert theirs.reference not in page
    assert closed.reference not in page
    response = client.post(
        check_url(data, guest=True), {"action": "add_to_theme", "reference": theme.reference}
    )
    assert response["Location"] == "/report/guest/sent/"
    concern = Concern.objects.get(submission_key=data["submission_key"])
    assert concern.status == Concern.Status.UNCONFIRMED
    assert ThemeConcern.objects.get().concern == concern


def test_it_deletes_the_files_held_for_a_person_with_their_account(
    owner_client, owner, business, django_capture_on_commit_callbacks
):
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    owner_client.post("/report/new/", data)
    held = HeldAttachment.objects.get()
    storage, name = held.file.storage, held.file.name
    with django_capture_on_commit_callbacks(execute=True):
        services.user_delete(user=owner)
    assert not HeldAttachment.objects.exists()
    assert not storage.exists(name)


def test_it_shows_a_guests_linked_report_to_partners_only_once_confirmed(client, area):
    from escalation.selectors import linked_concerns

    theme = factories.ThemeFactory(npt_area=area)
    data = factories.guest_form_data()
    client.post("/report/guest/", data)
    client.post(
        check_url(data, guest=True), {"action": "add_to_theme", "reference": theme.reference}
    )
    concern = Concern.objects.get()
    assert list(linked_concerns(theme)) == []
    services.concern_confirm_guest(concern=concern)
    assert list(linked_concerns(theme)) == [concern]


@pytest.mark.parametrize("value", ["²", "٣", "99999999999999999999999"])
def test_a_hostile_remove_attachment_value_is_not_a_500(owner_client, business, value):
    data = report_data(business, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    owner_client.post("/report/new/", data)
    del data["attachments"]

    response = owner_client.post("/report/new/", {**data, "remove_attachment": value})

    assert response.status_code == 302
    assert HeldAttachment.objects.count() == 1


def test_adding_a_report_to_a_full_concern_keeps_to_its_attachment_limit(
    owner_client, owner, business
):
    earlier = factories.ConcernFactory(
        business=business, reporter=owner, description="Bottles of gin taken from the shelf."
    )
    for _ in range(services.MAX_ATTACHMENTS_PER_CONCERN):
        factories.AttachmentFactory(concern=earlier)
    data = report_data(business, description="More gin taken from the same shelf.")
    data["attachments"] = [factories.png_upload("shelf.png")]
    owner_client.post("/report/new/", data)

    response = owner_client.post(
        check_url(data), {"action": "add_to_concern", "reference": earlier.reference}, follow=True
    )

    assert response.status_code == 200
    assert earlier.attachments.count() == services.MAX_ATTACHMENTS_PER_CONCERN
    assert not ConcernUpdate.objects.filter(concern=earlier).exists()
    assert HeldAttachment.objects.count() == 1  # still held, for a new report instead
    assert "has room for 0 more" in response.content.decode()
