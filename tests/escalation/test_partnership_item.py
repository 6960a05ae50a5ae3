"""The item page: its concerns, timeline and decisions, and every form on it."""

import datetime as dt
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from engagement.models import Concern, ConcernEvent, OutboundEmail
from escalation import services
from escalation.models import Action, Decision, Theme, ThemeEvent
from tests import factories


def url(item, name="item"):
    kind = "theme" if isinstance(item, Theme) else "concern"
    return reverse(f"escalation:{name}", args=[kind, item.pk])


def future(days=14) -> str:
    return (timezone.localdate() + dt.timedelta(days=days)).isoformat()


def form_values(client, item) -> dict:
    """The hidden fields of the decision form as the page renders them."""
    page = client.get(url(item)).content.decode()
    key = re.search(r'name="decision-submission_key" value="([^"]+)"', page).group(1)
    return {"decision-submission_key": key, "decision-from_tier": str(item.tier)}


def decision_data(client, item, **overrides) -> dict:
    data = {
        **form_values(client, item),
        "decision-summary": "A joint visit with the BID warden, and better lighting.",
        "actions-TOTAL_FORMS": "3",
        "actions-INITIAL_FORMS": "0",
        "actions-0-description": "Repair the lane lighting",
        "actions-0-owner": str(factories.partner("bcp-council").pk),
        "actions-0-owner_contact": "Street lighting team",
        "actions-0-due_on": future(14),
        "actions-1-description": "Warden patrol at 4pm",
        "actions-1-owner": str(factories.partner("bids").pk),
        "actions-1-owner_contact": "",
        "actions-1-due_on": future(7),
        "actions-2-description": "",
        "actions-2-owner": "",
        "actions-2-owner_contact": "",
        "actions-2-due_on": "",
    }
    data.update(overrides)
    return data


@pytest.fixture
def concern(chain, business, owner):
    return factories.concern_at(business, tier=2, reporter=owner)


@pytest.fixture
def theme(chain, area, business, other_owner):
    theme = factories.ThemeFactory(npt_area=area)
    for name in ("Quay Gifts", "Harbour Books", "Old Town Deli"):
        other = factories.BusinessFactory(owner=other_owner, npt_area=area, name=name)
        email = name.lower().replace(" ", ".") + "@example.org"
        theme.concerns.add(
            factories.ConcernFactory(
                business=other,
                description=f"Shoplifting at {name}.",
                contact_name=f"Private {name}",
                contact_email=email,
            )
        )
    ThemeEvent.objects.create(theme=theme, kind="created", rule="common_theme", detail="Found.")
    return theme


# The page


def test_it_shows_a_themes_concerns_with_what_partners_need(client, theme, group_member):
    client.force_login(group_member)

    page = client.get(url(theme)).content.decode()

    for name in ("Quay Gifts", "Harbour Books", "Old Town Deli"):
        assert name in page
        assert f"Shoplifting at {name}." in page
    assert "3 concerns linked to" in page
    assert "Theme found" in page
    assert "Private" not in page and "@example.org" not in page


def test_it_shows_the_full_timeline_and_decisions_with_actions(client, concern, group_member):
    services.decision_record(
        item=concern,
        actor=group_member,
        summary="Visit the shop together.",
        actions=[services.ActionSpec("Visit", factories.partner(), dt.date(2030, 1, 2))],
    )
    client.force_login(group_member)

    page = client.get(url(concern)).content.decode()

    assert "Escalated" in page and "Decision recorded" in page
    assert "Visit the shop together." in page
    assert "Dorset Police" in page and "2 Jan 2030" in page
    assert page.index("Escalated</strong>") < page.index("Decision recorded</strong>")


# Decisions


def test_it_records_a_decision_with_actions_owners_and_due_dates(client, concern, group_member):
    client.force_login(group_member)

    response = client.post(url(concern, "decide"), decision_data(client, concern))

    assert response.status_code == 302
    decision = Decision.objects.get(concern=concern)
    assert decision.made_by == group_member and decision.tier == 2
    actions = list(decision.actions.order_by("due_on"))
    assert [(a.description, a.owner.slug) for a in actions] == [
        ("Warden patrol at 4pm", "bids"),
        ("Repair the lane lighting", "bcp-council"),
    ]
    assert actions[1].owner_contact == "Street lighting team"
    assert concern.events.filter(kind=ConcernEvent.Kind.DECISION).count() == 1


