"""Every staff page in the admin meets WCAG 2.2 AA: axe-core on all of them, walked, not listed.

For each of the three kinds of staff (an NPT officer, an OPCC editor, an administrator) the walk
starts at /admin/ and follows what the person can open: each app's index, each changelist, one
choice of every filter on it, its add form, its first object's change form and the pages that
form links to (history, delete, cancel, password), and on a concern or theme every triage form
sent empty, which shows its error state. Each page is then checked with axe-core in light and
dark mode, at 1280 and 390 px wide. A new model, filter or inline is walked without anyone
adding it here.
"""

import datetime as dt
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from engagement import services as engagement_services
from engagement.models import ConcernEvent, OutboundEmail, Signpost
from escalation.models import (
    Action,
    CoordinatingGroup,
    Decision,
    GroupMembership,
    Partnership,
    PartnershipMembership,
    Sweep,
    ThemeConcern,
    ThemeEvent,
)
from resources.models import AlertDelivery, CommunityEvent
from tests import factories
from tests.browser.conftest import AXE_OPTIONS
from tests.browser.test_officer_triage import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MODES = [
    ("light", 1280),
    ("dark", 1280),
    ("light", 390),
    ("dark", 390),
]
EDITOR_GROUP = "OPCC editors"
SETTLED = "() => document.getAnimations().every(a => a.playState !== 'running')"


@dataclass(frozen=True)
class Stop:
    """A page to check: `url` as opened, or the triage form `empty_form` on it sent empty."""

    url: str
    empty_form: str = ""

    def __str__(self):
        path = urlsplit(self.url)
        shown = path.path + (f"?{path.query}" if path.query else "")
        return f"{shown} ({self.empty_form} sent empty)" if self.empty_form else shown


@pytest.fixture
def staff_world(db):
    """Demo-like data in which every model the admin shows has a row, and every inline one."""
    group = CoordinatingGroup.objects.order_by("pk").first() or factories.CoordinatingGroupFactory(
        name="BCP Business Co-ordinating Group", slug="bcp"
    )
    poole = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    poole.group = group
    poole.email = "poole.npt@example.org"
    poole.save(update_fields=["group", "email"])
    officer = factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )
    editor = factories.UserFactory(
        email="pat.lewis@example.org", full_name="Pat Lewis", is_staff=True
    )
    editor.groups.add(Group.objects.get(name=EDITOR_GROUP))
    administrator = factories.UserFactory(
        email="admin@example.org", full_name="Alex Admin", is_staff=True, is_superuser=True
    )
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")

    concern = factories.ConcernFactory(business=business, reporter=owner, priority="high")
    factories.ConcernUpdateFactory(concern=concern, author=officer, body="We will call today.")
    factories.AttachmentFactory(concern=concern)
    ConcernEvent.objects.create(
        concern=concern, kind=ConcernEvent.Kind.SUBMITTED, to_status="new", to_tier=1
    )
    resolved = factories.ConcernFactory(business=business, reporter=owner)
    engagement_services.concern_resolve(
        concern=resolved,
        actor=officer,
        outcome=factories.outcome(),
        note="Move the display away from the door.",
        from_tier=1,
    )
    escalated = factories.concern_at(business, tier=2)

    theme = factories.ThemeFactory(npt_area=poole, tier=1)
    ThemeConcern.objects.create(theme=theme, concern=concern)
    ThemeEvent.objects.create(theme=theme, kind=ThemeEvent.Kind.CREATED, to_tier=1)
    decision = Decision.objects.create(
        concern=escalated, tier=2, summary="Patrols on the Quay for a month.", made_by=officer
    )
    Action.objects.create(
        decision=decision,
        description="Extra evening patrols.",
        owner=factories.partner(),
        due_on=timezone.localdate() + dt.timedelta(days=14),
    )
    GroupMembership.objects.create(user=factories.UserFactory(full_name="Gill Group"), group=group)
    PartnershipMembership.objects.create(
        user=factories.UserFactory(full_name="Parker Partner"), partnership=Partnership.load()
    )
    Sweep.objects.create(kind=Sweep.Kind.OVERDUE, escalated=1)
    OutboundEmail.objects.create(
        to="owner@example.org", subject="Your report DBC-1", body_text="We have your report."
    )
    if not Signpost.objects.exists():
        Signpost.objects.create(title="Crime in progress", when="Now", body="Call 999.")

    factories.ResourceFactory(title="Small Business Guide", sectors=["retail"])
    factories.SpecialistContactFactory(team="rural")
    scheme = factories.WatchSchemeFactory(name="Shop Watch", coordinators=[owner])
    membership = factories.SchemeMembershipFactory(scheme=scheme, business=business, contact=owner)
    alert = factories.AlertFactory(scheme=scheme, title="Counterfeit notes in Poole")
    AlertDelivery.objects.create(alert=alert, membership=membership, channel="immediate")
    seminar = factories.SeminarFactory(title="Spotting invoice fraud")
    factories.BookingFactory(seminar=seminar, business=business, user=owner)
    CommunityEvent.objects.create(kind=CommunityEvent.Kind.APPLIED, actor=owner)
    return {"officer": officer, "editor": editor, "administrator": administrator}


def absolute(page, href: str) -> str:
    return urljoin(page.url, href)


def hrefs(page, selector: str) -> list[str]:
    return [absolute(page, h) for h in page.eval_on_selector_all(selector, ELEMENT_HREFS)]


