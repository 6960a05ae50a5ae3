"""Reads for the resource library, Watch schemes, seminars and contacts, scoped to the person."""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet

from engagement.models import Concern, NPTArea, User
from escalation.models import CoordinatingGroup, Partnership

from .models import (
    Alert,
    AlertDelivery,
    Booking,
    Resource,
    ResourceSector,
    SchemeMembership,
    Seminar,
    SpecialistContact,
    Topic,
    WatchScheme,
)

Person = User | AnonymousUser

ADVICE_LIMIT = 5


# Resources


def resources_visible_to(user: Person) -> QuerySet[Resource]:
    """Published resources; editors also see drafts (to preview them before publishing)."""
    resources = Resource.objects.all()
    if user.is_authenticated and user.has_perm("resources.change_resource"):
        return resources
    return resources.filter(status=Resource.Status.PUBLISHED)


def resource_search(
    *, user: Person, query: str = "", topic: Topic | None = None, sector: str = ""
) -> QuerySet[Resource]:
    """The resources a person may see, filtered by free text, topic and sector."""
    resources = resources_visible_to(user).prefetch_related("topics", "sector_tags")
    for term in query.split()[:8]:
        resources = resources.filter(
            Q(title__icontains=term)
            | Q(summary__icontains=term)
            | Q(body__icontains=term)
            | Q(publisher__icontains=term)
        )
    if topic is not None:
        resources = resources.filter(
            Exists(
                Resource.topics.through.objects.filter(
                    resource_id=OuterRef("pk"), topic_id=topic.pk
                )
            )
        )
    if sector:
        # Resources tagged with no sector are for every business, so they match every sector.
        resources = resources.filter(
            Exists(ResourceSector.objects.filter(resource=OuterRef("pk"), sector=sector))
            | ~Exists(ResourceSector.objects.filter(resource=OuterRef("pk")))
        )
    return resources


# Advice that fits a concern


@dataclass(frozen=True)
class Advice:
    resources: list[Resource]  # each annotated with is_for_sector
    contacts: list[SpecialistContact]


def specialist_teams_for(concern: Concern) -> list[SpecialistContact.Team]:
    """Which specialist teams a concern calls for, by its category and its business."""
    teams: list[SpecialistContact.Team] = []
    if concern.category.is_rural or concern.business.is_rural:
        teams.append(SpecialistContact.Team.RURAL)
    if concern.category.is_cyber:
        teams.append(SpecialistContact.Team.CYBER)
    return teams


def advice_for_concern(concern: Concern) -> Advice:
    """Published resources linked to the concern's category that suit its business's sector,
    sector-specific ones first, and the specialist contacts that apply. Two queries at most."""
    sector = concern.business.sector
    for_sector = Exists(ResourceSector.objects.filter(resource=OuterRef("pk"), sector=sector))
    any_sector = ~Exists(ResourceSector.objects.filter(resource=OuterRef("pk")))
    resources: list[Resource] = list(
        Resource.objects.filter(status=Resource.Status.PUBLISHED, categories=concern.category_id)
        .filter(for_sector | any_sector)
        .annotate(is_for_sector=for_sector)
        .order_by("-is_for_sector", "position", "title")[:ADVICE_LIMIT]
    )
    teams = specialist_teams_for(concern)
    contacts = (
        list(SpecialistContact.objects.filter(is_active=True, team__in=teams)) if teams else []
    )
    return Advice(resources=resources, contacts=contacts)


# Watch schemes


def is_scheme_coordinator(user: Person, scheme: WatchScheme) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    return scheme.coordinators.filter(pk=user.pk).exists()


