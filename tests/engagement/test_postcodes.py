import re

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from engagement.postcodes import normalise_district, normalise_postcode, postcode_district

CANONICAL = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}$")

# Outward code, then inward code: every shape of UK postcode, in its standard form.
valid_postcodes = st.from_regex(
    r"\A[A-Z]{1,2}[0-9][A-Z0-9]? [0-9][ABD-HJLNP-UW-Z]{2}\Z", fullmatch=True
)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("bh15 1aa", "BH15 1AA"),
        ("BH151AA", "BH15 1AA"),
        ("  bh15   1aa  ", "BH15 1AA"),
        ("Bh15\t1Aa", "BH15 1AA"),
        ("dt1 1aa", "DT1 1AA"),
        ("sp8 4ab", "SP8 4AB"),
        ("SW1A1AA", "SW1A 1AA"),
        ("w1a 0ax", "W1A 0AX"),
        ("m1 1ae", "M1 1AE"),
        ("cr2 6xh", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
    ],
)
def test_it_normalises_lowercase_and_spacing_variants(typed, expected):
    assert normalise_postcode(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        None,
        "BH15",
        "BH15 1",
        "BH15 1A",
        "BH15 1AAA",
        "BH15 1CA",  # C is never a unit letter
        "BH15 1AI",  # nor is I
        "12345",
        "B 1AA",
        "BHX15 1AA",
        "BH15-1AA",
        "<script>alert(1)</script>",
        "BH15 1AA\x00",
        "ＢＨ15 1AA",  # full-width letters are not a postcode
    ],
)
def test_it_refuses_malformed_postcodes_with_an_example_of_the_right_shape(typed):
    with pytest.raises(ValidationError) as raised:
        normalise_postcode(typed)
    assert raised.value.messages == ["Enter a full UK postcode, like BH15 1AA."]


@pytest.mark.parametrize(
    "postcode, district",
    [("BH15 1AA", "BH15"), ("DT1 1AA", "DT1"), ("SW1A 1AA", "SW1A"), ("M1 1AE", "M1")],
)
def test_it_takes_the_district_from_a_normalised_postcode(postcode, district):
    assert postcode_district(postcode) == district


def test_it_normalises_a_district_and_refuses_a_full_postcode_as_one():
    assert normalise_district(" bh15 ") == "BH15"
    with pytest.raises(ValidationError):
        normalise_district("BH15 1AA")


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_it_never_raises_anything_but_validation_error_and_returns_a_fixed_point(value):
    try:
        normalised = normalise_postcode(value)
    except ValidationError:
        return
    assert CANONICAL.match(normalised)
    assert normalise_postcode(normalised) == normalised


@settings(max_examples=100, deadline=None)
@given(
    valid_postcodes,
    st.booleans(),
    st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["", " ", "\n"]),
)
def test_it_round_trips_every_valid_postcode_whatever_the_case_and_spacing(
    postcode, lower, middle, edges
):
    outward, inward = postcode.split(" ")
    typed = f"{edges}{outward}{middle}{inward}{edges}"
    if lower:
        typed = typed.lower()
    assert normalise_postcode(typed) == postcode
    assert postcode_district(normalise_postcode(typed)) == outward


@settings(max_examples=100, deadline=None)
@given(st.text())
def test_it_never_raises_anything_but_validation_error_for_districts(value):
    try:
        district = normalise_district(value)
    except ValidationError:
        return
    assert re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", district)
