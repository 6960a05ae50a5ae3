from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "Escalation chain"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from .context_processors import on_login

        user_logged_in.connect(on_login, dispatch_uid="escalation.remember_membership")
