"""Reads of engagement's records shared by the apps."""

from django.db.models import QuerySet

from .models import Business, User


def businesses_of_user(user: User) -> QuerySet[Business]:
    """The businesses this person belongs to (any role), unordered and unjoined: callers add
    the ordering and related rows their page needs."""
    return Business.objects.filter(memberships__user=user)
