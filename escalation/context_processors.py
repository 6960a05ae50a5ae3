"""Whether to show the "Partnership" link, without a query on every page.

Membership is read once when a person signs in (user_logged_in) and kept in their session; the
review area refreshes it whenever it reads their scope, so a change shows at the next visit
there or the next sign-in. Access itself is always checked afresh by the views.
"""

from .selectors import MemberScope, member_scope

SESSION_KEY = "escalation_member"


def partnership_nav(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"partnership_nav": bool(request.session.get(SESSION_KEY, False))}


def remember_membership(request, scope: MemberScope) -> None:
    session = getattr(request, "session", None)
    if session is not None and session.get(SESSION_KEY) != scope.is_member:
        session[SESSION_KEY] = scope.is_member


def on_login(sender, request, user, **kwargs):
    """Receiver for django.contrib.auth.signals.user_logged_in (connected in apps.py)."""
    if request is not None:
        remember_membership(request, member_scope(user))
        # member_scope caches on the user object; this one outlives the request (a test's
        # force_login, say), so do not leave a scope on it that could go stale.
        vars(user).pop("_escalation_scope", None)
