"""WCAG 2.2 AA checks that axe-core does not make: focus after an error, the contrast of form
controls and their focus indicator (1.4.11), and reflow at 320 CSS px (1.4.10)."""

import re
from urllib.parse import urlsplit

import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "a-long-and-unusual-passphrase"
NOT_PAGES = re.compile(r"^/(admin|static|media|accounts/logout)|\.(ics|csv|pdf)$|/download")


def luminance(rgb: tuple[float, float, float]) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    """WCAG contrast ratio of two CSS colours as getComputedStyle gives them (rgb/rgba)."""

    def parse(css):
        values = [float(v) for v in re.findall(r"[\d.]+", css)[:3]]
        assert len(values) == 3, f"not a colour: {css!r}"
        return tuple(values)

    lighter, darker = sorted((luminance(parse(first)), luminance(parse(second))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_it_moves_focus_to_the_error_summary_and_says_error_in_the_title(new_page, area):
    page = new_page()
    page.goto("/report/guest/")

    page.get_by_role("button", name="Continue").click()

    page.wait_for_load_state()
    assert page.title().startswith("Error: ")
    summary = page.get_by_role("alert").filter(has_text="There is a problem")
    assert summary.is_visible()
    assert page.evaluate("document.activeElement.id") == "error-summary"


def test_it_says_error_in_the_title_after_a_failed_sign_in(new_page, db):
    factories.UserFactory(email="owner@example.org", password=PASSWORD)
    page = new_page()
    page.goto("/accounts/login/")

    page.get_by_label("Email").fill("owner@example.org")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()

    page.wait_for_load_state()
    assert page.title().startswith("Error: ")
    assert page.evaluate("document.activeElement.id") == "error-summary"


CONTROLS = (
    "input[type=text], input[type=email], input[type=tel], input[type=date], "
    "textarea, select, input[type=radio], input[type=checkbox]"
)


def test_every_form_control_border_and_focus_ring_has_3_to_1_contrast(new_page, area):
    page = new_page()
    page.goto("/report/guest/")
    controls = page.locator(CONTROLS)
    assert controls.count() > 10

    for index in range(controls.count()):
        control = controls.nth(index)
        style = control.evaluate(
            """element => {
                const style = getComputedStyle(element);
                return {border: style.borderTopColor, width: style.borderTopWidth,
                        id: element.id || element.name};
            }"""
        )
        assert contrast(style["border"], "rgb(255, 255, 255)") >= 3, style
        assert float(style["width"].rstrip("px")) >= 1, style

        control.focus()
        ring = control.evaluate(
            """element => {
                const style = getComputedStyle(element);
                return {outline: style.outlineColor, outlineWidth: style.outlineWidth,
                        shadow: style.boxShadow, id: element.id || element.name};
            }"""
        )
        # The black ring (box-shadow) is what stands out against the white page and the
        # control; the yellow outline frames it.
        shadow = re.match(r"rgba?\([^)]*\)", ring["shadow"])
        assert shadow, ring
        assert contrast(shadow.group(0), "rgb(255, 255, 255)") >= 3, ring
        assert float(ring["outlineWidth"].rstrip("px")) >= 2, ring


def crawl_for_sideways_scroll(page, start: str, limit: int = 30) -> dict[str, int]:
    """Same-site pages reachable from `start`, as a person would wander, each measured for how
    many px the page scrolls sideways plus the px of any scrolling box (a wide table) that the
    keyboard cannot reach: {path: px}."""
    measured, queue = {}, [start]
    while queue and len(measured) < limit:
        path = queue.pop(0)
        response = page.goto(path)
        measured[path] = page.evaluate(
            """() => {
                const root = document.documentElement;
                const boxes = [...document.querySelectorAll("main *")].filter(element =>
                    element.scrollWidth > element.clientWidth + 1 && element.tabIndex < 0 &&
                    ["auto", "scroll"].includes(getComputedStyle(element).overflowX));
                return (root.scrollWidth - root.clientWidth) +
                    boxes.reduce((px, box) => px + box.scrollWidth - box.clientWidth, 0);
            }"""
        )
        if response is None or response.status >= 400 or len(measured) > 10:
            continue  # the second ring of links is visited, not followed further
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            parts = urlsplit(href)
            if parts.netloc != urlsplit(page.url).netloc or NOT_PAGES.search(parts.path):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if target not in measured and target not in queue:
                queue.append(target)
    return measured


def test_no_public_page_scrolls_sideways_at_320_px(new_page, area):
    page = new_page()
    page.set_viewport_size({"width": 320, "height": 640})

    measured = crawl_for_sideways_scroll(page, "/")

    assert len(measured) >= 8, measured
    assert {path: px for path, px in measured.items() if px > 0} == {}


def test_no_page_of_a_signed_in_owner_scrolls_sideways_at_320_px(new_page, business, owner):
    factories.ConcernFactory(business=business, reporter=owner)
    page = new_page()
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto("/accounts/login/")
    owner.set_password(PASSWORD)
    owner.save(update_fields=["password"])
    page.get_by_label("Email").fill(owner.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=re.compile("sign in", re.I)).click()
    page.wait_for_load_state()

    measured = crawl_for_sideways_scroll(page, "/my/")

    assert any(path.startswith("/my/concerns/") for path in measured), measured
    assert {path: px for path, px in measured.items() if px > 0} == {}


def test_no_partnership_page_scrolls_sideways_at_320_px(new_page, live_server, business):
    from escalation.models import Partnership, PartnershipMembership
    from tests.browser.test_partnership_a11y import sign_in

    member = factories.UserFactory(email="champion@example.org", full_name="Pat Partnership")
    PartnershipMembership.objects.create(user=member, partnership=Partnership.load())
    factories.concern_at(business, tier=3)
    theme = factories.ThemeFactory(npt_area=business.npt_area, tier=3)
    for name in ("Harbour Gifts", "Old Town Deli", "Quay Café"):
        other = factories.BusinessFactory(npt_area=business.npt_area, name=name)
        theme.concerns.add(factories.ConcernFactory(business=other))
    page = new_page()
    page.set_viewport_size({"width": 320, "height": 640})
    sign_in(page, member, live_server)

    measured = crawl_for_sideways_scroll(page, "/partnership/")

    assert any("/partnership/themes/" in path for path in measured), measured
    assert any("/partnership/insight/" in path for path in measured), measured
    assert {path: px for path, px in measured.items() if px > 0} == {}