def test_it_records_a_decision_on_a_theme(client, theme, group_member):
    client.force_login(group_member)

    response = client.post(url(theme, "decide"), decision_data(client, theme))

    assert response.status_code == 302
    assert Decision.objects.get(theme=theme).actions.count() == 2
    assert theme.events.filter(kind=ThemeEvent.Kind.DECISION).count() == 1


def test_it_records_a_double_submitted_decision_once(client, concern, group_member):
    client.force_login(group_member)
    data = decision_data(client, concern)

    first = client.post(url(concern, "decide"), data)
    second = client.post(url(concern, "decide"), data, follow=True)

    assert first.status_code == 302
    assert Decision.objects.filter(concern=concern).count() == 1
    assert Action.objects.count() == 2
    assert concern.events.filter(kind="decision").count() == 1
    assert "already recorded" in second.content.decode()


def test_it_records_a_second_decision_from_a_fresh_page(client, concern, group_member):
    client.force_login(group_member)
    client.post(url(concern, "decide"), decision_data(client, concern))

    client.post(url(concern, "decide"), decision_data(client, concern))

    assert Decision.objects.filter(concern=concern).count() == 2


def test_it_offers_a_different_decision_sent_from_a_used_form_back_to_send_again(
    client, concern, group_member
):
    client.force_login(group_member)
    data = decision_data(client, concern)
    client.post(url(concern, "decide"), data)

    refused = client.post(url(concern, "decide"), {**data, "decision-summary": "A letter drop."})

    assert refused.status_code == 409
    page = refused.content.decode()
    assert "This form already recorded a decision" in page
    assert "A letter drop." in page  # what was typed is kept, on a form with a fresh key
    assert Decision.objects.filter(concern=concern).count() == 1
    fresh = re.search(r'name="decision-submission_key" value="([^"]+)"', page).group(1)
    assert fresh != data["decision-submission_key"]

    client.post(
        url(concern, "decide"),
        {**data, "decision-summary": "A letter drop.", "decision-submission_key": fresh},
    )

    assert Decision.objects.filter(concern=concern).count() == 2


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"decision-summary": " "}, "Say what was decided."),
        ({"actions-0-owner": ""}, "Choose the organisation that owns the action."),
        ({"actions-0-owner": "999999"}, "Choose the organisation that owns the action."),
        ({"actions-0-due_on": "2020-01-01"}, "The due date cannot be in the past."),
        ({"actions-0-due_on": "31/02/2027"}, "Enter a real date"),
        ({"actions-1-owner": ""}, "Choose the organisation that owns the action."),
        ({"actions-0-description": ""}, "Describe the action."),
        ({"decision-submission_key": "forged"}, "This form is out of date."),
        ({"decision-submission_key": ""}, "This form is out of date."),
    ],
)
def test_it_explains_what_is_wrong_and_keeps_what_was_typed(
    client, concern, group_member, overrides, message
):
    client.force_login(group_member)
    data = decision_data(client, concern, **overrides)

    response = client.post(url(concern, "decide"), data)

    assert response.status_code == 400
    page = response.content.decode()
    summary = page[
        page.index('class="error-summary"') : page.index("</ul>", page.index("error-summary"))
    ]
    assert message in summary
    assert "Warden patrol at 4pm" in page  # what was typed is kept
    assert not Decision.objects.exists()


def test_it_accepts_a_due_date_of_today(client, concern, group_member):
    client.force_login(group_member)

    client.post(
        url(concern, "decide"), decision_data(client, concern, **{"actions-0-due_on": future(0)})
    )

    assert Decision.objects.filter(concern=concern).exists()


def test_it_needs_at_least_one_action_per_decision(client, concern, group_member):
    client.force_login(group_member)
    data = decision_data(client, concern)
    for index in (0, 1):
        for name in ("description", "owner", "owner_contact", "due_on"):
            data[f"actions-{index}-{name}"] = ""

    response = client.post(url(concern, "decide"), data)

    assert response.status_code == 400
    assert not Decision.objects.exists()


