from dorset_bcp.commands import PoliteCommand
from escalation.models import ThemeSettings
from escalation.services import themes


class Command(PoliteCommand):
    help = (
        "Look for common themes once (the same code as the periodic task): concerns of one "
        "category in one NPT area from enough different businesses form or extend a theme."
    )

    def handle(self, *args, **options):
        settings_row = ThemeSettings.load()
        self.stdout.write(
            f"Looking for {settings_row.min_businesses} or more businesses with concerns of the "
            f"same category in the same NPT area within {settings_row.window_days} days."
        )
        report = themes.theme_detect(trigger="command")
        for line in report.lines():
            self.stdout.write(line)
