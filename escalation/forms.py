"""Forms of the review area: they validate and nothing more; views pass cleaned_data on."""

import datetime as dt
import uuid
from typing import cast
from urllib.parse import urlencode

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from dorset_bcp.item_forms import ItemStateForm
from engagement.forms import TEXT_LIMIT
from engagement.models import Concern

from . import review
from .models import PartnerOrganisation

MAX_ACTIONS = 10


class QueueFilterForm(forms.Form):
    """The queue's filters and sort order, read from GET so they work without JavaScript.

    Choices are built from lists read once, so validating a filter costs no query.
    """

    kind = forms.ChoiceField(
        label="Kind",
        required=False,
        choices=[("", "Concerns and themes"), ("concern", "Concerns"), ("theme", "Themes")],
    )
    tier = forms.TypedChoiceField(label="Tier", required=False, coerce=int, empty_value=None)
    category = forms.TypedChoiceField(
        label="Category", required=False, coerce=int, empty_value=None
    )
    area = forms.TypedChoiceField(label="NPT area", required=False, coerce=int, empty_value=None)
    priority = forms.ChoiceField(
        label="Priority",
        required=False,
        choices=[("", "Any priority"), *Concern.Priority.choices],
    )
    overdue = forms.BooleanField(label="Only overdue items", required=False)
    sort = forms.ChoiceField(
        label="Sort by",
        required=False,
        choices=[(key, label) for key, (label, _) in review.SORTS.items()],
    )

    def __init__(self, *args, tiers, categories, areas, **kwargs):
        super().__init__(*args, **kwargs)
        self.all_tiers = tuple(tier for tier, _ in tiers)
        if len(tiers) > 1:
            cast(forms.ChoiceField, self.fields["tier"]).choices = [
                ("", "Your queue"),
                *tiers,
                ("0", "All the tiers you can see"),
            ]
        else:
            del self.fields["tier"]
        cast(forms.ChoiceField, self.fields["category"]).choices = [("", "Any category")] + [
            (c.pk, c.name) for c in categories
        ]
        cast(forms.ChoiceField, self.fields["area"]).choices = [("", "Any NPT area")] + [
            (a.pk, a.name) for a in areas
        ]

    def filters(self) -> review.QueueFilters:
        """The filters to apply; a value that does not validate is ignored, not an error."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data keeps the fields that did validate
            data = self.cleaned_data
        tier = data.get("tier")
        if tier == 0:
            tiers = self.all_tiers
        elif tier in self.all_tiers:
            tiers = (tier,)
        else:
            tiers = ()  # the person's own queue
        return review.QueueFilters(
            kind=data.get("kind") or "",
            category_id=data.get("category"),
            area_id=data.get("area"),
            priority=data.get("priority") or "",
            overdue=bool(data.get("overdue")),
            tiers=tiers,
            sort=data.get("sort") or review.DEFAULT_SORT,
        )


class ReturnForm(ItemStateForm):
    guidance = forms.CharField(
        label="Guidance for the tier below",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give guidance for the tier below."},
        help_text="What they should do next. They get a fresh deadline.",
    )


class DecisionForm(ItemStateForm):
    summary = forms.CharField(
        label="What was decided",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say what was decided."},
    )
    # A one-time key: a double click or a resent form records the decision once.
    submission_key = forms.UUIDField(
        initial=uuid.uuid4,
        widget=forms.HiddenInput,
        error_messages={
            "required": "This form is out of date. Reload the page and try again.",
            "invalid": "This form is out of date. Reload the page and try again.",
        },
    )


class ActionForm(forms.Form):
    description = forms.CharField(
        label="What will be done",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": "Describe the action."},
    )
    owner = forms.TypedChoiceField(
        label="Owner (partner organisation)",
        coerce=int,
        error_messages={
            "required": "Choose the organisation that owns the action.",
            "invalid_choice": "Choose the organisation that owns the action.",
        },
    )
    owner_contact = forms.CharField(
        label="Named contact (optional)", max_length=150, required=False
    )
    due_on = forms.DateField(
        label="Due by",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={
            "required": "Enter the date the action is due.",
            "invalid": "Enter a real date, for example 5 January 2027.",
        },
    )

    def __init__(self, *args, owners: list[PartnerOrganisation], **kwargs):
        super().__init__(*args, **kwargs)
        self.owners = {o.pk: o for o in owners}
        cast(forms.ChoiceField, self.fields["owner"]).choices = [("", "Choose an organisation")] + [
            (o.pk, o.name) for o in owners
        ]

    def clean_owner(self) -> PartnerOrganisation:
        owner = self.owners.get(self.cleaned_data["owner"])
        if owner is None:
            raise ValidationError("Choose the organisation that owns the action.")
        return owner

    def clean_due_on(self):
        due_on = self.cleaned_data["due_on"]
        today = timezone.localdate()
        if due_on < today:
            raise ValidationError(
                f"The due date cannot be in the past. Today is {date_format(today, 'j F Y')}."
            )
        return due_on


class BaseActionFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not any(form.has_changed() and form.cleaned_data for form in self.forms):
            raise ValidationError("Add at least one action with an owner and a due date.")


ActionFormSet = forms.formset_factory(
    ActionForm,
    formset=BaseActionFormSet,
    extra=2,
    min_num=1,
    max_num=MAX_ACTIONS,
    validate_max=True,
    absolute_max=MAX_ACTIONS,
)


class ActionDoneForm(forms.Form):
    note = forms.CharField(label="Note (optional)", max_length=1000, required=False)


EARLIEST_INSIGHT_DAY = dt.date(2000, 1, 1)


class InsightFilterForm(forms.Form):
    """The insight page's period and, for the Partnership, the NPT area or group, read from GET.

    Every value the page and its CSV links may carry passes through here: a date that is not a
    date, out of range or the wrong way round is an error on the form, never a 500.
    """

    start = forms.DateField(
        label="From",
        required=False,
        help_text="The first day counted, for example 2025-12-01. Empty: 12 months ago.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = forms.DateField(
        label="To",
        required=False,
        help_text="The last day counted, for example 2026-11-30. Empty: today.",
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    where = forms.ChoiceField(label="NPT area or Co-ordinating Group", required=False)

    def __init__(self, *args, scope, areas, default_start: dt.date, today: dt.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_start = default_start
        self.today = today
        self.areas_by_choice: dict[str, list[int]] = {}
        self.names: dict[str, str] = {}
        if not scope.is_partnership:
            # A Co-ordinating Group member sees their groups' areas, whatever the address says.
            del self.fields["where"]
            return
        groups: dict[int, tuple[str, list[int]]] = {}
        for area in areas:
            self.areas_by_choice[f"area-{area.pk}"] = [area.pk]
            self.names[f"area-{area.pk}"] = f"the {area.name} NPT area"
            if area.group_id:
                groups.setdefault(area.group_id, (area.group.name, []))[1].append(area.pk)
        for pk, (name, area_ids) in groups.items():
            self.areas_by_choice[f"group-{pk}"] = area_ids
            self.names[f"group-{pk}"] = f"the {name}'s NPT areas"
        cast(forms.ChoiceField, self.fields["where"]).choices = [
            ("", "All of Dorset"),
            (
                "Co-ordinating Groups",
                sorted(((f"group-{pk}", name) for pk, (name, _) in groups.items()), key=_by_name),
            ),
            ("NPT areas", [(f"area-{a.pk}", a.name) for a in sorted(areas, key=lambda a: a.name)]),
        ]

    def clean_start(self):
        start = self.cleaned_data["start"]
        if start is not None and not EARLIEST_INSIGHT_DAY <= start <= self.today:
            raise ValidationError(
                f"The start date must be between {_words(EARLIEST_INSIGHT_DAY)} and today."
            )
        return start

    def clean_end(self):
        end = self.cleaned_data["end"]
        if end is not None and not EARLIEST_INSIGHT_DAY <= end <= self.today:
            raise ValidationError(
                f"The end date must be between {_words(EARLIEST_INSIGHT_DAY)} and today."
            )
        return end

    def clean(self):
        data = super().clean() or {}
        start = data.get("start") or self.default_start
        end = data.get("end") or self.today
        if "start" in data and "end" in data and end < start:
            self.add_error("end", "The end date must be after the start date.")
        return data

    def choice(self) -> tuple[dt.date | None, dt.date | None, list[int] | None, str]:
        """(start, end, area ids or None for all, words for where) - the defaults unless valid."""
        if not self.is_bound or not self.is_valid():
            return None, None, None, ""
        where = self.cleaned_data.get("where") or ""
        return (
            self.cleaned_data["start"],
            self.cleaned_data["end"],
            self.areas_by_choice.get(where),
            self.names.get(where, ""),
        )

    def query_string(self) -> str:
        """The valid choice as GET parameters, for the CSV links."""
        if not self.is_bound or not self.is_valid():
            return ""
        values = {
            name: value.isoformat() if isinstance(value, dt.date) else value
            for name, value in self.cleaned_data.items()
            if value
        }
        return urlencode(values)


def _by_name(choice):
    return choice[1]


def _words(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"