def test_it_adds_another_action_row_without_javascript(client, concern, group_member):
    client.force_login(group_member)
    data = decision_data(client, concern, add_action="1")

    response = client.post(url(concern, "decide"), data)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="actions-TOTAL_FORMS" value="4"' in page
    assert "Warden patrol at 4pm" in page
    assert "A joint visit with the BID warden" in page
    assert 'class="error-summary"' not in page
    assert not Decision.objects.exists()
    more = {**data, "actions-TOTAL_FORMS": "4", "actions-3-description": "Letter drop"}
    more.update({"actions-3-owner": str(factories.partner("fsb").pk), "actions-3-due_on": future()})
    more.pop("add_action")
    client.post(url(concern, "decide"), more)
    assert Decision.objects.get().actions.count() == 3


def test_it_refuses_a_decision_on_an_item_that_moved_since_the_page_was_shown(
    client, concern, group_member
):
    client.force_login(group_member)
    data = decision_data(client, concern)
    services.item_escalate(item=concern, actor=group_member, reason="Up.", from_tier=2)

    response = client.post(url(concern, "decide"), data, follow=True)

    assert "has moved since you opened it" in response.content.decode()
    assert not Decision.objects.exists()


# Moves


def test_it_lets_a_group_member_escalate_to_the_partnership_with_a_reason(
    client, concern, group_member, partnership_member
):
    client.force_login(group_member)
    data = {"escalate-reason": "Needs a county-wide answer.", "escalate-from_tier": "2"}

    response = client.post(url(concern, "escalate"), data)

    assert response.status_code == 302
    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.PARTNERSHIP
    event = concern.events.get(kind="escalated", actor=group_member)
    assert (event.from_tier, event.to_tier, event.detail) == (2, 3, "Needs a county-wide answer.")
    assert OutboundEmail.objects.filter(to=partnership_member.email).count() == 1


def test_it_moves_a_double_submitted_escalation_once(
    client, concern, group_member, partnership_member
):
    client.force_login(group_member)
    data = {"escalate-reason": "Needs a county-wide answer.", "escalate-from_tier": "2"}

    client.post(url(concern, "escalate"), data)
    second = client.post(url(concern, "escalate"), data, follow=True)

    concern.refresh_from_db()
    assert concern.tier == Concern.Tier.PARTNERSHIP
    assert concern.events.filter(kind="escalated", actor=group_member).count() == 1
    assert OutboundEmail.objects.filter(to=partnership_member.email).count() == 1
    assert "has moved since you opened it" in second.content.decode()


def test_it_needs_a_reason_to_escalate(client, concern, group_member):
    client.force_login(group_member)

    response = client.post(
        url(concern, "escalate"), {"escalate-reason": " ", "escalate-from_tier": "2"}
    )

    assert response.status_code == 400
    assert "Give a reason for escalating." in response.content.decode()
    concern.refresh_from_db()
    assert concern.tier == 2


def test_it_offers_the_partnership_nowhere_to_escalate_to(
    client, chain, business, partnership_member
):
    top = factories.concern_at(business, tier=3)
    client.force_login(partnership_member)

    page = client.get(url(top)).content.decode()
    response = client.post(
        url(top, "escalate"), {"escalate-reason": "Up", "escalate-from_tier": "3"}, follow=True
    )

    assert "Escalate to the Business Safety Partnership" not in page
    assert "top of the chain" in response.content.decode()
    top.refresh_from_db()
    assert top.tier == 3


@pytest.mark.parametrize("tier", [2, 3])
def test_it_returns_an_item_to_the_tier_below_with_guidance(
    client, chain, business, group_member, partnership_member, tier
):
    item = factories.concern_at(business, tier=tier)
    client.force_login(group_member if tier == 2 else partnership_member)
    data = {"return-guidance": "Visit with the BID warden.", "return-from_tier": str(tier)}

    client.post(url(item, "return"), data)
    again = client.post(url(item, "return"), data, follow=True)

    item.refresh_from_db()
    assert item.tier == tier - 1
    assert item.events.filter(kind="returned").count() == 1
    assert item.events.get(kind="returned").detail == "Visit with the BID warden."
    assert "Nothing was changed" in again.content.decode()


def test_it_needs_guidance_to_return_an_item(client, concern, group_member):
    client.force_login(group_member)

    response = client.post(url(concern, "return"), {"return-guidance": "", "return-from_tier": "2"})

    assert response.status_code == 400
    assert "Give guidance for the tier below." in response.content.decode()


