"""The forms that move an item, one of each: escalate it, or resolve it with an outcome.

The NPT uses them on the admin's triage page (dorset_bcp/triage_admin.py), the Groups and the
Partnership on the item page in /partnership/ (escalation/views.py). The wording each page shows
is passed in; what is asked for and how it is checked is the same everywhere.
"""

from typing import cast

from django import forms

from engagement.forms import TEXT_LIMIT
from engagement.models import Outcome


class ItemStateForm(forms.Form):
    """Carries the tier the person saw, so a move someone else made first is not repeated.

    The admin keeps its own record of what the officer saw (TriageAdminMixin.triage_watch), so
    its forms are made with `carries_tier=False`.
    """

    from_tier = forms.IntegerField(widget=forms.HiddenInput)

    def __init__(self, *args, carries_tier: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not carries_tier:
            del self.fields["from_tier"]


class EscalateForm(ItemStateForm):
    reason = forms.CharField(
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Give a reason for escalating."},
    )

    def __init__(self, *args, reason_label: str, reason_help: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reason"].label = reason_label
        self.fields["reason"].help_text = reason_help


class OutcomeChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.name


class ResolveForm(ItemStateForm):
    outcome = OutcomeChoiceField(
        label="Outcome",
        queryset=Outcome.objects.filter(is_active=True),
        error_messages={"required": "Choose an outcome."},
    )
    note = forms.CharField(
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, note_label: str, note_help: str = "", outcomes=None, **kwargs):
        """`outcomes`, the active outcomes already read, shows them as radio buttons and
        renders without a query (validation still checks the database); without it, a list."""
        super().__init__(*args, **kwargs)
        self.fields["note"].label = note_label
        self.fields["note"].help_text = note_help
        if outcomes is not None:
            field = cast(forms.ModelChoiceField, self.fields["outcome"])
            field.queryset = Outcome.objects.filter(pk__in=[o.pk for o in outcomes])
            field.empty_label = None
            field.widget = forms.RadioSelect()
            field.choices = [(o.pk, o.name) for o in outcomes]
            field.help_text = (
                "Referral to the National Business Crime Centre, Action Fraud / NFIB or the "
                "NCSC is an outcome."
            )

    def clean(self):
        cleaned = super().clean() or {}
        outcome = cleaned.get("outcome")
        if outcome is not None and outcome.requires_note and not cleaned.get("note", "").strip():
            self.add_error("note", f"Explain the outcome “{outcome.name}” to the business.")
        return cleaned
