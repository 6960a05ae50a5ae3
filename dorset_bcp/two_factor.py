"""Two-step sign-in: a code from an authenticator app as well as the password.

Staff, Co-ordinating Group and Partnership members and Watch scheme coordinators see other
people's names, phones and addresses, so they set up a second factor (allauth's mfa app: TOTP
with recovery codes) before they reach their screens (the admin, /partnership/, a scheme's
manage pages). Business owners may opt in from /my/account/.

allauth asks for the code at sign-in once a person has an authenticator. TwoFactorMiddleware
covers the rest: someone who must have one and has none is sent to set one up; someone signed
in without the code (a session from before, a sign-in by another door) is asked for it.
"""

import base64
import time

from allauth.account.authentication import get_authentication_records
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

# The screens that show other people's details, by view name; the admin and the review area
# are whole namespaces.
GUARDED_NAMESPACES = {"admin", "escalation"}
GUARDED_VIEWS = {
    "resources:scheme_manage",
    "resources:membership_decide",
    "resources:alert_new",
}
# Signing out of the admin is never held back.
UNGUARDED_VIEWS = {"admin:logout"}
# Where a person set up or proved their second factor on the way to a screen, to go back to.
NEXT_SESSION_KEY = "two_factor_next"
# The demo accounts' authenticator secret (seed_demo, only with DEBUG on): documented in the
# README so anyone running the demo can add it to an authenticator app.
DEMO_TOTP_SECRET = "DORSETDEMOSECRET"  # noqa: S105  # nosec B105 # the documented demo secret
SECOND_FACTOR_TYPES = [Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN]

SET_UP_MESSAGE = (
    "Set up two-step sign-in to continue. You can see other people's names, phone numbers "
    "and addresses, so your account needs a code from an app on your phone as well as your "
    "password."
)
STEP_UP_MESSAGE = (
    "Enter the code from your authenticator app to continue. This session was signed in without it."
)


def needs_second_factor(user) -> bool:
    """Staff, Co-ordinating Group and Partnership members, and Watch scheme coordinators."""
    from escalation.selectors import member_scope  # escalation builds on engagement

    if user.is_staff or user.is_superuser:
        return True
    if member_scope(user).is_member:
        return True
    return user.coordinated_schemes.exists()


def has_second_factor(user) -> bool:
    """Whether the person has an authenticator that makes a code (recovery codes alone do not)."""
    return Authenticator.objects.filter(user=user, type__in=SECOND_FACTOR_TYPES).exists()


def passed_second_factor(request) -> bool:
    """Whether this session has entered a code (at sign-in, since, or when setting one up)."""
    return any(
        record.get("method") == "mfa"
        for record in get_authentication_records(request, request.user)
    )


def is_guarded(request) -> bool:
    match = request.resolver_match
    if match is None or match.view_name in UNGUARDED_VIEWS:
        return False
    if match.view_name in GUARDED_VIEWS or GUARDED_NAMESPACES.intersection(match.namespaces):
        return True
    # The admin's "View on site" lives beside the admin's own URLs, under /admin/.
    return request.path.startswith(reverse("admin:index"))


class TwoFactorMiddleware:
    """Sends a person who must use two-step sign-in to set it up, or to enter their code,
    before a guarded screen. Nothing is asked of anyone on any other page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not settings.TWO_FACTOR_REQUIRED or not request.user.is_authenticated:
            return None
        # The cheapest checks first: a session that has entered a code costs no query.
        if not is_guarded(request) or passed_second_factor(request):
            return None
        user = request.user
        if not needs_second_factor(user):
            return None  # an owner on a screen that is not theirs: the view refuses them
        next_url = request.get_full_path() if request.method == "GET" else None
        if next_url:
            request.session[NEXT_SESSION_KEY] = next_url
        if has_second_factor(user):
            messages.info(request, STEP_UP_MESSAGE)
            target = reverse("mfa_reauthenticate")
            if next_url:
                target += "?" + urlencode({"next": next_url})
            return HttpResponseRedirect(target)
        messages.info(request, SET_UP_MESSAGE)
        return HttpResponseRedirect(reverse("mfa_activate_totp"))


def continue_url(request) -> str:
    """Where a person goes once their second factor is set up: the screen they were on their
    way to, else the one they start from."""
    from .account_adapter import home_screen_url

    stored = request.session.get(NEXT_SESSION_KEY)
    if stored and url_has_allowed_host_and_scheme(stored, allowed_hosts=None):
        return stored
    return home_screen_url(request.user)


def context(request):
    """What the two-step sign-in pages say to this person (only on those pages: it queries)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if not request.path.startswith(reverse("mfa_index")):
        return {}
    return {
        "two_factor_required": needs_second_factor(user),
        "two_factor_continue_url": continue_url(request),
    }


def on_authenticator_added(sender, request, user, authenticator, **kwargs):
    """Receiver for allauth.mfa.signals.authenticator_added: setting up the app took a code from
    it, so this session has passed the second step and is not asked again straight away."""
    from allauth.account.internal.flows.login import record_authentication

    if request is not None and authenticator.type in SECOND_FACTOR_TYPES:
        record_authentication(request, user, "mfa", id=authenticator.pk, type=authenticator.type)


class MFAAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "add_email_blocked": (
            "Your account uses two-step sign-in, so another email address cannot be added here. "
            "Ask an administrator to change it."
        ),
        "cannot_delete_authenticator": (
            "Your account must use two-step sign-in because you can see other people's "
            "details, so it cannot be turned off."
        ),
        "cannot_generate_recovery_codes": (
            "Set up two-step sign-in first: recovery codes come with it."
        ),
        "incorrect_code": (
            "That code is not right. Enter the 6 digits your authenticator app shows now for "
            "Dorset Business Crime."
        ),
        "unverified_email": (
            "Confirm your email address first (follow the link in the email we sent), then set "
            "up two-step sign-in."
        ),
    }

    def can_delete_authenticator(self, authenticator) -> bool:
        # Those who must use two-step sign-in cannot switch it off; owners who opted in can.
        if authenticator.type in SECOND_FACTOR_TYPES and needs_second_factor(authenticator.user):
            remaining = Authenticator.objects.filter(
                user_id=authenticator.user_id, type__in=SECOND_FACTOR_TYPES
            ).exclude(pk=authenticator.pk)
            return remaining.exists()
        return super().can_delete_authenticator(authenticator)


def totp_code(secret: str, *, at: float | None = None) -> str:
    """The code an authenticator app shows for this secret now (RFC 6238, as allauth checks)."""
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    moment = time.time() if at is None else at
    return format_hotp_value(hotp_value(secret, int(moment) // app_settings.TOTP_PERIOD))


def authenticator_secret(authenticator: Authenticator) -> str:
    from allauth.mfa.utils import decrypt

    return decrypt(authenticator.data["secret"])


def demo_authenticator_ensure(*, user, secret: str = DEMO_TOTP_SECRET) -> Authenticator:
    """Give a demo account the documented authenticator secret, and recovery codes."""
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
    from allauth.mfa.utils import encrypt

    base64.b32decode(secret)  # a secret an authenticator app cannot read is a bug here
    authenticator, _ = Authenticator.objects.update_or_create(
        user=user,
        type=Authenticator.Type.TOTP,
        defaults={"data": {"secret": encrypt(secret)}},
    )
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).exists():
        RecoveryCodes.activate(user)
    return authenticator
