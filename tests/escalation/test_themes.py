import datetime as dt

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django.utils import timezone

from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Theme, ThemeEvent, ThemeSettings
from tests import factories


def businesses(area, count):
    return [
        factories.BusinessFactory(npt_area=area, name=f"Shop {n}", owner=factories.UserFactory())
        for n in range(count)
    ]


def report(business, *, category="theft", days_ago=0, **fields):
    return factories.ConcernFactory(
        business=business,
        category=factories.category(category),
        created_at=timezone.now() - dt.timedelta(days=days_ago),
        contact_email=f"{business.name.lower().replace(' ', '.')}@example.org",
        **fields,
    )


def test_it_forms_no_theme_below_the_threshold(chain, area):
    first, second = businesses(area, 2)
    report(first)
    report(first)  # the same business twice is still one business
    report(second)

    result = services.theme_detect()

    assert result.created == []
    assert not Theme.objects.exists()


def test_it_forms_a_theme_from_three_businesses_and_escalates_it_to_the_group(
    chain, area, group_member
):
    concerns = [report(business) for business in businesses(area, 3)]

    result = services.theme_detect()

    theme = Theme.objects.get()
    assert result.created == [theme.reference]
    assert theme.tier == Concern.Tier.GROUP
    assert theme.status == Theme.Status.OPEN
    assert theme.title == "Theft or shoplifting in Poole"
    assert set(theme.concerns.all()) == set(concerns)
    assert theme.resolution_due_at is not None
    escalated = theme.events.get(kind=ThemeEvent.Kind.ESCALATED)
    assert (escalated.from_tier, escalated.to_tier) == (1, 2)
    assert escalated.rule == services.RULE_COMMON_THEME
    [email] = OutboundEmail.objects.filter(to=group_member.email)
    assert theme.reference in email.body_text
    # Each concern stays with its NPT; the theme is the one item at tier 2.
    assert set(Concern.objects.values_list("tier", flat=True)) == {Concern.Tier.NPT}


def test_it_ignores_concerns_outside_the_window_other_categories_and_other_areas(
    chain, area, other_area
):
    first, second, third = businesses(area, 3)
    report(first)
    report(second)
    report(third, days_ago=29)  # outside the 28 days
    report(third, category="burglary")  # another category
    report(factories.BusinessFactory(npt_area=other_area, name="Far Away"))  # another NPT
    report(third, status=Concern.Status.UNCONFIRMED)  # a guest who never confirmed

    services.theme_detect()

    assert not Theme.objects.exists()


def test_it_never_duplicates_a_theme_on_a_rerun(chain, area, group_member):
    for business in businesses(area, 3):
        report(business)

    services.theme_detect()
    again = services.theme_detect()

    assert Theme.objects.count() == 1
    assert again.created == [] and again.extended == []
    assert Theme.objects.get().events.count() == 2  # created, escalated
    assert OutboundEmail.objects.filter(to=group_member.email).count() == 1


def test_it_extends_the_open_theme_with_new_concerns(chain, area):
    shops = businesses(area, 4)
    for business in shops[:3]:
        report(business)
    services.theme_detect()

    late = report(shops[3])
    result = services.theme_detect()

    theme = Theme.objects.get()
    assert result.extended == [theme.reference]
    assert late in theme.concerns.all()
    assert theme.concerns.count() == 4
    linked = theme.events.get(kind=ThemeEvent.Kind.LINKED)
    assert late.reference in linked.detail


def test_it_starts_a_new_theme_only_from_concerns_after_the_last_one_was_resolved(
    chain, area, group_member
):
    shops = businesses(area, 6)
    for business in shops[:3]:
        report(business)
    services.theme_detect()
    old = Theme.objects.get()
    services.theme_resolve(theme=old, actor=group_member, outcome=factories.outcome())

    services.theme_detect()
    assert Theme.objects.count() == 1  # the resolved theme's concerns do not form another

    for business in shops[3:]:
        report(business)
    services.theme_detect()
    new = Theme.objects.get(status=Theme.Status.OPEN)
    assert new.pk != old.pk
    assert new.concerns.count() == 3


def test_it_uses_the_thresholds_from_the_admin(chain, area):
    ThemeSettings.objects.filter(pk=1).update(min_businesses=2, window_days=7)
    first, second = businesses(area, 2)
    report(first)
    report(second, days_ago=8)

    services.theme_detect()
    assert not Theme.objects.exists()

    report(second, days_ago=6)
    services.theme_detect()
    assert Theme.objects.count() == 1


