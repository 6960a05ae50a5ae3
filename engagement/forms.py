import datetime as dt
import uuid

from allauth.account.forms import AddEmailForm, ChangeEmailForm, ResetPasswordForm, SignupForm
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.utils import timezone
from django.utils.formats import date_format

from . import uploads
from .models import Business, Concern, ConcernCategory, Sector
from .postcodes import normalise_postcode
from .services import ConcernDetails, npt_for_postcode

TEXT_LIMIT = 5000
# The email columns (User.email, Concern.contact_email, allauth's EmailAddress) hold 254
# characters, the longest address SMTP can deliver: a longer one is a form error, never a 500
# from the database or an address silently cut short.
EMAIL_MAX_LENGTH = Concern._meta.get_field("contact_email").max_length


def bound_email_field(field: forms.EmailField) -> forms.EmailField:
    """Limit an email field, including allauth's, to what the email columns hold."""
    field.max_length = EMAIL_MAX_LENGTH
    field.widget.attrs["maxlength"] = str(EMAIL_MAX_LENGTH)
    # Django's EmailField allows 320 (RFC 3696); the columns and SMTP allow 254.
    field.validators = [v for v in field.validators if not isinstance(v, MaxLengthValidator)]
    field.validators.append(MaxLengthValidator(EMAIL_MAX_LENGTH))
    field.error_messages["max_length"] = (
        f"An email address can be at most {EMAIL_MAX_LENGTH} characters long; this one has "
        "%(show_value)d. Check it, or use a shorter address."
    )
    return field


