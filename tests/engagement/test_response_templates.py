"""Response templates: wording officers start an update, a question or an outcome from.

Editors and administrators keep them in the admin; officers are offered the ones that fit a
concern (its category and status, and the generic ones) on its page, filled in, to edit.
"""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.management import call_command

from engagement import services
from engagement.demo import seed_response_templates
from engagement.models import ConcernUpdate, OutboundEmail, ResponseTemplate, User
from tests import factories

TEMPLATES = "/admin/engagement/responsetemplate/"
UPDATE = ResponseTemplate.UsedFor.UPDATE
QUESTION = ResponseTemplate.UsedFor.QUESTION
RESOLVE = ResponseTemplate.UsedFor.RESOLVE


@pytest.fixture
def editor(db):
    """An OPCC editor: staff, in the group the data migrations give the permissions to."""
    user = factories.UserFactory(
        email="editor@example.org", full_name="Eddie Editor", is_staff=True
    )
    user.groups.add(Group.objects.get(name="OPCC editors"))
    return user


@pytest.fixture
def shop_concern(business):
    business.name = "Quay Gifts"
    business.save(update_fields=["name"])
    return factories.ConcernFactory(
        business=business, category=factories.category("theft"), reference="DBC-2026-000123"
    )


def change_url(concern, query=""):
    return f"/admin/engagement/concern/{concern.pk}/change/{query}"


def offered_titles(response, form_name) -> list[str]:
    picker = response.context["triage_forms"][form_name]["templates"]
    return [choice["title"] for choice in picker["choices"]] if picker else []


# Filling in the placeholders.


def test_it_fills_the_reference_business_category_and_officer(shop_concern, npt_officer):
    template = factories.ResponseTemplateFactory(
        body="{reference}: {business} ({category}). {officer}"
    )
    npt_officer.full_name = "PC Jane Smith"

    text = template.fill(concern=shop_concern, officer=npt_officer)

    assert text == "DBC-2026-000123: Quay Gifts (Theft or shoplifting). PC Jane Smith"


def test_it_leaves_an_unknown_placeholder_as_written(shop_concern, npt_officer):
    template = factories.ResponseTemplateFactory(
        body="{reference} {ref} {reference.__class__} {} {0} {{business}"
    )

    text = template.fill(concern=shop_concern, officer=npt_officer)

    assert text == "DBC-2026-000123 {ref} {reference.__class__} {} {0} {Quay Gifts"


def test_it_does_not_fill_in_a_placeholder_that_a_business_name_holds(shop_concern, npt_officer):
    shop_concern.business.name = "The {officer} Arms"
    template = factories.ResponseTemplateFactory(body="At {business}.")

    assert template.fill(concern=shop_concern, officer=npt_officer) == "At The {officer} Arms."


def test_it_gives_line_breaks_as_the_browser_keeps_them(shop_concern, npt_officer):
    template = factories.ResponseTemplateFactory(body="Hello,\r\n\r\n{reference}")

    assert template.fill(concern=shop_concern, officer=npt_officer) == "Hello,\n\nDBC-2026-000123"


def test_it_refuses_an_unknown_placeholder_naming_the_ones_it_can_fill(db):
    template = ResponseTemplate(
        title="Typo", used_for=UPDATE, body="About {referance} and {buisness}, {business}."
    )

    with pytest.raises(ValidationError) as refusal:
        template.full_clean()

    assert refusal.value.message_dict["body"] == [
        "{buisness}, {referance} cannot be filled in. "
        "The text can use {reference}, {business}, {category}, {officer}."
    ]


def test_it_refuses_a_question_for_a_concern_that_has_an_outcome(db):
    template = ResponseTemplate(
        title="Too late", used_for=QUESTION, body="Anything else?", status="resolved"
    )

    with pytest.raises(ValidationError) as refusal:
        template.full_clean()

    assert "only offered while the concern is open" in refusal.value.message_dict["status"][0]


def test_it_offers_templates_for_the_category_and_status_and_the_generic_ones(shop_concern):
    generic = factories.ResponseTemplateFactory(title="Generic")
    theft = factories.ResponseTemplateFactory(title="Theft", category=factories.category("theft"))
    new = factories.ResponseTemplateFactory(title="New ones", status="new")
    factories.ResponseTemplateFactory(title="Fraud", category=factories.category("fraud"))
    factories.ResponseTemplateFactory(title="Waiting", status="waiting")
    factories.ResponseTemplateFactory(title="Withdrawn", is_active=False)

    offered = set(ResponseTemplate.objects.offered_for(shop_concern))

    assert offered == {generic, theft, new}


# Who may edit them.


