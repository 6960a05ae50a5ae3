"""Deleting an account removes or anonymises everything that identifies the person, unless an
officer holds a concern for legal reasons; what insight counts stays."""

import datetime as dt
import re

import pytest
import time_machine
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.files.storage import default_storage
from django.db import models
from django.db.models.functions import Cast

from engagement import services
from engagement.forms import accepted_attachment
from engagement.models import (
    Attachment,
    Business,
    BusinessEvent,
    Concern,
    ConcernEvent,
    ConcernUpdate,
    OutboundEmail,
)
from escalation import rollup
from escalation.models import InsightOpenNow, InsightOutcome, InsightReported
from privacy import services as privacy
from privacy.models import REMOVED
from resources.models import SchemeMembership
from tests import factories

# A word nobody else writes: wherever the person put it, it must be gone afterwards.
MARK = "Zebedee"
APPS = ("engagement", "escalation", "resources", "privacy", "account", "admin")


def text_columns_holding(*needles: str) -> list[str]:
    """Every text or JSON column of the portal's tables that still holds one of the needles
    (an event's `changes` among them)."""
    found = []
    for model in apps.get_models():
        if model._meta.app_label not in APPS or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.JSONField):
                rows = model._base_manager.annotate(_text=Cast(field.name, models.TextField()))
                column = "_text"
            elif isinstance(field, models.CharField | models.TextField | models.EmailField):
                rows, column = model._base_manager.all(), field.name
            else:
                continue
            for needle in needles:
                # A whole word: other.owner@example.org does not hold owner@example.org.
                pattern = rf"(^|[^a-z0-9.]){re.escape(needle.lower())}"
                hits = rows.filter(**{f"{column}__iregex": pattern})
                found += [
                    f"{model._meta.label}.{field.name} #{pk}"
                    for pk in hits.values_list("pk", flat=True)
                ]
    return found


@pytest.fixture
def said_everywhere(owner, business, other_business, other_owner, npt_officer, scheme):
    """The owner's words in every place a person's words go."""
    # Through the service, so the business's history records the change too.
    services.business_update(
        business=business, actor=owner, name=f"{MARK} Stores", address_line1=f"1 {MARK} Lane"
    )
    concern = factories.ConcernFactory(
        business=business,
        reporter=owner,
        description=f"{MARK} saw two men take gin.",
        location=f"{MARK}'s shop door",
        impact_details=f"{MARK} is scared to open up.",
        contact_name=f"{MARK} Owner",
        contact_phone="07700 900123",
    )
    factories.AttachmentFactory(concern=concern)
    factories.ConcernUpdateFactory(concern=concern, kind="public", author=npt_officer)
    services.concern_reply(concern=concern, author=owner, body=f"{MARK} here: it was 4pm.")
    ConcernEvent.objects.create(
        concern=concern, kind=ConcernEvent.Kind.REOPENED, actor=owner, detail=f"{MARK}: not fixed"
    )
    # A reply on a business they share with someone who stays.
    business.memberships.model.objects.create(user=owner, business=other_business, role="staff")
    shared = factories.ConcernFactory(business=other_business, reporter=other_owner)
    services.concern_reply(concern=shared, author=owner, body=f"{MARK} adds: the van was blue.")
    factories.SchemeMembershipFactory(
        scheme=scheme, business=business, contact=owner, application_note=f"{MARK} sells gin."
    )
    OutboundEmail.objects.create(to=owner.email, subject="Hello", body_text=f"Hello {MARK}")
    # The admin's log names what an administrator edited: the business, and the account.
    for edited in (Business.objects.get(pk=business.pk), owner):
        LogEntry.objects.log_actions(
            user_id=npt_officer.pk, queryset=[edited], action_flag=CHANGE, change_message="[]"
        )
    return concern


