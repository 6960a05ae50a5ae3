"""How sign-in treats people: where each lands, and the links in allauth's emails.

Officers, specialists, editors and administrators (staff) work in the admin; Co-ordinating Group
and Partnership members in /partnership/; business owners on /my/. A safe ?next= still wins:
allauth reads it before asking the adapter.
"""

from urllib.parse import urlsplit

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.urls import reverse

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


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        return home_screen_url(request.user)

    def send_mail(self, template_prefix, email, context):
        # allauth builds these from the request's host; every email the portal sends links to
        # SITE_URL, as the outbox's do.
        context = {
            **context,
            **{key: on_site(context[key]) for key in EMAIL_LINKS if context.get(key)},
        }
        return super().send_mail(template_prefix, email, context)
