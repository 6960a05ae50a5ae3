"""Demo data: topics, real public resources (as links), Watch schemes, seminars, contacts.

Every resource links to the publisher's own page: we do not own those documents, and linking
keeps them current.
"""

import datetime as dt
import uuid

from django.contrib.auth.models import Group, Permission
from django.db.models import Q
from django.utils import timezone

from engagement.models import ConcernCategory, Sector, User
from engagement.selectors import businesses_of_user

from . import services
from .models import (
    Booking,
    Resource,
    SchemeMembership,
    Seminar,
    SpecialistContact,
    Topic,
    WatchScheme,
)

EDITOR_EMAIL = "editor@demo.test"
EDITOR_GROUP = "OPCC editors"

TOPICS = [
    ("cyber", "Cyber security", "Phishing, ransomware, passwords, backups and staff training."),
    ("fraud", "Fraud and scams", "Invoice and payment fraud, refund scams, counterfeit money."),
    ("retail-theft", "Shop theft", "Shoplifting, organised retail crime and store layout."),
    (
        "violence-against-staff",
        "Violence and abuse against staff",
        "Keeping staff safe from threats, abuse and assault at work.",
    ),
    ("premises-security", "Premises security", "Burglary, break-ins, criminal damage and CCTV."),
    ("rural", "Rural crime", "Farm machinery, fuel, livestock, equine and wildlife crime."),
    ("hospitality", "Pubs, bars and hotels", "Licensed premises, Pubwatch and night-time safety."),
    (
        "asb",
        "Anti-social behaviour",
        "Working with your NPT and neighbours on persistent problems.",
    ),
]