def test_it_refuses_the_templates_admin_to_an_officer(client, npt_officer):
    template = factories.ResponseTemplateFactory(title="Patrols", body="Patrols arranged.")
    client.force_login(npt_officer)

    assert client.get(TEMPLATES).status_code == 403
    assert client.get(f"{TEMPLATES}add/").status_code == 403
    assert client.get(f"{TEMPLATES}{template.pk}/change/").status_code == 403
    response = client.post(
        f"{TEMPLATES}{template.pk}/change/",
        {"title": "Hijacked", "used_for": "update", "body": "Changed.", "position": 0},
    )
    assert response.status_code == 403
    assert client.post(f"{TEMPLATES}{template.pk}/delete/", {"post": "yes"}).status_code == 403
    template.refresh_from_db()
    assert (template.title, template.body) == ("Patrols", "Patrols arranged.")
    assert "Response templates" not in client.get("/admin/").content.decode()


def test_it_refuses_the_templates_admin_to_a_business_owner(client, owner):
    client.force_login(owner)

    response = client.get(TEMPLATES)

    assert response.status_code == 302
    assert "/login/" in response.url


def test_it_lets_an_editor_add_a_template_for_a_category_and_status(client, editor):
    client.force_login(editor)
    assert "Response templates" in client.get("/admin/").content.decode()

    response = client.post(
        f"{TEMPLATES}add/",
        {
            "title": "Ask for the invoice",
            "used_for": "question",
            "category": factories.category("fraud").pk,
            "status": "new",
            "body": "Please attach the invoice {business} received.",
            "is_active": "on",
            "position": "5",
        },
    )

    assert response.status_code == 302
    template = ResponseTemplate.objects.get(title="Ask for the invoice")
    assert (template.used_for, template.category.slug, template.status) == (
        "question",
        "fraud",
        "new",
    )
    assert client.get(TEMPLATES).status_code == 200


