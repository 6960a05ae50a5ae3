"""UK postcodes: validate, normalise ("bh1 1aa" → "BH1 1AA") and take the district ("BH1")."""

import re

from django.core.exceptions import ValidationError

# The outward code (area + district) then the inward code (sector digit + unit letters).
# Unit letters never use C, I, K, M, O or V.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][ABD-HJLNP-UW-Z]{2})$")
_DISTRICT = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


def normalise_postcode(value: str) -> str:
    """Return the postcode in its standard form, or raise ValidationError."""
    compact = re.sub(r"\s+", "", str(value or "")).upper()
    match = _POSTCODE.match(compact)
    if not match:
        raise ValidationError("Enter a full UK postcode, like BH15 1AA.", code="invalid_postcode")
    return f"{match.group(1)} {match.group(2)}"


def postcode_district(postcode: str) -> str:
    """The outward code of a normalised postcode: "BH15 1AA" → "BH15"."""
    return postcode.split(" ", 1)[0]


def normalise_district(value: str) -> str:
    district = re.sub(r"\s+", "", str(value or "")).upper()
    if not _DISTRICT.match(district):
        raise ValidationError(
            "Enter a postcode district, like BH15 or DT1.", code="invalid_district"
        )
    return district
