"""The incident date as GOV.UK's date input: Day, Month and Year boxes in a fieldset with a
legend and a hint, one message that names the part that is wrong, and only that box marked."""

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template
from django.utils import timezone

from engagement.forms import GuestConcernForm
from engagement.templatetags.form_fields import bootstrap_field
from tests import factories

TODAY = dt.date(2026, 6, 10)


@pytest.fixture(autouse=True)
def _frozen_today():
    moment = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(12, 0)))
    with time_machine.travel(moment, tick=False):
        yield


def guest_form(day, month, year):
    data = factories.guest_form_data(
        occurred_on_day=day, occurred_on_month=month, occurred_on_year=year
    )
    del data["occurred_on"]
    form = GuestConcernForm(data)
    form.is_valid()
    return form


def marked(form) -> set[str]:
    return {part["key"] for part in form["occurred_on"].parts() if part["invalid"]}


def test_it_renders_three_labelled_boxes_in_a_fieldset_with_a_legend_and_a_hint(db):
    html = " ".join(str(bootstrap_field(GuestConcernForm()["occurred_on"])).split())

    assert '<fieldset class="date-input" role="group" aria-describedby="id_occurred_on_hint">' in (
        html
    )
    assert '<legend class="form-label fs-6 mb-1">Date it happened</legend>' in html
    assert "For example, 27 3 2026." in html
    for index, label in enumerate(("Day", "Month", "Year")):
        assert f'<label class="form-label" for="id_occurred_on_{index}">{label}</label>' in html
        assert f'id="id_occurred_on_{index}" name="occurred_on_{label.lower()}"' in html


def test_it_reads_a_real_date(area):
    form = guest_form("5", "1", "2026")

    assert "occurred_on" not in form.errors
    assert form.cleaned_data["occurred_on"] == dt.date(2026, 1, 5)


@pytest.mark.parametrize("month", ["mar", "March", "MARCH", "03"])
def test_it_reads_a_month_by_its_name_or_number(db, month):
    form = guest_form("3", month, "2026")

    assert form.cleaned_data["occurred_on"] == dt.date(2026, 3, 3)


@pytest.mark.parametrize(
    "day, month, year, message, parts",
    [
        ("5", "13", "2026", "Enter the month as a number from 1 to 12, or its name.", {"month"}),
        ("32", "1", "2026", "Enter the day as a number from 1 to 31.", {"day"}),
        ("5", "1", "26", "Enter the year as four digits, like 2026.", {"year"}),
        ("29", "2", "2026", "The day must be from 1 to 28 in February 2026.", {"day"}),
        ("", "2", "2026", "The date it happened must include a day.", {"day"}),
        ("", "2", "", "The date it happened must include a day and a year.", {"day", "year"}),
        ("x", "y", "2026", "Enter a real date, for example 5 January 2026.", {"day", "month"}),
        ("", "", "", "Enter the date it happened.", {"day", "month", "year"}),
        ("11", "6", "2026", "The date it happened cannot be in the future. Today is 10 June 2026.",
         {"day", "month", "year"}),
    ],
)  # fmt: skip
def test_it_names_the_part_that_is_wrong_and_marks_only_that_box(
    db, day, month, year, message, parts
):
    form = guest_form(day, month, year)

    assert form.errors["occurred_on"] == [message]
    assert marked(form) == parts


def test_it_keeps_what_was_typed_in_each_box(db):
    form = guest_form("5", "13", "2026")
    html = str(bootstrap_field(form["occurred_on"]))

    assert 'name="occurred_on_day" type="text" inputmode="numeric" maxlength="2" value="5"' in html
    assert 'value="13" aria-invalid="true"' in html
    assert 'maxlength="4" value="2026">' in html


def test_the_summary_links_to_the_first_wrong_box(db):
    form = guest_form("5", "13", "2026")
    html = Template('{% include "includes/error_summary.html" %}').render(Context({"form": form}))

    assert (
        '<a href="#id_occurred_on_1">Enter the month as a number from 1 to 12, or its name.</a>'
        in html
    )


def test_it_still_reads_a_single_iso_date(area):
    form = GuestConcernForm(factories.guest_form_data(occurred_on="2026-01-05"))

    assert form.is_valid(), form.errors
    assert form.cleaned_data["occurred_on"] == dt.date(2026, 1, 5)


@pytest.mark.parametrize(
    ("day", "month", "year", "wrong"),
    [
        ("²", "3", "2026", {"day"}),
        ("5", "³", "2026", {"month"}),
        ("5", "3", "²⁰²⁶", {"year"}),
        ("9" * 5000, "3", "2026", {"day"}),
        ("5", "3", "9" * 5000, {"year"}),
    ],
)
def test_digits_python_cannot_read_are_a_message_not_a_500(db, day, month, year, wrong):
    form = guest_form(day, month, year)

    assert "occurred_on" in form.errors
    assert marked(form) == wrong