def test_it_tells_the_editor_which_placeholder_it_cannot_fill_and_keeps_the_text(client, editor):
    client.force_login(editor)

    response = client.post(
        f"{TEMPLATES}add/",
        {"title": "Typo", "used_for": "update", "body": "About {referance}.", "position": "0"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert "{referance} cannot be filled in. The text can use {reference}" in page
    assert "About {referance}.</textarea>" in page
    assert not ResponseTemplate.objects.exists()


def test_it_lets_an_administrator_edit_a_template(client, superuser):
    template = factories.ResponseTemplateFactory(title="Patrols")
    client.force_login(superuser)

    response = client.post(
        f"{TEMPLATES}{template.pk}/change/",
        {"title": "Patrols arranged", "used_for": "update", "body": "Soon.", "position": "0"},
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert (template.title, template.is_active) == ("Patrols arranged", False)


# On the concern's page.


def test_it_offers_each_form_only_the_templates_that_fit_the_concern(
    client, npt_officer, shop_concern
):
    factories.ResponseTemplateFactory(title="Looking into it", position=1)
    factories.ResponseTemplateFactory(
        title="Shoplifting advice", category=factories.category("theft"), position=2
    )
    factories.ResponseTemplateFactory(title="Invoice fraud", category=factories.category("fraud"))
    factories.ResponseTemplateFactory(title="Still waiting", status="waiting")
    factories.ResponseTemplateFactory(title="Withdrawn", is_active=False)
    factories.ResponseTemplateFactory(title="Ask for CCTV", used_for=QUESTION)
    factories.ResponseTemplateFactory(title="Advice given", used_for=RESOLVE)
    client.force_login(npt_officer)

    response = client.get(change_url(shop_concern))

    assert offered_titles(response, "update") == ["Looking into it", "Shoplifting advice"]
    assert offered_titles(response, "question") == ["Ask for CCTV"]
    assert offered_titles(response, "resolve") == ["Advice given"]
    assert offered_titles(response, "note") == []  # internal notes are the officer's own words
    page = response.content.decode()
    assert "Start the update from a template" in page
    assert "Invoice fraud" not in page
    assert "Withdrawn" not in page
    # Each option carries its text filled in, for the page's script to put in the box.
    assert 'data-text="About DBC-2026-000123 at Quay Gifts: we are on it."' in page


def test_it_offers_no_picker_where_there_is_no_template(client, npt_officer, shop_concern):
    client.force_login(npt_officer)

    response = client.get(change_url(shop_concern))

    assert response.status_code == 200
    assert "from a template" not in response.content.decode()


def test_it_offers_update_templates_once_the_concern_has_an_outcome(
    client, npt_officer, shop_concern
):
    factories.ResponseTemplateFactory(title="Any time")
    factories.ResponseTemplateFactory(title="Thanks for confirming", status="resolved")
    factories.ResponseTemplateFactory(title="Ask for CCTV", used_for=QUESTION)
    services.concern_resolve(concern=shop_concern, actor=npt_officer, outcome=factories.outcome())
    client.force_login(npt_officer)

    response = client.get(change_url(shop_concern))

    assert offered_titles(response, "update") == ["Any time", "Thanks for confirming"]
    assert "question" not in response.context["triage_forms"]


def test_it_fills_the_message_box_from_the_chosen_template_without_javascript(
    client, npt_officer, shop_concern
):
    template = factories.ResponseTemplateFactory(
        title="Patrols", body="Patrols near {business} for {reference}."
    )
    client.force_login(npt_officer)

    response = client.get(change_url(shop_concern, f"?update-template={template.pk}"))

    assert response.status_code == 200
    form = response.context["triage_forms"]["update"]["form"]
    assert form["body"].value() == "Patrols near Quay Gifts for DBC-2026-000123."
    page = response.content.decode()
    assert ">\nPatrols near Quay Gifts for DBC-2026-000123.</textarea>" in page
    assert f'<option value="{template.pk}" data-text' in page and " selected>Patrols<" in page
    # The other boxes are left as they were, and nothing has been sent.
    assert response.context["triage_forms"]["question"]["form"]["body"].value() is None
    assert not ConcernUpdate.objects.exists()
    assert not OutboundEmail.objects.exists()


def test_it_sends_what_the_officer_edited_from_the_template(client, npt_officer, shop_concern):
    template = factories.ResponseTemplateFactory(title="Patrols", body="Patrols near {business}.")
    client.force_login(npt_officer)
    filled = client.get(change_url(shop_concern, f"?update-template={template.pk}"))
    form = filled.context["triage_forms"]["update"]

    response = client.post(
        f"/admin/engagement/concern/{shop_concern.pk}/triage/update/",
        {
            "update-body": form["form"]["body"].value() + " From 6pm tonight.",
            "update-submission_key": form["form"]["submission_key"].value(),
            "update-seen": form["seen"],
        },
    )

    assert response.status_code == 302
    update = ConcernUpdate.objects.get(concern=shop_concern)
    assert update.body == "Patrols near Quay Gifts. From 6pm tonight."


def test_it_keeps_the_rest_of_the_address_when_a_template_is_chosen(
    client, npt_officer, shop_concern
):
    update = factories.ResponseTemplateFactory(title="Patrols", body="Patrols.")
    question = factories.ResponseTemplateFactory(
        title="CCTV", used_for=QUESTION, body="CCTV at {business}?"
    )
    client.force_login(npt_officer)

    response = client.get(
        change_url(
            shop_concern,
            f"?_changelist_filters=status__exact%3Dnew&question-template={question.pk}"
            f"&update-template={update.pk}",
        )
    )

    forms = response.context["triage_forms"]
    assert forms["question"]["form"]["body"].value() == "CCTV at Quay Gifts?"
    assert forms["update"]["form"]["body"].value() == "Patrols."
    # Choosing again in one form carries the filters and the other form's choice with it.
    assert forms["update"]["templates"]["keep"] == [
        ("_changelist_filters", "status__exact=new"),
        ("question-template", str(question.pk)),
    ]
    page = response.content.decode()
    assert '<input type="hidden" name="_changelist_filters" value="status__exact=new">' in page


@pytest.mark.parametrize("chosen", ["other-category", "withdrawn", "nonsense", "nul"])
def test_it_says_so_when_the_chosen_template_is_not_offered(
    client, npt_officer, shop_concern, chosen
):
    factories.ResponseTemplateFactory(title="Patrols")
    choices = {
        "other-category": factories.ResponseTemplateFactory(
            category=factories.category("fraud")
        ).pk,
        "withdrawn": factories.ResponseTemplateFactory(is_active=False).pk,
        "nonsense": "9x9",
        "nul": "1%00",
    }
    client.force_login(npt_officer)

    response = client.get(change_url(shop_concern, f"?update-template={choices[chosen]}"))

    assert response.status_code == 200
    assert "The template you chose is not offered for this concern" in response.content.decode()
    assert response.context["triage_forms"]["update"]["form"]["body"].value() is None


def test_it_offers_no_templates_to_another_npts_officer(client, other_npt_officer, shop_concern):
    template = factories.ResponseTemplateFactory(title="Patrols")
    client.force_login(other_npt_officer)

    response = client.get(change_url(shop_concern, f"?update-template={template.pk}"))

    assert response.status_code == 302  # the admin sends them away: not theirs to see
    assert "Patrols" not in response.content.decode()


def test_the_demo_offers_templates_in_every_form(db):
    seed_response_templates()
    count = seed_response_templates()  # twice: nothing is duplicated

    assert count == ResponseTemplate.objects.count() >= 6
    assert set(ResponseTemplate.objects.values_list("used_for", flat=True)) == {
        UPDATE,
        QUESTION,
        RESOLVE,
    }
    for template in ResponseTemplate.objects.all():
        template.full_clean()  # every placeholder is one the officers' page fills in


def test_the_demo_editor_may_edit_the_templates_and_the_demo_officer_may_not(db):
    call_command("seed_demo", password="a-test-demo-password", stdout=io.StringIO())

    assert User.objects.get(email="editor@demo.test").has_perm("engagement.change_responsetemplate")
    assert not User.objects.get(email="npt@demo.test").has_perm(
        "engagement.change_responsetemplate"
    )
