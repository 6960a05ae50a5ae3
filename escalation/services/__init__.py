"""Every write of the escalation chain: moves, decisions, themes and the automatic sweep.

One module per sub-domain: items (what concerns and themes share), moves, decisions, sweep,
notifications and themes. The names below are the package's public surface, so callers
outside escalation keep writing `from escalation import services`.

An *item* is a concern (engagement.Concern) or a theme (escalation.Theme). Both carry a tier,
deadlines at that tier from DeadlinePolicy, warning and flag timestamps, and an event table with
the same columns, so one set of services moves either.

Concurrency: a manual move locks its row (select_for_update) and checks it is still open and at
the tier the person saw. The sweep claims rows with FOR UPDATE SKIP LOCKED inside the UPDATE
that moves them, so an officer who is resolving an item holds its lock and the sweep passes it
by, and a row resolved a moment earlier no longer matches the re-checked WHERE: the resolution
always wins. Two sweeps at once take disjoint rows. Each batch writes, in the same statement,
a tally per owner (SweepTally) and adds its moves to the run's counters. Notifications are built
from the tallies not yet told, claimed under row locks (SweepTally.notified_at), and wait while
another run is still moving items: two runs at once tell each body once, and no move twice.
The businesses hear the same way, from SweepBusinessNotice rows the batch writes per contact
address: one email per address for every untold move (sweep_notify_businesses, which the
periodic task runs after the sweep). A manual move emails its business with the move.
"""

from .decisions import (
    ActionSpec,
    DecisionFormUsed,
    action_complete,
    decision_record,
    decision_record_once,
)
from .items import (
    RULE_COMMON_THEME,
    RULE_FIRST_RESPONSE_WARNING,
    RULE_OVERDUE,
    RULE_OVERDUE_AT_TOP,
    RULE_RESOLUTION_WARNING,
    TOP_TIER,
)
from .moves import item_escalate, item_resolve, item_return
from .notifications import (
    NOTIFY_BUSINESSES_BATCH,
    NOTIFY_BUSINESSES_BUDGET,
    NOTIFY_LIST_LIMIT,
    SWEEP_STALE_AFTER,
    sweep_notify_businesses,
    sweep_notify_pending,
)
from .sweep import SWEEP_BATCH_SIZE, SweepRaced, SweepReport, sweep_run
from .themes import ThemeReport, theme_detect, theme_link_concern, theme_resolve

__all__ = [
    "NOTIFY_BUSINESSES_BATCH",
    "NOTIFY_BUSINESSES_BUDGET",
    "NOTIFY_LIST_LIMIT",
    "RULE_COMMON_THEME",
    "RULE_FIRST_RESPONSE_WARNING",
    "RULE_OVERDUE",
    "RULE_OVERDUE_AT_TOP",
    "RULE_RESOLUTION_WARNING",
    "SWEEP_BATCH_SIZE",
    "SWEEP_STALE_AFTER",
    "TOP_TIER",
    "ActionSpec",
    "DecisionFormUsed",
    "SweepRaced",
    "SweepReport",
    "ThemeReport",
    "action_complete",
    "decision_record",
    "decision_record_once",
    "item_escalate",
    "item_resolve",
    "item_return",
    "sweep_notify_businesses",
    "sweep_notify_pending",
    "sweep_run",
    "theme_detect",
    "theme_link_concern",
    "theme_resolve",
]
