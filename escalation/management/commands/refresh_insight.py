from dorset_bcp.commands import PoliteCommand
from escalation import rollup


class Command(PoliteCommand):
    help = (
        "Recount the insight figures once (the same code as the periodic task): the days whose "
        "concerns changed since the last count, or with --full every day from scratch."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--full",
            action="store_true",
            help="Rebuild every day from scratch (a minute or two at a million concerns).",
        )

    def handle(self, *args, **options):
        report = rollup.insight_refresh(full=options["full"])
        for line in report.lines():
            self.stdout.write(line)
