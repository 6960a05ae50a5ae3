from dorset_bcp.commands import PoliteCommand
from escalation import services


class Command(PoliteCommand):
    help = (
        "Run the escalation sweep once (the same code as the periodic task): move overdue "
        "items up a tier, flag overdue items at the top to the chair, warn owners, notify."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=services.SWEEP_BATCH_SIZE,
            help=f"Rows per transaction (default {services.SWEEP_BATCH_SIZE}).",
        )

    def handle(self, *args, batch_size, **options):
        report = services.sweep_run(batch_size=max(batch_size, 1), trigger="command")
        for line in report.lines():
            self.stdout.write(line)
        told = services.sweep_notify_businesses()
        self.stdout.write(f"Told {told} business contact(s) that their concern moved.")
        if not report.did_anything:
            self.stdout.write(self.style.SUCCESS("Nothing was due."))
