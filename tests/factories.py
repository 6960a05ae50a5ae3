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
    first_response_due_at = factory.LazyAttribute(
        lambda o: deadlines.tier1_deadlines(o.created_at, "normal")[0]
    )
    resolution_due_at = factory.LazyAttribute(
        lambda o: deadlines.tier1_deadlines(o.created_at, "normal")[1]
    )
    reference = factory.Sequence(lambda n: f"DBC-2026-{900000 + n:06d}")
