import calendar
import datetime as dt
import re
import time
import uuid

from allauth.account.forms import AddEmailForm, ChangeEmailForm, ResetPasswordForm, SignupForm
from allauth.mfa.base.forms import AuthenticateForm, ReauthenticateForm
from allauth.mfa.totp.forms import ActivateTOTPForm
from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.validators import MaxLengthValidator
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.formats import date_format

from . import uploads
from .models import BUSINESS_DETAIL_FIELDS, Business, Concern, ConcernCategory, Sector
from .postcodes import normalise_postcode
from .selectors import businesses_of_user
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


class OneErrorPerField:
    """A field with several problems shows one message holding them all, so the summary and
    the field each say it once (GOV.UK: one error per field)."""

    def full_clean(self):
        super().full_clean()
        for name, errors in (self._errors or {}).items():
            if name != NON_FIELD_ERRORS and len(errors) > 1:
                errors.data = [" ".join(str(message) for message in errors)]


class PostcodeField(forms.CharField):
    """A full UK postcode, normalised, that a Dorset NPT covers."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 20)  # room for stray spaces
        kwargs.setdefault("help_text", "For example BH15 1AA. We use it to find your local team.")
        kwargs.setdefault("error_messages", {"required": "Enter the postcode, like BH15 1AA."})
        super().__init__(**kwargs)
        self.widget.attrs.update({"autocomplete": "postal-code", "spellcheck": "false"})

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return value
        postcode = normalise_postcode(value)
        npt_for_postcode(postcode)
        return postcode


class DayMonthYearWidget(forms.MultiWidget):
    """GOV.UK's date input: three boxes, Day, Month and Year, in a fieldset.

    Also reads a single ISO date (`name=2026-01-05`), as a form posted by a script or an older
    page sends it."""

    PARTS = ("day", "month", "year")

    def __init__(self, attrs=None):
        widgets = {part: forms.TextInput(attrs={"inputmode": "numeric"}) for part in self.PARTS}
        super().__init__(widgets, attrs)
        self.error_parts: tuple[str, ...] = ()

    def decompress(self, value):
        if isinstance(value, dt.date):
            return [str(value.day), str(value.month), str(value.year)]
        return [None, None, None]

    def value_from_datadict(self, data, files, name):
        if not any(f"{name}_{part}" in data for part in self.PARTS) and name in data:
            return _parts_of_iso(str(data.get(name) or ""))
        return [data.get(f"{name}_{part}") for part in self.PARTS]

    def value_omitted_from_data(self, data, files, name):
        return name not in data and all(f"{name}_{part}" not in data for part in self.PARTS)

    def id_for_label(self, id_):
        # The error summary links to the first box that is wrong, else to the day.
        first = self.error_parts[0] if self.error_parts else "day"
        return f"{id_}_{self.PARTS.index(first)}" if id_ else ""


def _parts_of_iso(text: str) -> list[str]:
    match = re.fullmatch(r"\s*(\d{1,4})-(\d{1,2})-(\d{1,2})\s*", text)
    if match:
        return [match[3], match[2], match[1]]
    return [text, text, text] if text.strip() else ["", "", ""]


_MONTH_NAMES = {
    name: number
    for number in range(1, 13)
    for name in (
        dt.date(2000, number, 1).strftime("%B").lower(),
        dt.date(2000, number, 1).strftime("%b").lower(),
    )
}


def _small_number(text: str) -> int | None:
    # ASCII digits only ("²".isdigit() is true, but int() refuses it), and few of them: a
    # number thousands of digits long is refused by int() too.
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 9 else None


class DayMonthYearField(forms.Field):
    """A date typed as day, month and year, with GOV.UK's messages naming the part that is
    wrong (https://design-system.service.gov.uk/components/date-input/)."""

    widget = DayMonthYearWidget

    def __init__(self, *, noun: str, **kwargs):
        kwargs.setdefault("template_name", "includes/date_input.html")
        # "the date it happened": what the messages call the date.
        self.noun = noun
        kwargs.setdefault("error_messages", {})
        kwargs["error_messages"].setdefault("required", f"Enter {noun}.")
        super().__init__(**kwargs)

    def _refuse(self, message: str, parts: tuple[str, ...]):
        self.widget.error_parts = parts
        raise ValidationError(message, code="invalid")

    def to_python(self, value):
        typed = [str(part or "").strip() for part in (value or [])]
        typed = (typed + ["", "", ""])[:3]
        if not any(typed):
            return None
        parts = zip(DayMonthYearWidget.PARTS, typed, strict=True)
        missing = tuple(part for part, text in parts if not text)
        if missing:
            words = " and a ".join(missing)
            self._refuse(f"{self.noun[0].upper()}{self.noun[1:]} must include a {words}.", missing)
        day_text, month_text, year_text = typed
        day = _small_number(day_text)
        month = _small_number(month_text) or _MONTH_NAMES.get(month_text.lower())
        year = _small_number(year_text) if len(year_text) == 4 else None
        wrong = tuple(
            part
            for part, ok in (
                ("day", day is not None and 1 <= day <= 31),
                ("month", month is not None and 1 <= month <= 12),
                ("year", year is not None and year >= 1900),
            )
            if not ok
        )
        if len(wrong) > 1:
            self._refuse("Enter a real date, for example 5 January 2026.", wrong)
        if wrong == ("day",):
            self._refuse("Enter the day as a number from 1 to 31.", wrong)
        if wrong == ("month",):
            self._refuse("Enter the month as a number from 1 to 12, or its name.", wrong)
        if wrong == ("year",):
            self._refuse("Enter the year as four digits, like 2026.", wrong)
        try:
            return dt.date(year, month, day)
        except ValueError:
            last = calendar.monthrange(year, month)[1]
            month_name = dt.date(year, month, 1).strftime("%B %Y")
            self._refuse(f"The day must be from 1 to {last} in {month_name}.", ("day",))

    def validate(self, value):
        if value is None and self.required:
            self.widget.error_parts = DayMonthYearWidget.PARTS
        super().validate(value)

    def get_bound_field(self, form, field_name):
        return DayMonthYearBoundField(form, self, field_name)


class DayMonthYearBoundField(forms.BoundField):
    def parts(self):
        """Each box with its label, name, id, typed value and whether it is wrong."""
        widget = self.field.widget
        values = self.value()
        if not isinstance(values, list | tuple):
            values = widget.decompress(values)
        invalid = set(widget.error_parts) if self.errors else set()
        return [
            {
                "key": part,
                "label": part.capitalize(),
                "name": f"{self.html_name}_{part}",
                "id": f"{self.auto_id}_{index}",
                "value": values[index] or "",
                "invalid": part in invalid,
                "maxlength": 4 if part == "year" else 9 if part == "month" else 2,
            }
            for index, part in enumerate(widget.PARTS)
        ]


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
        if self.required and not files:
            raise ValidationError(self.error_messages["required"], code="required")
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


class BusinessForm(OneErrorPerField, forms.ModelForm):
    postcode = PostcodeField()

    class Meta:
        model = Business
        fields = BUSINESS_DETAIL_FIELDS
        labels = {"name": "Business name"}
        error_messages = {
            "name": {"required": "Enter the business name."},
            "sector": {"required": "Choose the business's sector."},
            "size_band": {"required": "Choose the size of the business."},
            "address_line1": {"required": "Enter the first line of the address."},
            "town": {"required": "Enter the town or village."},
        }
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


# The report form's category choices, kept in each process for a minute: the list is reference
# data a coordinator edits a few times a year, and reading it was the one query of a guest's
# GET /report/new/ and /report/guest/. Saving or deleting a category here forgets it at once;
# another process shows the change within CATEGORY_CHOICES_SECONDS. A choice posted is still
# checked against the database (ModelChoiceField's queryset), never against this list.
CATEGORY_CHOICES_SECONDS = 60
_category_choices: dict = {"until": 0.0, "choices": None}


def category_choices(field: forms.ModelChoiceField) -> list:
    """The field's choices, as its widget would read them from the queryset."""
    now = time.monotonic()
    if _category_choices["choices"] is None or now >= _category_choices["until"]:
        # A fresh query (.all()): the field may be a form class's own, whose queryset would
        # keep the rows it read the first time.
        _category_choices["choices"] = [
            (forms.models.ModelChoiceIteratorValue(field.prepare_value(c), c),
             field.label_from_instance(c))
            for c in field.queryset.all()
        ]  # fmt: skip
        _category_choices["until"] = now + CATEGORY_CHOICES_SECONDS
    return _category_choices["choices"]


@receiver([post_save, post_delete], sender=ConcernCategory)
def forget_category_choices(**kwargs) -> None:
    _category_choices["choices"] = None


class ConcernFieldsMixin(OneErrorPerField, forms.Form):
    """The questions every report asks, with or without an account."""

    category = forms.ModelChoiceField(
        queryset=ConcernCategory.objects.filter(is_active=True),
        empty_label=None,
        widget=forms.RadioSelect,
        label="What is it about?",
        error_messages={
            "required": "Choose what your concern is about.",
            "invalid_choice": "Choose what your concern is about from the list.",
        },
    )
    description = forms.CharField(
        label="What happened?",
        error_messages={"required": "Describe what happened."},
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="Describe what happened and what you are worried about. Please do not name "
        "or describe other people: an officer will ask if they need to know.",
    )
    occurred_on = DayMonthYearField(
        label="Date it happened",
        noun="the date it happened",
        help_text="For example, 27 3 2026. If it has happened more than once, the most recent "
        "date.",
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
            label="Email address",
            error_messages={
                "required": "Enter your email address.",
                "invalid": "Enter an email address in the right format, like name@example.com.",
            },
            widget=forms.EmailInput(attrs={"autocomplete": "email"}),
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
        error_messages={"required": "Choose how we should contact you."},
        widget=forms.RadioSelect,
        initial=Concern.ContactPreference.EMAIL,
    )
    submission_key = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["category"]
        field.widget.choices = category_choices(field)

    def clean_occurred_on(self):
        occurred_on = self.cleaned_data["occurred_on"]
        today = timezone.localdate()
        # Whatever is wrong below is the whole date: every box is marked.
        self.fields["occurred_on"].widget.error_parts = DayMonthYearWidget.PARTS
        if occurred_on > today:
            raise ValidationError(
                f"The date it happened cannot be in the future. Today is "
                f"{date_format(today, 'j F Y')}."
            )
        if occurred_on < today - dt.timedelta(days=365 * 5):
            raise ValidationError("Enter a date it happened within the last five years.")
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
        error_messages={
            "required": "Choose which business this is about.",
            "invalid_choice": "Choose one of your businesses from the list.",
        },
        empty_label=None,
        widget=forms.RadioSelect,
    )

    field_order = ["business"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        businesses = businesses_of_user(user)
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
        error_messages={"required": "Enter the business name."},
        widget=forms.TextInput(attrs={"autocomplete": "organization"}),
    )
    sector = forms.ChoiceField(
        label="Type of business",
        choices=[("", "Choose…"), *Sector.choices],
        error_messages={"required": "Choose the type of business."},
    )
    town = forms.CharField(
        label="Town or village",
        max_length=100,
        error_messages={"required": "Enter the town or village."},
    )
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


