"""Every public and partnership page meets WCAG 2.2 AA as far as axe-core sees: walked, not listed.

For each kind of person who uses the site (nobody signed in, a business owner, a Business
Co-ordinating Group member, a Business Safety Partnership member and a Watch scheme coordinator)
the walk starts at the home page and follows the links that person sees, staying on the site and
leaving out signing out, deleting, downloads and the admin (walked by test_admin_a11y.py). Pages
built from one pattern (/my/concerns/<reference>/) are walked a few times, not for every row.
Each form with something to fill in is then sent empty once, which shows its error state. Every
page is checked with axe-core at 1280, 390 and 320 px wide, once at each width. A new page is
walked as soon as a link leads to it, without anyone adding it here.
"""

import datetime as dt
import re
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from engagement import services
from engagement.models import Concern
from escalation.models import CoordinatingGroup, Partnership, PartnershipMembership
from tests import factories
from tests.browser.test_admin_a11y import violations

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTHS = (1280, 390, 320)
PAGES_PER_PERSON = 45  # a cap, so a page that links to endless variations cannot run away
SAME_PATTERN = 6  # pages of one shape (digits and query aside) walked per person
NOT_PAGES = re.compile(
    r"^/(admin|static|media)/|logout|sign-out|/delete/|download|/document/|/attachments/"
    r"|\.(ics|csv|pdf|txt|json)$|^/healthz"
)
NOT_SENT = re.compile(r"logout|sign-out|/delete/")


@dataclass(frozen=True)
class Stop:
    """A page to check: `path` as opened, or its form number `form` sent empty."""

    path: str
    form: int | None = None

    def __str__(self):
        return self.path if self.form is None else f"{self.path} (form {self.form} sent empty)"


@pytest.fixture
def site_world(db):
    """Demo-like data: an owner with reports in every state, a scheme with members and an
    application, a seminar booked, items at both higher tiers and a theme."""
    group = CoordinatingGroup.objects.order_by("pk").first() or factories.CoordinatingGroupFactory(
        name="BCP Business Co-ordinating Group", slug="bcp"
    )
    poole = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    poole.group = group
    poole.save(update_fields=["group"])
    officer = factories.OfficerFactory(area=poole, full_name="PC Jane Smith")
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    shop = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")
    factories.BusinessFactory(owner=owner, npt_area=poole, name="Harbour Café")

    new = factories.ConcernFactory(business=shop, reporter=owner)
    factories.AttachmentFactory(concern=new)
    waiting = factories.ConcernFactory(business=shop, reporter=owner)
    services.concern_ask_question(concern=waiting, actor=officer, body="Which evenings?")
    resolved = factories.ConcernFactory(business=shop, reporter=owner)
    services.concern_post_update(concern=resolved, actor=officer, body="We patrolled twice.")
    services.concern_resolve(
        concern=resolved, actor=officer, outcome=factories.outcome(), note="Move the display."
    )
    repeat = factories.ConcernFactory(business=shop, reporter=owner)
    services.concern_mark_duplicate(concern=repeat, original=new, actor=officer)
    at_group = factories.concern_at(shop, tier=2, reporter=owner)
    at_partnership = factories.concern_at(shop, tier=3, reporter=owner)
    factories.ConcernUpdateFactory(concern=at_group, kind="public", body="With the group now.")
    theme = factories.ThemeFactory(npt_area=poole, tier=2)
    for name in ("Old Town Deli", "Quay Café", "Harbour Books"):
        other = factories.BusinessFactory(npt_area=poole, name=name)
        theme.concerns.add(factories.ConcernFactory(business=other))
    factories.ThemeFactory(npt_area=poole, tier=3, category=factories.category("fraud"))
    del at_partnership

    group_member = factories.GroupMemberFactory(group=group, full_name="Gemma Group")
    partnership_member = factories.UserFactory(full_name="Pat Partnership")
    PartnershipMembership.objects.create(user=partnership_member, partnership=Partnership.load())

    coordinator = factories.UserFactory(full_name="Cora Coordinator")
    factories.BusinessFactory(owner=coordinator, npt_area=poole, name="Quayside Books")
    scheme = factories.WatchSchemeFactory(name="Shop Watch", coordinators=[coordinator])
    factories.WatchSchemeFactory(name="Pub Watch")
    factories.SchemeMembershipFactory(scheme=scheme, business=shop, contact=owner)
    applicant = factories.BusinessFactory(
        owner=factories.UserFactory(full_name="Alan Applicant"), npt_area=poole, name="Deli"
    )
    factories.SchemeMembershipFactory(
        scheme=scheme, business=applicant, status="pending", decided_at=None
    )
    factories.AlertFactory(scheme=scheme, title="Counterfeit notes in Poole")
    seminar = factories.SeminarFactory(title="Spotting invoice fraud")
    factories.SeminarFactory(title="Rural crime", starts_at=timezone.now() + dt.timedelta(days=30))
    factories.BookingFactory(seminar=seminar, business=shop, user=owner)
    factories.ResourceFactory(title="Small Business Guide", sectors=["retail"])
    factories.SpecialistContactFactory(team="rural")
    factories.SpecialistContactFactory(team="cyber")
    Concern.objects.filter(pk=resolved.pk).update(reporter_satisfied=None)
    return {
        "anonymous": None,
        "owner": owner,
        "group member": group_member,
        "partnership member": partnership_member,
        "scheme coordinator": coordinator,
    }


