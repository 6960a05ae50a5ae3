"""What the error summary says: each message names its field once, in plain words.

A field's own message already does ("Choose what your concern is about."), so it is shown as it
is. Django's generic ones name no field ("This field is required."), so the summary says what to
do with which field instead ("Enter your email address"), never "Label: message".
"""

from django import forms, template

register = template.Library()

_CHOICE_WIDGETS = (forms.RadioSelect, forms.Select, forms.CheckboxSelectMultiple)


def _phrase(label) -> str:
    """ "Phone number (optional)" → "phone number"; "Email" → "email"."""
    text = str(label or "").strip().removesuffix("(optional)").strip().rstrip("?:").strip()
    if len(text) > 1 and not text[:2].isupper():  # leave "NPT area" and "BID" alone
        text = text[0].lower() + text[1:]
    return text


def _generic(field, code: str) -> str | None:
    """Django's default message for `code` on this field's class, if any."""
    for cls in type(field.field).__mro__:
        message = getattr(cls, "default_error_messages", {}).get(code)
        if message is not None:
            return str(message)
    return None


@register.filter
def summary_message(error, field) -> str:
    """The summary line for one error of a bound field."""
    error = str(error)
    label = _phrase(field.label)
    if not label:
        return error
    if error == _generic(field, "required"):
        verb = "Choose" if isinstance(field.field.widget, _CHOICE_WIDGETS) else "Enter"
        return f"{verb} {label}."
    if error.startswith("Select a valid choice."):
        return f"Choose {label} from the list."
    return error


@register.filter
def has_password_field(form) -> bool:
    """Password boxes are emptied after an error, so the summary must not say all was kept."""
    return any(isinstance(field.widget, forms.PasswordInput) for field in form.fields.values())
