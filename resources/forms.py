import uuid

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagement.forms import TEXT_LIMIT
from engagement.models import Business, Sector, User
from engagement.selectors import businesses_of_user
from engagement.uploads import check_pdf, display_name, looks_like_pdf

from .models import Alert, Resource, SchemeMembership, Topic, WatchScheme

DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


def detect_document_kind(upload) -> str:
    """A resource document must really be a PDF, whatever its name says; ValidationError if not.

    Like engagement.forms.accepted_attachment, this trusts the bytes, not the name or the
    browser's content type: pypdf must be able to read it and find a page.
    """
    name = display_name(upload)
    if upload.size > DOCUMENT_MAX_BYTES:
        raise ValidationError(
            f"“{name}” is larger than {DOCUMENT_MAX_BYTES // (1024 * 1024)} MB. "
            "Upload a smaller copy, or link to the publisher's page instead."
        )
    if upload.size == 0:
        raise ValidationError(f"“{name}” is empty.")
    if not looks_like_pdf(upload):
        raise ValidationError(f"“{name}” is not a PDF. Only PDF documents can be uploaded.")
    check_pdf(upload)
    return "application/pdf"


class ResourceFilterForm(forms.Form):
    """The library's search and filters (GET); a bad value is ignored, not an error page."""

    q = forms.CharField(label="Search", max_length=100, required=False)
    topic = forms.ModelChoiceField(
        queryset=Topic.objects.all(),
        to_field_name="slug",
        required=False,
        empty_label="All topics",
        label="Topic",
    )
    sector = forms.ChoiceField(
        choices=[("", "All types of business"), *Sector.choices],
        required=False,
        label="Type of business",
    )

    def filters(self) -> dict:
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        return {
            "query": data.get("q", "") or "",
            "topic": data.get("topic"),
            "sector": data.get("sector", "") or "",
        }


class ResourceAdminForm(forms.ModelForm):
    link_url = forms.URLField(
        label="Link",
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text="The publisher's own page. Give a link or upload a PDF, not both.",
    )
    sectors = forms.MultipleChoiceField(
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked if it is for every type of business.",
    )

    class Meta:
        model = Resource
        fields = [
            "title",
            "slug",
            "summary",
            "body",
            "publisher",
            "link_url",
            "document",
            "topics",
            "sectors",
            "categories",
            "status",
            "position",
        ]
        widgets = {
            "topics": forms.CheckboxSelectMultiple,
            "categories": forms.CheckboxSelectMultiple,
            "document": forms.ClearableFileInput(attrs={"accept": "application/pdf"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["sectors"].initial = list(
                self.instance.sector_tags.values_list("sector", flat=True)
            )

    def clean_document(self):
        document = self.cleaned_data.get("document")
        if document and hasattr(document, "content_type"):  # a new upload, not the stored file
            detect_document_kind(document)
        return document

    def clean(self):
        cleaned = super().clean()
        has_link = bool(cleaned.get("link_url"))
        has_document = bool(cleaned.get("document"))
        if has_link == has_document:
            raise ValidationError("Give either a link to the guidance or a PDF document, not both.")
        return cleaned


class CoordinatorEmailsField(forms.CharField):
    """Coordinators by email address, one a line: editors need not browse every account."""

    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value):
        value = super().clean(value)
        emails = sorted(
            {line.strip().lower() for line in (value or "").splitlines() if line.strip()}
        )
        users = list(User.objects.filter(email__in=emails, is_active=True))
        missing = sorted(set(emails) - {u.email for u in users})
        if missing:
            raise ValidationError(
                "No active account has the address: " + ", ".join(missing) + ". Ask them to "
                "create an account first."
            )
        return users


class WatchSchemeAdminForm(forms.ModelForm):
    coordinator_emails = CoordinatorEmailsField(
        label="Coordinators",
        required=False,
        help_text="Email addresses of their accounts, one a line. They approve members and "
        "post alerts from the scheme's page on the site.",
    )

    class Meta:
        model = WatchScheme
        fields = [
            "name",
            "slug",
            "summary",
            "description",
            "who_for",
            "email",
            "phone",
            "is_accepting",
            "position",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["coordinator_emails"].initial = "\n".join(
                self.instance.coordinators.order_by("email").values_list("email", flat=True)
            )


class SeminarCancelForm(forms.Form):
    reason = forms.CharField(
        label="Why is it cancelled?",
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Everyone booked or waiting is emailed this.",
    )


# Public forms


class _UserBusinessField(forms.ModelChoiceField):
    default_error_messages = {
        "required": "Choose which of your businesses this is for.",
        "invalid_choice": "Choose one of your own businesses from the list.",
    }

    def label_from_instance(self, obj):
        return f"{obj.name}, {obj.town}"


def _user_businesses(user):
    return businesses_of_user(user).order_by("name")


class ApplyForm(forms.Form):
    business = _UserBusinessField(
        queryset=Business.objects.none(),
        label="Which business is joining?",
        empty_label=None,
        widget=forms.RadioSelect,
    )
    note = forms.CharField(
        label="Anything the coordinator should know (optional)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="For example your role, or which premises you run.",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business"].queryset = _user_businesses(user)


class PreferenceForm(forms.Form):
    alert_preference = forms.ChoiceField(
        label="How should we email you about alerts?",
        choices=SchemeMembership.AlertPreference.choices,
        widget=forms.RadioSelect,
    )


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(
        label="Decision",
        choices=[("approve", "Approve"), ("decline", "Decline")],
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label="Reason (needed to decline; the business is told)",
        max_length=1000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == "decline" and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Give the business a reason for declining.")
        return cleaned


class AlertForm(forms.Form):
    title = forms.CharField(
        label="Title",
        max_length=200,
        error_messages={"required": "Enter a title for the alert."},
    )
    body = forms.CharField(
        label="Alert",
        max_length=TEXT_LIMIT,
        error_messages={"required": "Enter what the alert says."},
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="What members should know and do. Do not name or describe suspects unless "
        "the police have agreed you may share it.",
    )
    urgency = forms.ChoiceField(
        label="How urgent is it?",
        choices=Alert.Urgency.choices,
        error_messages={
            "required": "Choose how urgent the alert is.",
            "invalid_choice": "Choose how urgent the alert is: routine or urgent.",
        },
        widget=forms.RadioSelect,
        initial=Alert.Urgency.ROUTINE,
        help_text="Urgent alerts also reach members who asked for urgent alerts only.",
    )
    expires_at = forms.DateTimeField(
        label="Expires (optional)",
        required=False,
        error_messages={"invalid": "Enter when the alert expires as a date and a time."},
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"],
        help_text="After this it is marked expired and left out of the weekly digest.",
    )
    submission_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())

    def clean_expires_at(self):
        expires_at = self.cleaned_data["expires_at"]
        if expires_at and expires_at <= timezone.now():
            raise ValidationError("The expiry must be in the future.")
        return expires_at


class BookingForm(forms.Form):
    business = _UserBusinessField(
        queryset=Business.objects.none(),
        label="Which business are you coming from?",
        empty_label=None,
        widget=forms.RadioSelect,
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["business"].queryset = _user_businesses(user)
        if not self.is_bound:
            # Someone with one business has nothing to choose: it is chosen for them.
            only = list(self.fields["business"].queryset.values_list("pk", flat=True)[:2])
            if len(only) == 1:
                self.initial.setdefault("business", only[0])