def test_it_leaves_none_of_the_persons_words_behind(
    owner, said_everywhere, django_capture_on_commit_callbacks
):
    files = list(Attachment.objects.values_list("file", flat=True))
    assert text_columns_holding(MARK, owner.email)  # the search finds them before

    with django_capture_on_commit_callbacks(execute=True):
        services.user_delete(user=owner)

    assert text_columns_holding(MARK, owner.email) == []
    assert not Attachment.objects.exists()
    assert not any(default_storage.exists(name) for name in files)
    concern = Concern.objects.get(pk=said_everywhere.pk)
    assert (concern.description, concern.location, concern.contact_name) == (REMOVED,) * 3
    assert (concern.contact_email, concern.contact_phone, concern.reporter) == ("", "", None)
    assert concern.anonymised_at is not None


def test_it_keeps_the_officers_updates_and_the_concerns(owner, said_everywhere):
    concerns = Concern.objects.count()
    services.user_delete(user=owner)
    assert Concern.objects.count() == concerns
    assert ConcernUpdate.objects.filter(concern=said_everywhere, kind="public").exists()
    membership = SchemeMembership.objects.get(business=said_everywhere.business)
    assert (membership.status, membership.application_note) == ("left", "")


def test_it_leaves_a_held_concern_as_it_was(owner, said_everywhere, npt_officer):
    assert services.concern_set_legal_hold(
        concern=said_everywhere, hold=True, reason="Evidence in case 55/1234/26", actor=npt_officer
    )
    services.user_delete(user=owner)
    concern = Concern.objects.get(pk=said_everywhere.pk)
    assert concern.description == f"{MARK} saw two men take gin."
    assert concern.location == f"{MARK}'s shop door"
    assert concern.attachments.count() == 1
    assert concern.updates.filter(kind="reply", body__startswith=MARK).exists()
    # The portal stops writing to them all the same.
    assert (concern.reporter, concern.contact_email) == (None, "")
    # The business a held concern belongs to keeps its details, as the evidence does.
    assert concern.business.name == f"{MARK} Stores"


def test_it_records_who_placed_a_hold_and_why(said_everywhere, npt_officer):
    services.concern_set_legal_hold(
        concern=said_everywhere, hold=True, reason="Case 55/1234/26", actor=npt_officer
    )
    assert not services.concern_set_legal_hold(
        concern=said_everywhere, hold=True, reason="Case 55/1234/26", actor=npt_officer
    )
    event = ConcernEvent.objects.get(concern=said_everywhere, kind="legal_hold")
    assert (event.actor, event.detail) == (npt_officer, "Held: Case 55/1234/26")


def test_it_removes_a_business_left_with_nobody_and_no_concerns(owner, area):
    lonely = factories.BusinessFactory(owner=owner, npt_area=area)
    services.user_delete(user=owner)
    assert not Business.objects.filter(pk=lonely.pk).exists()


def test_it_keeps_a_business_with_concerns_without_its_name(owner, said_everywhere):
    services.user_delete(user=owner)
    business = Business.objects.get(pk=said_everywhere.business_id)
    assert MARK not in business.name and MARK not in business.address_line1
    assert business.postcode == "BH15"  # its district: what routes and counts a concern
    assert business.npt_area_id == said_everywhere.npt_area_id


def test_it_leaves_a_shared_business_alone(owner, other_owner, other_business, said_everywhere):
    services.user_delete(user=owner)
    other_business.refresh_from_db()
    assert other_business.members.get() == other_owner
    assert other_business.name != REMOVED


def insight_totals():
    rollup.insight_refresh(full=True)
    return (
        sorted(
            InsightReported.objects.values_list("grain", "day", "npt_area", "category", "reported")
        ),
        sorted(InsightOutcome.objects.values_list("grain", "day", "npt_area", "outcome", "given")),
        sorted(InsightOpenNow.objects.values_list("npt_area", "tier", "open")),
    )


def test_insight_counts_the_same_after_an_erasure(owner, said_everywhere, npt_officer):
    resolved = factories.ConcernFactory(business=said_everywhere.business, reporter=owner)
    services.concern_resolve(
        concern=resolved, actor=npt_officer, outcome=factories.outcome(), note="Advice given."
    )
    before = insight_totals()
    assert sum(row[-1] for row in before[0]) >= 2

    services.user_delete(user=owner)

    assert insight_totals() == before


