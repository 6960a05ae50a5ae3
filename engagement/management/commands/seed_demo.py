import importlib

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from dorset_bcp.commands import PoliteCommand

DEFAULT_PASSWORD = "dorset-demo-2026"  # noqa: S105 - the documented demo password
APPS_WITH_DEMO_DATA = ["engagement", "escalation", "resources"]
DEMO_DOMAIN = "@demo.test"


class Command(PoliteCommand):
    help = "Load the demo data and accounts. Safe to run again: nothing is duplicated."

    def add_arguments(self, parser):
        parser.add_argument(
            "--password",
            default=DEFAULT_PASSWORD,
            help=f"Password for every demo account (default {DEFAULT_PASSWORD}).",
        )

    def handle(self, *args, password, **options):
        if settings.PRODUCTION:
            raise CommandError(
                "seed_demo creates demo accounts and is refused in production settings "
                "(DJANGO_PRODUCTION is on)."
            )
        if len(password) < 10:
            raise CommandError("Choose a demo password of at least 10 characters.")
        with transaction.atomic():
            for app in APPS_WITH_DEMO_DATA:
                module = importlib.import_module(f"{app}.demo")
                for line in module.seed(password=password):
                    self.stdout.write(f"{app}: {line}")
            two_factor_lines = self.seed_two_factor()
        for line in two_factor_lines:
            self.stdout.write(line)
        self.stdout.write(
            self.style.SUCCESS(
                "Demo data is ready. Accounts: "
                + ", ".join(
                    f"{name}@demo.test"
                    for name in [
                        "owner",
                        "npt",
                        "group",
                        "partnership",
                        "editor",
                        "specialist",
                        "cyber",
                        "admin",
                    ]
                )
            )
        )

    def seed_two_factor(self) -> list[str]:
        """The demo accounts that must use two-step sign-in get one documented authenticator
        secret, so anyone running the demo can sign in as them; only with DEBUG on."""
        from dorset_bcp.two_factor import (
            DEMO_TOTP_SECRET,
            demo_authenticator_ensure,
            needs_second_factor,
            totp_code,
        )
        from engagement.models import User

        users = [
            user
            for user in User.objects.filter(email__endswith=DEMO_DOMAIN).order_by("email")
            if needs_second_factor(user)
        ]
        if not settings.DEBUG:
            # A secret printed here and written in the README must never guard a real server.
            return [
                "two-step sign-in: DEBUG is off, so no demo authenticator was added; each "
                "demo account sets up its own at its first sign-in."
            ]
        for user in users:
            demo_authenticator_ensure(user=user)
        return [
            "two-step sign-in: "
            + ", ".join(user.email for user in users)
            + " ask for a code after the password.",
            f"  Add the key {DEMO_TOTP_SECRET} to any authenticator app (time-based, 6 digits, "
            f"30 seconds) and enter the code it shows. Now it is {totp_code(DEMO_TOTP_SECRET)}.",
        ]
