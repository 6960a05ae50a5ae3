"""The Content-Security-Policy in Chromium: every kind of page renders without a violation.

The policy forbids inline scripts, inline styles and style attributes. A page that breaks it
still "works" in a quick look (the browser quietly drops what the policy refuses), so this walks
the pages each kind of person uses and fails on any violation Chromium reports: the
`securitypolicyviolation` event, sent to the test from every page through a binding the
browser installs before any of the page's own scripts, and the console's "Content Security
Policy" messages, which Chromium also writes for what the event may miss.
"""

import re

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from escalation.models import CoordinatingGroup
from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "object-src": "'none'",
    "base-uri": "'none'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  window.reportCspViolation(
    `${event.violatedDirective} blocked ${event.blockedURI || "inline"} ` +
    `at ${event.sourceFile || event.documentURI}:${event.lineNumber}`
  );
});
"""


@pytest.fixture
def csp_page(new_page):
    """A page whose context reports every CSP violation, on any page it opens, to `violations`."""

    def make():
        page = new_page()
        page.violations = []
        page.context.expose_function(
            "reportCspViolation", lambda text: page.violations.append(text)
        )
        page.context.add_init_script(REPORT_VIOLATIONS)
        page.on(
            "console",
            lambda message: (
                page.violations.append(message.text)
                if "Content Security Policy" in message.text
                else None
            ),
        )
        return page

    return make


def sign_in(page, user, live_server):
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": cookie.key, "value": cookie.value, "url": live_server.url}])


def visit_cleanly(page, path):
    """Open `path`, check it carries the policy, and that nothing on it broke the policy."""
    response = page.goto(path)
    assert response.ok, f"{path} answered {response.status}"
    header = response.headers.get("content-security-policy", "")
    policy = dict(part.strip().split(" ", 1) for part in header.split(";") if part.strip())
    assert policy == POLICY, f"{path}: {header!r}"
    # Violation events are dispatched as tasks after the element is refused: let them arrive.
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    assert page.violations == [], f"{path}: {page.violations}"


@pytest.fixture
def poole(db):
    group = CoordinatingGroup.objects.create(name="BCP Business Co-ordinating Group", slug="bcp")
    area = factories.NPTAreaFactory(name="Poole", districts=["BH15"])
    area.group = group
    area.save(update_fields=["group"])
    return area


@pytest.fixture
def owner_concern(poole):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")
    concern = factories.ConcernFactory(business=business, reporter=owner)
    factories.AttachmentFactory(concern=concern)
    factories.ConcernUpdateFactory(concern=concern)
    return concern


def test_it_reports_no_violation_on_the_public_pages(csp_page, poole):
    scheme = factories.WatchSchemeFactory(name="Shop Watch", slug="shop-watch")
    seminar = factories.SeminarFactory(title="Spotting invoice fraud", slug="invoice-fraud")
    resource = factories.ResourceFactory(title="Small Business Guide", slug="guide")
    page = csp_page()
    for path in (
        "/",
        "/report/",
        "/report/guest/",
        "/resources/",
        f"/resources/{resource.slug}/",
        "/watch-schemes/",
        f"/watch-schemes/{scheme.slug}/",
        "/seminars/",
        f"/seminars/{seminar.slug}/",
        "/contacts/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        "/admin/login/",
    ):
        visit_cleanly(page, path)


def test_it_reports_no_violation_when_a_form_comes_back_with_errors(csp_page, poole):
    page = csp_page()
    visit_cleanly(page, "/report/guest/")
    page.get_by_role("button", name="Continue").click()
    page.wait_for_load_state()
    assert page.get_by_role("heading", name=re.compile("There is a problem")).count() == 1
    assert page.violations == []


def test_it_reports_no_violation_on_an_owners_pages(csp_page, owner_concern, live_server):
    owner = owner_concern.reporter
    page = csp_page()
    sign_in(page, owner, live_server)
    for path in (
        "/my/",
        "/my/account/",
        f"/my/concerns/{owner_concern.reference}/",
        "/report/new/",
        f"/my/businesses/{owner_concern.business.pk}/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/my/account/delete/",
    ):
        visit_cleanly(page, path)


def test_it_reports_no_violation_on_the_partnership_pages(csp_page, poole, live_server):
    member = factories.PartnershipMemberFactory(email="champion@example.org")
    business = factories.BusinessFactory(npt_area=poole, name="Quayside Books")
    concern = factories.concern_at(business, tier=3)
    theme = factories.ThemeFactory(npt_area=poole, tier=3)
    theme.concerns.add(factories.ConcernFactory(business=business))
    page = csp_page()
    sign_in(page, member, live_server)
    for path in (
        "/partnership/",
        f"/partnership/concerns/{concern.pk}/",
        f"/partnership/themes/{theme.pk}/",
        "/partnership/insight/",
    ):
        visit_cleanly(page, path)
    # The insight page's charts are drawn, not refused.
    assert page.locator(".chart rect").count() > 0


def test_it_reports_no_violation_in_the_admin(csp_page, poole, owner_concern, live_server):
    officer = factories.OfficerFactory(area=poole, email="pc.smith@example.org")
    # The concern's page then offers a template, and loads the script that fills it in.
    factories.ResponseTemplateFactory(title="Patrols arranged")
    page = csp_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, officer, live_server)
    for path in (
        "/admin/",
        "/admin/engagement/concern/",
        "/admin/engagement/concern/?status__exact=new",
        f"/admin/engagement/concern/{owner_concern.pk}/change/",
        "/admin/engagement/business/",
    ):
        visit_cleanly(page, path)
    # The admin's own scripts ran: theme.js marks the page with the colour theme it chose.
    assert page.locator("html").get_attribute("data-theme") == "auto"


def test_it_reports_no_violation_on_a_superusers_admin_forms(csp_page, poole, live_server):
    """Add forms (prepopulated slugs, autocomplete widgets, inlines), a user, delete, history."""
    admin = factories.UserFactory(
        email="admin@example.org", full_name="Ada Admin", is_staff=True, is_superuser=True
    )
    page = csp_page()
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, admin, live_server)
    for path in (
        "/admin/engagement/nptarea/add/",
        "/admin/escalation/coordinatinggroup/add/",
        f"/admin/escalation/coordinatinggroup/{poole.group.pk}/change/",
        f"/admin/engagement/user/{admin.pk}/change/",
        f"/admin/engagement/user/{admin.pk}/password/",
        f"/admin/engagement/nptarea/{poole.pk}/delete/",
        f"/admin/engagement/nptarea/{poole.pk}/history/",
        "/admin/engagement/outboundemail/",
        "/admin/password_change/",
    ):
        visit_cleanly(page, path)
    # The chair's lookup (Django's related-object popup, all script) works under the policy too:
    # the popup lists people, and choosing one fills the id box on the page.
    page.goto(f"/admin/escalation/coordinatinggroup/{poole.group.pk}/change/")
    with page.expect_popup() as opened:
        page.locator("#lookup_id_chair").click()
    popup = opened.value
    popup.get_by_role("link", name="admin@example.org").click()
    expect(page.locator("#id_chair")).to_have_value(str(admin.pk))
    assert page.violations == []


def test_it_reports_a_violation_when_a_page_breaks_the_policy(csp_page, live_server):
    """The detector detects: an inline style attribute on a portal page is reported."""
    page = csp_page()
    page.goto("/")
    page.evaluate(
        "() => { const d = document.createElement('div'); d.innerHTML ="
        " '<p style=\"color: red\">x</p>'; document.body.append(d); }"
    )
    page.evaluate("() => new Promise((resolve) => setTimeout(resolve, 100))")
    assert any("style-src" in text for text in page.violations), page.violations
