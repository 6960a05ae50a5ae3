"""The messages a business owner or guest meets read as one service: sentence case, the right
role for each flash message, no claim that passwords were kept, a guest form that preselects
nothing, a booking that preselects a person's only business, the Partnership's contact entry,
and error summaries that name each field once."""

import pytest
from django.contrib.messages import constants
from django.template import Context, Template
from django.urls import reverse

from engagement.forms import BusinessForm, GuestConcernForm
from escalation.models import Partnership
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("accept_language", ["en-GB", "en-US", ""])
@pytest.mark.parametrize(
    "url_name, heading",
    [
        ("account_login", "Sign in"),
        ("account_signup", "Sign up"),
        ("account_reset_password", "Password reset"),
    ],
)
def test_allauth_pages_read_in_sentence_case(client, url_name, heading, accept_language):
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE=accept_language)

    content = response.content.decode()
    title = content.split("<title>")[1].split("</title>")[0]
    assert title.strip().startswith(heading)
    assert f">{heading}<" in " ".join(content.split()).replace("> ", ">").replace(" <", "<")
    for title_case in ("Sign In", "Sign Up", "Password Reset", "Reset My Password"):
        assert title_case not in content


def test_the_password_change_page_reads_in_sentence_case(client, owner):
    client.force_login(owner)

    content = client.get(reverse("account_change_password")).content.decode()

    assert "Change password" in content
    assert "Current password" in content
    assert "Change Password" not in content
    assert "Current Password" not in content


def test_a_password_mismatch_does_not_claim_what_was_typed_is_kept(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new.owner@example.org",
            "password1": "a-long-and-unusual-passphrase",
            "password2": "a-different-passphrase-entirely",
        },
    )

    content = response.content.decode()
    assert "There is a problem" in content
    assert "What you typed has been kept" not in content
    assert "passwords are not kept: type them again" in content
    assert 'value="new.owner@example.org"' in content


def test_a_report_form_error_still_says_what_was_typed_is_kept(client, area):
    response = client.post("/report/guest/", factories.guest_form_data(description=""))

    assert "What you typed has been kept." in response.content.decode()


@pytest.mark.parametrize(
    "level, role",
    [
        (constants.ERROR, "alert"),
        (constants.WARNING, "alert"),
        (constants.SUCCESS, "status"),
        (constants.INFO, "status"),
    ],
)
def test_flash_messages_interrupt_only_for_errors_and_warnings(rf, level, role):
    from django.contrib.messages.storage.base import Message

    template = Template(
        "{% extends 'base.html' %}{% block content %}{% endblock %}",
    )
    request = rf.get("/")
    from django.contrib.auth.models import AnonymousUser

    request.user = AnonymousUser()
    message = Message(level, "Something to say.")
    html = template.render(Context({"messages": [message], "request": request}))

    assert f'role="{role}">Something to say.</div>' in html


def test_the_guest_form_preselects_no_business_type(db):
    form = GuestConcernForm()
    html = str(form["sector"])

    assert '<option value="" selected>Choose…</option>' in html
    assert "selected" not in html.split("Choose…", 1)[1]


def test_a_guest_who_leaves_the_business_type_empty_is_asked_for_it(area):
    form = GuestConcernForm(factories.guest_form_data(sector=""))

    assert not form.is_valid()
    assert form.errors["sector"] == ["Choose the type of business."]


def test_booking_a_seminar_preselects_a_persons_only_business(client, owner, business):
    seminar = factories.SeminarFactory()
    client.force_login(owner)

    content = client.get(seminar.get_absolute_url()).content.decode()

    radio = content.split(f'value="{business.pk}"')[0].rsplit("<input", 1)[1]
    assert "checked" in content.split(f'value="{business.pk}"')[1].split(">")[0] + radio


def test_booking_a_seminar_with_two_businesses_preselects_neither(client, owner, business):
    factories.BusinessFactory(owner=owner, npt_area=business.npt_area, name="Second shop")
    seminar = factories.SeminarFactory()
    client.force_login(owner)

    content = client.get(seminar.get_absolute_url()).content.decode()

    assert (
        "checked"
        not in content.split("Which business are you coming from?")[1].split("</fieldset>")[0]
    )


def test_the_partnership_has_its_contact_entry(client, db):
    partnership = Partnership.objects.get()

    content = client.get(reverse("resources:contacts")).content.decode()

    assert partnership.phone == "101"
    assert "Business Safety Partnership" in content
    assert 'href="tel:101"' in content
    assert "ask for the Force Business Crime Champion" in content


# Error summaries: each message names its field once, in plain words


def summary(form) -> str:
    form.is_valid()
    return Template('{% include "includes/error_summary.html" %}').render(Context({"form": form}))


def test_the_summary_uses_a_fields_own_message_without_its_label(area):
    html = summary(GuestConcernForm({}))

    assert ">Choose what your concern is about.</a>" in html
    assert "What is it about?" not in html
    assert ">Enter the date it happened.</a>" in html


def test_the_summary_turns_a_generic_message_into_what_to_do_with_which_field(area):
    form = BusinessForm({})
    form.fields["address_line1"].error_messages["required"] = "This field is required."
    form.fields["size_band"].error_messages["required"] = "This field is required."

    html = summary(form)

    assert ">Enter address line 1.</a>" in html
    assert ">Choose size.</a>" in html
    assert "This field is required." not in html.split("<ul")[1].split("</a>")[0]


def test_a_malformed_postcode_gives_one_message_the_most_specific(area):
    for postcode, message in (
        ("BHX 12Z", "Enter a full UK postcode, like BH15 1AA."),
        ("SW1A 1AA", "SW1A 1AA is not in an area Dorset Police covers."),
    ):
        for form in (
            GuestConcernForm(factories.guest_form_data(postcode=postcode)),
            BusinessForm(factories.business_form_data(postcode=postcode)),
        ):
            html = summary(form)
            assert len(form.errors["postcode"]) == 1
            assert form.errors["postcode"][0].startswith(message)
            assert "__all__" not in form.errors
            assert html.count("<li>") == 1  # one line in the summary, for the postcode