def test_it_resolves_with_a_referral_to_a_national_body(
    client, chain, business, owner, partnership_member
):
    top = factories.concern_at(business, tier=3, reporter=owner)
    referral = factories.outcome("referred-action-fraud")
    client.force_login(partnership_member)
    data = {"resolve-outcome": str(referral.pk), "resolve-note": "", "resolve-from_tier": "3"}

    assert "Referred to Action Fraud / NFIB" in client.get(url(top)).content.decode()
    client.post(url(top, "resolve"), data)
    again = client.post(url(top, "resolve"), data, follow=True)

    top.refresh_from_db()
    assert (top.status, top.outcome) == (Concern.Status.RESOLVED, referral)
    assert top.events.filter(kind="resolved").count() == 1
    assert OutboundEmail.objects.filter(to=owner.email).count() == 1
    assert "already has an outcome" in again.content.decode()


def test_it_needs_a_note_for_an_outcome_that_asks_for_one(client, concern, group_member):
    client.force_login(group_member)
    nfa = factories.outcome("no-further-action")
    data = {"resolve-outcome": str(nfa.pk), "resolve-note": "  ", "resolve-from_tier": "2"}

    response = client.post(url(concern, "resolve"), data)

    assert response.status_code == 400
    assert "Explain the outcome" in response.content.decode()
    concern.refresh_from_db()
    assert concern.is_open


def test_it_needs_an_outcome_to_resolve(client, concern, group_member):
    client.force_login(group_member)

    response = client.post(url(concern, "resolve"), {"resolve-from_tier": "2"})

    assert response.status_code == 400
    assert "Choose an outcome." in response.content.decode()


def test_it_sends_a_themes_outcome_to_every_linked_business(client, theme, group_member):
    client.force_login(group_member)
    data = {
        "resolve-outcome": str(factories.outcome("action-taken").pk),
        "resolve-note": "Extra patrols on Saturdays.",
        "resolve-from_tier": "2",
    }

    response = client.post(url(theme, "resolve"), data)

    assert response.status_code == 302
    theme.refresh_from_db()
    assert theme.status == Theme.Status.RESOLVED
    emails = OutboundEmail.objects.filter(subject__isnull=False)
    assert sorted(e.to for e in emails) == [
        "harbour.books@example.org",
        "old.town.deli@example.org",
        "quay.gifts@example.org",
    ]
    assert all("Extra patrols on Saturdays." in e.body_text for e in emails)


# Actions


@pytest.fixture
def action(concern, group_member):
    decision = services.decision_record(
        item=concern,
        actor=group_member,
        summary="Lighting.",
        actions=[
            services.ActionSpec(
                "Fix the lights", factories.partner("bcp-council"), dt.date(2030, 1, 1)
            )
        ],
    )
    return decision.actions.get()


def test_it_marks_an_action_done_once(client, concern, action, group_member):
    client.force_login(group_member)
    done_url = reverse("escalation:action_done", args=["concern", concern.pk, action.pk])

    client.post(done_url, {f"done-{action.pk}-note": "Lights fixed on Tuesday."})
    again = client.post(done_url, {}, follow=True)

    action.refresh_from_db()
    assert action.completed_by == group_member
    assert action.completion_note == "Lights fixed on Tuesday."
    assert concern.events.filter(kind="action_done").count() == 1
    assert "already marked done" in again.content.decode()


def test_it_marks_an_action_done_after_the_outcome(client, concern, action, group_member):
    services.item_resolve(item=concern, actor=group_member, outcome=factories.outcome())
    client.force_login(group_member)

    client.post(reverse("escalation:action_done", args=["concern", concern.pk, action.pk]))

    action.refresh_from_db()
    assert action.is_done


# Query counts


def item_page_queries(client, item) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(item)).status_code == 200
    return len(queries)


def busy(item, actor, n):
    """n decisions with two actions each, one action done, and n of each kind of message."""
    concerns = [item] if isinstance(item, Concern) else list(item.concerns.all())
    for concern in concerns:
        for i in range(n):
            for kind in ("public", "question", "reply", "internal"):
                factories.ConcernUpdateFactory(concern=concern, kind=kind, body=f"{kind} {i}")
    for i in range(n):
        services.decision_record(
            item=item,
            actor=actor,
            summary=f"Decision {i}",
            actions=[
                services.ActionSpec(f"Action {i}a", factories.partner(), dt.date(2030, 1, 1)),
                services.ActionSpec(f"Action {i}b", factories.partner("fsb"), dt.date(2030, 1, 2)),
            ],
        )
    action = Action.objects.filter(completed_at__isnull=True).first()
    services.action_complete(action=action, actor=actor)