class PostcodeField(forms.CharField):
    """A full UK postcode, normalised, that a Dorset NPT covers."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)  # room for stray spaces
        kwargs.setdefault("help_text", "For example BH15 1AA. We use it to find your local team.")
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "postal-code", "spellcheck": "false"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        postcode = normalise_postcode(value)
        npt_for_postcode(postcode)
        return postcode


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Up to ATTACHMENT_MAX_FILES photos, CCTV stills or PDFs, checked by their content."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            f"Optional. Up to {settings.ATTACHMENT_MAX_FILES} photos, CCTV stills or PDFs, "
            f"{settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)} MB each at most.",
        )
        super().__init__(**kwargs)
        self.widget.attrs["accept"] = "image/jpeg,image/png,image/webp,image/gif,application/pdf"

    def clean(self, data, initial=None):
        files = [f for f in (data or []) if f] if isinstance(data, list | tuple) else []
        if data and not isinstance(data, list | tuple):
            files = [data]
        if len(files) > settings.ATTACHMENT_MAX_FILES:
            raise ValidationError(
                f"You attached {len(files)} files; the most is {settings.ATTACHMENT_MAX_FILES}. "
                "Choose the most useful ones and attach them again."
            )
        errors, accepted = [], []
        for upload in files:
            try:
                accepted.append(accepted_attachment(upload))
            except ValidationError as exc:
                errors.extend(exc.messages)
        # The files that passed, for the report form to hold even when another one failed.
        self.accepted = accepted
        if errors:
            if accepted:
                errors.append("The other files passed the checks and are kept.")
            raise ValidationError(errors)
        return accepted


def accepted_attachment(upload):
    """The file to keep for an upload, with its real content type as `detected_kind`: a PDF
    pypdf can read, or an image re-encoded without its metadata. ValidationError naming the
    file and the fix otherwise."""
    name = uploads.display_name(upload)
    if upload.size > settings.ATTACHMENT_MAX_BYTES:
        limit = settings.ATTACHMENT_MAX_BYTES // (1024 * 1024)
        raise ValidationError(f"“{name}” is larger than {limit} MB. Attach a smaller copy.")
    if upload.size == 0:
        raise ValidationError(f"“{name}” is empty.")
    if uploads.looks_like_pdf(upload):
        uploads.check_pdf(upload)
        upload.detected_kind = "application/pdf"
        return upload
    image = uploads.sanitised_image(upload)
    if image is None:
        raise ValidationError(
            f"“{name}” is not a photo (JPEG, PNG, WebP, GIF) or a PDF. Only those can be attached."
        )
    kind, clean_copy = image
    clean_copy.detected_kind = kind
    return clean_copy


class BusinessForm(forms.ModelForm):
    postcode = PostcodeField()

    class Meta:
        model = Business
        fields = [
            "name",
            "sector",
            "size_band",
            "address_line1",
            "address_line2",
            "town",
            "postcode",
            "is_rural",
            "bid_member",
        ]
        labels = {"name": "Business name"}
        help_texts = {
            "is_rural": "Farms, estates, equestrian yards and other countryside businesses.",
            "bid_member": "For example Bournemouth Town Centre BID or Dorchester BID.",
        }
        widgets = {
            "name": forms.TextInput(attrs={"autocomplete": "organization"}),
            "address_line1": forms.TextInput(attrs={"autocomplete": "address-line1"}),
            "address_line2": forms.TextInput(attrs={"autocomplete": "address-line2"}),
            "town": forms.TextInput(attrs={"autocomplete": "address-level2"}),
        }

    def service_kwargs(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ConcernFieldsMixin(forms.Form):
    """The questions every report asks, with or without an account."""

    category = forms.ModelChoiceField(
        queryset=ConcernCategory.objects.filter(is_active=True),
        empty_label=None,
        widget=forms.RadioSelect,
        label="What is it about?",
        error_messages={"required": "Choose what your concern is about."},
    )
    description = forms.CharField(
        label="What happened?",
        error_messages={"required": "Describe what happened."},
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Describe what happened and what you are worried about. Please do not name "
        "or describe other people: an officer will ask if they need to know.",
    )
    occurred_on = forms.DateField(
        label="Date it happened",
        error_messages={
            "required": "Enter the date it happened.",
            "invalid": "Enter a real date, for example 5 January 2026.",
        },
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="If it has happened more than once, the most recent date.",
    )
    occurred_time = forms.TimeField(
        label="Time it happened (optional)",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    location = forms.CharField(
        label="Where did it happen?",
        error_messages={"required": "Say where it happened."},
        max_length=300,
        help_text="An address, a postcode or a description such as ‘the car park behind the shop’.",
    )
    existing_reference = forms.CharField(
        label="Police or Action Fraud reference (optional)",
        max_length=60,
        required=False,
        help_text="If you have already reported this, the reference you were given.",
    )
    impact = forms.ChoiceField(
        label="How has it affected the business?",
        error_messages={"required": "Choose how it has affected the business."},
        choices=Concern.Impact.choices,
        widget=forms.RadioSelect,
    )
    impact_details = forms.CharField(
        label="Tell us more about the impact (optional)",
        max_length=TEXT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    attachments = AttachmentsField()
    contact_name = forms.CharField(
        label="Your name",
        max_length=150,
        error_messages={"required": "Enter your name."},
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    contact_email = bound_email_field(
        forms.EmailField(
            label="Email address", widget=forms.EmailInput(attrs={"autocomplete": "email"})
        )
    )
    contact_phone = forms.CharField(
        label="Phone number (optional)",
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    contact_preference = forms.ChoiceField(
        label="How should we contact you?",
        choices=Concern.ContactPreference.choices,
        widget=forms.RadioSelect,
        initial=Concern.ContactPreference.EMAIL,
    )
    submission_key = forms.UUIDField(widget=forms.HiddenInput)

    def clean_occurred_on(self):
        occurred_on = self.cleaned_data["occurred_on"]
        today = timezone.localdate()
        if occurred_on > today:
            raise ValidationError(
                f"The date cannot be in the future. Today is {date_format(today, 'j F Y')}."
            )
        if occurred_on < today - dt.timedelta(days=365 * 5):
            raise ValidationError("Enter a date within the last five years.")
        return occurred_on

    def clean_contact_phone(self):
        phone = self.cleaned_data["contact_phone"].strip()
        if phone and not all(c.isdigit() or c in " +()-" for c in phone):
            raise ValidationError("Enter a phone number using digits, spaces and + only.")
        return phone

    def clean(self):
        cleaned = super().clean()
        occurred_on, occurred_time = cleaned.get("occurred_on"), cleaned.get("occurred_time")
        if occurred_on and occurred_time:
            at = timezone.make_aware(dt.datetime.combine(occurred_on, occurred_time))
            if at > timezone.now():
                self.add_error("occurred_time", "The time cannot be in the future.")
        if cleaned.get("contact_preference") == Concern.ContactPreference.PHONE and not cleaned.get(
            "contact_phone"
        ):
            self.add_error(
                "contact_phone", "Give a phone number, or choose to be contacted by email."
            )
        return cleaned

    def concern_details(self) -> ConcernDetails:
        data = self.cleaned_data
        return ConcernDetails(
            category=data["category"],
            description=data["description"],
            occurred_on=data["occurred_on"],
            occurred_time=data["occurred_time"],
            location=data["location"],
            existing_reference=data["existing_reference"],
            impact=data["impact"],
            impact_details=data["impact_details"],
            contact_name=data["contact_name"],
            contact_email=data["contact_email"],
            contact_phone=data["contact_phone"],
            contact_preference=data["contact_preference"],
        )


class ConcernForm(ConcernFieldsMixin):
    business = forms.ModelChoiceField(
        queryset=Business.objects.none(),
        label="Which business is this about?",
        error_messages={"required": "Choose which business this is about."},
        empty_label=None,
        widget=forms.RadioSelect,
    )

    field_order = ["business"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        businesses = Business.objects.filter(memberships__user=user)
        field = self.fields["business"]
        field.queryset = businesses
        # Read the person's businesses once, for the choices and the view's "add one first";
        # the choice made is still checked against the queryset when the form is validated.
        self.businesses = list(businesses)
        field.widget.choices = [
            (forms.models.ModelChoiceIteratorValue(field.prepare_value(b), b),
             field.label_from_instance(b))
            for b in self.businesses
        ]  # fmt: skip
        if not self.is_bound:
            if len(self.businesses) == 1:
                self.initial.setdefault("business", self.businesses[0].pk)
            self.initial.setdefault("submission_key", uuid.uuid4())
            self.initial.setdefault("contact_name", user.full_name)
            self.initial.setdefault("contact_email", user.email)
            self.initial.setdefault("contact_phone", user.phone)


class GuestConcernForm(ConcernFieldsMixin):
    business_name = forms.CharField(
        label="Business name",
        max_length=200,
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    sector = forms.ChoiceField(label="Type of business", choices=Sector.choices)
    town = forms.CharField(label="Town or village", max_length=100)
    postcode = PostcodeField(label="Business postcode")

    # A honeypot: hidden from people and from assistive technology (report_form.html), so only
    # a bot filling in every field fills it. No third-party CAPTCHA, nothing for people to do.
    website = forms.CharField(
        label="Leave this blank",
        required=False,
        widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
    )

    field_order = ["business_name", "sector", "town", "postcode"]

    def is_from_a_bot(self) -> bool:
        """True if the hidden honeypot field came back filled in."""
        return bool(str(self.data.get("website", "")).strip())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_email"].help_text = (
            "We will email you a link to confirm the report. Your report reaches the "
            "police once you confirm it."
        )
        if not self.is_bound:
            self.initial.setdefault("submission_key", uuid.uuid4())


class MessageForm(forms.Form):
    body = forms.CharField(
        label="Your reply", max_length=TEXT_LIMIT, widget=forms.Textarea(attrs={"rows": 4})
    )


class FeedbackForm(forms.Form):
    resolved = forms.TypedChoiceField(
        label="Has this resolved your concern?",
        choices=[("yes", "Yes, it is resolved"), ("no", "No, it is not resolved")],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label="Anything you would like to add (optional)",
        max_length=TEXT_LIMIT,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AccountDeleteForm(forms.Form):
    password = forms.CharField(
        label="Your password",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        error_messages={"required": "Enter your password to confirm."},
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise ValidationError("That password is not right. Enter your current password.")
        return password


# allauth's forms, with the email address bounded like every other (ACCOUNT_FORMS), and a
# polite refusal, keeping what was typed, when the address has had its emails for the hour.


def _refuse_if_capped(email: str, template_prefix: str, *actions: str) -> None:
    from allauth.core import context

    from dorset_bcp import throttles
    from dorset_bcp.account_adapter import email_limit

    limits = [throttles.Limit(action, key=email) for action in actions]
    limits.append(email_limit(template_prefix, email))
    if any(throttles.used_up(context.request, limit) for limit in limits):
        raise ValidationError(throttles.EMAIL_CAP, code="email_cap")


class PortalSignupForm(SignupForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_email_field(self.fields["email"])

    def clean_email(self):
        email = super().clean_email()
        _refuse_if_capped(email, "account/email/email_confirmation_signup")
        return email


class PortalAddEmailForm(AddEmailForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_email_field(self.fields["email"])

    def clean_email(self):
        email = super().clean_email()
        _refuse_if_capped(email, "account/email/email_confirmation")
        return email


class PortalChangeEmailForm(ChangeEmailForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_email_field(self.fields["email"])

    def clean_email(self):
        email = super().clean_email()
        _refuse_if_capped(email, "account/email/email_confirmation")
        return email


class PortalResetPasswordForm(ResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bound_email_field(self.fields["email"])

    def clean_email(self):
        email = super().clean_email()
        _refuse_if_capped(email, "account/email/password_reset_key", "reset_password")
        return email


# allauth's two-step sign-in forms (MFA_FORMS): a code box labelled in words, which phones
# offer the code from a text message or an app for, with the number keypad.


def one_time_code_field(field, *, label: str, help_text: str = "") -> None:
    field.label = label
    field.help_text = help_text
    field.widget.attrs = {
        "class": "one-time-code",
        "autocomplete": "one-time-code",
        "inputmode": "numeric",
        "autocapitalize": "off",
        "spellcheck": "false",
        "maxlength": "20",  # six digits, or an eight-digit recovery code, with spaces
    }


class PortalAuthenticateForm(AuthenticateForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        one_time_code_field(
            self.fields["code"],
            label="Code from your authenticator app",
            help_text="The 6 digits the app shows now. Lost your phone? Enter one of your "
            "recovery codes instead.",
        )


class PortalReauthenticateForm(ReauthenticateForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        one_time_code_field(
            self.fields["code"],
            label="Code from your authenticator app",
            help_text="The 6 digits the app shows now, or one of your recovery codes.",
        )


class PortalActivateTOTPForm(ActivateTOTPForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        one_time_code_field(
            self.fields["code"],
            label="Code from your authenticator app",
            help_text="The 6 digits the app shows for Dorset Business Crime.",
        )
