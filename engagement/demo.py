"""Demo data: the Dorset geography of DESIGN.md, demo accounts and sample concerns."""

import datetime as dt
import uuid

from allauth.account.models import EmailAddress
from django.utils import timezone

from . import services
from .models import (
    Business,
    BusinessMembership,
    Concern,
    ConcernCategory,
    NPTArea,
    NPTOfficer,
    Outcome,
    PostcodeDistrict,
    ResponseTemplate,
    Sector,
    SizeBand,
    SpecialistTeam,
    SpecialistTeamMember,
    User,
)
from .selectors import businesses_of_user

# (name, districts, group) — approximate, for the demo only.
GEOGRAPHY = [
    ("Bournemouth", [f"BH{n}" for n in range(1, 12)], "bcp"),
    ("Poole", [f"BH{n}" for n in range(12, 18)], "bcp"),
    ("Christchurch", ["BH23"], "bcp"),
    ("East Dorset", ["BH18", "BH21", "BH22", "BH31"], "dorset"),
    ("Purbeck", ["BH19", "BH20"], "dorset"),
    ("Weymouth and Portland", ["DT3", "DT4", "DT5"], "dorset"),
    ("Dorchester", ["DT1", "DT2"], "dorset"),
    ("Bridport and Lyme Regis", ["DT6", "DT7", "DT8"], "dorset"),
    ("Sherborne", ["DT9"], "dorset"),
    ("North Dorset", ["DT10", "DT11", "SP7", "SP8"], "dorset"),
]
DESCRIPTIONS = {
    "East Dorset": "Wimborne, Ferndown, Verwood and Broadstone",
    "Purbeck": "Wareham and Swanage",
    "North Dorset": "Blandford, Sturminster Newton, Shaftesbury and Gillingham",
}

DEMO_ACCOUNTS = {
    "owner@demo.test": {"full_name": "Sam Harper"},
    "npt@demo.test": {"full_name": "PC Alex Morgan", "is_staff": True},
    "group@demo.test": {"full_name": "Jo Fielding"},
    "partnership@demo.test": {"full_name": "Chris Dean"},
    "editor@demo.test": {"full_name": "Pat Lewis", "is_staff": True},
    "specialist@demo.test": {"full_name": "PC Rowan Hale", "is_staff": True},
    "cyber@demo.test": {"full_name": "Dee Carter", "is_staff": True},
    "admin@demo.test": {"full_name": "Demo Administrator", "is_staff": True, "is_superuser": True},
}


# (title, offered in, category slug or None, status or "", text)
RESPONSE_TEMPLATES = [
    (
        "We are looking into it",
        ResponseTemplate.UsedFor.UPDATE,
        None,
        "",
        "Thank you for telling us about this ({reference}). An officer from the "
        "Neighbourhood Policing Team is looking into it and we will update you here.\n\n"
        "{officer}",
    ),
    (
        "Patrols arranged",
        ResponseTemplate.UsedFor.UPDATE,
        None,
        "",
        "We have added {business} to our patrol plan for the next two weeks. If anything "
        "happens while we are out, call 101 and quote {reference}.\n\n{officer}",
    ),
    (
        "Still waiting for your reply",
        ResponseTemplate.UsedFor.UPDATE,
        None,
        Concern.Status.WAITING,
        "We are still waiting for your answer to our question about {reference}. The clock on "
        "this concern is paused until you reply here.\n\n{officer}",
    ),
    (
        "Ask for CCTV or photos",
        ResponseTemplate.UsedFor.QUESTION,
        None,
        "",
        "Do you have CCTV or photos of what happened at {business}? If you do, please attach "
        "stills here, or tell us how long the footage is kept so we can collect it.",
    ),
    (
        "Was money paid or a password given?",
        ResponseTemplate.UsedFor.QUESTION,
        "cyber",
        "",
        "Did anyone at {business} make a payment or give out a password? If money was sent, "
        "call your bank straight away and report it to Action Fraud (0300 123 2040), then give "
        "us the Action Fraud reference here.",
    ),
    (
        "Advice given",
        ResponseTemplate.UsedFor.RESOLVE,
        None,
        "",
        "We have given advice to help {business} prevent this happening again. If it does "
        "happen again, report it here and mention {reference}.",
    ),
    (
        "Crime recorded for the theft",
        ResponseTemplate.UsedFor.RESOLVE,
        "theft",
        "",
        "We have recorded a crime for the theft at {business} and linked it to {reference}. "
        "An investigating officer will contact you if they need a statement.",
    ),
]


def _key(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"https://demo.dorset-bcp/{name}")


def seed_geography() -> dict[str, NPTArea]:
    areas = {}
    for name, districts, _group in GEOGRAPHY:
        slug = name.lower().replace(" ", "-")
        area, _ = NPTArea.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "description": DESCRIPTIONS.get(name, name),
                "email": f"{slug}.npt@example.org",
                "phone": "101",
            },
        )
        areas[name] = area
        for code in districts:
            PostcodeDistrict.objects.get_or_create(code=code, defaults={"area": area})
    return areas


def seed_accounts(password: str) -> dict[str, User]:
    users = {}
    for email, fields in DEMO_ACCOUNTS.items():
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=password, **fields)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        EmailAddress.objects.update_or_create(
            user=user, email=email, defaults={"verified": True, "primary": True}
        )
        users[email] = user
    return users


# Demo account, and the specialist team (loaded by engagement's migrations) it belongs to.
SPECIALIST_MEMBERS = {
    "specialist@demo.test": "rural-crime-team",
    "cyber@demo.test": "cyber-protect",
}


