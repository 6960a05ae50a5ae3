"""An NPT officer triages a concern with the keyboard alone: assign, update, resolve.

No clicks after signing in: Tab, Shift+Tab, Enter and the arrow keys. At every stop the focused
element must show a focus ring that stands out from what is behind it (WCAG 2.4.7 and 1.4.11:
an outline or a shadow, at least 3:1 against the background).
"""

import re

import pytest

from engagement.models import Concern, ConcernUpdate
from tests import factories
from tests.browser.test_officer_triage import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What the focused element looks like: its ring's colours and widths, and the background
# behind it (the first ancestor with an opaque background colour).
FOCUS_RING = """() => {
    const el = document.activeElement;
    const style = getComputedStyle(el);
    let node = el, background = 'rgb(255, 255, 255)';
    while (node && node.nodeType === 1) {
        const bg = getComputedStyle(node).backgroundColor;
        if (bg && bg !== 'transparent' && !bg.startsWith('rgba(0, 0, 0, 0')) {
            background = bg;
            break;
        }
        node = node.parentElement;
    }
    const shadow = style.boxShadow.match(/rgba?\\([^)]*\\)/);
    return {
        tag: el.tagName.toLowerCase(),
        name: el.getAttribute('aria-label') || el.innerText || el.name || el.id || '',
        outlineStyle: style.outlineStyle,
        outlineWidth: parseFloat(style.outlineWidth),
        outlineColor: style.outlineColor,
        shadowColor: style.boxShadow === 'none' || !shadow ? null : shadow[0],
        background: background,
    };
}"""


def rgb(colour: str) -> tuple[float, float, float]:
    parts = [float(p) for p in re.findall(r"[\d.]+", colour)[:3]]
    return parts[0], parts[1], parts[2]


def luminance(colour: str) -> float:
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted([luminance(first), luminance(second)], reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def assert_focus_visible(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["tag"] != "body", "focus was lost"
    colours = []
    if ring["outlineStyle"] != "none" and ring["outlineWidth"] > 0:
        colours.append(ring["outlineColor"])
    if ring["shadowColor"]:
        colours.append(ring["shadowColor"])
    assert colours, f"no focus ring on {ring}"
    best = max(contrast(colour, ring["background"]) for colour in colours)
    assert best >= 3, f"focus ring contrast {best:.2f}:1 on {ring}"
    return ring


def tab_to(page, matches, *, limit=150, backwards=False):
    """Press Tab (or Shift+Tab) until `matches(locator)` holds for the focused element,
    checking the focus ring at every stop on the way."""
    for _ in range(limit):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        assert_focus_visible(page)
        if page.evaluate("el => el === document.activeElement", matches.element_handle()):
            return
    raise AssertionError(f"never reached {matches}")


@pytest.fixture
def poole(db):
    return factories.NPTAreaFactory(name="Poole", districts=["BH15"])


@pytest.fixture
def officer(poole):
    return factories.OfficerFactory(
        area=poole, email="pc.smith@example.org", full_name="PC Jane Smith"
    )


@pytest.fixture
def shop_concern(poole):
    owner = factories.UserFactory(email="owner@example.org", full_name="Olive Owner")
    business = factories.BusinessFactory(owner=owner, npt_area=poole, name="Quay Gifts")
    return factories.ConcernFactory(business=business, reporter=owner)


def test_it_triages_a_concern_with_the_keyboard_alone(new_page, officer, shop_concern):
    page = sign_in(new_page, officer)
    page.goto("/admin/engagement/concern/")

    # Open the concern from the list.
    tab_to(page, page.get_by_role("link", name=shop_concern.reference))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.get_by_role("heading", name=re.compile(shop_concern.reference)).count()

    # Assign it to themself: the only officer in the NPT, one arrow press below "---------".
    tab_to(page, page.get_by_label("Assign to", exact=True))
    page.keyboard.press("ArrowDown")
    assert page.get_by_label("Assign to", exact=True).input_value() == str(officer.pk)
    tab_to(page, page.get_by_role("button", name="Assign", exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "Assigned." in page.locator("ul.messagelist").inner_text()
    shop_concern.refresh_from_db()
    assert shop_concern.assigned_officer == officer

    # Post a public update.
    tab_to(page, page.get_by_label("Update for the business", exact=True))
    page.keyboard.type("We are patrolling the Quay tonight.")
    tab_to(page, page.get_by_role("button", name="Post update"))
    with page.expect_navigation():
        page.keyboard.press("Space")
    assert "Update posted" in page.locator("ul.messagelist").inner_text()
    assert page.get_by_text("We are patrolling the Quay tonight.").first.is_visible()
    assert ConcernUpdate.objects.filter(
        concern=shop_concern, kind=ConcernUpdate.Kind.PUBLIC, author=officer
    ).exists()

    # Resolve it with an outcome, chosen with the arrow keys.
    resolve = page.get_by_role("form", name=re.compile("^Resolve with an outcome"))
    outcome = resolve.get_by_label("Outcome")
    tab_to(page, outcome)
    for _ in range(20):
        if outcome.evaluate("s => s.options[s.selectedIndex].text") == "Advice given":
            break
        page.keyboard.press("ArrowDown")
    tab_to(page, resolve.get_by_label("Explanation for the business"))
    page.keyboard.type("Move the display away from the door.")
    # Back one stop and forward again: Shift+Tab keeps a visible ring too.
    page.keyboard.press("Shift+Tab")
    assert_focus_visible(page)
    tab_to(page, page.get_by_role("button", name="Resolve", exact=True))
    with page.expect_navigation():
        page.keyboard.press("Enter")

    assert (
        "Resolved; the business has been told the outcome."
        in page.locator("ul.messagelist").inner_text()
    )
    shop_concern.refresh_from_db()
    assert shop_concern.status == Concern.Status.RESOLVED
    assert shop_concern.outcome.slug == "advice-given"
    assert shop_concern.outcome_note == "Move the display away from the door."
