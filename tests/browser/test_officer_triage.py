"""An NPT officer triages a concern in Chromium: every control found by its label and clicked.

Each test signs in at /accounts/login/ as the officer would, opens the concern's admin page, uses
one triage form and checks both what the page then says and what the database holds. Posting to
the endpoint would prove the view, not the button: a form nested in the admin's change form
posts nothing, and only a click finds that out.
"""

import re

import pytest

from engagement import services
from engagement.models import Concern, ConcernEvent, ConcernUpdate, OutboundEmail
from escalation.models import CoordinatingGroup, Theme, ThemeConcern
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHANGE_URL = "/admin/engagement/concern/{}/change/"


@pytest.fixture
def poole(db):
    group = CoordinatingGroup.objects.create(name="BCP Business Co-ordinating Group", slug="bcp")
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    area.group = group
    area.save(update_fields=["group"])
    return area


@pytest.fixture
def officer(poole):
    return factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def shop_concern(poole):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")
    return factories.ConcernFactory(business=business, reporter=owner, priority="high")


def sign_in(new_page, person):
    page = new_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(person.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.wait_for_url(re.compile("/admin/$"))  # officers land in the admin
    return page


@pytest.fixture
def officer_page(new_page, officer, shop_concern):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(shop_concern.pk))
    return page


def resolve_form(page):
    # "Outcome" also names the page's read-only Outcome section: look in the Resolve box.
    return page.get_by_role("form", name=re.compile("^Resolve with an outcome"))


def success_message(page) -> str:
    return page.locator("ul.messagelist").inner_text()


def readonly(page, label: str) -> str:
    """The value beside a read-only field's label on the change page."""
    row = page.locator(".form-row").filter(has=page.locator("label", has_text=f"{label}:"))
    return row.locator(".readonly").first.inner_text()


def test_it_assigns_the_concern_with_the_assign_button(officer_page, officer, shop_concern):
    page = officer_page
    assign = page.get_by_role("button", name="Assign", exact=True)
    # The triage forms come first, within the first screen, not below the history.
    assert assign.bounding_box()["y"] < 900
    page.get_by_label("Assign to", exact=True).select_option(label="PC Jane Smith")
    assign.click()
    page.wait_for_load_state()

    assert "Assigned." in success_message(page)
    assert readonly(page, "Assigned officer") == "PC Jane Smith"
    assert page.get_by_label("Assign to", exact=True).input_value() == str(officer.pk)
    shop_concern.refresh_from_db()
    assert shop_concern.assigned_officer == officer
    assert shop_concern.status == Concern.Status.IN_PROGRESS
    assert shop_concern.events.filter(kind=ConcernEvent.Kind.ASSIGNED, actor=officer).count() == 1


def test_it_sets_the_priority_starting_from_the_current_one(officer_page, officer, shop_concern):
    page = officer_page
    assert page.get_by_label("Priority", exact=True).input_value() == "high"  # not "Low"
    page.get_by_label("Priority", exact=True).select_option(label="Urgent")
    page.get_by_role("button", name="Set priority").click()
    page.wait_for_load_state()

    assert "Priority changed." in success_message(page)
    assert readonly(page, "Priority") == "Urgent"
    assert page.get_by_label("Priority", exact=True).input_value() == "urgent"
    shop_concern.refresh_from_db()
    assert shop_concern.priority == Concern.Priority.URGENT
    assert shop_concern.events.get(kind=ConcernEvent.Kind.PRIORITY).detail == "High → Urgent"


def test_it_posts_a_public_update_to_the_business(officer_page, officer, shop_concern):
    page = officer_page
    page.get_by_label("Update for the business", exact=True).fill(
        "We are patrolling the Quay tonight."
    )
    page.get_by_role("button", name="Post update").click()
    page.wait_for_load_state()

    assert "Update posted; the business has been emailed." in success_message(page)
    assert page.get_by_text("We are patrolling the Quay tonight.").is_visible()
    update = ConcernUpdate.objects.get(concern=shop_concern)
    assert (update.kind, update.author) == (ConcernUpdate.Kind.PUBLIC, officer)
    assert OutboundEmail.objects.filter(to="owner@example.org").count() == 1


def test_it_adds_an_internal_note_the_business_never_sees(officer_page, officer, shop_concern):
    page = officer_page
    page.get_by_label("Internal note", exact=True).fill("Same van seen at two other shops.")
    page.get_by_role("button", name="Add note").click()
    page.wait_for_load_state()

    assert "Note added." in success_message(page)
    assert page.get_by_text("Same van seen at two other shops.").is_visible()
    note = ConcernUpdate.objects.get(concern=shop_concern)
    assert (note.kind, note.author) == (ConcernUpdate.Kind.INTERNAL, officer)
    assert not OutboundEmail.objects.exists()


