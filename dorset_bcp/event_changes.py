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
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

Changes = dict[str, dict[str, Any]]


def as_value(value: Any) -> Any:
    """`value` as something JSON keeps and a person can read back."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, enum.Enum):
        return as_value(value.value)
    if isinstance(value, (datetime.datetime, datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, (list, tuple, set, frozenset)):
        return sorted((as_value(item) for item in value), key=str)
    return str(value)


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


def _words(value: Any) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(value, dict) and "label" in value:
        return str(value["label"])
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(_words(item) for item in value) or "—"
    return str(value)


def rows(
    changes: Changes | None, labels: Mapping[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """(field label, old words, new words) for each change; a redacted one reads "changed"."""
    labels = labels or {}
    result = []
    for name, values in (changes or {}).items():
        label = labels.get(name, name.replace("_", " ").capitalize())
        if values.get("changed") and "from" not in values:
            result.append((label, "(not recorded)", "changed"))
        else:
            result.append((label, _words(values.get("from")), _words(values.get("to"))))
    return result
