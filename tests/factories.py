import datetime as dt
import uuid

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from engagement import deadlines
from engagement.models import (
    Business,
    BusinessMembership,
    Concern,
    ConcernCategory,
    NPTArea,
    NPTOfficer,
    Outcome,
    PostcodeDistrict,
    ResponseTemplate,
    User,
)

PASSWORD = "correct-horse-battery-staple"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def verified(self, create, extracted, **kwargs):
        if create and extracted is not False:
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)


class NPTAreaFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NPTArea
        django_get_or_create = ["slug"]
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Area {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))

    @factory.post_generation
    def districts(self, create, extracted, **kwargs):
        for code in extracted or []:
            PostcodeDistrict.objects.get_or_create(code=code, defaults={"area": self})


class OfficerFactory(UserFactory):
    is_staff = True

    @factory.post_generation
    def area(self, create, extracted, **kwargs):
        if extracted is not None:
            NPTOfficer.objects.create(user=self, area=extracted)


class BusinessFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Business
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Business {n}")
    sector = "retail"
    size_band = "micro"
    address_line1 = "1 High Street"
    town = "Poole"
    postcode = "BH15 1AA"
    npt_area = factory.SubFactory(NPTAreaFactory, districts=["BH15"])

    @factory.post_generation
    def owner(self, create, extracted, **kwargs):
        if extracted is not None:
            BusinessMembership.objects.create(user=extracted, business=self)


def category(slug="theft"):
    return ConcernCategory.objects.get(slug=slug)


def outcome(slug="advice-given"):
    return Outcome.objects.get(slug=slug)


class ConcernFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Concern

    business = factory.SubFactory(BusinessFactory)
    reporter = None
    npt_area = factory.LazyAttribute(lambda o: o.business.npt_area)
    category = factory.LazyFunction(category)
    description = "Someone keeps taking stock from the shelf by the door."
    occurred_on = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=1))
    location = "1 High Street"
    impact = Concern.Impact.SOME
    contact_name = "Olive Owner"
    contact_email = factory.LazyAttribute(
        lambda o: o.reporter.email if o.reporter else "guest@example.org"
    )
    submission_key = factory.LazyFunction(uuid.uuid4)
    created_at = factory.LazyFunction(timezone.now)
    # Tier 1 under the seeded default policy, without touching the database.
    first_response_due_at = factory.LazyAttribute(
        lambda o: deadlines.add_working_days(o.created_at, deadlines.DEFAULT_POLICY[1, "normal"][0])
    )
    resolution_due_at = factory.LazyAttribute(
        lambda o: deadlines.add_working_days(o.created_at, deadlines.DEFAULT_POLICY[1, "normal"][1])
    )
    reference = factory.Sequence(lambda n: f"DBC-2026-{900000 + n:06d}")


class ResponseTemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ResponseTemplate

    title = factory.Sequence(lambda n: f"Template {n}")
    body = "About {reference} at {business}: we are on it."
    used_for = ResponseTemplate.UsedFor.UPDATE


# Added for the engagement test suite: attachments, updates, uploads and form data.


def png_bytes(size: tuple[int, int] = (2, 2)) -> bytes:
    """A real PNG image, made with Pillow."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def pdf_bytes(pages: int = 1) -> bytes:
    """A real PDF (blank A4 pages), made with pypdf: the upload checks parse it."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


PDF_BYTES = pdf_bytes()


def png_upload(name: str = "photo.png", size: tuple[int, int] = (2, 2)):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, png_bytes(size), content_type="image/png")


class ConcernUpdateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engagement.ConcernUpdate"

    concern = factory.SubFactory(ConcernFactory)
    author = None
    kind = "public"
    body = factory.Sequence(lambda n: f"Update number {n} from the team.")


def _stored_png():
    from django.core.files.base import ContentFile

    return ContentFile(png_bytes(), name=f"{uuid.uuid4().hex}.png")


class AttachmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "engagement.Attachment"

    concern = factory.SubFactory(ConcernFactory)
    file = factory.LazyFunction(lambda: _stored_png())
    original_name = "till-cctv.png"
    content_type = "image/png"
    size = factory.LazyAttribute(lambda o: o.file.size)