def test_it_asks_the_business_a_question_and_pauses_the_clock(officer_page, officer, shop_concern):
    page = officer_page
    page.get_by_label("Question for the business", exact=True).fill("Do you have CCTV of the door?")
    page.get_by_role("button", name="Ask question").click()
    page.wait_for_load_state()

    assert "Question sent; the deadline clock is paused" in success_message(page)
    assert readonly(page, "Status") == "Waiting for the business"
    shop_concern.refresh_from_db()
    assert shop_concern.status == Concern.Status.WAITING
    assert shop_concern.paused_at is not None
    question = ConcernUpdate.objects.get(concern=shop_concern)
    assert (question.kind, question.body) == (
        ConcernUpdate.Kind.QUESTION,
        "Do you have CCTV of the door?",
    )


def test_it_resolves_with_an_outcome_and_stops_offering_resolve(
    officer_page, officer, shop_concern
):
    page = officer_page
    resolve_form(page).get_by_label("Outcome").select_option(label="Advice given")
    resolve_form(page).get_by_label("Explanation for the business").fill(
        "Move the display away from the door."
    )
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.wait_for_load_state()

    assert "Resolved; the business has been told the outcome." in success_message(page)
    assert readonly(page, "Outcome") == "Advice given"
    # Nothing tier-1 is left to do; an update or a note still is.
    assert page.get_by_role("button", name="Resolve", exact=True).count() == 0
    assert page.get_by_role("button", name="Set priority").count() == 0
    assert page.get_by_role("button", name="Post update").is_visible()
    assert page.get_by_text("This concern has an outcome: Advice given.").is_visible()
    shop_concern.refresh_from_db()
    assert shop_concern.status == Concern.Status.RESOLVED
    assert shop_concern.outcome.slug == "advice-given"
    assert shop_concern.outcome_note == "Move the display away from the door."


def test_it_escalates_to_the_group_with_a_reason(officer_page, officer, shop_concern):
    page = officer_page
    page.get_by_label("Reason for escalating (the group sees it)").fill(
        "Three shops on the Quay hit by the same people."
    )
    page.get_by_role("button", name="Escalate", exact=True).click()
    page.wait_for_load_state()

    assert "Escalated; the Business Co-ordinating Group has been told." in success_message(page)
    assert readonly(page, "Tier") == "Business Co-ordinating Group"
    assert page.get_by_text("is with BCP Business Co-ordinating Group").is_visible()
    assert page.get_by_role("button", name="Escalate", exact=True).count() == 0
    shop_concern.refresh_from_db()
    assert shop_concern.tier == Concern.Tier.GROUP
    event = shop_concern.events.get(kind=ConcernEvent.Kind.ESCALATED)
    assert (event.actor, event.from_tier, event.to_tier) == (officer, 1, 2)


def test_it_settles_a_theme_returned_to_the_npt(new_page, officer, poole):
    theme = factories.ThemeFactory(npt_area=poole, tier=Concern.Tier.NPT)
    for n in range(3):
        owner = factories.UserFactory()
        business = factories.BusinessFactory(owner=owner, npt_area=poole, name=f"Shop {n}")
        concern = factories.ConcernFactory(business=business, reporter=owner)
        ThemeConcern.objects.create(theme=theme, concern=concern)
    page = sign_in(new_page, officer)
    page.goto(f"/admin/escalation/theme/{theme.pk}/change/")

    resolve_form(page).get_by_label("Outcome").select_option(label="Action taken")
    resolve_form(page).get_by_label("Explanation for the business").fill(
        "Extra patrols on the high street."
    )
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.wait_for_load_state()

    assert "every business in the theme has been told the outcome" in success_message(page)
    assert readonly(page, "Outcome") == "Action taken"
    assert page.get_by_role("button", name="Resolve", exact=True).count() == 0
    theme.refresh_from_db()
    assert theme.status == Theme.Status.RESOLVED
    assert theme.events.filter(kind="resolved", actor=officer).count() == 1
    assert set(theme.concerns.values_list("status", flat=True)) == {Concern.Status.RESOLVED}


def test_it_refuses_a_stale_form_saying_what_changed(officer_page, officer, shop_concern, poole):
    page = officer_page
    resolve_form(page).get_by_label("Outcome").select_option(label="Advice given")
    # A colleague resolves it while this page is open.
    colleague = factories.OfficerFactory(area=poole, full_name="PC Colin Other")
    services.concern_resolve(
        concern=shop_concern, actor=colleague, outcome=factories.outcome("action-taken")
    )

    page.get_by_role("button", name="Resolve", exact=True).click()
    page.wait_for_load_state()

    alert = page.get_by_role("alert").inner_text()
    assert "Nothing was recorded" in alert
    assert "status is now Outcome given (it was New)" in alert
    assert "Resolved;" not in page.content()  # never a false success
    assert page.get_by_role("button", name="Resolve", exact=True).count() == 0
    shop_concern.refresh_from_db()
    assert shop_concern.outcome.slug == "action-taken"
    assert shop_concern.events.filter(kind=ConcernEvent.Kind.RESOLVED).count() == 1
    assert not shop_concern.events.filter(actor=officer).exists()


