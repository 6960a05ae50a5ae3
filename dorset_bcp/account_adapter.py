"""How sign-in treats people: where each lands, what a paused sign-in says, and allauth's emails.

Officers, specialists, editors and administrators (staff) work in the admin; Co-ordinating Group
and Partnership members in /partnership/; business owners on /my/. A safe ?next= still wins:
allauth reads it before asking the adapter.

allauth's emails are the portal's: rendered from allauth's templates into the portal's layout,
written to the outbox and sent after the change commits, never inside the request; at most a
few of each kind an hour reach one address (ACCOUNT_RATE_LIMITS["account_email"]).
"""

import hashlib
import logging
import secrets
from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core import context as allauth_context
from django.conf import settings
from django.contrib.sites.shortcuts import get_current_site
from django.core import signing
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.template.loader import render_to_string
from django.urls import reverse

from dorset_bcp import throttles

logger = logging.getLogger(__name__)

# The links allauth puts in its emails (confirm your address, reset your password, sign up).
EMAIL_LINKS = ("activate_url", "password_reset_url", "signup_url")


def home_screen_url(user) -> str:
    """The screen a signed-in person starts from."""
    from escalation.selectors import member_scope  # escalation builds on engagement

    if user.is_staff:
        return reverse("admin:index")
    if member_scope(user).is_member:
        return reverse("escalation:queue")
    return reverse("engagement:my_dashboard")


def on_site(url: str) -> str:
    """The same path and query on SITE_URL, whatever host the request came in on."""
    parts = urlsplit(url)
    return settings.SITE_URL + parts.path + (f"?{parts.query}" if parts.query else "")


# Each kind of allauth email has its own hourly budget per address (the cap). A sign-in code
# is not capped here: it is limited where it is asked for (ACCOUNT_RATE_LIMITS
# ["request_login_code"]), and it is how an owner gets past a stranger's failed guesses.
EMAIL_KINDS = {
    "account/email/email_confirmation_signup": "signup",
    "account/email/account_already_exists": "signup",
    "account/email/email_confirmation": "email_change",
    "account/email/password_reset_key": "password_reset",
    "account/email/unknown_account": "password_reset",
}
UNCAPPED_EMAILS = {"account/email/login_code"}
# Emails whose bodies must not outlive the send: they carry a key or a code.
SECRET_EMAILS = {
    "account/email/login_code",
    "account/email/password_reset_key",
    "account/email/email_confirmation",
    "account/email/email_confirmation_signup",
}

SIGN_IN_PAUSED = (
    "Signing in with a password is paused for this email address for a few minutes, because "
    "a wrong password was given too many times. This keeps the account safe. To sign in now, "
    "choose \u201cSend me a sign-in code\u201d below and we will email you a one-time code; "
    "or try your password again in 5 minutes."
)
TOO_MANY_ATTEMPTS = (
    "There have been too many attempts for this email address in a short time, so we have "
    "paused them for a few minutes to keep the account safe. Please check your inbox for the "
    "code we have already sent, or try again in 15 minutes."
)


# A device someone has signed in on keeps a signed cookie naming a hash of their address and a
# random device id; failed passwords from that device count against a budget of its own, so a
# stranger's guesses (which pause the address's shared budget) never pause their own devices.
# (OWASP's "device cookies" against account lockout.)
KNOWN_DEVICE_COOKIE = "known_device"
KNOWN_DEVICE_SALT = "dorset_bcp.known_device"
KNOWN_DEVICE_MAX_AGE = 365 * 24 * 60 * 60


def _address_hash(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode()).hexdigest()[:32]


def known_device_id(request, email: str) -> str | None:
    """The id of this device if someone signed in here with `email` before, else None."""
    value = request.COOKIES.get(KNOWN_DEVICE_COOKIE)
    if not value or not email:
        return None
    try:
        known = signing.loads(value, salt=KNOWN_DEVICE_SALT, max_age=KNOWN_DEVICE_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(known, dict) or known.get("address") != _address_hash(email):
        return None
    return str(known.get("device", "")) or None


def email_limit(template_prefix: str, email: str) -> throttles.Limit | None:
    """The hourly budget an allauth email to `email` counts against (None: not capped here)."""
    if template_prefix in UNCAPPED_EMAILS:
        return None
    kind = EMAIL_KINDS.get(template_prefix, "notice")
    return throttles.Limit("account_email", key=f"{kind}:{email}")


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "too_many_login_attempts": TOO_MANY_ATTEMPTS,
    }

    def get_login_redirect_url(self, request):
        return home_screen_url(request.user)

    def get_client_ip(self, request) -> str:
        """The client's address for the throttles (DJANGO_TRUSTED_PROXY_COUNT)."""
        try:
            return super().get_client_ip(request)
        except (ImproperlyConfigured, PermissionDenied):
            # Fewer X-Forwarded-For entries than trusted proxies, or no trusted header: the
            # request did not come through the proxies, so the connection is what to believe.
            return request.META["REMOTE_ADDR"]

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        key = super()._get_login_attempts_cache_key(request, **credentials)
        device = known_device_id(request, credentials.get("email", ""))
        return f"{key}:device:{device}" if device else key

    def post_login(self, request, user, **kwargs):
        response = super().post_login(request, user, **kwargs)
        if user.email:
            known = {"address": _address_hash(user.email), "device": secrets.token_urlsafe(16)}
            response.set_cookie(
                KNOWN_DEVICE_COOKIE,
                signing.dumps(known, salt=KNOWN_DEVICE_SALT),
                max_age=KNOWN_DEVICE_MAX_AGE,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def pre_authenticate(self, request, **credentials):
        try:
            super().pre_authenticate(request, **credentials)
        except ValidationError as exc:
            raise ValidationError(SIGN_IN_PAUSED, code="too_many_login_attempts") from exc

    def send_mail(self, template_prefix, email, context):
        """Render allauth's email in the portal's layout and queue it in the outbox."""
        from engagement.emails import RenderedEmail, email_queue_rendered

        request = allauth_context.request
        limit = email_limit(template_prefix, email)
        if limit and throttles.allow(request, limit):
            # The forms check this budget first and tell the person; this is the backstop.
            logger.info("Not sending %s: this address's hourly cap is reached.", template_prefix)
            return
        # allauth builds these from the request's host; every email the portal sends links to
        # SITE_URL, as the outbox's do.
        context = {
            "request": request,
            "email": email,
            "current_site": get_current_site(request),
            "site_url": settings.SITE_URL,
            **context,
            **{key: on_site(context[key]) for key in EMAIL_LINKS if context.get(key)},
        }
        message = self.render_mail(template_prefix, email, context)
        html = next(
            (body for body, mime in getattr(message, "alternatives", []) if mime == "text/html"),
            None,
        )
        rendered = RenderedEmail(
            subject=" ".join(message.subject.split())[:250],
            body_text=message.body,
            body_html=html
            or render_to_string(
                "emails/account-body.html", {"subject": message.subject, "body": message.body}
            ),
        )
        email_queue_rendered(
            to=email, email=rendered, contains_secret=template_prefix in SECRET_EMAILS
        )
