"""Forms of the review area: they validate and nothing more; views pass cleaned_data on."""

from django import forms
from django.core import signing
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import date_format

from engagement.models import Concern, Outcome

from . import review
from .models import PartnerOrganisation

TEXT_LIMIT = 5000
MAX_ACTIONS = 10
DECISION_KEY_SALT = "escalation.decision-form"


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
            self.fields["tier"].choices = [
                ("", "Your queue"),
                *tiers,
                ("0", "All the tiers you can see"),
            ]
        else:
            del self.fields["tier"]
        self.fields["category"].choices = [("", "Any category")] + [
            (c.pk, c.name) for c in categories
        ]
        self.fields["area"].choices = [("", "Any NPT area")] + [(a.pk, a.name) for a in areas]

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


class ItemStateForm(forms.Form):
    """Carries the tier the person saw, so a move someone else made first is not repeated."""

    from_tier = forms.IntegerField(widget=forms.HiddenInput)


class EscalateForm(ItemStateForm):
    reason = forms.CharField(
        label="Why does it need the Business Safety Partnership?",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give a reason for escalating."},
        help_text="For example: it needs a county-wide response or a national body.",
    )


class ReturnForm(ItemStateForm):
    guidance = forms.CharField(
        label="Guidance for the tier below",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give guidance for the tier below."},
        help_text="What they should do next. They get a fresh deadline.",
    )


class OutcomeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class ResolveForm(ItemStateForm):
    outcome = OutcomeChoiceField(
        label="Outcome",
        queryset=Outcome.objects.none(),
        empty_label=None,
        widget=forms.RadioSelect,
        error_messages={"required": "Choose an outcome."},
        help_text="Referral to the National Business Crime Centre, Action Fraud / NFIB or the "
        "NCSC is an outcome.",
    )
    note = forms.CharField(
        label="Note to the business (required for some outcomes)",
        max_length=TEXT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The business sees this with the outcome.",
    )

    def __init__(self, *args, outcomes, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["outcome"]
        field.queryset = Outcome.objects.filter(pk__in=[o.pk for o in outcomes])
        # Render from the list already read; validation still checks the database.
        field.choices = [(o.pk, o.name) for o in outcomes]
        self.requires_note = {o.pk for o in outcomes if o.requires_note}

    def clean(self):
        cleaned = super().clean()
        outcome = cleaned.get("outcome")
        if outcome is not None and outcome.requires_note and not cleaned.get("note", "").strip():
            self.add_error("note", f"Explain the outcome “{outcome.name}” to the business.")
        return cleaned


class DecisionForm(ItemStateForm):
    summary = forms.CharField(
        label="What was decided",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Say what was decided."},
    )
    form_key = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, item_key: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.item_key = item_key

    @staticmethod
    def make_key(item_key: str, newest_decision_id: int) -> str:
        """A one-time key: which item, and the newest decision on it when the form was shown."""
        return signing.dumps([item_key, newest_decision_id], salt=DECISION_KEY_SALT)

    def clean_form_key(self) -> int:
        stale = "This form is out of date. Reload the page and try again."
        try:
            item_key, seen = signing.loads(self.cleaned_data["form_key"], salt=DECISION_KEY_SALT)
        except (signing.BadSignature, ValueError, TypeError):
            raise ValidationError(stale) from None
        if item_key != self.item_key or not isinstance(seen, int):
            raise ValidationError(stale)
        return seen


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
        self.fields["owner"].choices = [("", "Choose an organisation")] + [
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