# Response templates: offered by their title in the update, question and resolve forms.


@pytest.fixture
def templates(db):
    return {
        "patrols": factories.ResponseTemplateFactory(
            title="Patrols arranged",
            body="We have added {business} to our patrols ({reference}).",
        ),
        "fraud": factories.ResponseTemplateFactory(
            title="Invoice fraud advice",
            body="Call your bank.",
            category=factories.category("fraud"),
        ),
        "cctv": factories.ResponseTemplateFactory(
            title="Ask for CCTV",
            body="Does {business} have CCTV of the door?",
            used_for="question",
        ),
        "advice": factories.ResponseTemplateFactory(
            title="Advice given",
            body="We have given {business} advice; quote {reference} if it happens again.",
            used_for="resolve",
        ),
    }


def template_choices(page, label: str) -> list[str]:
    return page.get_by_label(label).locator("option").all_inner_texts()


def test_it_starts_an_update_from_a_template_and_sends_what_the_officer_edited(
    new_page, officer, shop_concern, templates, assert_accessible
):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(shop_concern.pk))
    url = page.url
    update = page.get_by_role("region", name="Post an update to the business")
    assert template_choices(page, "Start the update from a template") == [
        "Choose a template",
        "Patrols arranged",  # not the fraud advice: this is a theft
    ]
    assert_accessible(page)

    page.get_by_label("Start the update from a template").select_option(label="Patrols arranged")
    update.get_by_role("button", name="Use template").click()

    box = page.get_by_label("Update for the business", exact=True)
    filled = f"We have added Quay Gifts to our patrols ({shop_concern.reference})."
    assert box.input_value() == filled
    assert page.url == url  # filled in place: no reload, nothing sent
    assert not ConcernUpdate.objects.exists()
    box.press("End")
    box.type(" From 6pm tonight.")
    page.get_by_role("button", name="Post update").click()
    page.wait_for_load_state()

    assert "Update posted; the business has been emailed." in success_message(page)
    edited = f"{filled} From 6pm tonight."
    assert page.get_by_text(edited).is_visible()
    update = ConcernUpdate.objects.get(concern=shop_concern)
    assert (update.kind, update.author, update.body) == (ConcernUpdate.Kind.PUBLIC, officer, edited)


def test_it_starts_a_question_from_a_template_without_javascript(
    new_page, officer, shop_concern, templates
):
    page = new_page(javascript=False)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(officer.email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name=re.compile("Sign in", re.I)).click()
    page.goto(CHANGE_URL.format(shop_concern.pk))

    page.get_by_label("Start the question from a template").select_option(label="Ask for CCTV")
    question = page.get_by_role("region", name=re.compile("^Ask the business a question"))
    question.get_by_role("button", name="Use template").click()
    page.wait_for_load_state()

    assert "question-template=" in page.url  # the page came back with the text in the box
    box = page.get_by_label("Question for the business", exact=True)
    assert box.input_value() == "Does Quay Gifts have CCTV of the door?"
    assert not ConcernUpdate.objects.exists()
    box.fill("Does Quay Gifts have CCTV of the door, and of the till?")
    page.get_by_role("button", name="Ask question").click()
    page.wait_for_load_state()

    assert "Question sent" in success_message(page)
    assert readonly(page, "Status") == "Waiting for the business"
    question = ConcernUpdate.objects.get(concern=shop_concern)
    assert (question.kind, question.body) == (
        ConcernUpdate.Kind.QUESTION,
        "Does Quay Gifts have CCTV of the door, and of the till?",
    )


def test_it_asks_before_a_template_replaces_what_the_officer_typed(
    new_page, officer, shop_concern, templates
):
    page = sign_in(new_page, officer)
    page.goto(CHANGE_URL.format(shop_concern.pk))
    form = resolve_form(page)
    form.get_by_label("Outcome").select_option(label="Advice given")
    box = form.get_by_label("Explanation for the business")
    box.fill("My own words.")
    resolve = page.get_by_role("region", name="Resolve with an outcome")
    page.get_by_label("Start the explanation from a template").select_option(label="Advice given")

    page.once("dialog", lambda dialog: dialog.dismiss())
    resolve.get_by_role("button", name="Use template").click()
    assert box.input_value() == "My own words."  # kept: the officer said no

    page.once("dialog", lambda dialog: dialog.accept())
    resolve.get_by_role("button", name="Use template").click()
    filled = f"We have given Quay Gifts advice; quote {shop_concern.reference} if it happens again."
    assert box.input_value() == filled
    page.get_by_role("button", name="Resolve", exact=True).click()
    page.wait_for_load_state()

    assert "Resolved; the business has been told the outcome." in success_message(page)
    shop_concern.refresh_from_db()
    assert (shop_concern.status, shop_concern.outcome_note) == (Concern.Status.RESOLVED, filled)