def seed_specialists(users: dict[str, User]) -> int:
    """Put the demo specialists in their teams, before the sample concerns reach the teams."""
    for email, slug in SPECIALIST_MEMBERS.items():
        team = SpecialistTeam.objects.filter(slug=slug).first()
        if team is not None:  # an administrator may have renamed or removed it
            SpecialistTeamMember.objects.get_or_create(user=users[email], team=team)
    return SpecialistTeamMember.objects.count()


def seed_concerns(users: dict[str, User], areas: dict[str, NPTArea]) -> None:
    owner, officer = users["owner@demo.test"], users["npt@demo.test"]
    NPTOfficer.objects.get_or_create(user=officer, area=areas["Bournemouth"])
    shop = _business(
        owner,
        "Harper's Convenience Store",
        Sector.RETAIL,
        SizeBand.MICRO,
        "12 Old Christchurch Road",
        "Bournemouth",
        "BH1 1LG",
    )
    cafe = _business(
        owner,
        "The Quay Café",
        Sector.HOSPITALITY,
        SizeBand.MICRO,
        "3 The Quay",
        "Poole",
        "BH15 1HJ",
    )
    livery = _business(
        owner,
        "Harper Livery Yard",
        Sector.EQUESTRIAN,
        SizeBand.SOLE_TRADER,
        "Mill Lane",
        "Sturminster Newton",
        "DT10 1AA",
        is_rural=True,
    )

    categories = {c.slug: c for c in ConcernCategory.objects.all()}
    outcomes = {o.slug: o for o in Outcome.objects.all()}
    today = timezone.localdate()

    def report(key, business, category, description, days_ago):
        concern, _ = services.concern_submit(
            business=business,
            reporter=owner,
            submission_key=_key(key),
            details=services.ConcernDetails(
                category=categories[category],
                description=description,
                occurred_on=today - dt.timedelta(days=days_ago),
                location=business.address_line1,
                impact=Concern.Impact.SOME,
                contact_name=owner.full_name,
                contact_email=owner.email,
            ),
        )
        return concern

    report(
        "new",
        shop,
        "theft",
        "The same two people have taken alcohol from the shelves "
        "near the door three times this month, always around 4pm.",
        2,
    )
    in_progress = report(
        "in-progress",
        shop,
        "asb",
        "A group gathers outside the shop most evenings, shouting at customers and leaving litter.",
        10,
    )
    waiting = report(
        "waiting",
        cafe,
        "cyber",
        "We received an invoice that looked like it was "
        "from our usual supplier but with new bank details.",
        5,
    )
    resolved = report(
        "resolved", cafe, "damage", "Graffiti sprayed across the shutters overnight.", 20
    )
    # A rural business's concern: it reaches the Rural Crime Team as well as North Dorset's NPT.
    report(
        "tack-room",
        livery,
        "rural",
        "Two saddles and a set of bridles were taken from the tack room overnight; the padlock "
        "on the door was cut.",
        3,
    )

    if not in_progress.events.filter(kind="update").exists():
        services.concern_assign(concern=in_progress, officer=officer, actor=officer)
        services.concern_post_update(
            concern=in_progress,
            actor=officer,
            body="Thank you for telling us. We have added your street to our evening patrols "
            "for the next two weeks and will speak to the group.",
        )
    # The café is in Poole: the demo officer covers both NPTs so every sample is visible.
    NPTOfficer.objects.get_or_create(user=officer, area=areas["Poole"])
    if not waiting.events.filter(kind="question").exists():
        services.concern_ask_question(
            concern=waiting,
            actor=officer,
            body="Did you pay the invoice? If you did, please tell your bank straight away "
            "and report it to Action Fraud, then give us the reference here.",
        )
    if resolved.status != Concern.Status.RESOLVED and resolved.outcome_id is None:
        services.concern_resolve(
            concern=resolved,
            actor=officer,
            outcome=outcomes["advice-given"],
            note="We have passed the tag to the council's graffiti team for removal and added "
            "it to our records. Anti-graffiti coating for shutters is worth considering.",
        )


def _business(owner, name, sector, size_band, address, town, postcode, is_rural=False):
    business = businesses_of_user(owner).filter(name=name).first()
    if business is None:
        business = services.business_create(
            owner=owner,
            name=name,
            sector=sector,
            size_band=size_band,
            address_line1=address,
            town=town,
            postcode=postcode,
            is_rural=is_rural,
            role=BusinessMembership.Role.OWNER,
        )
    return business


def seed_response_templates() -> int:
    """The sample response templates; an administrator's edits to them are kept."""
    categories = {c.slug: c for c in ConcernCategory.objects.all()}
    for position, (title, used_for, category, status, body) in enumerate(RESPONSE_TEMPLATES):
        ResponseTemplate.objects.get_or_create(
            title=title,
            used_for=used_for,
            defaults={
                "category": categories.get(category) if category else None,
                "status": status,
                "body": body,
                "position": position * 10,
            },
        )
    return ResponseTemplate.objects.count()


def seed(*, password: str) -> list[str]:
    areas = seed_geography()
    users = seed_accounts(password)
    members = seed_specialists(users)
    seed_concerns(users, areas)
    templates = seed_response_templates()
    return [
        f"{templates} response templates for the triage forms",
        f"{len(areas)} NPT areas with {PostcodeDistrict.objects.count()} postcode districts",
        f"{len(users)} demo accounts",
        f"{members} specialist team members",
        f"{Business.objects.count()} businesses, {Concern.objects.count()} concerns",
    ]
