"""Structured old and new values on an event row's `changes` column.

The shape is one JSON object, a key per field that changed::

    {"priority": {"from": "normal", "to": "high"},
     "assigned_officer": {"from": null, "to": {"id": 7, "label": "PC Jo Bloggs"}},
     "address_line1": {"changed": true}}

- Values are JSON scalars; dates and times are ISO 8601 strings; a related row is its id and
  the words it was shown as at the time (so the history still reads after a rename or deletion).
- A field listed as *redacted* records only that it changed, never its values: a business's
  name and address, which erasure removes, must not survive in an event that is never edited.
- No change, no key; an event with no changes has `changes` NULL.

`changes_between()` builds the object from two snapshots; `rows()` turns it back into
(label, from, to) words for the admin's History.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.text import capfirst

Changes = dict[str, dict[str, Any]]

# A moment as as_value() stores it: shown in the portal's time zone, in words.
_ISO_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?\+00:00$")


def as_value(value: Any) -> Any:
    """`value` as something JSON keeps and a person can read back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return as_value(value.value)
    if isinstance(value, datetime.datetime) and value.tzinfo is not None:
        # The same moment read from the database (UTC) and from a form (local time) is one value.
        return value.astimezone(datetime.UTC).isoformat()
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, dict):
        return {str(key): as_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted((as_value(item) for item in value), key=_order)
    return str(value)


def _order(value: Any) -> tuple[int, Any]:
    """Numbers by size, rows by id, anything else by its text: ids 9 before 10."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    if isinstance(value, dict) and isinstance(value.get("id"), int):
        return (1, value["id"])
    return (2, str(value))


def snapshot(instance: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The current values of `fields` on `instance` (a related field by its row)."""
    return {name: as_value(getattr(instance, name)) for name in fields}


def changes_between(
    before: Mapping[str, Any],
    after: Mapping[str, Any],
    *,
    redacted: Iterable[str] = (),
) -> Changes | None:
    """The fields whose value differs between two snapshots, or None when nothing changed."""
    hidden = set(redacted)
    changes: Changes = {}
    for name in after:
        old, new = as_value(before.get(name)), as_value(after[name])
        if old == new:
            continue
        changes[name] = {"changed": True} if name in hidden else {"from": old, "to": new}
    return changes or None


def change(name: str, old: Any, new: Any) -> Changes | None:
    """One field's change, or None when the value is the same."""
    return changes_between({name: old}, {name: new})


def _words(value: Any, choices: Mapping[Any, str] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if choices and not isinstance(value, (dict, list)) and value in choices:
        return str(choices[value])
    if isinstance(value, str) and _ISO_MOMENT.match(value):
        moment = datetime.datetime.fromisoformat(value)
        return date_format(timezone.localtime(moment), "j M Y, H:i")
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_words(item, choices) for item in value) or "—"
    return str(value)


def rows(
    changes: Changes | None,
    labels: Mapping[str, str] | None = None,
    choices: Mapping[str, Mapping[Any, str]] | None = None,
) -> list[tuple[str, str, str]]:
    """(field label, old words, new words) for each change; a redacted one reads "changed".

    `choices` gives a field's stored values in words ("digest" -> "Weekly digest")."""
    labels = labels or {}
    choices = choices or {}
    result = []
    for name, values in (changes or {}).items():
        label = labels.get(name, name.replace("_", " ").capitalize())
        if values.get("changed") and "from" not in values:
            result.append((label, "(not recorded)", "changed"))
        else:
            words = choices.get(name)
            result.append(
                (label, _words(values.get("from"), words), _words(values.get("to"), words))
            )
    return result


def field_choices(model: type[models.Model]) -> dict[str, dict[Any, str]]:
    """Each field of `model` with choices: its stored values and the words people see for
    them, for `rows()`."""
    return {
        field.name: {value: str(words) for value, words in field.flatchoices}
        for field in model._meta.concrete_fields
        if field.choices
    }


def field_labels(model: type[models.Model]) -> dict[str, str]:
    """Each field of `model` by the words its forms show ("Assigned officer"), for `rows()`."""
    labels = {}
    for field in model._meta.get_fields():
        verbose = getattr(field, "verbose_name", None)
        if verbose:
            labels[field.name] = capfirst(str(verbose))
    return labels