# slug, title, publisher, url, summary, body, topics, sectors, concern categories
RESOURCES = [
    (
        "little-book-of-cyber-scams",
        "The Little Book of Cyber Scams",
        "Metropolitan Police",
        "https://www.met.police.uk/advice/advice-and-information/fa/fraud/",
        "A short, plain-English booklet for small and medium businesses on the commonest cyber "
        "scams and how to stop them: phishing, invoice fraud, ransomware and more.",
        "Written by the Metropolitan Police for small and medium-sized enterprises and handed "
        "out by police forces across the country, including Dorset's Cyber-Crime Protect and "
        "Prevention Officer, who can give you a printed copy. The link goes to the Metropolitan "
        "Police's fraud advice pages, where its 'Little Book' guides are published.",
        ["cyber", "fraud"],
        [],
        ["cyber", "fraud"],
    ),
    (
        "ncsc-small-business-guide",
        "Small Business Guide: cyber security",
        "National Cyber Security Centre",
        "https://www.ncsc.gov.uk/collection/small-business-guide",
        "Five quick, low-cost steps that protect a small business from the most common cyber "
        "attacks.",
        "Back up your data; protect your organisation from malware; keep your smartphones and "
        "tablets safe; use passwords to protect your data; avoid phishing attacks. Each step "
        "takes minutes and needs no technical knowledge.",
        ["cyber"],
        [],
        ["cyber", "fraud"],
    ),
    (
        "ncsc-top-tips-for-staff",
        "Top Tips for Staff: free cyber security e-learning",
        "National Cyber Security Centre",
        "https://www.ncsc.gov.uk/training/top-tips-for-staff-web",
        "Free online training for everyone in your business, in under 30 minutes, with no "
        "log-in needed.",
        "Covers the four things staff most need to know: using strong passwords, securing "
        "devices, defending against phishing, and reporting incidents. It ends with a short "
        "quiz. It can also be built into your own training system.",
        ["cyber"],
        [],
        ["cyber"],
    ),
    (
        "cyber-aware",
        "Cyber Aware",
        "National Cyber Security Centre",
        "https://www.ncsc.gov.uk/cyberaware/home",
        "The government's advice on the most important things you can do to stay secure online, "
        "such as three random words for passwords and two-step verification.",
        "Written for individuals and sole traders, and a good starting point for anyone in a "
        "small business. It includes an action plan you can fill in for your own accounts and "
        "devices.",
        ["cyber"],
        [],
        ["cyber"],
    ),
    (
        "police-cyberalarm",
        "Police CyberAlarm",
        "Police CyberAlarm",
        "https://www.cyberalarm.police.uk/",
        "A free tool from the police that watches the traffic reaching your business's internet "
        "connection and tells you about suspicious activity.",
        "Police CyberAlarm sends you regular reports of the suspicious activity it sees, and "
        "can scan your website and other public-facing systems for known weaknesses. It is free "
        "for businesses and other organisations; ask the Cyber-Crime Protect and Prevention "
        "Officer if you would like help to set it up.",
        ["cyber"],
        [],
        ["cyber"],
    ),
    (
        "cyber-essentials",
        "Cyber Essentials",
        "National Cyber Security Centre",
        "https://www.ncsc.gov.uk/cyberessentials/overview",
        "The government-backed certification that protects against the most common cyber "
        "attacks and shows customers and suppliers you take security seriously.",
        "",
        ["cyber"],
        [],
        ["cyber"],
    ),
    (
        "ncsc-exercise-in-a-box",
        "Exercise in a Box",
        "National Cyber Security Centre",
        "https://www.ncsc.gov.uk/information/exercise-in-a-box",
        "Free exercises to test how your business would cope with a cyber attack, with no "
        "specialist knowledge needed.",
        "",
        ["cyber"],
        [Sector.OFFICE, Sector.RETAIL, Sector.ACCOMMODATION],
        ["cyber"],
    ),
    (
        "nbcc-guidance",
        "National Business Crime Centre",
        "National Business Crime Centre",
        "https://nbcc.police.uk/",
        "The national police centre for business crime: good-practice guidance for businesses "
        "on shop theft, violence against staff, business crime partnerships and more.",
        "The NBCC works with police forces and the business community to prevent crime against "
        "businesses, with a focus on retail crime and violence against staff.",
        ["retail-theft", "violence-against-staff", "premises-security"],
        [],
        ["theft", "violence", "burglary", "damage", "asb", "exploitation"],
    ),
    (
        "action-fraud",
        "Action Fraud: report fraud and cyber crime",
        "Action Fraud",
        "https://www.actionfraud.police.uk/",
        "The UK's national reporting centre for fraud and cyber crime, with advice on current "
        "scams. For a live cyber attack on your business call 0300 123 2040 and press 9.",
        "",
        ["fraud", "cyber"],
        [],
        ["fraud", "cyber"],
    ),
    (
        "take-five",
        "Take Five to Stop Fraud",
        "UK Finance",
        "https://www.takefive-stopfraud.org.uk/",
        "Stop, challenge, protect: the national campaign's advice on spotting payment and "
        "impersonation fraud, such as fake invoices and changed bank details.",
        "",
        ["fraud"],
        [],
        ["fraud", "cyber"],
    ),
    (
        "stop-think-fraud",
        "Stop! Think Fraud",
        "HM Government",
        "https://stopthinkfraud.campaign.gov.uk/",
        "The government's campaign on how to spot a scam, protect yourself and what to do if "
        "you have been targeted.",
        "",
        ["fraud"],
        [],
        ["fraud"],
    ),
    (
        "national-pubwatch",
        "National Pubwatch",
        "National Pubwatch",
        "https://www.nationalpubwatch.org.uk/",
        "Free advice and a good-practice guide for licensees running or joining a local "
        "Pubwatch, to keep pubs and bars safe.",
        "Pubwatch schemes let licensees in an area agree how to deal with people who cause "
        "trouble, share information and work with the police and council.",
        ["hospitality", "violence-against-staff"],
        [Sector.HOSPITALITY],
        ["violence", "asb", "drugs"],
    ),
    (
        "best-bar-none",
        "Best Bar None",
        "Best Bar None",
        "https://www.bestbarnone.com/",
        "The accreditation scheme for licensed premises, with free policies and procedures for "
        "running a safer venue.",
        "",
        ["hospitality"],
        [Sector.HOSPITALITY, Sector.ACCOMMODATION],
        ["violence", "asb", "drugs"],
    ),
    (
        "national-rural-crime-network",
        "National Rural Crime Network",
        "National Rural Crime Network",
        "https://www.nationalruralcrimenetwork.net/",
        "Advice on protecting farms, estates, equestrian yards and rural businesses from "
        "machinery, fuel, livestock and equine theft.",
        "",
        ["rural"],
        [Sector.FARM, Sector.EQUESTRIAN],
        ["rural", "theft", "burglary"],
    ),
    (
        "secured-by-design",
        "Secured by Design: security for business premises",
        "Secured by Design",
        "https://www.securedbydesign.com/",
        "The police's official security initiative: advice on locks, doors, windows, shutters, "
        "alarms and CCTV, and products tested to police standards.",
        "",
        ["premises-security"],
        [],
        ["burglary", "damage", "theft"],
    ),
]

SPECIALISTS = [
    (
        SpecialistContact.Team.RURAL,
        "Rural Crime Team",
        "Dorset Police officers who work with farms, estates, equestrian yards and other rural "
        "businesses on machinery, fuel, livestock, equine and wildlife crime.",
        "rural.crime@example.org",
        "101",
    ),
    (
        SpecialistContact.Team.CYBER,
        "Cyber-Crime Protect and Prevention Officer",
        "Free advice for businesses on phishing, ransomware, passwords and backups, talks for "
        "your staff, and printed copies of the Little Book of Cyber Scams.",
        "cyber.protect@example.org",
        "101",
    ),
]