class AddAttachmentsForm(OneErrorPerField, forms.Form):
    """More photos or documents for an open concern, checked as the report form checks them."""

    attachments = AttachmentsField(
        required=True,
        label="Photos or documents to add",
        error_messages={"required": "Choose at least one photo or PDF to attach."},
    )


class WithdrawForm(OneErrorPerField, forms.Form):
    reason = forms.CharField(
        label="Why are you withdrawing this report?",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "Say why you are withdrawing this report."},
        help_text="For example, the matter has been sorted out. The team that has your report "
        "will read this.",
    )


class GuestLinkForm(OneErrorPerField, forms.Form):
    """A guest asks for their private link again: the email they gave and the reference."""

    email = forms.EmailField(
        label="Email address you gave with the report",
        max_length=EMAIL_MAX_LENGTH,
        error_messages={
            "required": "Enter the email address you gave with the report.",
            "invalid": "Enter an email address in the right format, like name@example.com.",
        },
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    reference = forms.CharField(
        label="Report reference",
        max_length=20,
        help_text="It starts DBC-, for example DBC-2026-000123. It was shown when you sent the "
        "report.",
        error_messages={"required": "Enter the report reference, like DBC-2026-000123."},
        widget=forms.TextInput(attrs={"spellcheck": "false", "autocapitalize": "characters"}),
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


class PortalSignupForm(OneErrorPerField, SignupForm):
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
