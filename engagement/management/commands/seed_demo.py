import importlib

from django.conf import settings
from django.core.management.base import CommandError
from django.db import transaction

from dorset_bcp.commands import PoliteCommand

DEFAULT_PASSWORD = "dorset-demo-2026"  # noqa: S105 - the documented demo password
APPS_WITH_DEMO_DATA = ["engagement", "escalation", "resources"]


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
                try:
                    module = importlib.import_module(f"{app}.demo")
                except ModuleNotFoundError as exc:
                    if exc.name != f"{app}.demo":
                        raise  # a broken import inside a demo module must not pass silently
                    continue
                for line in module.seed(password=password):
                    self.stdout.write(f"{app}: {line}")
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
