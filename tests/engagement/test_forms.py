import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from engagement.forms import BusinessForm, ConcernForm, GuestConcernForm
from engagement.models import Concern
from tests import factories

LONDON = ZoneInfo("Europe/London")
REQUIRED = "This field is required."
MISSING_REPORT = {
    "business": ["Choose which business this is about."],
    "category": ["Choose what your concern is about."],
    "description": ["Describe what happened."],
    "occurred_on": ["Enter the date it happened."],
    "location": ["Say where it happened."],
    "impact": ["Choose how it has affected the business."],
    "contact_name": ["Enter your name."],
}
HYPOTHESIS = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    # Argon2 costs ~0.1 s a user; these tests are not about passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def concern_form(owner, own_business, files=None, **overrides):
    data = factories.concern_form_data(**{"business": own_business.pk, **overrides})
    return ConcernForm(data, files, user=owner)


def guest_form(files=None, **overrides):
    return GuestConcernForm(factories.guest_form_data(**overrides), files)


def upload(name, content, content_type="application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def attachments(*uploads):
    from django.utils.datastructures import MultiValueDict

    return MultiValueDict({"attachments": list(uploads)})


def image_bytes(image_format):
    buffer = io.BytesIO()
    Image.new("RGB", (3, 3), (0, 90, 200)).save(buffer, format=image_format)
    return buffer.getvalue()


# The happy path, so the failures below fail for the reason they name.


def test_it_accepts_a_complete_report(owner, business):
    form = concern_form(owner, business)
    assert form.is_valid(), form.errors
    details = form.concern_details()
    assert details.category.slug == "theft"
    assert details.contact_email == "owner@example.org"


def test_it_accepts_a_complete_guest_report_and_normalises_its_postcode(area):
    form = guest_form(postcode="bh151hj")
    assert form.is_valid(), form.errors
    assert form.cleaned_data["postcode"] == "BH15 1HJ"


def test_it_accepts_a_business_and_normalises_its_postcode(area):
    form = BusinessForm(factories.business_form_data(postcode=" bh15 1hj "))
    assert form.is_valid(), form.errors
    assert form.cleaned_data["postcode"] == "BH15 1HJ"


# Missing and malformed fields


def test_it_says_what_to_fill_in_for_every_missing_field_of_a_report(owner, business):
    form = ConcernForm({}, user=owner)
    assert not form.is_valid()
    assert {field: form.errors[field] for field in MISSING_REPORT} == MISSING_REPORT
    assert form.errors["contact_email"] == ["Enter your email address."]
    for optional in ["occurred_time", "existing_reference", "impact_details", "attachments"]:
        assert optional not in form.errors


def test_it_names_every_missing_field_of_a_guest_report(area):
    form = GuestConcernForm({})
    assert not form.is_valid()
    assert form.errors["business_name"] == ["Enter the business name."]
    assert form.errors["sector"] == ["Choose the type of business."]
    assert form.errors["town"] == ["Enter the town or village."]
    assert form.errors["postcode"] == ["Enter the postcode, like BH15 1AA."]
    assert form.errors["contact_email"] == ["Enter your email address."]
    assert form.errors["description"] == ["Describe what happened."]


def test_it_names_every_missing_field_of_a_business(area):
    form = BusinessForm({})
    assert not form.is_valid()
    assert form.errors == {
        "name": ["Enter the business name."],
        "sector": ["Choose the business's sector."],
        "size_band": ["Choose the size of the business."],
        "address_line1": ["Enter the first line of the address."],
        "town": ["Enter the town or village."],
        "postcode": ["Enter the postcode, like BH15 1AA."],
    }


@pytest.mark.parametrize("postcode", ["BH15", "12345", "BH15 1CA", "NOPE", "BH15 1AAA", "BH15-1AA"])
def test_it_explains_a_malformed_postcode(area, postcode):
    guest = guest_form(postcode=postcode)
    business = BusinessForm(factories.business_form_data(postcode=postcode))
    for form in (guest, business):
        assert not form.is_valid()
        assert form.errors["postcode"] == ["Enter a full UK postcode, like BH15 1AA."]


@pytest.mark.parametrize("postcode", ["SW1A 1AA", "M1 1AE", "EX1 1AA", "BA1 1AA"])
def test_it_explains_a_postcode_outside_dorset(area, postcode):
    guest = guest_form(postcode=postcode)
    business = BusinessForm(factories.business_form_data(postcode=postcode))
    for form in (guest, business):
        assert not form.is_valid()
        (message,) = form.errors["postcode"]
        assert message.startswith(f"{postcode} is not in an area Dorset Police covers.")
        assert "contact the police force for your area on 101" in message


def test_it_refuses_a_business_that_is_not_the_reporters(owner, business, other_business):
    form = concern_form(owner, business, business=other_business.pk)
    assert not form.is_valid()
    assert form.errors["business"] == ["Choose one of your businesses from the list."]


def test_it_refuses_a_date_in_the_future(time_machine, owner, business):
    time_machine.move_to(dt.datetime(2026, 6, 10, 10, 0, tzinfo=LONDON), tick=False)
    form = concern_form(owner, business, occurred_on="2026-06-11")
    assert not form.is_valid()
    assert form.errors["occurred_on"] == [
        "The date it happened cannot be in the future. Today is 10 June 2026."
    ]


def test_it_refuses_a_time_later_today(time_machine, owner, business):
    time_machine.move_to(dt.datetime(2026, 6, 10, 10, 0, tzinfo=LONDON), tick=False)
    later = concern_form(owner, business, occurred_on="2026-06-10", occurred_time="11:00")
    earlier = concern_form(owner, business, occurred_on="2026-06-10", occurred_time="09:30")
    assert not later.is_valid()
    assert later.errors["occurred_time"] == ["The time cannot be in the future."]
    assert earlier.is_valid(), earlier.errors


def test_it_accepts_a_later_time_on_an_earlier_day(time_machine, owner, business):
    time_machine.move_to(dt.datetime(2026, 6, 10, 10, 0, tzinfo=LONDON), tick=False)
    form = concern_form(owner, business, occurred_on="2026-06-09", occurred_time="23:30")
    assert form.is_valid(), form.errors


def test_it_refuses_a_date_more_than_five_years_ago(owner, business):
    form = concern_form(owner, business, occurred_on="2001-01-01")
    assert not form.is_valid()
    assert form.errors["occurred_on"] == ["Enter a date it happened within the last five years."]


@pytest.mark.parametrize("typed", ["yesterday", "31/02/2026", "0000-00-00"])
def test_it_refuses_a_date_that_is_not_a_date(owner, business, typed):
    form = concern_form(owner, business, occurred_on=typed)
    assert not form.is_valid()
    assert form.errors["occurred_on"] == ["Enter a real date, for example 5 January 2026."]


def test_it_refuses_null_characters_in_text(owner, business):
    form = concern_form(owner, business, description="gin\x00bottles", location="\x00")
    assert not form.is_valid()
    assert form.errors["description"] == ["Null characters are not allowed."]
    assert form.errors["location"] == ["Null characters are not allowed."]


def test_it_refuses_a_description_over_5000_characters(owner, business):
    assert concern_form(owner, business, description="a" * 5000).is_valid()
    form = concern_form(owner, business, description="a" * 5001)
    assert not form.is_valid()
    assert form.errors["description"] == [
        "Ensure this value has at most 5000 characters (it has 5001)."
    ]


def test_it_asks_for_a_phone_number_when_phone_is_the_preference(owner, business):
    form = concern_form(owner, business, contact_preference="phone", contact_phone="  ")
    assert not form.is_valid()
    assert form.errors["contact_phone"] == [
        "Give a phone number, or choose to be contacted by email."
    ]
    assert concern_form(
        owner, business, contact_preference="phone", contact_phone="01202 123456"
    ).is_valid()


@pytest.mark.parametrize("phone", ["call me", "01202 <b>", "0120212345x"])
def test_it_refuses_a_phone_number_with_letters(owner, business, phone):
    form = concern_form(owner, business, contact_phone=phone)
    assert not form.is_valid()
    assert form.errors["contact_phone"] == ["Enter a phone number using digits, spaces and + only."]


@pytest.mark.parametrize("email", ["owner", "owner@", "<script>@x", "a@b@c.uk"])
def test_it_refuses_a_malformed_email_address(owner, business, email):
    form = concern_form(owner, business, contact_email=email)
    assert not form.is_valid()
    assert form.errors["contact_email"] == [
        "Enter an email address in the right format, like name@example.com."
    ]


# Attachments


def test_it_refuses_six_attachments(owner, business):
    files = attachments(*[factories.png_upload(f"photo{n}.png") for n in range(6)])
    form = concern_form(owner, business, files)
    assert not form.is_valid()
    assert form.errors["attachments"] == [
        "You attached 6 files; the most is 5. Choose the most useful ones and attach them again."
    ]


def test_it_accepts_five_attachments(owner, business):
    files = attachments(*[factories.png_upload(f"photo{n}.png") for n in range(5)])
    form = concern_form(owner, business, files)
    assert form.is_valid(), form.errors
    assert len(form.cleaned_data["attachments"]) == 5


def test_it_refuses_an_oversized_file(settings, owner, business):
    settings.ATTACHMENT_MAX_BYTES = 1024 * 1024
    big = upload("cctv.png", b"\x89PNG" + b"0" * (1024 * 1024), "image/png")
    form = concern_form(owner, business, attachments(big))
    assert not form.is_valid()
    # One message for the field, however many problems it has.
    assert form.errors["attachments"] == ["“cctv.png” is larger than 1 MB. Attach a smaller copy."]


def test_it_accepts_a_file_exactly_at_the_limit(settings, owner, business):
    png = factories.png_bytes()
    settings.ATTACHMENT_MAX_BYTES = len(png)
    form = concern_form(owner, business, attachments(upload("cctv.png", png)))
    assert form.is_valid(), form.errors


@pytest.mark.parametrize(
    "name, content",
    [
        ("photo.jpg", b"this is not a photograph at all, just some words"),
        ("photo.png", b"<html><script>alert(1)</script></html>"),
        ("drawing.png", b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'),
        ("statement.pdf", b"MZ\x90\x00 a Windows program"),
        ("broken.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40),
    ],
)
def test_it_refuses_a_file_whose_content_is_not_an_allowed_type_whatever_its_name(
    owner, business, name, content
):
    form = concern_form(owner, business, attachments(upload(name, content, "image/jpeg")))
    assert not form.is_valid()
    assert form.errors["attachments"][0].startswith(
        f"“{name}” is not a photo (JPEG, PNG, WebP, GIF) or a PDF. Only those can be attached."
    )


def test_it_refuses_an_empty_file(owner, business):
    form = concern_form(owner, business, attachments(upload("empty.png", b"")))
    assert not form.is_valid()
    assert form.errors["attachments"][0].startswith("“empty.png” is empty.")


@pytest.mark.parametrize(
    "name, content, kind",
    [
        ("tiny.png", factories.png_bytes(), "image/png"),
        ("tiny.jpg", image_bytes("JPEG"), "image/jpeg"),
        ("tiny.gif", image_bytes("GIF"), "image/gif"),
        ("tiny.webp", image_bytes("WEBP"), "image/webp"),
        ("statement.pdf", factories.PDF_BYTES, "application/pdf"),
        # The content decides, not the name.
        ("actually-a-png.pdf", factories.png_bytes(), "image/png"),
    ],
)
def test_it_accepts_real_images_and_pdfs_by_their_content(owner, business, name, content, kind):
    form = concern_form(owner, business, attachments(upload(name, content)))
    assert form.is_valid(), form.errors
    (checked,) = form.cleaned_data["attachments"]
    assert checked.detected_kind == kind


def test_it_names_each_bad_file_among_good_ones(owner, business):
    files = attachments(
        factories.png_upload("good.png"), upload("bad.jpg", b"nope"), upload("worse.pdf", b"no")
    )
    form = concern_form(owner, business, files)
    assert not form.is_valid()
    errors = form.errors["attachments"]
    assert len(errors) == 1  # one message for the field, naming each file
    assert any("“bad.jpg”" in error for error in errors)
    assert any("“worse.pdf”" in error for error in errors)
    assert not any("good.png" in error for error in errors)


# Wide input: whatever is typed, the form answers with errors, never an exception.

free_text = st.text(max_size=300) | st.sampled_from(
    ["", " ", "\x00", "<script>alert(1)</script>", "' OR 1=1 --", "a" * 5001, "\u202e"]
)


@HYPOTHESIS
@given(
    description=free_text,
    location=free_text,
    existing_reference=free_text,
    impact_details=free_text,
    contact_name=free_text,
    contact_phone=free_text,
    contact_email=free_text,
    occurred_on=free_text,
    occurred_time=free_text,
    impact=free_text,
    contact_preference=free_text,
    submission_key=free_text,
)
def test_it_never_raises_on_any_text_in_a_report(owner, business, **typed):
    form = concern_form(owner, business, **typed)
    if form.is_valid():
        form.concern_details()
    else:
        assert form.errors
        for field, messages in form.errors.items():
            assert all(message.strip() for message in messages), field


@HYPOTHESIS
@given(
    business_name=free_text,
    town=free_text,
    postcode=free_text,
    sector=free_text,
    description=free_text,
)
def test_it_never_raises_on_any_text_in_a_guest_report(area, **typed):
    form = guest_form(**typed)
    assert form.is_valid() or form.errors


@HYPOTHESIS
@given(
    name=free_text,
    address_line1=free_text,
    address_line2=free_text,
    town=free_text,
    postcode=free_text,
    size_band=free_text,
)
def test_it_never_raises_on_any_text_in_a_business(area, **typed):
    form = BusinessForm(factories.business_form_data(**typed))
    assert form.is_valid() or form.errors


# What the person sees: what to fix, and what they typed kept.


def test_it_re_renders_a_report_with_what_to_fix_and_what_was_typed(client, owner, business):
    client.force_login(owner)
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    data = factories.concern_form_data(
        business=business.pk,
        description="A man in a green coat & hat took <b>two</b> bottles.",
        location="Round the back by the bins",
        occurred_on=tomorrow,
        contact_preference="phone",
        contact_phone="",
        existing_reference="AF-12345",
    )
    response = factories.send_report(client, data)
    assert response.status_code == 200
    assert not Concern.objects.exists()
    page = response.content.decode()
    assert "There is a problem" in page
    # The summary names each field once, in plain words.
    assert '<a href="#id_occurred_on_0">The date it happened cannot be in the future.' in page
    assert (
        '<a href="#id_contact_phone">Give a phone number, or choose to be contacted by email.'
        in page
    )
    assert "A man in a green coat &amp; hat took &lt;b&gt;two&lt;/b&gt; bottles." in page
    assert 'value="Round the back by the bins"' in page
    assert 'value="AF-12345"' in page
    day, month, year = (timezone.localdate() + dt.timedelta(days=1)).strftime("%d %m %Y").split()
    for box in (
        f'name="occurred_on_day" type="text" inputmode="numeric" maxlength="2" value="{day}"',
        f'maxlength="9" value="{month}"',
        f'maxlength="4" value="{year}"',
    ):
        assert box in page, box
    assert f'value="{data["submission_key"]}"' in page
    assert "Error: " in page.split("<title>")[1].split("</title>")[0]


def test_it_re_renders_a_guest_report_with_what_to_fix_and_what_was_typed(client, area):
    response = factories.send_report(
        client,
        factories.guest_form_data(business_name="Harbour Chandlery", postcode="SW1A 1AA"),
        guest=True,
    )
    assert response.status_code == 200
    page = response.content.decode()
    # One message, the most specific, named once.
    assert '<a href="#id_postcode">SW1A 1AA is not in an area Dorset Police covers.' in page
    assert page.count("is not in an area Dorset Police covers") == 2  # summary and field
    assert "Enter a full UK postcode" not in page
    assert 'value="Harbour Chandlery"' in page
    assert 'value="SW1A 1AA"' in page


def test_it_re_renders_a_business_with_what_to_fix_and_what_was_typed(client, owner, area):
    client.force_login(owner)
    response = client.post(
        "/my/businesses/add/", factories.business_form_data(name="Quay Café", postcode="BH15")
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert '<a href="#id_postcode">Enter a full UK postcode, like BH15 1AA.' in page
    assert page.count("Enter a full UK postcode, like BH15 1AA.") == 2  # summary and field
    assert 'value="Quay Café"' in page
    assert 'value="BH15"' in page


def test_it_keeps_a_file_that_passed_by_name_after_an_error(client, owner, business):
    client.force_login(owner)
    data = factories.concern_form_data(business=business.pk, description="")
    data["attachments"] = [factories.png_upload("till.png")]
    response = factories.send_report(client, data)
    assert response.status_code == 200
    page = response.content.decode()
    assert ">Describe what happened.</a>" in page
    assert "till.png" in page  # the file itself was fine: it is held, by name
