"""An iCalendar (RFC 5545) file for a seminar, written by hand.

One VEVENT needs about thirty lines; the rules that matter are here: CRLF line ends (3.1),
lines folded at 75 octets without splitting a UTF-8 character (3.1), TEXT values escaped
(3.3.11), times in UTC so no VTIMEZONE is needed (3.3.5, form #2), a stable UID and a SEQUENCE
that rises with each change (3.8.4.7, 3.8.7.4) so calendars update the event instead of adding
a second one. That is less than a dependency would cost us to keep up to date.
"""

import datetime as dt

from django.conf import settings
from django.utils import timezone

from .models import Seminar

PRODID = "-//Dorset Business Crime Partnership//Seminars//EN"
ONLINE_WITHOUT_LINK = "Online — the joining link is sent to people with a place"


def escape_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    return (
        value.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\r", "\\n")
        .replace("\n", "\\n")
    )


def fold(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets (RFC 5545 3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    pieces, current, limit = [], b"", 75
    for char in line:
        octets = char.encode("utf-8")
        if len(current) + len(octets) > limit:
            pieces.append(current.decode("utf-8"))
            current, limit = b"", 74  # continuation lines start with a space
        current += octets
    pieces.append(current.decode("utf-8"))
    return "\r\n ".join(pieces)


def _utc(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def seminar_calendar(
    seminar: Seminar, *, now: dt.datetime | None = None, include_online_url: bool = False
) -> str:
    """The seminar as a one-event calendar; a cancelled seminar says so, so it is removed. The
    online joining link is written only when include_online_url is set: the file needs no
    login, so the caller decides (only people with a confirmed place get the link)."""
    now = now or timezone.now()
    url = f"{settings.SITE_URL}{seminar.get_absolute_url()}"
    online = ""
    if seminar.online_url:
        online = seminar.online_url if include_online_url else ONLINE_WITHOUT_LINK
    description = "\n\n".join(
        part for part in [seminar.theme, seminar.description, online, url] if part
    )
    location = seminar.venue or online
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "BEGIN:VEVENT",
        f"UID:seminar-{seminar.pk}@{settings.SITE_URL.split('://', 1)[-1].split('/')[0]}",
        f"DTSTAMP:{_utc(now)}",
        f"DTSTART:{_utc(seminar.starts_at)}",
        f"DTEND:{_utc(seminar.ends_at)}",
        f"SEQUENCE:{seminar.sequence}",
        f"SUMMARY:{escape_text(seminar.title)}",
        f"DESCRIPTION:{escape_text(description)}",
        f"LOCATION:{escape_text(location)}",
        f"URL:{url}",
        f"STATUS:{'CANCELLED' if seminar.is_cancelled else 'CONFIRMED'}",
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "".join(fold(line) + "\r\n" for line in lines)
