"""Database patterns shared by the apps' services."""

from typing import TypeVar

from django.db import IntegrityError, models
from django.db.models import QuerySet

M = TypeVar("M", bound=models.Model)


def race_winner(rows: QuerySet[M], error: IntegrityError) -> M:
    """The row another request created a moment before this one hit the unique constraint.

    Called in `except IntegrityError as error:` around a create that checked first: the
    constraint decided the race, and the winner's row is the answer to both. Raises `error`
    again when no such row exists (the constraint broken was some other one).
    """
    winner = rows.first()
    if winner is None:
        raise error
    return winner
