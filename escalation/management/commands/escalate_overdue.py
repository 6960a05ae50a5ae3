from dorset_bcp.commands import PoliteCommand
from escalation.services import notifications, sweep


class Command(PoliteCommand):
    help = (
        "Run the escalation sweep once (the same code as the periodic task): move overdue "
        "items up a tier, flag overdue items at the top to the chair, warn owners, notify."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size",
            type=int,
            default=sweep.SWEEP_BATCH_SIZE,
            help=f"Rows per transaction (default {sweep.SWEEP_BATCH_SIZE}).",
        )

    def handle(self, *args, batch_size, **options):
        report = sweep.sweep_run(batch_size=max(batch_size, 1), trigger="command")
        for line in report.lines():
            self.stdout.write(line)
        told = notifications.sweep_notify_businesses()
        self.stdout.write(f"Told {told} business contact(s) that their concern moved.")
        if not report.did_anything:
            self.stdout.write(self.style.SUCCESS("Nothing was due."))
