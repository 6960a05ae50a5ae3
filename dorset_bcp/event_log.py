"""Event rows (ConcernEvent, ThemeEvent, CommunityEvent, BusinessEvent) are the portal's audit
trail: on PostgreSQL a trigger refuses to UPDATE or DELETE them, whoever asks - a
QuerySet.update(), raw SQL, a cascade.

Two exceptions, both deliberate:

- Deleting a person leaves their events standing with no actor: an UPDATE that sets `actor_id`
  to NULL and changes nothing else is allowed (Django's on_delete=SET_NULL).
- Erasure: inside `event_erasure()` the transaction may change or delete event rows, as a
  purge or an account deletion must when the rows the events hang on go (a guest report nobody
  confirmed, a deleted person's bookings). It sets the transaction-local `portal.event_erasure`
  and logs why on the `dorset_bcp.audit` logger; `erase_with_events()` deletes through it and
  logs what went, table by table.

The paths that take events with them: `concern_purge_unconfirmed` (a guest report nobody
confirmed, and the business made for it) and `user_delete` (a person's bookings, a business
left with nobody). A business's own events never hold its name or address (they record only
that those changed), so removing those from a business kept for its concerns leaves its
events as they are, with one more saying they were removed.

The paths that anonymise events in place (the `detail` of a reporter's reopen or close
comment, or of an event naming the person) are `privacy.services.person_erase` (at an
account's deletion) and the retention schedule's anonymisation of closed concerns; each goes
through `event_erasure()`.
The admin never cascades into events: it asks for delete permission on every row a deletion
would take, and the event admins grant none.

TRUNCATE is not guarded: nothing in the portal truncates an event table, and the test suite
empties tables with it between tests.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

audit_logger = logging.getLogger("dorset_bcp.audit")

SETTING = "portal.event_erasure"

# One function for the three tables: they share the `actor_id` column.
_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION portal_event_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('{SETTING}', true) = 'on' THEN
        IF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
            AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'Rows of % are immutable: % refused', TG_TABLE_NAME, TG_OP
        USING HINT = 'Events are written once. Erasure goes through '
                     'dorset_bcp.event_log.event_erasure().';
END
$$;
"""


def _trigger_name(table: str) -> str:
    return f"{table}_immutable"


def install_trigger(schema_editor, table: str) -> None:
    """Refuse UPDATE and DELETE on an event table (PostgreSQL only; a migration calls this)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    # No parameters: the function body has literal % signs for RAISE.
    schema_editor.execute(_FUNCTION_SQL, params=None)
    # Idempotent, as every data migration here is: the test suite runs them again after a flush.
    remove_trigger(schema_editor, table)
    schema_editor.execute(
        f"CREATE TRIGGER {_trigger_name(table)} BEFORE UPDATE OR DELETE ON {table} "
        "FOR EACH ROW EXECUTE FUNCTION portal_event_immutable()"
    )


def remove_trigger(schema_editor, table: str) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP TRIGGER IF EXISTS {_trigger_name(table)} ON {table}")


def _allow_erasure(on: bool) -> None:
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        # is_local: the setting dies with the transaction, or with the savepoint on an error.
        cursor.execute("SELECT set_config(%s, %s, true)", [SETTING, "on" if on else "off"])


@contextmanager
def event_erasure(*, reason: str) -> Iterator[None]:
    """Let the block change or delete event rows, which the database otherwise refuses; logged."""
    if not reason:
        raise ValueError("An erasure of events needs a reason for the audit log.")
    with transaction.atomic():
        _allow_erasure(True)
        yield
        # Only the block: whatever the transaction does next is guarded again.
        _allow_erasure(False)
    audit_logger.warning("Event erasure allowed: %s", reason)


def erase_with_events(*, target, reason: str) -> dict[str, int]:
    """Delete a row or queryset whose cascade reaches event rows; log what went."""
    with event_erasure(reason=reason):
        _, deleted = target.delete()
    audit_logger.warning(
        "Deleted (%s): %s",
        reason,
        ", ".join(f"{label} {count}" for label, count in sorted(deleted.items())) or "nothing",
    )
    return deleted
