"""Reads for the escalation chain: who owns an item, who may see it, who hears about it, and
what the review area lists about it (the queue itself is escalation.review).

The partnership review area (/partnership/) reaches every item through these, so the scoping
rules live in one place:

- a Co-ordinating Group member sees the items of the NPT areas their group covers;
- a Partnership member (or its chair) sees the whole county;
- "in scope" means an item that is, or has been, above tier 1: a concern the NPT still holds
  and never escalated is the NPT's business, not the group's.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404
from django.urls import reverse

from engagement.models import (
    Concern,
    ConcernCategory,
    ConcernEvent,
    ConcernUpdate,
    NPTArea,
    NPTOfficer,
    User,
)

from .models import (
    Action,
    CoordinatingGroup,
    GroupMembership,
    Partnership,
    PartnershipMembership,
    Theme,
)

# Concern: escalated (tier 2+) at some time. A returned concern drops to tier 1 but stays in
# the scope of the body that returned it, so they can follow what happened next.
_EVER_ESCALATED = Exists(
    ConcernEvent.objects.filter(concern=OuterRef("pk"), kind=ConcernEvent.Kind.ESCALATED)
)

CONCERN_RELATED = ("business", "category", "npt_area", "npt_area__group", "assigned_officer")
THEME_RELATED = ("category", "npt_area", "npt_area__group", "outcome")


@dataclass(frozen=True)
class Body:
    """The body that owns an item at its tier, for display and for notifications."""

    tier: int
    kind: str  # "npt", "group" or "partnership"
    name: str
    obj: NPTArea | CoordinatingGroup | Partnership | None

    def __str__(self) -> str:
        return self.name


@dataclass(frozen=True)
class MemberScope:
    """What a person may see above tier 1; computed once per request."""

    group_ids: frozenset[int]
    is_partnership: bool

    @property
    def is_member(self) -> bool:
        return self.is_partnership or bool(self.group_ids)

    @property
    def tiers(self) -> tuple[int, ...]:
        """The tiers whose queue this person works."""
        tiers = []
        if self.group_ids:
            tiers.append(Concern.Tier.GROUP)
        if self.is_partnership:
            tiers.append(Concern.Tier.PARTNERSHIP)
        return tuple(tiers)


def member_scope(user: User) -> MemberScope:
    """The groups a person belongs to (or chairs) and whether they are in the Partnership."""
    if not user.is_authenticated or not user.is_active:
        return MemberScope(group_ids=frozenset(), is_partnership=False)
    cached: MemberScope | None = getattr(user, "_escalation_scope", None)
    if cached is not None:
        return cached
    group_ids = frozenset(
        CoordinatingGroup.objects.filter(Q(memberships__user=user) | Q(chair=user))
        .values_list("pk", flat=True)
        .distinct()
    )
    is_partnership = Partnership.objects.filter(Q(memberships__user=user) | Q(chair=user)).exists()
    scope = MemberScope(group_ids=group_ids, is_partnership=is_partnership)
    user._escalation_scope = scope  # type: ignore[attr-defined] # read once a request
    return scope


def area_q(scope: MemberScope, prefix: str = "") -> Q:
    """The NPT areas in a person's scope, as a filter on rows with an `npt_area`: the county
    for Partnership members, their groups' areas for a group's, none for anyone else."""
    if scope.is_partnership:
        return Q()
    if scope.group_ids:
        return Q(**{f"{prefix}npt_area__group__in": scope.group_ids})
    return Q(pk__in=[])


def areas_in_scope(scope: MemberScope) -> QuerySet[NPTArea]:
    """The NPT areas themselves, by name (see area_q)."""
    if scope.is_partnership:
        return NPTArea.objects.order_by("name")
    return NPTArea.objects.filter(group__in=scope.group_ids).order_by("name")


def concerns_in_scope(user: User) -> QuerySet[Concern]:
    """Concerns a group or partnership member may open: above tier 1 now or at some time."""
    scope = member_scope(user)
    if not scope.is_member:
        return Concern.objects.none()
    return (
        Concern.objects.filter(area_q(scope))
        .filter(Q(tier__gte=Concern.Tier.GROUP) | _EVER_ESCALATED)
        .select_related(*CONCERN_RELATED)
    )


def concerns_above_npt_in_scope(user: User) -> QuerySet[Concern]:
    """The concerns of concerns_in_scope that are above tier 1 now (the queues' rows).

    Every one of them is in scope by its tier alone, so this leaves out the question of past
    escalations, which PostgreSQL can only answer by probing the events of each row.
    """
    scope = member_scope(user)
    if not scope.is_member:
        return Concern.objects.none()
    return (
        Concern.objects.filter(area_q(scope))
        .filter(tier__gte=Concern.Tier.GROUP)
        .select_related(*CONCERN_RELATED)
    )


def themes_in_scope(user: User) -> QuerySet[Theme]:
    """Themes a group or partnership member may open (all tiers: a theme is born above tier 1)."""
    scope = member_scope(user)
    if not scope.is_member:
        return Theme.objects.none()
    return Theme.objects.filter(area_q(scope)).select_related(*THEME_RELATED)


def own_queue_q(scope: MemberScope) -> Q:
    """The items waiting for this person: their groups' at tier 2, the county's at tier 3 for
    Partnership members. The same filter serves concerns and themes."""
    q = Q(pk__in=[])
    if scope.group_ids:
        q |= Q(tier=Concern.Tier.GROUP, npt_area__group__in=scope.group_ids)
    if scope.is_partnership:
        q |= Q(tier=Concern.Tier.PARTNERSHIP)
    return q


def item_for_user(user: User, kind: str, pk: int) -> Concern | Theme:
    """The concern or theme with this id if the person may see it, else 404."""
    queryset: QuerySet[Concern] | QuerySet[Theme]
    if kind == "concern":
        queryset = concerns_in_scope(user)
    elif kind == "theme":
        queryset = themes_in_scope(user)
    else:
        raise Http404("No such item.")
    item = queryset.filter(pk=pk).first()
    if item is None:
        raise Http404("No such item.")
    return item


def user_can_act(user: User, item: Concern | Theme) -> bool:
    """May this person escalate, return, resolve or decide on the item right now?

    Only the body that owns it at its tier acts: the group at tier 2, the Partnership at 3.
    """
    if not item.is_open:
        return False
    scope = member_scope(user)
    if item.tier == Concern.Tier.PARTNERSHIP:
        return scope.is_partnership
    if item.tier == Concern.Tier.GROUP:
        return item.npt_area.group_id in scope.group_ids
    return False


def item_events(item: Concern | Theme) -> QuerySet[Any]:
    """The item's full timeline, oldest first, with who did what."""
    return item.events.select_related("actor").order_by("created_at", "pk")


def item_decisions(item: Concern | Theme) -> QuerySet[Any]:
    """The item's decisions, each with its actions (prefetched) and their owners."""
    from django.db.models import Prefetch

    return item.decisions.select_related("made_by").prefetch_related(
        Prefetch("actions", queryset=Action.objects.select_related("owner", "completed_by"))
    )


def owning_body(item: Concern | Theme, *, partnership: Partnership | None = None) -> Body:
    """Who holds the item at its tier. Load npt_area__group first to avoid a query."""
    area = item.npt_area
    if item.tier == Concern.Tier.PARTNERSHIP:
        partnership = partnership or Partnership.load()
        return Body(item.tier, "partnership", partnership.name, partnership)
    if item.tier == Concern.Tier.GROUP:
        group = area.group if area.group_id else None
        if group is None:
            return Body(item.tier, "group", f"No Co-ordinating Group covers {area}", None)
        return Body(item.tier, "group", group.name, group)
    return Body(item.tier, "npt", f"{area} Neighbourhood Policing Team", area)


# Who holds a concern, in the business's words: the moved-on emails, the messages after a reply
# and the concern's page all say it the same way.


def held_by_in_words(
    *, tier: int, area: str, group: str | None, partnership: str
) -> tuple[str, str]:
    """Who holds a concern at a tier, in a business's words: (name, name with what it is)."""
    if tier == Concern.Tier.PARTNERSHIP:
        name = f"the {partnership}" if partnership else "the Business Safety Partnership"
        return name, f"{name}, which covers all of Dorset"
    if tier == Concern.Tier.GROUP:
        name = f"the {group}" if group else "the Business Co-ordinating Group for your area"
        return name, f"{name}, which brings police, councils and businesses together"
    name = f"the {area} Neighbourhood Policing Team"
    return name, name


def concern_held_by(concern: Concern) -> str:
    """Who holds the concern now, in its business's words. Load npt_area__group first."""
    body = owning_body(concern)
    return held_by_in_words(
        tier=concern.tier,
        area=concern.npt_area.name,
        group=body.name if body.kind == "group" and body.obj is not None else None,
        partnership=body.name if body.kind == "partnership" else "",
    )[0]


# Who hears about an item: the body's members, or its shared mailbox when it has none.


def _active_emails(users: Iterable[User]) -> list[str]:
    return sorted({u.email for u in users if u.is_active and u.email})


def npt_recipients(area_ids: Iterable[int]) -> dict[int, list[str]]:
    """Officers of each NPT area, or the area's mailbox when nobody is posted there."""
    found: dict[int, set[str]] = {area_id: set() for area_id in area_ids}
    for posting in NPTOfficer.objects.filter(area_id__in=area_ids).select_related("user"):
        if posting.user.is_active:
            found[posting.area_id].add(posting.user.email)
    missing = [area_id for area_id, emails in found.items() if not emails]
    if missing:
        for area_id, email in NPTArea.objects.filter(pk__in=missing).values_list("pk", "email"):
            if email:
                found[area_id].add(email)
    return {area_id: sorted(emails) for area_id, emails in found.items()}


def group_recipients(group_ids: Iterable[int]) -> dict[int, list[str]]:
    """Members of each group, or the group's mailbox when it has no members."""
    found: dict[int, set[str]] = {group_id: set() for group_id in group_ids}
    for membership in GroupMembership.objects.filter(group_id__in=group_ids).select_related("user"):
        if membership.user.is_active:
            found[membership.group_id].add(membership.user.email)
    missing = [group_id for group_id, emails in found.items() if not emails]
    if missing:
        rows = CoordinatingGroup.objects.filter(pk__in=missing).values_list("pk", "email")
        for group_id, email in rows:
            if email:
                found[group_id].add(email)
    return {group_id: sorted(emails) for group_id, emails in found.items()}


def partnership_recipients(partnership: Partnership | None = None) -> list[str]:
    """Partnership members, or its mailbox when it has none."""
    partnership = partnership or Partnership.load()
    memberships = PartnershipMembership.objects.filter(partnership=partnership).select_related(
        "user"
    )
    emails = _active_emails(m.user for m in memberships)
    if not emails and partnership.email:
        emails = [partnership.email]
    return emails


def chair_recipients(partnership: Partnership | None = None) -> list[str]:
    """The Partnership chair; without one, its mailbox; without that, its members."""
    partnership = partnership or Partnership.load()
    chair = partnership.chair if partnership.chair_id else None
    if chair is not None and chair.is_active:
        return [chair.email]
    if partnership.email:
        return [partnership.email]
    return partnership_recipients(partnership)


def item_owner_emails(item: Concern | Theme) -> list[str]:
    """Everyone who owns the item at its tier (for a single item's notification)."""
    return item_holder(item).emails


@dataclass(frozen=True)
class Holder:
    """The body holding an item now, the people who hear about it, and where they open it."""

    body: Body
    emails: list[str]
    url: str  # path on the portal: the admin for the NPT, the review area above it

    @property
    def is_police(self) -> bool:
        return self.body.kind == "npt"


def item_holder(item: Concern | Theme) -> Holder:
    """Who holds the item at this moment and who hears what the business says about it.

    Tier 1: the assigned officer, else the NPT's officers (or its mailbox); tier 2: the group's
    members (its mailbox, or the Partnership chair when no group covers the NPT); tier 3: the
    Partnership's members. Read it inside the transaction that locked the item, so a move that
    commits first is the one whose holder hears.
    """
    partnership = Partnership.load() if item.tier == Concern.Tier.PARTNERSHIP else None
    body = owning_body(item, partnership=partnership)
    kind = item._meta.model_name  # "concern" or "theme", as in the URLs
    if item.tier == Concern.Tier.PARTNERSHIP:
        emails = partnership_recipients(partnership)
    elif item.tier == Concern.Tier.GROUP:
        if not item.npt_area.group_id:
            # Misconfigured (no group for the NPT): the chair makes sure it is not lost.
            emails = chair_recipients()
        else:
            emails = group_recipients([item.npt_area.group_id])[item.npt_area.group_id]
    else:
        officer = getattr(item, "assigned_officer", None)
        if officer is not None and officer.is_active:
            emails = [officer.email]
        else:
            emails = npt_recipients([item.npt_area_id])[item.npt_area_id]
    if item.tier == Concern.Tier.NPT:
        app = "escalation" if kind == "theme" else "engagement"
        url = reverse(f"admin:{app}_{kind}_change", args=[item.pk])
    else:
        url = reverse("escalation:item", args=[kind, item.pk])
    return Holder(body=body, emails=emails, url=url)


# The review area's lists and the item page.


def categories() -> QuerySet[ConcernCategory]:
    return ConcernCategory.objects.order_by("position", "name")


def linked_concerns(theme: Theme) -> QuerySet[Concern]:
    """A theme's concerns with what partners need (never the reporters' contact details)."""
    return (
        # A guest's report linked when sent shows once the guest confirms it.
        theme.concerns.exclude(status=Concern.Status.UNCONFIRMED)
        .select_related("business", "category")
        .only(
            "pk",
            "reference",
            "status",
            "created_at",
            "occurred_on",
            "description",
            "business__name",
            "business__town",
            "business__sector",
            "category__name",
        )
        .order_by("created_at", "pk")
    )


def public_threads(concern_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """What each concern's business and police said to each other, oldest first, in one query.

    The business's replies and answers and the public updates and questions it was sent; never
    an internal note. The business is named, never the person who wrote (as on the timeline).
    """
    threads: dict[int, list[dict[str, Any]]] = {pk: [] for pk in concern_ids}
    updates = (
        ConcernUpdate.objects.filter(
            concern_id__in=concern_ids, kind__in=ConcernUpdate.PUBLIC_KINDS
        )
        .select_related("author")
        .order_by("created_at", "pk")
    )
    for update in updates:
        if update.kind == ConcernUpdate.Kind.REPLY:
            who = "The business"
        elif update.author is not None:
            who = update.author.get_full_name() or "The police"
        else:
            who = "The police"
        threads[update.concern_id].append({"update": update, "who": who})
    return threads


def themes_of(concern: Concern, user: User) -> QuerySet[Theme]:
    """The themes in the person's scope that link this concern."""
    return themes_in_scope(user).filter(links__concern=concern).order_by("-created_at")


def action_for_item(item: Concern | Theme, pk: int) -> Action:
    """The action with this id on one of the item's decisions, or Action.DoesNotExist."""
    field = f"decision__{item._meta.model_name}"  # Decision.concern or Decision.theme
    return Action.objects.select_related("decision", "owner").get(pk=pk, **{field: item})