def sign_in(page, user, live_server):
    """Hand the browser a session for `user` (signing in itself is walked as anonymous)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def shape(path: str) -> str:
    """/my/concerns/DBC-2026-000012/?page=2 → /my/concerns/DBC-N-N/: pages of one template."""
    return re.sub(r"\d+", "N", urlsplit(path).path)


def links_on(page) -> list[str]:
    """Same-site pages the page links to, as path and query."""
    here = urlsplit(page.url)
    found = []
    for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
        parts = urlsplit(urljoin(page.url, href))
        if parts.scheme not in ("http", "https") or parts.netloc != here.netloc:
            continue
        if NOT_PAGES.search(parts.path):
            continue
        found.append(site_path(parts.geturl()))
    return found


def site_path(url: str) -> str:
    """Path and query, without `next` (where to go after signing in changes nothing on the page
    itself)."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "next"])
    return parts.path + (f"?{query}" if query else "")


# Forms with something a person fills in, sent with the method POST: not a search or a filter,
# not a lone button (which acts rather than asks), and nothing that signs out or deletes.
FORMS_TO_SEND = """els => els.map((form, index) => {
    const action = form.getAttribute('action') || '';
    const fields = form.querySelectorAll(
        'input:not([type=hidden]):not([type=submit]):not([type=button]), textarea, select');
    const post = (form.getAttribute('method') || '').toLowerCase() === 'post';
    return post && fields.length && !/NOT_SENT/.test(action) ? [index, action] : null;
}).filter(found => found !== null)""".replace("NOT_SENT", NOT_SENT.pattern.replace("/", "\\/"))

EMPTY_AND_SEND = """form => {
    form.noValidate = true;
    form.querySelectorAll('input:not([type=hidden]):not([type=submit]):not([type=button])')
        .forEach(input => {
            if (input.type === 'radio' || input.type === 'checkbox') input.checked = false;
            else input.value = '';
        });
    form.querySelectorAll('textarea').forEach(box => { box.value = ''; });
    form.querySelectorAll('select').forEach(select => { select.selectedIndex = -1; });
}"""


def walk(page, check) -> tuple[list[str], list[Stop]]:
    """The pages reachable from the home page, breadth first, each checked as it is reached,
    and the forms on them."""
    pages: list[str] = []
    forms: list[Stop] = []
    queue, seen, shapes, sent = ["/"], {"/"}, {}, set()
    while queue and len(pages) < PAGES_PER_PERSON:
        path = queue.pop(0)
        if shapes.get(shape(path), 0) >= SAME_PATTERN:
            continue
        try:
            response = page.goto(path)
        except Exception as error:  # noqa: BLE001 - a download starting is not a page
            if "Download is starting" not in str(error):
                raise
            continue
        if response is None or not response.headers.get("content-type", "").startswith("text/html"):
            continue
        assert response.status < 500, f"{path}: {response.status}"
        if response.status >= 400 or urlsplit(page.url).path.startswith("/admin/"):
            continue
        path = site_path(page.url)
        shapes[shape(path)] = shapes.get(shape(path), 0) + 1
        if path in pages:
            continue
        pages.append(path)
        check(Stop(path))
        for index, action in page.eval_on_selector_all("form", FORMS_TO_SEND):
            # A form sent from one page of a shape shows its errors for the rest.
            key = (shape(path), shape(action or path))
            if key not in sent:
                sent.add(key)
                forms.append(Stop(path, index))
        for link in links_on(page):
            if link not in seen:
                seen.add(link)
                queue.append(link)
    return pages, forms


def send_empty(page, stop: Stop) -> None:
    page.goto(stop.path)
    form = page.locator("form").nth(stop.form)
    form.evaluate(EMPTY_AND_SEND)
    with page.expect_navigation() as navigation:
        form.locator(
            "button[type=submit]:not([aria-hidden=true]), input[type=submit]"
        ).first.click()
    # Empty input gets a message, never a server error.
    assert navigation.value is None or navigation.value.status < 500, stop


@pytest.mark.parametrize(
    "person", ["anonymous", "owner", "group member", "partnership member", "scheme coordinator"]
)
def test_it_has_no_violations_on_any_public_or_partnership_page(
    chromium, live_server, site_world, person
):
    from axe_playwright_python.sync_playwright import Axe

    axe = Axe()
    started = time.monotonic()
    context = chromium.new_context(base_url=live_server.url, locale="en-GB")
    context.set_default_timeout(15_000)
    page = context.new_page()
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})
    if site_world[person] is not None:
        sign_in(page, site_world[person], live_server)

    failures = []

    def check(stop):
        # Each width on the page as loaded, as when a person narrows the window or zooms in.
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            failures.extend(f"{width}px {stop}: {v}" for v in violations(axe, page))
        page.set_viewport_size({"width": WIDTHS[0], "height": 900})

    pages, forms = walk(page, check)
    for stop in forms:
        send_empty(page, stop)
        check(stop)
    context.close()

    print("\n".join(pages + [str(stop) for stop in forms]))
    print(
        f"{person}: {len(pages)} pages and {len(forms)} forms sent empty, at {len(WIDTHS)} "
        f"widths, in {time.monotonic() - started:.0f}s"
    )
    assert len(pages) >= 8, pages
    assert not failures, "\n".join(failures)
