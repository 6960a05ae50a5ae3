"""A business's history: every addition and edit writes an event, its name and address only as
changed (erasure removes them, and events are never edited)."""

import datetime as dt
import uuid

import pytest

from engagement import services
from engagement.models import Business, BusinessEvent, Concern
from tests import factories

MONDAY_1_JUNE_2026 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
NAME = "Zebedee Stores"
STREET = "1 Zebedee Lane"


def recorded_words(event: BusinessEvent) -> str:
    return f"{event.detail} {event.changes}"


def test_adding_a_business_records_what_it_is_but_not_its_name_or_address(owner, area):
    business = services.business_create(
        owner=owner,
        name=NAME,
        sector="farm",
        size_band="small",
        address_line1=STREET,
        town="Poole",
        postcode="bh15 1hj",
        is_rural=True,
    )

    event = business.events.get()
    assert (event.kind, event.actor) == (BusinessEvent.Kind.CREATED, owner)
    assert event.changes["sector"] == {"from": None, "to": "farm"}
    assert event.changes["npt_area"] == {"from": None, "to": {"id": area.pk, "label": "Poole"}}
    assert event.changes["is_rural"] == {"from": None, "to": True}
    for name in ("name", "address_line1", "town", "postcode"):
        assert event.changes[name] == {"changed": True}
    assert "address_line2" not in event.changes  # left empty
    assert "Zebedee" not in recorded_words(event)
    assert "BH15" not in recorded_words(event)


def test_editing_records_old_and_new_values_and_redacts_the_address(
    business, owner, area, other_area
):
    services.business_update(
        business=business,
        actor=owner,
        name=NAME,
        size_band="medium",
        postcode="dt2 7aa",
        town="Dorchester",
    )

    event = business.events.get(kind=BusinessEvent.Kind.UPDATED)
    assert event.actor == owner
    assert event.changes == {
        "name": {"changed": True},
        "size_band": {"from": "micro", "to": "medium"},
        "town": {"changed": True},
        "postcode": {"changed": True},
        "npt_area": {
            "from": {"id": area.pk, "label": "Poole"},
            "to": {"id": other_area.pk, "label": "Dorchester"},
        },
    }
    assert "Zebedee" not in recorded_words(event)


def test_an_edit_that_changes_nothing_records_nothing(business, owner):
    services.business_update(business=business, actor=owner, sector=business.sector)
    assert not business.events.exists()


def test_the_owners_edit_form_records_the_values_it_changed_from(client, owner, business):
    """The form sets the new values on the business before the service sees it: the event's
    old values come from what was stored."""
    client.force_login(owner)
    data = factories.business_form_data(
        name=business.name, size_band="large", address_line1=STREET, postcode="BH15 1AA"
    )
    response = client.post(f"/my/businesses/{business.pk}/", data)
    assert response.status_code == 302

    event = business.events.get(kind=BusinessEvent.Kind.UPDATED)
    assert event.actor == owner
    assert event.changes["size_band"] == {"from": "micro", "to": "large"}
    assert event.changes["sector"] == {"from": "retail", "to": "hospitality"}
    assert event.changes["address_line1"] == {"changed": True}
    assert "name" not in event.changes


def test_an_administrators_edit_records_who_made_it(client, superuser, business, other_area):
    client.force_login(superuser)
    data = {
        **factories.business_form_data(name=business.name, sector="retail", postcode="DT1 1AA"),
        "size_band": "micro",
        "address_line1": business.address_line1,
        "town": business.town,
    }
    response = client.post(f"/admin/engagement/business/{business.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors

    business.refresh_from_db()
    assert business.npt_area == other_area  # routed again, as the owner's own edit would be
    event = business.events.get(kind=BusinessEvent.Kind.UPDATED)
    assert event.actor == superuser
    assert event.changes["postcode"] == {"changed": True}
    assert event.changes["npt_area"]["to"] == {"id": other_area.pk, "label": "Dorchester"}


def test_an_administrator_cannot_move_a_business_outside_dorset(client, superuser, business):
    client.force_login(superuser)
    data = factories.business_form_data(name=business.name, sector="retail", postcode="SW1A 1AA")
    response = client.post(f"/admin/engagement/business/{business.pk}/change/", data)
    assert response.status_code == 200
    assert "not in an area Dorset Police covers" in response.content.decode()
    assert not business.events.exists()


def guest_report(**overrides):
    return services.guest_concern_submit(
        business_name=NAME,
        sector="retail",
        postcode="bh15 1hj",
        town="Poole",
        details=services.ConcernDetails(
            category=factories.category("theft"),
            description="Two people took bottles of gin from the shelf by the door.",
            occurred_on=dt.date(2026, 5, 31),
            location=STREET,
            impact=Concern.Impact.SOME,
            contact_name="Gill Guest",
            contact_email="guest@example.org",
        ),
        submission_key=uuid.uuid4(),
        **overrides,
    )


def test_a_guests_business_records_that_it_was_made_for_their_report(area):
    concern, _ = guest_report()
    event = concern.business.events.get()
    assert (event.kind, event.actor) == (BusinessEvent.Kind.CREATED, None)
    assert "without an account" in event.detail
    assert "Zebedee" not in recorded_words(event)


@pytest.mark.django_db(transaction=True)
def test_a_guests_business_goes_with_its_history_when_the_report_is_never_confirmed(
    time_machine, area
):
    """On PostgreSQL the events refuse a plain DELETE; the purge erases them, audited."""
    time_machine.move_to(MONDAY_1_JUNE_2026, tick=False)
    concern, _ = guest_report()
    time_machine.move_to(MONDAY_1_JUNE_2026 + dt.timedelta(days=8), tick=False)

    assert services.concern_purge_unconfirmed() == 1
    assert not Business.objects.filter(pk=concern.business_id).exists()
    assert not BusinessEvent.objects.filter(business_id=concern.business_id).exists()
