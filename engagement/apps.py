from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "engagement"
    verbose_name = "Businesses and concerns"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from dorset_bcp.middleware import on_login

        # Every sign-in, whichever door (allauth, the admin, a test's force_login), starts
        # the session's idle and absolute clocks (dorset_bcp.middleware.SessionPolicyMiddleware).
        user_logged_in.connect(on_login, dispatch_uid="engagement.session_clocks")

        from allauth.mfa.signals import authenticator_added

        from dorset_bcp.two_factor import on_authenticator_added

        # Setting up an authenticator app takes a code from it: that session has passed the
        # second sign-in step (dorset_bcp.two_factor.TwoFactorMiddleware).
        authenticator_added.connect(on_authenticator_added, dispatch_uid="engagement.two_factor")