def concern_form_data(**overrides) -> dict:
    """What a person fills in on the report form (the business field is the caller's)."""
    data = {
        "category": category().pk,
        "description": "Two people took bottles of gin from the shelf by the door at 4pm.",
        "occurred_on": (timezone.localdate() - dt.timedelta(days=1)).isoformat(),
        "occurred_time": "",
        "location": "1 High Street, Poole",
        "existing_reference": "",
        "impact": Concern.Impact.SOME,
        "impact_details": "",
        "contact_name": "Olive Owner",
        "contact_email": "owner@example.org",
        "contact_phone": "",
        "contact_preference": Concern.ContactPreference.EMAIL,
        "submission_key": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data


def guest_form_data(**overrides) -> dict:
    data = concern_form_data(
        business_name="Quay Gifts",
        sector="retail",
        town="Poole",
        postcode="BH15 1HJ",
        contact_name="Gita Guest",
        contact_email="guest@example.org",
    )
    data.update(overrides)
    return data


def send_report(client, data: dict, *, guest: bool = False, **extra):
    """Fill in the report form and, if it is accepted, send it from "check your answers", as a
    person does: the response of the last step taken (the form again if it had errors).
    `extra` goes with both requests (headers such as HTTP_X_FORWARDED_FOR)."""
    form_url = "/report/guest/" if guest else "/report/new/"
    response = client.post(form_url, data, **extra)
    check_url = response.get("Location", "") if response.status_code == 302 else ""
    if not check_url.endswith("/check/"):
        return response
    return client.post(check_url, {"action": "send"}, **extra)


def business_form_data(**overrides) -> dict:
    data = {
        "name": "The Quay Café",
        "sector": "hospitality",
        "size_band": "micro",
        "address_line1": "3 The Quay",
        "address_line2": "",
        "town": "Poole",
        "postcode": "BH15 1HJ",
    }
    data.update(overrides)
    return data


def published_tasks() -> list[tuple[str, list]]:
    """Take every task message off the in-memory broker: (task name, args), oldest first.

    conftest points Celery at memory://, so this reads what was really published.
    """
    import base64
    import json

    from kombu.transport.memory import Channel

    queue = Channel.queues.get("celery")
    messages = []
    while queue is not None and not queue.empty():
        message = queue.get_nowait()
        args = json.loads(base64.b64decode(message["body"]))[0]
        messages.append((message["headers"]["task"], args))
    return messages


# Added for the resources test suite: library, Watch schemes, alerts, seminars.


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "resources.Topic"
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Topic {n}")
    slug = factory.LazyAttribute(lambda o: o.name.lower().replace(" ", "-"))


class ResourceFactory(factory.django.DjangoModelFactory):
    """A published link resource; pass topics=[...], sectors=[...], categories=[...]."""

    class Meta:
        model = "resources.Resource"
        skip_postgeneration_save = True

    title = factory.Sequence(lambda n: f"Resource {n}")
    slug = factory.Sequence(lambda n: f"resource-{n}")
    summary = "Practical advice for small businesses."
    publisher = "National Cyber Security Centre"
    link_url = factory.Sequence(lambda n: f"https://www.example.org/guidance/{n}")
    status = "published"
    published_at = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def topics(self, create, extracted, **kwargs):
        if extracted:
            self.topics.set(extracted)

    @factory.post_generation
    def sectors(self, create, extracted, **kwargs):
        from resources.models import ResourceSector

        for sector in extracted or []:
            ResourceSector.objects.create(resource=self, sector=sector)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if extracted:
            self.categories.set(extracted)


class SpecialistContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "resources.SpecialistContact"

    team = "rural"
    name = factory.LazyAttribute(
        lambda o: "Rural Crime Team" if o.team == "rural" else "Cyber Protect officer"
    )
    email = factory.LazyAttribute(lambda o: f"{o.team}.team@example.org")
    phone = "101"


class WatchSchemeFactory(factory.django.DjangoModelFactory):
    """A scheme; pass coordinators=[user, ...]."""

    class Meta:
        model = "resources.WatchScheme"
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Watch {n}")
    slug = factory.Sequence(lambda n: f"watch-{n}")
    summary = "Businesses sharing information with each other and the police."
    email = "scheme@example.org"

    @factory.post_generation
    def coordinators(self, create, extracted, **kwargs):
        if extracted:
            self.coordinators.set(extracted)


class SchemeMembershipFactory(factory.django.DjangoModelFactory):
    """An approved membership by default; the contact is the business's first member."""

    class Meta:
        model = "resources.SchemeMembership"

    scheme = factory.SubFactory(WatchSchemeFactory)
    business = factory.SubFactory(BusinessFactory)
    contact = factory.LazyAttribute(lambda o: o.business.members.first())
    status = "approved"
    alert_preference = "every"
    decided_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=30))
    applied_at = factory.LazyFunction(lambda: timezone.now() - dt.timedelta(days=31))


class AlertFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "resources.Alert"

    scheme = factory.SubFactory(WatchSchemeFactory)
    title = factory.Sequence(lambda n: f"Alert {n}")
    body = "Fake £20 notes are being passed in the town centre."
    urgency = "routine"


class SeminarFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "resources.Seminar"

    title = factory.Sequence(lambda n: f"Seminar {n}")
    slug = factory.Sequence(lambda n: f"seminar-{n}")
    theme = "Cyber crime: protect your business"
    starts_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=10))
    ends_at = factory.LazyAttribute(lambda o: o.starts_at + dt.timedelta(hours=2))
    venue = "Poole Civic Centre, Poole"
    capacity = 30
    status = "published"


class BookingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "resources.Booking"

    seminar = factory.SubFactory(SeminarFactory)
    business = factory.SubFactory(BusinessFactory)
    user = factory.LazyAttribute(lambda o: o.business.members.first())
    status = "confirmed"
    confirmed_at = factory.LazyFunction(timezone.now)


# Added for the escalation test suite: groups, the partnership's people, themes.


class CoordinatingGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "escalation.CoordinatingGroup"
        django_get_or_create = ["slug"]

    name = factory.Sequence(lambda n: f"Group {n} Business Co-ordinating Group")
    slug = factory.Sequence(lambda n: f"group-{n}")
    email = factory.LazyAttribute(lambda o: f"{o.slug}@example.org")


class GroupMemberFactory(UserFactory):
    """A user who belongs to `group` (pass group=...)."""

    @factory.post_generation
    def group(self, create, extracted, **kwargs):
        if extracted is not None:
            from escalation.models import GroupMembership

            GroupMembership.objects.create(user=self, group=extracted)


class PartnershipMemberFactory(UserFactory):
    """A user who belongs to the one Business Safety Partnership."""

    @factory.post_generation
    def member(self, create, extracted, **kwargs):
        if create:
            from escalation.models import Partnership, PartnershipMembership

            PartnershipMembership.objects.create(user=self, partnership=Partnership.load())


class ThemeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "escalation.Theme"

    category = factory.LazyFunction(category)
    npt_area = factory.SubFactory(NPTAreaFactory)
    title = factory.LazyAttribute(lambda o: f"{o.category.name} in {o.npt_area.name}")
    reference = factory.Sequence(lambda n: f"THM-2026-{90000 + n:05d}")
    tier = 2
    tier_entered_at = factory.LazyFunction(timezone.now)
    resolution_due_at = factory.LazyAttribute(
        lambda o: deadlines.add_working_days(o.tier_entered_at, 20)
    )
    first_response_due_at = factory.LazyAttribute(
        lambda o: deadlines.add_working_days(o.tier_entered_at, 5)
    )


# Added for the partnership review area and insight: items above tier 1, partner organisations.


def partner(slug="dorset-police"):
    from escalation.models import PartnerOrganisation

    return PartnerOrganisation.objects.get(slug=slug)


def concern_at(business, *, tier=2, due=None, **fields):
    """A concern the chain has moved to `tier`: the policy's deadlines there (or `due` for the
    resolution deadline) and the escalation event, as item_escalate leaves them."""
    from engagement.models import ConcernEvent

    concern = ConcernFactory(business=business, **fields)
    now = timezone.now()
    columns = deadlines.deadlines_for(tier=tier, priority=concern.priority, start=now)
    if due is not None:
        columns["resolution_due_at"] = due
    Concern.objects.filter(pk=concern.pk).update(tier=tier, tier_entered_at=now, **columns)
    for from_tier in range(1, tier):
        ConcernEvent.objects.create(
            concern=concern,
            kind=ConcernEvent.Kind.ESCALATED,
            from_tier=from_tier,
            to_tier=from_tier + 1,
            detail="Needs more than one team can do.",
        )
    concern.refresh_from_db()
    return concern


class SpecialistFactory(UserFactory):
    """A specialist team member: staff with no NPT, in the team given as `team` (a slug)."""

    is_staff = True

    @factory.post_generation
    def team(self, create, extracted, **kwargs):
        if extracted is not None:
            from engagement.models import SpecialistTeam, SpecialistTeamMember

            SpecialistTeamMember.objects.create(
                user=self, team=SpecialistTeam.objects.get(slug=extracted)
            )


# Two-step sign-in (dorset_bcp.two_factor).

TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # any base32 secret: a test's authenticator app


def give_authenticator(user, secret: str = TOTP_SECRET):
    """The person has set up an authenticator app with `secret` (and has recovery codes)."""
    from dorset_bcp.two_factor import demo_authenticator_ensure

    return demo_authenticator_ensure(user=user, secret=secret)


def force_login_with_second_factor(client, user) -> None:
    """client.force_login, and the session records a code entered, as allauth records it at a
    two-step sign-in: for tests and benchmarks of the screens behind it."""
    from allauth.account.internal.flows.login import record_authentication
    from django.test import RequestFactory

    client.force_login(user)
    request = RequestFactory().get("/")
    request.session = client.session
    request.user = user
    record_authentication(request, user, "mfa", type="totp")
    request.session.save()
