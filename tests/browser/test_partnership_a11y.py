"""The review area in Chromium with axe-core: queue, item pages (with an error summary), insight."""

import datetime as dt
import re

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagement.models import Concern
from escalation import services
from escalation.models import CoordinatingGroup, Partnership, PartnershipMembership
from tests import factories

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def sign_in(page, user, live_server):
    """Sign in as `user` through Django's own login, handing the browser the session cookie."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def test_it_walks_the_partnership_pages_without_accessibility_violations(
    new_page, assert_accessible, live_server
):
    group = CoordinatingGroup.objects.create(name="BCP Business Co-ordinating Group", slug="bcp")
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    area.group = group
    area.save(update_fields=["group"])
    member = factories.UserFactory(email="champion@example.org", full_name="Pat Partnership")
    PartnershipMembership.objects.create(user=member, partnership=Partnership.load())
    owner = factories.UserFactory(email="owner@example.org")
    business = factories.BusinessFactory(owner=owner, npt_area=area, name="Quayside Books")
    concern = factories.concern_at(business, tier=3, reporter=owner)
    overdue = factories.concern_at(business, tier=3, due=timezone.now() - dt.timedelta(days=3))
    services.decision_record(
        item=overdue,
        actor=member,
        summary="Ask the National Business Crime Centre about the group.",
        actions=[
            services.ActionSpec("Send the pattern", factories.partner("nbcc"), timezone.localdate())
        ],
    )
    theme = factories.ThemeFactory(npt_area=area, tier=3)
    for name in ("Harbour Gifts", "Old Town Deli", "Quay Café"):
        other = factories.BusinessFactory(npt_area=area, name=name)
        theme.concerns.add(factories.ConcernFactory(business=other))
    Concern.objects.filter(pk=concern.pk).update(reporter_satisfied=None)
    # Each item page shows the public thread: an update, a question and the business's answer.
    for kind, body in [
        ("public", "We have shared the CCTV stills with the Partnership."),
        ("question", "Which evenings does it happen?"),
        ("reply", "Fridays, after 8pm."),
    ]:
        factories.ConcernUpdateFactory(concern=concern, kind=kind, body=body)
        factories.ConcernUpdateFactory(concern=theme.concerns.first(), kind=kind, body=body)

    page = new_page()
    sign_in(page, member, live_server)
    page.goto("/")
    page.get_by_role("link", name="Partnership", exact=True).click()
    page.wait_for_url(re.compile("/partnership/$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Review queue"
    assert page.get_by_text(re.compile("Overdue by")).count() >= 1
    assert_accessible(page)

    # Filters are a plain GET form.
    page.get_by_label("Kind").select_option("theme")
    page.get_by_role("button", name="Show items").click()
    page.wait_for_url(re.compile("kind=theme"))
    assert_accessible(page)

    # A theme with its concerns.
    page.get_by_role("link", name=theme.reference).click()
    page.wait_for_url(re.compile(f"/partnership/themes/{theme.pk}/$"))
    assert page.get_by_role("cell", name="Old Town Deli").count() == 1
    assert page.get_by_text("Fridays, after 8pm.").count() == 1
    assert_accessible(page)

    # A concern: submit the decision form empty, and the error summary explains.
    page.goto(f"/partnership/concerns/{concern.pk}/")
    thread = page.get_by_role("region", name="What the business and the police said")
    assert thread.get_by_text("Which evenings does it happen?").is_visible()
    assert_accessible(page)
    page.get_by_label("Due by").first.fill("2020-01-01")
    page.get_by_role("button", name="Record the decision").click()
    page.wait_for_load_state()
    alert = page.get_by_role("alert")
    assert alert.is_visible()
    assert "Say what was decided." in alert.inner_text()
    assert "cannot be in the past" in alert.inner_text()
    assert_accessible(page)

    # An item with a decision and an action to mark done.
    page.goto(f"/partnership/concerns/{overdue.pk}/")
    assert page.get_by_role("button", name=re.compile("Mark done")).count() == 1
    assert_accessible(page)

    page.goto("/partnership/insight/")
    assert page.get_by_role("table").count() == 8
    assert_accessible(page)


def test_it_lets_a_partnership_member_choose_the_period_and_the_area_on_insight(
    new_page, assert_accessible, live_server
):
    from escalation import rollup

    group = CoordinatingGroup.objects.create(name="BCP Business Co-ordinating Group", slug="bcp")
    poole = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    poole.group = group
    poole.save(update_fields=["group"])
    purbeck = factories.NPTAreaFactory(name="Purbeck", districts=["BH20"])
    member = factories.UserFactory(email="champion@example.org", full_name="Pat Partnership")
    PartnershipMembership.objects.create(user=member, partnership=Partnership.load())
    quay = factories.BusinessFactory(npt_area=poole, name="Quayside Books")
    farm = factories.BusinessFactory(npt_area=purbeck, name="Corfe Farm Shop")
    today = timezone.localdate()
    long_ago = today.replace(day=1) - dt.timedelta(days=500)  # before the last 12 months
    for business, created in [(quay, long_ago), (quay, long_ago), (farm, long_ago), (quay, today)]:
        concern = factories.ConcernFactory(business=business)
        moment = timezone.make_aware(dt.datetime.combine(created, dt.time(12)))
        Concern.objects.filter(pk=concern.pk).update(created_at=moment)
    rollup.insight_refresh(full=True)

    def figures_for(area_name):
        table = page.get_by_role("table", name="Concerns by NPT area: the figures")
        return table.get_by_role("row", name=re.compile(area_name)).inner_text()

    page = new_page()
    sign_in(page, member, live_server)
    page.goto("/partnership/insight/")
    assert re.search(r"Poole\s+1", figures_for("Poole"))
    assert re.search(r"Purbeck\s+0", figures_for("Purbeck"))
    assert page.get_by_text(re.compile("Concern figures as of")).is_visible()

    page.get_by_label("From").fill(long_ago.isoformat())
    page.get_by_label("To").fill(long_ago.isoformat())
    page.get_by_label("NPT area or Co-ordinating Group").select_option(label="Poole")
    page.get_by_role("button", name="Show the figures").click()
    page.wait_for_url(re.compile(r"start=.*where=area-"))

    assert re.search(r"Poole\s+2", figures_for("Poole"))
    assert page.get_by_role("row", name=re.compile("Purbeck")).count() == 0
    assert page.get_by_label("From").input_value() == long_ago.isoformat()
    link = page.get_by_role("link", name=re.compile("Download concerns by npt area as CSV"))
    assert f"start={long_ago.isoformat()}" in link.get_attribute("href")
    assert_accessible(page)

    # The wrong way round: the error summary says so, and the page still works.
    page.get_by_label("From").fill(today.isoformat())
    page.get_by_label("To").fill(long_ago.isoformat())
    page.get_by_role("button", name="Show the figures").click()
    page.wait_for_load_state()
    assert "The end date must be after the start date." in page.get_by_role("alert").inner_text()
    assert_accessible(page)