def test_it_reads_a_concern_page_in_a_fixed_number_of_queries(
    client, chain, business, owner, group_member
):
    quiet = factories.concern_at(business, tier=2, reporter=owner)
    noisy = factories.concern_at(business, tier=2, reporter=owner)
    busy(quiet, group_member, 1)
    busy(noisy, group_member, 12)
    client.force_login(group_member)
    client.get(url(quiet))  # warm per-process caches

    assert item_page_queries(client, noisy) == item_page_queries(client, quiet)


def test_it_reads_a_theme_page_in_a_fixed_number_of_queries(
    client, chain, area, other_area, business, group_member
):
    small = factories.ThemeFactory(npt_area=area)
    large = factories.ThemeFactory(npt_area=area, category=factories.category("fraud"))
    small.concerns.add(factories.ConcernFactory(business=business))
    for _ in range(15):
        large.concerns.add(
            factories.ConcernFactory(
                business=factories.BusinessFactory(npt_area=area), category=large.category
            )
        )
    busy(small, group_member, 1)
    busy(large, group_member, 10)
    client.force_login(group_member)
    client.get(url(small))

    assert item_page_queries(client, large) == item_page_queries(client, small)


def test_it_reads_the_item_page_in_twelve_queries(
    client, concern, group_member, django_assert_num_queries
):
    busy(concern, group_member, 3)
    client.force_login(group_member)
    # 1. the session
    # 2. the signed-in user
    # 3. the groups the person is in (member_scope)
    # 4. whether they are in the Partnership (member_scope)
    # 5. the concern with its business, category, NPT area and group
    # 6. its events with who made them
    # 7. its decisions with who recorded them
    # 8. their actions with owners and who completed them
    # 9. the partner organisations for the action rows of the decision form
    # 10. the outcomes for the resolve form
    # 11. the themes in scope that link the concern
    # 12. its public thread: updates, questions and replies, with who wrote them
    with django_assert_num_queries(12):
        client.get(url(concern))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_records_one_decision_from_two_simultaneous_submissions(chain, business, group_member):
    import threading

    from django.db import connections

    concern = factories.concern_at(business, tier=2)
    key = uuid.uuid4()
    barrier = threading.Barrier(2)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            results.append(
                services.decision_record_once(
                    item=concern,
                    actor=group_member,
                    summary="Same form, sent twice.",
                    actions=[
                        services.ActionSpec("Visit", factories.partner(), dt.date(2030, 1, 1))
                    ],
                    from_tier=2,
                    submission_key=key,
                )
            )
        except Exception as exc:  # reported below, with the thread's own connection closed
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=submit) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert not errors
    assert sorted(created for _, created in results) == [False, True]
    assert Decision.objects.filter(concern=concern).count() == 1
    assert Action.objects.count() == 1


def test_it_refuses_to_resolve_an_item_that_moved_since_the_page_was_shown(
    client, chain, business, owner, group_member
):
    concern = factories.concern_at(business, tier=2, reporter=owner)
    client.force_login(group_member)
    page_tier = "2"
    Concern.objects.filter(pk=concern.pk).update(tier=3)  # a sweep moved it meanwhile

    response = client.post(
        url(concern, "resolve"),
        {
            "resolve-outcome": str(factories.outcome("action-taken").pk),
            "resolve-note": "",
            "resolve-from_tier": page_tier,
        },
        follow=True,
    )

    assert response.status_code in (200, 403)
    concern.refresh_from_db()
    assert concern.status != Concern.Status.RESOLVED


def test_the_service_checks_the_tier_under_the_lock(chain, business, owner, group_member):
    from django.core.exceptions import ValidationError

    concern = factories.concern_at(business, tier=3, reporter=owner)
    with pytest.raises(ValidationError, match="is now with the Business Safety Partnership"):
        services.item_resolve(
            item=concern,
            actor=group_member,
            outcome=factories.outcome("action-taken"),
            from_tier=2,
        )
    concern.refresh_from_db()
    assert concern.is_open


@pytest.mark.parametrize("odd", ["²", "٣", "2.0", "-1", "9" * 40, "9" * 5000, ""])
def test_it_never_fails_on_an_odd_tier_field(client, chain, business, owner, group_member, odd):
    concern = factories.concern_at(business, tier=2, reporter=owner)
    client.force_login(group_member)

    response = client.post(url(concern, "escalate"), {"escalate-from_tier": odd})

    assert response.status_code < 500