def test_it_removes_the_reason_they_gave_for_withdrawing_and_the_names_of_files_added_later(
    owner, business, django_capture_on_commit_callbacks
):
    concern = factories.ConcernFactory(business=business, reporter=owner)
    services.concern_add_attachments(
        concern=concern,
        author=owner,
        attachments=[accepted_attachment(factories.png_upload(f"{MARK}-front-door.png"))],
    )
    services.concern_withdraw(concern=concern, author=owner, reason=f"{MARK} found the gin.")

    with django_capture_on_commit_callbacks(execute=True):
        services.user_delete(user=owner)

    assert text_columns_holding(MARK) == []


def test_the_schedule_removes_a_guests_withdrawal_reason_and_file_names(area):
    concern = factories.ConcernFactory(reporter=None, contact_email="gita@example.org")
    services.concern_add_attachments(
        concern=concern,
        author=None,
        attachments=[accepted_attachment(factories.png_upload(f"{MARK}-till.png"))],
    )
    services.concern_withdraw(concern=concern, author=None, reason=f"{MARK} paid for it.")

    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=800), tick=False):
        privacy.retention_run(kinds=["closed_concerns"])

    assert text_columns_holding(MARK) == []


def test_the_schedule_removes_a_guests_words_from_the_business_made_for_their_report(area):
    concern, _ = services.guest_concern_submit(
        business_name="Quay Gifts",
        sector="retail",
        postcode="BH15 1HJ",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category(),
            description="Cards skimmed at the till.",
            occurred_on=dt.date.today(),
            location=f"Outside {MARK}'s flat above the shop",
            impact=Concern.Impact.SOME,
            contact_name="Gita Guest",
            contact_email="gita@example.org",
        ),
        submission_key=factories.uuid.uuid4(),
    )
    services.concern_confirm_guest(concern=concern)
    services.concern_withdraw(concern=concern, author=None, reason="Sorted out.")

    with time_machine.travel(dt.datetime.now(tz=dt.UTC) + dt.timedelta(days=800), tick=False):
        privacy.retention_run(kinds=["closed_concerns"])

    assert text_columns_holding(MARK) == []


def test_the_search_for_words_left_behind_looks_inside_recorded_changes(business):
    """The search above would find a name an event recorded by value."""
    BusinessEvent.objects.create(
        business=business,
        kind=BusinessEvent.Kind.UPDATED,
        changes={"name": {"from": f"{MARK} Stores", "to": "Other"}},
    )
    assert text_columns_holding(MARK) == [
        f"engagement.BusinessEvent.changes #{BusinessEvent.objects.get().pk}"
    ]


def test_it_records_the_removal_of_a_kept_business_name_without_it(owner, said_everywhere):
    services.user_delete(user=owner)
    event = BusinessEvent.objects.get(
        business_id=said_everywhere.business_id, kind=BusinessEvent.Kind.ANONYMISED
    )
    assert event.changes == {
        "name": {"changed": True},
        "address_line1": {"changed": True},
        "postcode": {"changed": True},
    }


def test_it_records_that_someone_left_a_shared_business_not_who(
    owner, other_owner, other_business, said_everywhere
):
    services.user_delete(user=owner)
    event = BusinessEvent.objects.get(business=other_business, kind=BusinessEvent.Kind.MEMBER_LEFT)
    assert event.changes == {"people": {"from": 2, "to": 1}}
    assert event.actor is None
    assert "Olive" not in event.detail and owner.email not in event.detail


def test_it_leaves_the_reports_of_others_at_a_shared_business(
    owner, other_owner, other_business, said_everywhere
):
    theirs = factories.ConcernFactory(
        business=other_business, reporter=other_owner, description="Oscar saw the van."
    )
    services.user_delete(user=owner)
    theirs.refresh_from_db()
    assert (theirs.description, theirs.anonymised_at) == ("Oscar saw the van.", None)