ELEMENT_HREFS = "els => els.map(e => e.getAttribute('href')).filter(Boolean)"


def admin_links(page, selector: str) -> list[str]:
    """Links under /admin/ found by `selector`, leaving out signing out."""
    return [
        url
        for url in hrefs(page, selector)
        if urlsplit(url).path.startswith("/admin/")
        and "/logout/" not in url
        # "View on site" leaves the admin for the public site, checked by its own tests.
        and not urlsplit(url).path.startswith("/admin/r/")
        # A related field's add and change links open the same forms in a popup window.
        and "_popup=" not in url
        and "_to_field=" not in url
    ]


def is_page(page, url: str) -> bool:
    response = page.request.get(url, max_redirects=0)
    return response.headers.get("content-type", "").startswith("text/html")


def walk(page) -> list[Stop]:
    """Every admin page the signed-in person can open, from the index (as a person would)."""
    stops: dict[Stop, None] = {}

    def visit(url):
        stop = Stop(url)
        if stop in stops:
            return False
        stops[stop] = None
        page.goto(url)
        return True

    visit(absolute(page, "/admin/"))
    apps = admin_links(page, "#content-main .module caption a")
    user_tools = admin_links(page, "#user-tools a")
    changelists = []
    for app in apps:
        visit(app)
        changelists += admin_links(page, "#content-main .module th[scope=row] a")
    for url in user_tools:
        visit(url)
    change_pages = []
    for changelist in dict.fromkeys(changelists):
        if not visit(changelist):
            continue
        # One choice of each filter, the first that is not the one shown.
        filters = page.eval_on_selector_all(
            "#changelist-filter details, #changelist-filter ul",
            """els => els.map(e => {
                const link = e.querySelector('li:not(.selected) a');
                return link && link.getAttribute('href');
            }).filter(Boolean)""",
        )
        filters += page.eval_on_selector_all(".xfull a", ELEMENT_HREFS)[:1]
        adds = admin_links(page, ".object-tools a.addlink")
        first_row = admin_links(page, "#result_list tbody tr:first-child a")[:1]
        for url in [absolute(page, f) for f in filters] + adds:
            visit(url)
        change_pages += first_row
    for change in change_pages:
        if not visit(change):
            continue
        # The pages a change form leads to: history, delete, a seminar's cancel page, a
        # user's password form; not other objects' change pages (walked from their lists).
        onward = [
            url
            for url in admin_links(page, ".object-tools a, #content-main form a, .deletelink")
            if not url.rstrip("/").endswith(("/change", "/add")) or "password" in url
        ]
        triage = page.eval_on_selector_all(
            ".triage-action form[id^=triage-form-]", "els => els.map(e => e.id)"
        )
        for form in triage:
            stops[Stop(change, empty_form=form)] = None
        for url in onward:
            # Attachments are files to download, not pages.
            if urlsplit(url).path != urlsplit(change).path and is_page(page, url):
                visit(url)
    return list(stops)


def open_stop(page, stop: Stop):
    page.goto(stop.url)
    if stop.empty_form:
        form = page.locator(f"#{stop.empty_form}")
        # Emptied as an officer could leave it (the browser's own check set aside, so the
        # portal's message is what shows): no text, no choice.
        form.evaluate(
            """form => {
                form.noValidate = true;
                form.querySelectorAll('textarea').forEach(t => { t.value = ''; });
                form.querySelectorAll('select').forEach(s => { s.selectedIndex = -1; });
            }"""
        )
        with page.expect_navigation():
            form.locator("button[type=submit]").click()
        # Its errors, or (for a form whose empty state means something, as "no legal hold")
        # the message saying what happened.
        assert page.locator(".errorlist, .errornote, .messagelist li").count() > 0, stop


def violations(axe, page) -> list[str]:
    """axe-core's WCAG A and AA findings on the page as it stands, one line per rule."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(axe.axe_script)  # once per page load, not once per mode
    found = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)["violations"]
    return [f"{rule['id']} ({len(rule['nodes'])}: {rule['nodes'][0]['target']})" for rule in found]


@pytest.mark.parametrize("person", ["officer", "editor", "administrator"])
def test_it_has_no_violations_on_any_admin_page(chromium, live_server, staff_world, person):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    started = time.monotonic()
    contexts = []

    def new_page(*, javascript=True):
        context = chromium.new_context(base_url=live_server.url, locale="en-GB")
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    page = sign_in(new_page, staff_world[person])
    stops = walk(page)

    failures = []
    for stop in stops:
        open_stop(page, stop)
        # Each mode on the page as loaded: the colour scheme and the width change in place,
        # as they do when a person turns on dark mode or narrows the window.
        for scheme, width in MODES:
            page.emulate_media(color_scheme=scheme)
            page.set_viewport_size({"width": width, "height": 900})
            # Django's links and buttons fade to their new colours: check them once settled.
            page.wait_for_function(SETTLED)
            failures += [f"{scheme} {width}px {stop}: {v}" for v in violations(axe, page)]
        page.emulate_media(color_scheme="light")
        page.set_viewport_size({"width": 1280, "height": 900})
    for context in contexts:
        context.close()

    print(f"{person}: {len(stops)} pages x {len(MODES)} modes in {time.monotonic() - started:.0f}s")
    assert len(stops) > 10
    assert not failures, "\n".join(failures)