def test_the_database_refuses_a_second_open_theme_for_one_category_and_area(chain, area):
    factories.ThemeFactory(npt_area=area)

    with pytest.raises(IntegrityError), transaction.atomic():
        factories.ThemeFactory(npt_area=area)
    factories.ThemeFactory(npt_area=area, status=Theme.Status.RESOLVED)  # resolved ones may


def test_its_outcome_reaches_every_linked_business(chain, area, group_member):
    shops = businesses(area, 3)
    concerns = [report(business) for business in shops]
    second_from_first = report(shops[0])
    services.theme_detect()
    theme = Theme.objects.get()
    OutboundEmail.objects.all().delete()

    services.item_resolve(
        item=theme,
        actor=group_member,
        outcome=factories.outcome("action-taken"),
        note="Extra patrols at closing time and a shared radio link between the shops.",
    )

    theme.refresh_from_db()
    assert theme.status == Theme.Status.RESOLVED
    assert theme.events.filter(kind=ThemeEvent.Kind.RESOLVED, actor=group_member).exists()
    emails = {email.to: email for email in OutboundEmail.objects.all()}
    assert set(emails) == {concern.contact_email for concern in concerns}
    first = emails[concerns[0].contact_email]
    assert first.subject == "You said, we did: Theft or shoplifting in Poole"
    assert concerns[0].reference in first.body_text
    assert second_from_first.reference in first.body_text
    assert "shared radio link" in first.body_text


def test_the_command_runs_detection_once_and_says_what_it_did(chain, area, capsys):
    for business in businesses(area, 3):
        report(business)

    call_command("detect_themes")

    out = capsys.readouterr().out
    assert "Looking for 3 or more businesses" in out
    assert "Found 1 new theme(s)" in out
    assert Theme.objects.get().reference in out
    assert "Linked 3 concern(s)." in out


# A theme's outcome settles its concerns


@pytest.fixture
def theme(chain, area, other_owner):
    theme = factories.ThemeFactory(npt_area=area)
    for name in ("Quay Gifts", "Harbour Books", "Old Town Deli"):
        business = factories.BusinessFactory(owner=other_owner, npt_area=area, name=name)
        theme.concerns.add(
            factories.ConcernFactory(
                business=business,
                reporter=other_owner,
                contact_email=name.lower().replace(" ", ".") + "@example.org",
            )
        )
    return theme


def test_it_settles_every_open_linked_concern_with_the_themes_outcome(theme, group_member):
    closed = theme.concerns.first()
    Concern.objects.filter(pk=closed.pk).update(status=Concern.Status.CLOSED)
    outcome = factories.outcome("action-taken")

    services.item_resolve(item=theme, actor=group_member, outcome=outcome, note="Patrols.")

    settled = theme.concerns.exclude(pk=closed.pk)
    assert {c.status for c in settled} == {Concern.Status.RESOLVED}
    assert {c.outcome for c in settled} == {outcome}
    assert all(theme.reference in c.outcome_note and "Patrols." in c.outcome_note for c in settled)
    events = ConcernEvent.objects.filter(concern__in=settled, kind=ConcernEvent.Kind.RESOLVED)
    assert events.count() == 2
    assert set(events.values_list("rule", flat=True)) == {services.RULE_COMMON_THEME}
    assert Concern.objects.get(pk=closed.pk).status == Concern.Status.CLOSED
    assert not ConcernEvent.objects.filter(concern=closed).exists()


def test_it_lets_a_business_reopen_its_own_concern_after_a_theme_outcome(
    theme, group_member, other_owner
):
    from engagement import services as engagement_services

    services.item_resolve(
        item=theme, actor=group_member, outcome=factories.outcome("action-taken"), note=""
    )
    concern = theme.concerns.first()

    engagement_services.concern_feedback(concern=concern, author=other_owner, resolved=False)

    concern.refresh_from_db()
    assert concern.status == Concern.Status.IN_PROGRESS
    assert Theme.objects.get(pk=theme.pk).status == Theme.Status.RESOLVED


def test_it_does_not_email_a_reporter_who_deleted_their_account(theme, group_member):
    gone = theme.concerns.first()
    Concern.objects.filter(pk=gone.pk).update(contact_email="", reporter=None)

    services.item_resolve(
        item=theme, actor=group_member, outcome=factories.outcome("action-taken"), note=""
    )

    assert not OutboundEmail.objects.filter(to="").exists()
    assert OutboundEmail.objects.count() == 2  # the two businesses still reachable
