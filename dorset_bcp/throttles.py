"""Throttles on the portal's own forms and pages, counted by allauth's rate limiter.

Every rate lives in settings.ACCOUNT_RATE_LIMITS beside allauth's own ("20/m/ip,3/h/key": so
many per period, per client address or per key), and is counted in the shared cache under
allauth's keys. A view that calls `allauth.core.ratelimit.consume(request, action=..., key=...)`
with one of these actions counts against the same budget as `allow` below.

The key is what is being protected: an account ("user:<pk>"), a guest's report
("concern:<pk>") or an email address (lower-cased). The client address comes from the
adapter (dorset_bcp.account_adapter.AccountAdapter.get_client_ip), which honours
X-Forwarded-For only behind the number of proxies set by DJANGO_TRUSTED_PROXY_COUNT.
"""

from dataclasses import dataclass

from allauth.core.exceptions import ImmediateHttpResponse

# The internal function, not allauth.core.ratelimit.consume: only it can count GET requests
# (a guest's private link is a GET); the cache keys and settings are the same.
from allauth.core.internal import ratelimit as _ratelimit
from allauth.core.ratelimit import respond_429


@dataclass(frozen=True)
class Limit:
    """One budget: an action named in ACCOUNT_RATE_LIMITS and, for "/key" rates, its key.
    Every rate of the action is counted at once ("20/m/ip,3/h/key": the address and the key)."""

    action: str
    key: str | None = None


def allow(request, *limits: Limit) -> Limit | None:
    """Count one use of every limit, or of none: the first limit already used up is returned
    (and nothing is counted), None when the request may go ahead."""
    refused = first_used_up(request, *limits)
    if refused is None:
        count(request, *limits)
    return refused


def first_used_up(request, *limits: Limit) -> Limit | None:
    """The first limit already used up, counting nothing: check before the work, `count`
    after it succeeds, so a form sent back for a typing error costs nothing."""
    return next((limit for limit in limits if not _consume(request, limit, dry_run=True)), None)


def count(request, *limits: Limit) -> None:
    """Count one use of each limit."""
    for limit in limits:
        _consume(request, limit)


def allow_or_429(request, *limits: Limit) -> None:
    """Count the limits, or stop the request with the "please wait" page (429.html)."""
    if allow(request, *limits):
        raise ImmediateHttpResponse(respond_429(request))


def check_or_429(request, *limits: Limit) -> None:
    """Stop the request with the "please wait" page if a limit is used up; count nothing."""
    if first_used_up(request, *limits):
        raise ImmediateHttpResponse(respond_429(request))


def used_up(request, limit: Limit) -> bool:
    """Whether the limit is used up, without counting a use."""
    return first_used_up(request, limit) is not None


def _consume(request, limit: Limit, *, dry_run: bool = False) -> bool:
    return bool(
        _ratelimit.consume(
            request,
            app="allauth.account",
            action=limit.action,
            key=limit.key.lower() if limit.key else None,
            dry_run=dry_run,
            limit_get=True,
        )
    )


def account_key(user) -> str:
    return f"user:{user.pk}"


def concern_key(concern) -> str:
    return f"concern:{concern.pk}"


# What a person reads when a limit stops them: what happened, that it is for their safety,
# and what to do now. Forms show these as errors and keep everything typed.
EMAIL_CAP = (
    "We have already sent several emails to this address in the last hour, so we will not "
    "send another for a while: this stops anyone using the portal to flood a mailbox. Please "
    "check your inbox and spam folder for the email we sent, or try again in an hour."
)
TOO_MANY = (
    "We have received a lot of these from your connection in a short time, so we have paused "
    "them for a while to keep the portal safe. Please wait a few minutes and send it again: "
    "what you typed is still here. In an emergency, call 999."
)
FILES_AGAIN = " Files are not kept: attach them again when you send it."

MESSAGES = {
    "report_email": EMAIL_CAP,
    "account_email": EMAIL_CAP,
}


def message_for(limit: Limit, *, with_files: bool = False) -> str:
    """The words for a person stopped by `limit`."""
    text = MESSAGES.get(limit.action, TOO_MANY)
    return text + FILES_AGAIN if with_files else text