# name, slug, summary, who can join
SCHEMES = [
    (
        "Shop Watch",
        "shop-watch",
        "Shops and market traders sharing information about shop theft, known offenders and "
        "scams, and alerts from the police.",
        "Shops, market traders and other retailers in Dorset",
    ),
    (
        "Pub Watch",
        "pub-watch",
        "Licensees working together, and with the police, to keep pubs and bars safe, "
        "following National Pubwatch good practice.",
        "Pubs, bars, clubs and other licensed premises",
    ),
    (
        "Hotel Watch",
        "hotel-watch",
        "Hotels, guest houses and holiday lets sharing alerts about card fraud, guests who "
        "leave without paying, theft from rooms and exploitation.",
        "Hotels, B&Bs, guest houses and holiday lets",
    ),
    (
        "Farm Watch",
        "farm-watch",
        "Farms and estates working with the Rural Crime Team against theft of machinery, fuel "
        "and livestock, and hare coursing.",
        "Farms, estates and other rural businesses",
    ),
    (
        "Horse Watch",
        "horse-watch",
        "Equestrian yards, riders and owners sharing alerts about tack and trailer theft and "
        "horse welfare, with the Rural Crime Team.",
        "Livery and riding yards, stables and equestrian businesses",
    ),
]

# slug, title, theme, days ahead, hour, venue, online, capacity, topics
SEMINARS = [
    (
        "cyber-crime-protect-your-business",
        "Cyber crime: protect your business",
        "Phishing, ransomware and invoice fraud, with the Cyber-Crime Protect and Prevention "
        "Officer",
        21,
        10,
        "Bournemouth Town Hall, Bourne Avenue, Bournemouth",
        "",
        40,
        ["cyber", "fraud"],
    ),
    (
        "keeping-staff-safe",
        "Keeping staff safe from violence and abuse",
        "Preventing and dealing with threats and abuse towards staff, and reporting it",
        35,
        14,
        "Poole Civic Centre, Poole",
        "https://example.org/demo-webinar/keeping-staff-safe",
        30,
        ["violence-against-staff", "retail-theft"],
    ),
    (
        "rural-crime-farms-and-yards",
        "Rural crime: farms, yards and machinery",
        "Protecting machinery, fuel, livestock and horses, with the Rural Crime Team",
        49,
        19,
        "Dorchester Corn Exchange, Dorchester",
        "",
        25,
        ["rural"],
    ),
    (
        "fraud-and-scams-online",
        "Fraud and scams: spot them before you pay",
        "Fake invoices, changed bank details and refund scams (online seminar)",
        28,
        12,
        "",
        "https://example.org/demo-webinar/fraud-and-scams",
        100,
        ["fraud"],
    ),
]

DEMO_ALERT_KEY = uuid.uuid5(uuid.NAMESPACE_URL, "https://demo.dorset-bcp/resources/alert/1")


def ensure_editor_group() -> Group:
    """The "OPCC editors" group, with every permission on this app's models, view and change
    on the signposting text shown before the report form, and every permission on the
    officers' response templates."""
    group, _ = Group.objects.get_or_create(name=EDITOR_GROUP)
    group.permissions.add(*Permission.objects.filter(content_type__app_label="resources"))
    group.permissions.add(
        *Permission.objects.filter(
            Q(codename__in=["view_signpost", "change_signpost"])
            | Q(content_type__model="responsetemplate"),
            content_type__app_label="engagement",
        )
    )
    return group


def seed_library() -> int:
    topics = {}
    for position, (slug, name, description) in enumerate(TOPICS):
        topics[slug], _ = Topic.objects.get_or_create(
            slug=slug, defaults={"name": name, "description": description, "position": position}
        )
    categories = {c.slug: c for c in ConcernCategory.objects.all()}
    for position, row in enumerate(RESOURCES):
        slug, title, publisher, url, summary, body, topic_slugs, sectors, category_slugs = row
        resource = Resource.objects.filter(slug=slug).first()
        if resource is None:
            resource = Resource(
                slug=slug,
                title=title,
                publisher=publisher,
                link_url=url,
                summary=summary,
                body=body,
                status=Resource.Status.PUBLISHED,
                position=position * 10,
            )
            services.resource_save(resource=resource, sectors=list(sectors))
            resource.topics.set([topics[t] for t in topic_slugs])
            resource.categories.set([categories[c] for c in category_slugs if c in categories])
    for position, (team, name, description, email, phone) in enumerate(SPECIALISTS):
        SpecialistContact.objects.get_or_create(
            team=team,
            name=name,
            defaults={
                "description": description,
                "email": email,
                "phone": phone,
                "position": position,
            },
        )
    return Resource.objects.count()


