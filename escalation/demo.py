"""Demo data for the chain: the two groups, the partnership's people, an escalation, a theme.

Runs after engagement.demo (seed_demo's order), inside its transaction; safe to run again.
"""

import datetime as dt
import uuid

from django.utils import timezone

from engagement import services as engagement_services
from engagement.demo import GEOGRAPHY
from engagement.models import Business, ConcernCategory, ConcernEvent, NPTArea, User

from .models import (
    CoordinatingGroup,
    GroupMembership,
    PartnerOrganisation,
    Partnership,
    PartnershipMembership,
    Theme,
)
from .services import decisions, moves, themes

GROUPS = {
    "bcp": (
        "BCP Business Co-ordinating Group",
        "Bournemouth, Christchurch and Poole: the NPTs, BCP Council, the BIDs and business "
        "organisations of the conurbation.",
    ),
    "dorset": (
        "Dorset Business Co-ordinating Group",
        "The rest of the county: the NPTs, Dorset Council, the NFU and business organisations.",
    ),
}

THEME_SHOPS = [
    ("Westover Road Newsagent", "21 Westover Road", "BH1 2BZ"),
    ("Old Christchurch Road Pharmacy", "88 Old Christchurch Road", "BH1 1LR"),
]


def seed(*, password: str) -> list[str]:
    groups = {}
    for slug, (name, description) in GROUPS.items():
        group, _ = CoordinatingGroup.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "email": f"{slug}.group@example.org",
            },
        )
        groups[slug] = group
    for name, _districts, group_slug in GEOGRAPHY:
        NPTArea.objects.filter(name=name, group__isnull=True).update(group=groups[group_slug])

    group_user = User.objects.get(email="group@demo.test")
    partnership_user = User.objects.get(email="partnership@demo.test")
    bcp = groups["bcp"]
    GroupMembership.objects.get_or_create(
        user=group_user,
        group=bcp,
        defaults={
            "role": "BID manager",
            "organisation": PartnerOrganisation.objects.filter(slug="bids").first(),
        },
    )
    if bcp.chair_id is None:
        bcp.chair = group_user
        bcp.save(update_fields=["chair"])
    partnership = Partnership.load()
    PartnershipMembership.objects.get_or_create(
        user=partnership_user,
        partnership=partnership,
        defaults={
            "role": "Force Business Crime Champion",
            "organisation": PartnerOrganisation.objects.filter(slug="dorset-police").first(),
        },
    )
    if partnership.chair_id is None:
        partnership.chair = partnership_user
        partnership.save(update_fields=["chair"])

    _escalate_sample(group_user)
    _decision_sample(group_user)
    _partnership_sample(group_user)
    open_themes = _theme_sample()
    return [
        f"{len(groups)} Business Co-ordinating Groups covering "
        f"{NPTArea.objects.filter(group__isnull=False).count()} NPT areas",
        f"group@demo.test in {bcp}; partnership@demo.test chairs {partnership}",
        f"{open_themes} open theme(s)",
    ]


def _escalate_sample(group_user: User) -> None:
    # The anti-social behaviour concern outside the demo shop went to the group after patrols
    # did not settle it.
    from engagement.models import Concern

    concern = Concern.objects.filter(
        business__name="Harper's Convenience Store", category__slug="asb"
    ).first()
    if concern is None or concern.events.filter(kind=ConcernEvent.Kind.ESCALATED).exists():
        return
    officer = User.objects.get(email="npt@demo.test")
    moves.item_escalate(
        item=concern,
        actor=officer,
        reason="Patrols have not stopped the group gathering. The shop is one of several on "
        "the street affected; the council's community safety team and the BID should be "
        "involved.",
    )


def _decision_sample(group_user: User) -> None:
    # The group agrees what partners will do about the escalated anti-social behaviour.
    from engagement.models import Concern

    concern = Concern.objects.filter(
        business__name="Harper's Convenience Store", category__slug="asb", tier=2
    ).first()
    if concern is None or concern.decisions.exists():
        return
    today = timezone.localdate()
    partners = {p.slug: p for p in PartnerOrganisation.objects.all()}
    decision = decisions.decision_record(
        item=concern,
        actor=group_user,
        summary="Joint evening visits by the NPT and the council's community safety team; the "
        "BID to share CCTV coverage of the street with the police.",
        actions=[
            decisions.ActionSpec(
                "Two joint evening visits a week for four weeks",
                partners.get("dorset-police") or next(iter(partners.values())),
                today + dt.timedelta(days=28),
            ),
            decisions.ActionSpec(
                "Share the BID's CCTV camera map with the NPT",
                partners.get("bids") or next(iter(partners.values())),
                today + dt.timedelta(days=7),
            ),
        ],
    )
    decisions.action_complete(
        action=decision.actions.order_by("due_on")[0],
        actor=group_user,
        note="Camera map sent to the NPT sergeant.",
    )


def _partnership_sample(group_user: User) -> None:
    # Invoice fraud against the café needs a national answer: it sits with the Partnership.
    from engagement.models import Concern

    concern = Concern.objects.filter(business__name="The Quay Café", category__slug="cyber").first()
    if concern is None or concern.tier != Concern.Tier.NPT or not concern.is_open:
        return
    officer = User.objects.get(email="npt@demo.test")
    moves.item_escalate(
        item=concern,
        actor=officer,
        reason="Several Poole businesses have had the same fake supplier invoice; the bank "
        "details point outside the county.",
    )
    moves.item_escalate(
        item=concern,
        actor=group_user,
        reason="Needs a referral to Action Fraud / NFIB and advice to every BID in the county.",
    )


def _theme_sample() -> int:
    # Three businesses in Bournemouth reporting shoplifting within a few days form a theme.
    owner = User.objects.get(email="owner@demo.test")
    theft = ConcernCategory.objects.get(slug="theft")
    today = timezone.localdate()
    for index, (name, address, postcode) in enumerate(THEME_SHOPS):
        business = Business.objects.filter(name=name).first()
        if business is None:
            business = engagement_services.business_create(
                owner=owner,
                name=name,
                sector="retail",
                size_band="micro",
                address_line1=address,
                town="Bournemouth",
                postcode=postcode,
            )
        engagement_services.concern_submit(
            business=business,
            reporter=owner,
            submission_key=uuid.uuid5(uuid.NAMESPACE_URL, f"https://demo.dorset-bcp/theme/{index}"),
            details=engagement_services.ConcernDetails(
                category=theft,
                description="Two people working together: one distracts staff at the till "
                "while the other fills a bag from the shelves.",
                occurred_on=today - dt.timedelta(days=3 + index),
                location=address,
                impact="some",
                contact_name=owner.full_name,
                contact_email=owner.email,
            ),
        )
    themes.theme_detect(trigger="command")
    return Theme.objects.filter(status=Theme.Status.OPEN).count()
