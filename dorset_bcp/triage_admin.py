"""The change-page triage both apps' admins share: small forms on a read-only page, each one
service call, refused with what changed when the item moved under the form.

engagement's ConcernAdmin and escalation's ThemeAdmin build on it; neither app's admin imports
the other's for it.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from dorset_bcp.event_changes import field_choices, field_labels, rows
from engagement.models import Concern, ResponseTemplate


class ReadOnlyInline(admin.TabularInline):
    """Rows shown under their parent in the admin, never added, changed or deleted there."""

    extra = 0
    can_delete = False
    show_change_link = False
    # True where the rows are part of the parent's record (an item's history, its files):
    # whoever may see the parent sees them. False: the model's own view permission decides.
    shown_with_parent = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        return self.shown_with_parent or super().has_view_permission(request, obj)


def status_words(code: str) -> str:
    return Concern.Status(code).label if code in Concern.Status.values else code


def tier_words(tier: int | None) -> str:
    return Concern.Tier(tier).label if tier in Concern.Tier.values else ""


class EventWordsMixin:
    """An event's statuses and tiers in words ("In progress", not in_progress; not 1 and 2),
    and what else it changed, old and new values in words (the `changes_words` column)."""

    @admin.display(description="changes")
    def changes_words(self, obj):
        if not obj.changes:
            return ""
        # Labels and choices of the item the inline sits under, worked out once per page.
        if not hasattr(self, "_change_words"):
            model = self.parent_model  # type: ignore[attr-defined] # an InlineModelAdmin's
            self._change_words = (field_labels(model), field_choices(model))
        labels, choices = self._change_words
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 # nosec B308 # a constant
            "{}: {} → {}",
            rows(obj.changes, labels, choices),
        )

    @admin.display(description="from status")
    def from_status_words(self, obj):
        return status_words(obj.from_status)

    @admin.display(description="to status")
    def to_status_words(self, obj):
        return status_words(obj.to_status)

    @admin.display(description="from")
    def from_tier_words(self, obj):
        return tier_words(obj.from_tier)

    @admin.display(description="to")
    def to_tier_words(self, obj):
        return tier_words(obj.to_tier)


@dataclass(frozen=True)
class TriageAction:
    """One small form on a change page, and the service call it makes."""

    form: type[forms.Form]
    title: str  # the form's heading: what it does
    button: str  # the words on its button
    call: Callable  # call(item, user, cleaned_data)
    success: str
    # Tier-1 work (assign, prioritise, ask, resolve, escalate) needs an open item at the NPT;
    # updates to the business and internal notes are allowed at any tier and after an outcome.
    tier_one: bool = True
    # A message for a call that would change nothing (the same priority again), or None.
    unchanged: Callable | None = None
    # The message box a response template fills, and the label of the template picker.
    template_field: str | None = None
    template_label: str = ""
    # What the form is made with besides the data: the wording this page gives it.
    form_kwargs: dict = field(default_factory=dict)

    def applies(self, item) -> bool:
        return not self.tier_one or (item.is_open and item.tier == Concern.Tier.NPT)


if TYPE_CHECKING:  # the mixin is only ever used in front of admin.ModelAdmin
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class TriageAdminMixin(_AdminBase):
    """A read-only change page with small forms above it, each calling one service.

    `triage_actions` maps a name to a TriageAction. Scoping comes from the admin's get_queryset,
    so an item another NPT owns is a 404 on every triage URL. Each form carries what the officer
    saw (`triage_watch` fields) so a form left open while someone else acted is refused, saying
    what changed, rather than acting on an item the officer has not seen.
    """

    triage_actions: dict[str, TriageAction] = {}
    triage_watch: tuple[str, ...] = ("status", "tier", "priority")
    change_form_template = "admin/triage_change_form.html"

    # After "not resolved" or an escalation the earlier outcome is history (in the events), not
    # the outcome: an open concern or theme has none.
    @admin.display(description="outcome")
    def current_outcome(self, obj):
        if obj.outcome_id and not obj.is_open:
            return obj.outcome
        return self.get_empty_value_display()

    @admin.display(description="outcome note")
    def current_outcome_note(self, obj):
        return obj.outcome_note if not obj.is_open else ""

    def triage_form_kwargs(self, request, item, form_class) -> dict:
        return {}

    def triage_initial(self, item, name) -> dict:
        return {}

    def triage_notice(self, item) -> str:
        """Why some forms are missing, when they are."""
        still = (
            " You can still post an update to the business or add an internal note."
            if any(not action.tier_one for action in self.triage_actions.values())
            else ""
        )
        if not item.is_open:
            outcome = f": {item.outcome}" if item.outcome_id else ""
            return f"This {item._meta.verbose_name} has an outcome{outcome}.{still}"
        from escalation.selectors import owning_body  # escalation builds on engagement

        return (
            f"This {item._meta.verbose_name} is with {owning_body(item)}; they decide what "
            f"happens next, in the partnership area.{still}"
        )

    def _url_name(self, suffix):
        return f"{self.model._meta.app_label}_{self.model._meta.model_name}_{suffix}"

    def get_urls(self):
        return [
            path(
                "<int:object_id>/triage/<str:action_name>/",
                self.admin_site.admin_view(self.triage_view),
                name=self._url_name("triage"),
            ),
            *self.get_extra_urls(),
        ] + super().get_urls()

    def get_extra_urls(self):
        return []

    def _item_or_404(self, request, object_id):
        item = self.get_queryset(request).filter(pk=object_id).first()
        if item is None or not self.has_change_permission(request, item):
            raise Http404("Nothing here.")
        return item

    # What the officer saw: the watched fields, as a query string in a hidden field.

    def triage_seen(self, item) -> str:
        return urlencode([(name, self._raw(item, name)) for name in self.triage_watch], doseq=False)

    def _raw(self, item, name) -> str:
        value = getattr(item, item._meta.get_field(name).attname)
        return "" if value is None else str(value)

    def _words(self, item, name, raw: str) -> str:
        field = item._meta.get_field(name)
        if raw == "":
            return "nobody" if field.is_relation else "not set"
        # `raw` may be the hidden record of what the officer saw, sent back as typed: a value
        # no field could hold reads as itself, never a server error.
        try:
            if field.is_relation:
                related = field.related_model._default_manager.filter(pk=raw).first()
                return str(related) if related else "someone no longer listed"
            return str(dict(field.flatchoices).get(field.to_python(raw), raw))
        except (ValueError, TypeError, ValidationError):
            return "something else"

    def triage_changes(self, item, seen: str) -> list[str]:
        """What differs between the item now and the `seen` string its form was rendered with."""
        before = dict(parse_qsl(seen, keep_blank_values=True))
        changes = []
        for name in self.triage_watch:
            if name not in before or before[name] == self._raw(item, name):
                continue
            field = item._meta.get_field(name)
            changes.append(
                f"{field.verbose_name} is now {self._words(item, name, self._raw(item, name))} "
                f"(it was {self._words(item, name, before[name])})"
            )
        return changes

    def triage_templates(self, request, item) -> dict[str, list[ResponseTemplate]]:
        """The response templates each form offers for this item, by action name."""
        return {}

    def triage_forms(self, request, item):
        forms_by_action = {}
        seen = self.triage_seen(item)
        templates = self.triage_templates(request, item)
        for name, action in self.triage_actions.items():
            if not action.applies(item):
                continue
            initial = self.triage_initial(item, name)
            picker = self._template_picker(request, item, name, templates.get(name))
            if picker and picker["chosen_text"] is not None:
                initial[action.template_field] = picker["chosen_text"]
            form = action.form(
                prefix=name,
                initial=initial,
                **action.form_kwargs,
                **self.triage_form_kwargs(request, item, action.form),
            )
            if picker and action.template_field:
                picker["fills"] = form[action.template_field].auto_id
            forms_by_action[name] = {
                "form": form,
                "title": action.title,
                "button": action.button,
                "seen": seen,
                "url": reverse(f"admin:{self._url_name('triage')}", args=[item.pk, name]),
                "templates": picker,
            }
        return forms_by_action

    def _template_picker(self, request, item, name, templates) -> dict | None:
        """A form's "start from a template" control: each template by title, with its text
        filled in for this item.

        Without JavaScript its button reloads the page with `?<name>-template=<id>`, and the
        chosen text starts the form's message box; with JavaScript
        (static/js/admin-response-templates.js) the text is put in the box without a reload.
        Either way nothing is sent until the officer presses the form's own button.
        """
        action = self.triage_actions[name]
        if not templates or action.template_field is None:
            return None
        param = f"{name}-template"
        chosen = request.GET.get(param, "")
        choices = [
            {
                "pk": template.pk,
                "title": template.title,
                "text": template.fill(concern=item, officer=request.user),
                "selected": chosen == str(template.pk),
            }
            for template in templates
        ]
        chosen_text = next((choice["text"] for choice in choices if choice["selected"]), None)
        if chosen and chosen_text is None:
            messages.warning(
                request,
                f"The template you chose is not offered for this {item._meta.verbose_name} "
                "(it may have been changed or withdrawn); choose another.",
            )
        return {
            "param": param,
            "label": action.template_label,
            "choices": choices,
            "chosen_text": chosen_text,
            # The reload keeps the rest of the page's address: the changelist's filters and
            # the templates chosen in the other forms.
            "keep": [
                (key, value)
                for key, values in request.GET.lists()
                if key != param
                for value in values
            ],
        }

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        item = self.get_object(request, object_id)  # None for a malformed or hidden id
        if item is not None:
            extra_context["triage_forms"] = self.triage_forms(request, item)
            if not all(action.applies(item) for action in self.triage_actions.values()):
                extra_context["triage_notice"] = self.triage_notice(item)
        extra_context.update(
            show_save=False,
            show_save_and_continue=False,
            show_save_and_add_another=False,
            show_delete=False,
        )
        return super().change_view(request, object_id, form_url, extra_context)

    def triage_view(self, request, object_id, action_name):
        item = self._item_or_404(request, object_id)
        action = self.triage_actions.get(action_name)
        if action is None:
            raise Http404("No such action.")
        change_url = reverse(f"admin:{self._url_name('change')}", args=[item.pk])
        if request.method != "POST":
            return redirect(change_url)
        form = action.form(
            request.POST,
            prefix=action_name,
            **action.form_kwargs,
            **self.triage_form_kwargs(request, item, action.form),
        )
        seen = request.POST.get(f"{action_name}-seen")
        refusal = stale = None
        if form.is_valid():
            try:
                with transaction.atomic():
                    # Hold the row while comparing it with what the officer saw, so nobody can
                    # act between the check and the service call (which locks it again).
                    current = self.model._default_manager.select_for_update().get(pk=item.pk)
                    # What the form asks for may be done already (the same priority again, a
                    # second click): say so before comparing with what the officer saw.
                    unchanged = action.unchanged and action.unchanged(current, form.cleaned_data)
                    if unchanged:
                        self.message_user(request, unchanged, messages.INFO)
                        return redirect(change_url)
                    stale = self._stale(current, seen)
                    refusal = stale or self._not_applicable(current, action)
                    if refusal is None:
                        action.call(current, request.user, form.cleaned_data)
                        self.message_user(request, action.success, messages.SUCCESS)
                        return redirect(change_url)
            except ValidationError as exc:
                form.add_error(None, exc)
        if refusal is not None:
            form.add_error(None, refusal)
            item = self._item_or_404(request, object_id)
            # The form is shown again as the item stands now, what was typed kept, so sending
            # it again goes ahead; an action that no longer applies is not offered at all.
            seen = self.triage_seen(item)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "item": item,
            "change_url": change_url,
            "form": form,
            # Refused for the item's state: not offered again. Otherwise the form, to fix.
            "offered": refusal is None or action.applies(item),
            "refusal": refusal,
            "heading": action.title,
            "button": action.button,
            "seen_name": f"{action_name}-seen",
            "seen": seen if seen is not None else self.triage_seen(item),
            "title": f"{action.title}: {item}",
        }
        # 409 when the item changed under the form; 400 for bad input or an action that does
        # not apply to the item's state.
        return TemplateResponse(
            request, "admin/triage_form.html", context, status=409 if stale else 400
        )

    def _stale(self, current, seen: str | None) -> str | None:
        """What changed since the form was rendered, as a refusal, or None."""
        changes = self.triage_changes(current, seen) if seen is not None else []
        if not changes:
            return None
        return (
            f"Nothing was recorded: this {current._meta.verbose_name} changed since you opened "
            f"the page — {'; '.join(changes)}. Check it and try again."
        )

    def _not_applicable(self, current, action: TriageAction) -> str | None:
        # Tier moves are refused by the services, under their lock, in their own words.
        if action.tier_one and not current.is_open:
            return (
                f"This {current._meta.verbose_name} has an outcome already "
                f"({current.get_status_display()}); nothing was recorded."
            )
        return None


# The admin's wording for the shared forms: the NPT escalates to its Group, and explains an
# outcome to the business. The admin records what the officer saw itself (triage_watch).
ADMIN_ESCALATE = {
    "carries_tier": False,
    "reason_label": "Reason for escalating (the group sees it)",
}
ADMIN_RESOLVE = {"carries_tier": False, "note_label": "Explanation for the business"}