def seed_schemes(editor: User | None) -> list[WatchScheme]:
    schemes = []
    for position, (name, slug, summary, who_for) in enumerate(SCHEMES):
        scheme, _ = WatchScheme.objects.get_or_create(
            slug=slug,
            defaults={
                "name": name,
                "summary": summary,
                "who_for": who_for,
                "email": f"{slug.replace('-', '')}@example.org",
                "position": position,
            },
        )
        if editor is not None:
            scheme.coordinators.add(editor)
        schemes.append(scheme)
    return schemes


def seed_seminars(topics: dict[str, Topic]) -> list[Seminar]:
    seminars = []
    today = timezone.localdate()
    for slug, title, theme, days, hour, venue, online, capacity, topic_slugs in SEMINARS:
        starts_at = timezone.make_aware(
            dt.datetime.combine(today + dt.timedelta(days=days), dt.time(hour))
        )
        seminar = Seminar.objects.filter(slug=slug).first()
        if seminar is None:
            seminar = Seminar(
                slug=slug,
                title=title,
                theme=theme,
                venue=venue,
                online_url=online,
                capacity=capacity,
                status=Seminar.Status.PUBLISHED,
                starts_at=starts_at,
                ends_at=starts_at + dt.timedelta(hours=2),
            )
            services.seminar_save(seminar=seminar)
            seminar.topics.set([topics[t] for t in topic_slugs])
        elif seminar.ends_at < timezone.now() and seminar.status == Seminar.Status.PUBLISHED:
            # An old demo database: move the seminar forward so the demo still has some ahead.
            seminar.starts_at, seminar.ends_at = starts_at, starts_at + dt.timedelta(hours=2)
            services.seminar_save(seminar=seminar)
        seminars.append(seminar)
    return seminars


def seed_activity(editor: User | None, schemes: list[WatchScheme], seminars: list[Seminar]):
    """The demo owner's shop is in Shop Watch with an alert; their café has applied to Pub
    Watch for the editor to decide; they have a place at the cyber seminar."""
    owner = User.objects.filter(email="owner@demo.test").first()
    if owner is None or editor is None:
        return
    by_slug = {s.slug: s for s in schemes}
    shop = businesses_of_user(owner).filter(sector=Sector.RETAIL).first()
    cafe = businesses_of_user(owner).filter(sector=Sector.HOSPITALITY).first()
    if shop is not None:
        membership = services.membership_apply(
            scheme=by_slug["shop-watch"],
            business=shop,
            user=owner,
            note="Convenience store on Old Christchurch Road.",
        )
        if membership.status == SchemeMembership.Status.PENDING:
            services.membership_approve(membership=membership, actor=editor)
        services.alert_post(
            scheme=by_slug["shop-watch"],
            actor=editor,
            title="Counterfeit £20 notes in Bournemouth town centre",
            body="Several shops have taken fake £20 notes this week, mostly late in the "
            "afternoon. Check the hologram and the feel of the paper, and use a UV light if "
            "you have one. If you are offered one, do not hand it back: call 101, or 999 if "
            "the person is still there.",
            submission_key=DEMO_ALERT_KEY,
        )
    if cafe is not None:
        services.membership_apply(
            scheme=by_slug["pub-watch"],
            business=cafe,
            user=owner,
            note="Café with a drinks licence on Poole Quay.",
        )
    # Only the first time: if the owner cancels in the demo, seeding again leaves it cancelled.
    if shop is not None and not Booking.objects.filter(seminar=seminars[0], user=owner).exists():
        services.seminar_book(seminar=seminars[0], user=owner, business=shop)


def seed(*, password: str) -> list[str]:
    editor = User.objects.filter(email=EDITOR_EMAIL).first()
    group = ensure_editor_group()
    if editor is not None:
        editor.groups.add(group)
        if not editor.is_staff:
            editor.is_staff = True
            editor.save(update_fields=["is_staff"])
    resources = seed_library()
    schemes = seed_schemes(editor)
    seminars = seed_seminars({t.slug: t for t in Topic.objects.all()})
    seed_activity(editor, schemes, seminars)
    return [
        f"{resources} resources, {Topic.objects.count()} topics, "
        f"{SpecialistContact.objects.count()} specialist contacts",
        f"{len(schemes)} Watch schemes coordinated by {EDITOR_EMAIL}",
        f"{len(seminars)} seminars ahead",
        f'"{EDITOR_GROUP}" group with {group.permissions.count()} permissions',
    ]
