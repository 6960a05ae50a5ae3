"""Where each person lands after signing in: the screen they work in.

Officers, specialists, editors and administrators (staff) work in the admin; Co-ordinating Group
and Partnership members in /partnership/; business owners on /my/. A safe ?next= still wins:
allauth reads it before asking the adapter.
"""

from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


def home_screen_url(user) -> str:
    """The screen a signed-in person starts from."""
    from escalation.selectors import member_scope  # escalation builds on engagement

    if user.is_staff:
        return reverse("admin:index")
    if member_scope(user).is_member:
        return reverse("escalation:queue")
    return reverse("engagement:my_dashboard")


class AccountAdapter(DefaultAccountAdapter):
    def get_login_redirect_url(self, request):
        return home_screen_url(request.user)
