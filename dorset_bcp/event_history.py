"""The admin's History page for a model with an event table: every event, who or which rule
made it, and the old and new values it recorded (dorset_bcp.event_changes).

A ModelAdmin mixes in `EventHistoryMixin` and names the reverse relation of its events
(`history_events_relation`, "events" by default). The page is reached through the admin's own
"History" link, so the admin's scoping (get_queryset, view permission) decides who sees it, and
the edits saved through admin forms (Django's LogEntry) follow below the events.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import get_content_type_for_model
from django.contrib.admin.utils import unquote
from django.contrib.admin.views.main import PAGE_VAR
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.template.response import TemplateResponse
from django.utils.text import capfirst

from dorset_bcp.event_changes import Changes, field_choices, field_labels, rows

HISTORY_PAGE_SIZE = 100
# Who made an event that names no account and no rule.
NO_ACCOUNT = "No account: a guest, the portal or a closed account"


def event_changes(event: Any) -> Changes | None:
    """What an event changed: its `changes`, with the status and tier it moved from and to
    (an item event's own columns, which the sweep writes without `changes`) where they differ
    and `changes` does not already say."""
    recorded = event.changes or {}
    columns: Changes = {}
    for name in ("status", "tier"):
        old, new = getattr(event, f"from_{name}", None), getattr(event, f"to_{name}", None)
        if name in recorded or old in (None, "") or new in (None, "") or old == new:
            continue
        columns[name] = {"from": old, "to": new}
    return {**columns, **recorded} or None


if TYPE_CHECKING:  # the mixin is only ever used in front of admin.ModelAdmin
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class EventHistoryMixin(_AdminBase):
    """Replace the admin's History page with the object's events, oldest first."""

    history_events_relation = "events"
    # Labels for keys in `changes` that are not a field of the model ("legal_hold_reason" etc.).
    history_change_labels: Mapping[str, str] = {}

    def history_events(self, request, obj):
        """The object's events the person may read (an admin narrows them, as its change page
        narrows its inlines)."""
        related = getattr(obj, self.history_events_relation)
        return related.select_related("actor").order_by("created_at", "pk")

    def history_event_model(self, event):
        """The model whose fields an event's changes name: this admin's, unless an admin whose
        page gathers the events of related rows (a seminar's bookings) says otherwise."""
        return self.model

    def history_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is None:
            return self._get_obj_does_not_exist_redirect(  # type: ignore[attr-defined]
                request, self.opts, object_id
            )
        if not self.has_view_or_change_permission(request, obj):
            raise PermissionDenied

        readable = self.history_events(request, obj)
        # Django's own paginator, not the list's (which may cap its count for searches).
        paginator = Paginator(readable, HISTORY_PAGE_SIZE)
        page = paginator.get_page(request.GET.get(PAGE_VAR, 1))
        words: dict[Any, tuple[dict[str, str], dict[str, dict[Any, str]]]] = {}
        events: list[dict[str, Any]] = []
        for event in page:
            model = self.history_event_model(event)
            if model not in words:
                labels = {**field_labels(model), **self.history_change_labels}
                words[model] = (labels, field_choices(model))
            labels, choices = words[model]
            events.append(
                {
                    "when": event.created_at,
                    "who": self._who(event),
                    "what": event.get_kind_display() if hasattr(event, "get_kind_display") else "",
                    "detail": event.detail,
                    "changes": rows(event_changes(event), labels, choices),
                }
            )
        admin_edits = (
            LogEntry.objects.filter(
                object_id=str(obj.pk), content_type=get_content_type_for_model(self.model)
            )
            .select_related("user")
            .order_by("action_time")[:HISTORY_PAGE_SIZE]
        )
        context = {
            **self.admin_site.each_context(request),
            "title": f"History: {obj}",
            "subtitle": None,
            "events": events,
            "page": page,
            "page_range": paginator.get_elided_page_range(page.number),
            "page_var": PAGE_VAR,
            "pagination_required": paginator.num_pages > 1,
            "admin_edits": admin_edits,
            "module_name": str(capfirst(self.opts.verbose_name_plural)),
            "object": obj,
            "opts": self.opts,
            "preserved_filters": self.get_preserved_filters(request),
            **(extra_context or {}),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/event_history.html", context)

    @staticmethod
    def _who(event) -> str:
        if event.actor_id is not None and event.actor is not None:
            return event.actor.get_full_name() or event.actor.get_username()
        rule = getattr(event, "rule", "")
        if rule:
            return f"Rule: {rule}"
        # No actor: a guest (who has no account), the portal itself, or a person whose account
        # has since been closed (the actor is set to NULL). The row cannot tell which.
        return NO_ACCOUNT
