"""Middleware of the portal's own."""

import time
from dataclasses import dataclass

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import render
from django.template.defaultfilters import pluralize
from django.utils.cache import add_never_cache_headers


class RequestSizeLimitMiddleware:
    """Refuse a request whose declared body is larger than the portal could ever accept.

    Django reads multipart bodies as they arrive, holding what fits in memory and streaming the
    rest to disk, and only then can a form say a file is too big: a 60 MB post was received and
    parsed before it was refused. The largest acceptable request is known from the attachment
    rules (REQUEST_MAX_BYTES), so anything declaring more is answered with 413 from its
    Content-Length alone, before a byte of the body is read.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0  # as Django reads it: no body
        if declared > settings.REQUEST_MAX_BYTES:
            return render(
                request,
                "413.html",
                {
                    "max_files": settings.ATTACHMENT_MAX_FILES,
                    "max_file_mb": settings.ATTACHMENT_MAX_BYTES // (1024 * 1024),
                    "sent_mb": declared // (1024 * 1024),
                },
                status=413,
            )
        return self.get_response(request)


# Powerful browser features no page of the portal uses, switched off for every page and for
# anything an attacker might manage to embed.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "payment",
        "usb",
        "interest-cohort",
        "browsing-topics",
    )
)
# Pages reached by a private link show a guest their report without an account.
PRIVATE_LINK_PREFIXES = ("/report/track/",)


class PrivacyHeadersMiddleware:
    """Permissions-Policy on every response; no-store on everything that may show personal data.

    A signed-in person's pages (/my/, their concerns and downloads, /partnership/, the admin)
    and a guest's private-link pages must not be kept by the browser's cache or a shared proxy,
    where the next person at a shared computer could open them from history."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        signed_in = user is not None and user.is_authenticated
        if signed_in or request.path.startswith(PRIVATE_LINK_PREFIXES):
            add_never_cache_headers(response)  # no-cache, no-store, must-revalidate, private
        return response


# What a signed-in session remembers about itself (seconds since the epoch, and the user's
# session version when it began).
SESSION_STARTED = "portal_session_started"
SESSION_LAST_SEEN = "portal_session_last_seen"
SESSION_VERSION = "portal_session_version"
# Activity is recorded at most once a minute, so a busy page does not write its session on
# every request; a person is signed out up to a minute before the idle limit, never after it.
LAST_SEEN_RESOLUTION = 60
# The stored session outlives the moment it ends (idle or absolute) by this much, so a person
# who comes back later that day is told why they were signed out rather than simply finding
# themselves signed out; the middleware refuses it all the same.
SIGNED_OUT_NOTICE_SECONDS = 12 * 60 * 60


@dataclass(frozen=True)
class SessionLimits:
    idle: int
    absolute: int


def session_limits(user, *, is_member: bool) -> SessionLimits:
    """Staff and Co-ordinating Group and Partnership members see other people's details and
    get the short limits; business owners, who see only their own, the long ones."""
    if user.is_staff or user.is_superuser or is_member:
        return SessionLimits(
            settings.SESSION_IDLE_STAFF_SECONDS, settings.SESSION_MAX_STAFF_SECONDS
        )
    return SessionLimits(settings.SESSION_IDLE_OWNER_SECONDS, settings.SESSION_MAX_OWNER_SECONDS)


def request_session_limits(request) -> SessionLimits:
    """The limits of the person signed in, without a query: membership is kept in the session
    at sign-in and refreshed by the review area (escalation.context_processors)."""
    from escalation.context_processors import SESSION_KEY as MEMBER_KEY

    return session_limits(request.user, is_member=bool(request.session.get(MEMBER_KEY)))


def duration_words(seconds: int) -> str:
    """A limit as a person reads it: "30 minutes", "2 hours", "14 days"."""
    if seconds % 86400 == 0:
        days = seconds // 86400
        return f"{days} day{pluralize(days)}"
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return f"{hours} hour{pluralize(hours)}"
    minutes = round(seconds / 60)
    return f"{minutes} minute{pluralize(minutes)}"


def session_record_activity(session, *, limits: SessionLimits, now: int) -> None:
    """Note activity now, and let the stored session and its cookie expire a while after the
    idle or absolute limit ends it, whichever is first (clearsessions then deletes it)."""
    session[SESSION_LAST_SEEN] = now
    ends_in = min(limits.idle, limits.absolute - (now - session[SESSION_STARTED]))
    session.set_expiry(max(0, ends_in) + SIGNED_OUT_NOTICE_SECONDS)


def session_begin(session, *, user, limits: SessionLimits, now: int) -> None:
    """Start the clocks of a session that has just been signed in."""
    session[SESSION_STARTED] = now
    session[SESSION_VERSION] = user.session_version
    session_record_activity(session, limits=limits, now=now)


def on_login(sender, request, user, **kwargs):
    """Receiver for user_logged_in (connected in engagement.apps): the clocks start now."""
    from escalation.selectors import member_scope  # escalation builds on engagement

    if request is None or not hasattr(request, "session"):
        return
    limits = session_limits(user, is_member=member_scope(user).is_member)
    # member_scope caches on the user object, which may outlive the request (force_login).
    vars(user).pop("_escalation_scope", None)
    session_begin(request.session, user=user, limits=limits, now=int(time.time()))
    request.session_limits_at_sign_in = limits


def session_keep_after_version_change(request) -> None:
    """After "Sign out everywhere": this session, under a new key, is the one that stays."""
    request.session.cycle_key()
    request.session[SESSION_VERSION] = request.user.session_version


class SessionPolicyMiddleware:
    """Signs a person out when idle too long, when signed in too long, or everywhere at once.

    Django's sessions last SESSION_COOKIE_AGE (14 days) whatever happens. Here each signed-in
    session records when it began and when it was last used; past the idle or absolute limit
    for the person (session_limits) it is ended and the next page says why. A session begun
    under an older session version of the user (they chose "Sign out everywhere" on another
    device) is ended the same way.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.user.is_authenticated:
            now = int(time.time())
            if SESSION_STARTED in request.session:
                self.enforce(request, now=now)
            else:  # signed in before this policy was deployed: its clocks start now
                session_begin(
                    request.session,
                    user=request.user,
                    limits=request_session_limits(request),
                    now=now,
                )
        response = self.get_response(request)
        limits = getattr(request, "session_limits_at_sign_in", None)
        if limits is not None:
            # Signed in by this request: allauth sets its own expiry after the sign-in signal,
            # so the policy's is set again on the way out.
            session_record_activity(request.session, limits=limits, now=int(time.time()))
        return response

    def enforce(self, request, *, now: int) -> None:
        session = request.session
        limits = request_session_limits(request)
        if session.get(SESSION_VERSION) != request.user.session_version:
            reason = (
                "You were signed out because you chose “Sign out everywhere else” "
                "on another device."
            )
        elif now - session[SESSION_STARTED] > limits.absolute:
            reason = (
                f"You were signed out because you signed in more than "
                f"{duration_words(limits.absolute)} ago."
            )
        elif now - session.get(SESSION_LAST_SEEN, 0) > limits.idle:
            reason = (
                "You were signed out because the portal was not used for "
                f"{duration_words(limits.idle)}."
            )
        else:
            if now - session[SESSION_LAST_SEEN] >= LAST_SEEN_RESOLUTION:
                session_record_activity(session, limits=limits, now=now)
            return
        logout(request)
        messages.info(request, f"{reason} Please sign in again.")
