"""What the business says reaches the body that holds its concern at that moment."""

import pytest
from django.urls import reverse

from engagement import services as engagement_services
from engagement.models import Concern, OutboundEmail
from escalation import selectors
from tests import factories


def recipients() -> set[str]:
    return set(OutboundEmail.objects.values_list("to", flat=True))


@pytest.fixture
def second_officer(area):
    return factories.OfficerFactory(area=area, email="pcso.poole@example.org")


def at_tier(business, owner, tier, **fields):
    return factories.concern_at(business, tier=tier, reporter=owner, **fields)


def test_the_assigned_officer_holds_a_concern_at_tier_one(
    chain, business, owner, npt_officer, second_officer
):
    concern = at_tier(business, owner, 1, assigned_officer=npt_officer)

    holder = selectors.item_holder(concern)

    assert holder.emails == [npt_officer.email]
    assert str(holder.body) == "Poole Neighbourhood Policing Team"
    assert holder.url == reverse("admin:engagement_concern_change", args=[concern.pk])


def test_every_officer_of_the_npt_holds_an_unassigned_concern(
    chain, business, owner, npt_officer, second_officer
):
    concern = at_tier(business, owner, 1)

    assert selectors.item_holder(concern).emails == sorted(
        [npt_officer.email, second_officer.email]
    )


def test_the_groups_members_hold_a_concern_at_tier_two(
    chain, business, owner, npt_officer, group_member, other_group_member
):
    concern = at_tier(business, owner, 2, assigned_officer=npt_officer)

    holder = selectors.item_holder(concern)

    assert holder.emails == [group_member.email]
    assert str(holder.body) == "BCP Business Co-ordinating Group"
    assert holder.url == reverse("escalation:item", args=["concern", concern.pk])


def test_the_partnerships_members_hold_a_concern_at_tier_three(
    chain, business, owner, npt_officer, group_member, partnership_member
):
    concern = at_tier(business, owner, 3, assigned_officer=npt_officer)

    assert selectors.item_holder(concern).emails == [partnership_member.email]


@pytest.mark.parametrize(
    "tier, holder, not_told",
    [
        (1, "npt_officer", ["group_member", "other_group_member", "partnership_member"]),
        (2, "group_member", ["npt_officer", "other_group_member", "partnership_member"]),
        (3, "partnership_member", ["npt_officer", "group_member", "other_group_member"]),
    ],
)
def test_a_reply_reaches_the_body_that_holds_the_concern_and_nobody_else(
    request, chain, business, owner, npt_officer, tier, holder, not_told
):
    concern = at_tier(business, owner, tier, assigned_officer=npt_officer)

    engagement_services.concern_reply(concern=concern, author=owner, body="It happened again.")

    told = request.getfixturevalue(holder)
    [email] = OutboundEmail.objects.filter(to=told.email)
    assert email.subject == f"{concern.reference}: the business replied"
    assert "It happened again." in email.body_text
    for name in not_told:
        assert request.getfixturevalue(name).email not in recipients()


def test_an_answer_at_tier_two_reaches_the_group_and_links_to_its_item_page(
    chain, business, owner, npt_officer, group_member, settings
):
    concern = at_tier(business, owner, 2, assigned_officer=npt_officer)
    engagement_services.concern_ask_question(
        concern=concern, actor=group_member, body="Which night was it?"
    )
    OutboundEmail.objects.all().delete()

    engagement_services.concern_reply(concern=concern, author=owner, body="Friday night.")

    [email] = OutboundEmail.objects.filter(to=group_member.email)
    assert email.subject == f"{concern.reference}: the business answered the question"
    assert "which is with BCP Business Co-ordinating Group" in email.body_text
    item_page = reverse("escalation:item", args=["concern", concern.pk])
    assert f"{settings.SITE_URL}{item_page}" in email.body_text
    assert recipients() == {group_member.email}
    assert Concern.objects.get(pk=concern.pk).status == Concern.Status.IN_PROGRESS


@pytest.mark.parametrize("tier", [1, 2, 3])
def test_not_resolved_reaches_the_body_that_holds_the_concern(
    chain, business, owner, npt_officer, group_member, partnership_member, tier
):
    holder = {1: npt_officer, 2: group_member, 3: partnership_member}[tier]
    concern = at_tier(business, owner, tier, assigned_officer=npt_officer)
    engagement_services.concern_resolve(
        concern=concern, actor=holder, outcome=factories.outcome("advice-given")
    )
    OutboundEmail.objects.all().delete()

    engagement_services.concern_feedback(
        concern=concern, author=owner, resolved=False, comment="They came back."
    )

    [email] = OutboundEmail.objects.all()
    assert email.to == holder.email
    assert "reopened" in email.subject
    assert "They came back." in email.body_text


def test_a_guests_answer_at_the_partnership_reaches_the_partnership(
    chain, business, npt_officer, partnership_member
):
    concern = factories.concern_at(business, tier=3, assigned_officer=npt_officer)

    engagement_services.concern_reply(concern=concern, author=None, body="It was Friday.")

    assert recipients() == {partnership_member.email}


def test_the_business_is_told_who_heard_its_reply(client, chain, business, owner, group_member):
    concern = at_tier(business, owner, 2)
    client.force_login(owner)

    response = client.post(
        reverse("engagement:concern_reply", args=[concern.reference]),
        {"body": "It happened again."},
        follow=True,
    )

    assert (
        "Your reply has been sent to the BCP Business Co-ordinating Group."
        in response.content.decode()
    )


@pytest.mark.parametrize(
    ("tier", "held_by"),
    [
        (1, "the Poole Neighbourhood Policing Team"),
        (2, "the BCP Business Co-ordinating Group"),
        (3, "the Wessex Business Safety Partnership"),
    ],
)
def test_the_page_the_reply_message_and_the_email_name_the_same_holder(
    client, chain, business, owner, npt_officer, tier, held_by
):
    from escalation.models import Partnership

    Partnership.objects.update(name="Wessex Business Safety Partnership")
    # Nobody is assigned: the business is not told an officer has it.
    concern = at_tier(business, owner, tier)
    client.force_login(owner)

    page = client.get(concern.get_absolute_url()).content.decode()
    assert f"It goes to whoever has your concern now: {held_by}." in page

    response = client.post(
        reverse("engagement:concern_reply", args=[concern.reference]),
        {"body": "It happened again."},
        follow=True,
    )
    assert f"Your reply has been sent to {held_by}." in response.content.decode()

    if tier < 3:
        from escalation import services

        OutboundEmail.objects.all().delete()
        services.item_escalate(
            item=Concern.objects.get(pk=concern.pk), actor=None, reason="Wider problem."
        )
        moved = Concern.objects.get(pk=concern.pk)
        [email] = OutboundEmail.objects.filter(to=concern.contact_email)
        assert email.subject.endswith(f"is now with {selectors.concern_held_by(moved)}")
