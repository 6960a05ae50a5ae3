import datetime as dt

from django.utils import timezone

from resources.ical import escape_text, fold, seminar_calendar
from tests import factories


def test_it_escapes_text_values():
    assert escape_text("Hall; Room 1, Poole\\Dorset\nBring ID") == (
        "Hall\\; Room 1\\, Poole\\\\Dorset\\nBring ID"
    )


def test_it_folds_long_lines_at_75_octets_without_splitting_a_character():
    line = "DESCRIPTION:" + "é" * 100  # two octets each

    folded = fold(line)

    pieces = folded.split("\r\n")
    assert all(len(piece.encode()) <= 75 for piece in pieces)
    assert all(piece.startswith(" ") for piece in pieces[1:])
    assert "".join(p[1:] if i else p for i, p in enumerate(pieces)) == line


def test_it_writes_times_in_utc_and_every_line_with_crlf(db):
    starts = timezone.make_aware(dt.datetime(2026, 7, 1, 10, 0))  # 09:00 UTC in summer
    seminar = factories.SeminarFactory(
        starts_at=starts, ends_at=starts + dt.timedelta(hours=2), venue="Hall; Room 1"
    )

    text = seminar_calendar(seminar, now=starts)

    assert "DTSTART:20260701T090000Z\r\n" in text
    assert "DTEND:20260701T110000Z\r\n" in text
    assert "LOCATION:Hall\\; Room 1\r\n" in text
    assert "\n" not in text.replace("\r\n", "")