def can_manage_scheme(user: Person, scheme: WatchScheme) -> bool:
    """Coordinators of the scheme, and editors, decide applications."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm("resources.change_schememembership") or is_scheme_coordinator(user, scheme)


def can_post_alert(user: Person, scheme: WatchScheme) -> bool:
    """Coordinators of the scheme, and editors, post alerts."""
    if not user.is_authenticated or not user.is_active:
        return False
    return user.has_perm("resources.add_alert") or is_scheme_coordinator(user, scheme)


def can_read_alerts(user: Person, scheme: WatchScheme) -> bool:
    """Members (people of an approved business), the coordinators and editors read alerts."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.has_perm("resources.view_alert") or is_scheme_coordinator(user, scheme):
        return True
    return SchemeMembership.objects.filter(
        scheme=scheme,
        status=SchemeMembership.Status.APPROVED,
        business__memberships__user=user,
    ).exists()


def memberships_of_user(
    user: User, scheme: WatchScheme | None = None
) -> QuerySet[SchemeMembership]:
    """Open and past memberships of the businesses the person belongs to."""
    memberships = SchemeMembership.objects.filter(business__memberships__user=user).select_related(
        "business", "scheme", "contact"
    )
    if scheme is not None:
        memberships = memberships.filter(scheme=scheme)
    return memberships


def alerts_for_members(scheme: WatchScheme) -> QuerySet[Alert]:
    return scheme.alerts.select_related("posted_by")


def alert_sending(alert: Alert) -> dict[str, int]:
    """How many of the alert's at-once emails are queued and how many have gone, in one query."""
    return alert.deliveries.filter(channel=AlertDelivery.Channel.IMMEDIATE).aggregate(
        queued=Count("pk"), sent=Count("pk", filter=Q(email__sent_at__isnull=False))
    )


# Seminars


def seminars_upcoming(*, now: datetime.datetime) -> QuerySet[Seminar]:
    """Published and cancelled seminars still to come, with their places taken."""
    return (
        Seminar.objects.filter(
            status__in=[Seminar.Status.PUBLISHED, Seminar.Status.CANCELLED], ends_at__gt=now
        )
        .annotate(
            places_taken=Count("bookings", filter=Q(bookings__status=Booking.Status.CONFIRMED))
        )
        .order_by("starts_at", "pk")
    )


def seminars_visible_to(user: Person) -> QuerySet[Seminar]:
    """Published and cancelled seminars; editors also see drafts."""
    seminars = Seminar.objects.all()
    if user.is_authenticated and user.has_perm("resources.change_seminar"):
        return seminars
    return seminars.exclude(status=Seminar.Status.DRAFT)


def bookings_of_user(user: User) -> QuerySet[Booking]:
    return Booking.objects.filter(user=user).select_related("seminar", "business")


def waiting_position(booking: Booking) -> int | None:
    """1 for the first person on the waiting list; None for anyone not waiting."""
    if booking.status != Booking.Status.WAITING:
        return None
    ahead = Booking.objects.filter(
        seminar_id=booking.seminar_id, status=Booking.Status.WAITING
    ).filter(
        Q(created_at__lt=booking.created_at) | Q(created_at=booking.created_at, pk__lt=booking.pk)
    )
    return ahead.count() + 1


# Contacts


@dataclass(frozen=True)
class Contacts:
    areas: list[NPTArea]
    specialists: list[SpecialistContact]
    groups: list[CoordinatingGroup]
    partnerships: list[Partnership]


def contacts_directory() -> Contacts:
    """Every NPT with its postcode districts and group, the specialist teams, the Business
    Co-ordinating Groups and the Partnership. Fixed query count."""
    areas = list(NPTArea.objects.select_related("group").prefetch_related("districts"))
    specialists = list(SpecialistContact.objects.filter(is_active=True))
    groups = list(
        CoordinatingGroup.objects.order_by("name").prefetch_related(
            Prefetch("npt_areas", queryset=NPTArea.objects.order_by("name"))
        )
    )
    partnerships = list(Partnership.objects.order_by("name"))
    return Contacts(areas=areas, specialists=specialists, groups=groups, partnerships=partnerships)
