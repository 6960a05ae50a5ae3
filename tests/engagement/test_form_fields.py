"""The report form's fields render exactly as crispy-forms renders them, only faster.

`bootstrap_field` (engagement/templatetags/form_fields.py) writes crispy's bootstrap5 field
markup in Python; crispy itself is the oracle here, for every field of both report forms,
empty, with errors and with what was typed, so a crispy upgrade that changes the markup shows.
"""

import re

import pytest
from crispy_forms.templatetags.crispy_forms_filters import as_crispy_field

from engagement.forms import ConcernForm, GuestConcernForm
from engagement.models import ConcernCategory
from engagement.templatetags.form_fields import bootstrap_field


def collapsed(html: str) -> str:
    return re.sub(r"\s+", " ", str(html)).strip()


def typed(category_pk):
    return {
        "description": "Someone took <b>stock</b> & ran \"fast\" 'twice'",
        "occurred_on": "2099-01-01",
        "occurred_time": "25:99",
        "contact_preference": "phone",
        "category": str(category_pk),
        "impact": "some",
        "location": "",
        "contact_email": "not-an-email",
        "contact_name": "Sam <Harper>",
        "existing_reference": "AF-1",
        "submission_key": "0b5c7c9e-1111-4222-8333-444455556666",
        "business": "999999",
        "business_name": "Quay & Co",
        "sector": "retail",
        "town": "Poole",
        "postcode": "ZZ9 9ZZ",
    }


def forms_to_compare(owner, category_pk):
    """Pairs of identical forms: one for crispy, one for the filter (crispy edits widgets)."""
    for data in (None, {"description": ""}, typed(category_pk)):
        pair = []
        for _ in range(2):
            if data is None:
                pair.append((ConcernForm(user=owner), GuestConcernForm()))
            else:
                pair.append((ConcernForm(data, user=owner), GuestConcernForm(data)))
        for crispy_form, lean_form in zip(*pair, strict=True):
            if crispy_form.is_bound:
                crispy_form.is_valid()
                lean_form.is_valid()
            lean_form.initial = crispy_form.initial  # the same one-time submission key
            yield crispy_form, lean_form


@pytest.mark.django_db
def test_it_renders_every_report_field_as_crispy_does(owner, business):
    category = ConcernCategory.objects.filter(is_active=True).first()
    compared = 0
    for crispy_form, lean_form in forms_to_compare(owner, category.pk):
        for name in crispy_form.fields:
            if crispy_form[name].is_hidden or crispy_form.fields[name].template_name:
                continue  # the day/month/year date has its own template (test_date_input.py)
            expected = collapsed(as_crispy_field(crispy_form[name]))
            assert collapsed(bootstrap_field(lean_form[name])) == expected, name
            compared += 1
    assert compared == 3 * (14 + 16)  # the visible fields of each form but the date, three ways


@pytest.mark.django_db
def test_it_escapes_what_was_typed(owner, business):
    form = GuestConcernForm({"description": "<script>alert(1)</script>", "town": '"><b>'})
    form.is_valid()

    assert "<script>" not in bootstrap_field(form["description"])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in bootstrap_field(form["description"])
    assert 'value="&quot;&gt;&lt;b&gt;"' in bootstrap_field(form["town"])
