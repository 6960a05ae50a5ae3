"""The portal's admin site: Django's, with changelist filters that cannot be made to fail.

Django's admin turns most bad filter values into its "wrong parameters" page, but a few reach
the database or Python's datetime unguarded and answer 500: a year of 30 nines in a
date_hierarchy (OverflowError, not ValueError), an integer beyond 64 bits in a lookup (SQLite
refuses it), a NUL character (PostgreSQL refuses it). Every changelist is wrapped here, once, so
no ModelAdmin has to remember: such a parameter is dropped and the list shown without it.
"""

import re
from functools import wraps
from urllib.parse import urlencode

from allauth.account.decorators import secure_admin_login
from django.contrib import admin, messages
from django.contrib.admin.views.main import (
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
)
from django.shortcuts import redirect

# The changelist's own controls, which are not lookups; Django validates them itself.
CHANGELIST_CONTROLS = {
    ALL_VAR,
    ERROR_FLAG,
    IS_FACETS_VAR,
    IS_POPUP_VAR,
    ORDER_VAR,
    PAGE_VAR,
    SEARCH_VAR,
    TO_FIELD_VAR,
}
# What each date part may be (Python's datetime covers years 1 to 9999).
DATE_PART_RANGES = {
    "year": (1, 9999),
    "iso_year": (1, 9999),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
INTEGER = re.compile(r"[+-]?\d+")
BIGINT_MAX = 2**63 - 1


def refused_lookup(key: str, value: str) -> bool:
    """True if a changelist parameter would make the database or datetime fail."""
    if "\x00" in key or "\x00" in value:
        return True
    if key in CHANGELIST_CONTROLS:
        return False
    last = key.rsplit("__", 1)[-1]
    if last in DATE_PART_RANGES:
        low, high = DATE_PART_RANGES[last]
        return not (
            value.isascii() and value.isdigit() and len(value) <= 4 and low <= int(value) <= high
        )
    # __in and __range take comma-separated values; any one out of range fails the query.
    return any(INTEGER.fullmatch(part.strip()) and _out_of_range(part) for part in value.split(","))


def _out_of_range(number: str) -> bool:
    try:
        return abs(int(number)) > BIGINT_MAX
    except ValueError:  # int() refuses thousands of digits: far out of range all the same
        return True


def guard_changelist(view):
    @wraps(view)
    def guarded(request, *args, **kwargs):
        kept = [
            (key, value)
            for key, values in request.GET.lists()
            for value in values
            if not refused_lookup(key, value)
        ]
        if len(kept) != sum(len(values) for _, values in request.GET.lists()):
            messages.warning(
                request, "A filter in the address was not understood, so it has been removed."
            )
            return redirect(f"{request.path}?{urlencode(kept)}" if kept else request.path)
        return view(request, *args, **kwargs)

    return guarded


class PortalAdminSite(admin.AdminSite):
    def admin_view(self, view, cacheable=False):
        if getattr(view, "__name__", "") == "changelist_view":
            view = guard_changelist(view)
        return super().admin_view(view, cacheable)

    def login(self, request, extra_context=None):
        # Staff sign in through the same door as everyone: allauth's sign-in, with its failure
        # limits and the second step (dorset_bcp.two_factor), and come back here. A signed-in
        # person who is not staff is refused rather than offered a second sign-in form.
        return secure_admin_login(super().login)(request, extra_context)

    def get_app_list(self, request, app_label=None):
        # The index shows what needs doing beside each model (overdue concerns, failed emails).
        from engagement.admin import with_work_counts  # the admin modules import this site

        return with_work_counts(request, super().get_app_list(request, app_label))
