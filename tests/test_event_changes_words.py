"""How recorded changes are stored and read back in words (dorset_bcp.event_changes)."""

import datetime as dt
import zoneinfo

from dorset_bcp.event_changes import as_value, change, changes_between, rows

LONDON = zoneinfo.ZoneInfo("Europe/London")


def test_the_same_moment_from_a_form_and_from_the_database_is_no_change():
    from_database = dt.datetime(2026, 7, 1, 8, 0, tzinfo=dt.UTC)
    from_form = dt.datetime(2026, 7, 1, 9, 0, tzinfo=LONDON)  # British Summer Time

    assert change("starts_at", from_database, from_form) is None


def test_a_moment_is_stored_in_utc_and_read_in_the_portals_time_zone():
    moment = dt.datetime(2026, 7, 1, 9, 0, tzinfo=LONDON)

    stored = as_value(moment)

    assert stored == "2026-07-01T08:00:00+00:00"
    assert rows(change("starts_at", None, moment)) == [("Starts at", "—", "1 Jul 2026, 09:00")]


def test_rows_are_ordered_by_id_not_by_text():
    assert as_value([10, 9, 100]) == [9, 10, 100]
    assert [row["id"] for row in as_value([{"id": 10}, {"id": 9}])] == [9, 10]


def test_a_redacted_field_records_only_that_it_changed():
    changes = changes_between(
        {"name": "Old Mill Stores", "sector": "retail"},
        {"name": "New Mill Stores", "sector": "hospitality"},
        redacted={"name"},
    )

    assert changes == {
        "name": {"changed": True},
        "sector": {"from": "retail", "to": "hospitality"},
    }
    assert "Old Mill" not in str(changes) and "New Mill" not in str(changes)
    assert rows(changes)[0] == ("Name", "(not recorded)", "changed")


def test_stored_values_read_as_the_words_people_chose_from():
    choices = {"priority": {"normal": "Normal", "high": "High"}}

    assert rows(change("priority", "normal", "high"), choices=choices) == [
        ("Priority", "Normal", "High")
    ]


def test_a_related_row_reads_as_the_words_it_was_shown_as():
    changes = {"assigned_officer": {"from": None, "to": {"id": 7, "label": "PC Jo Bloggs"}}}

    assert rows(changes, {"assigned_officer": "Assigned officer"}) == [
        ("Assigned officer", "—", "PC Jo Bloggs")
    ]


def test_nothing_changed_records_nothing():
    assert changes_between({"priority": "high"}, {"priority": "high"}) is None
