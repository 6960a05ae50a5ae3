"""Insight: who sees it, what each dataset counts, and the CSV exports."""

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from engagement.models import Concern, ConcernCategory, ConcernEvent
from escalation import insight, rollup, selectors
from escalation.models import Theme, ThemeEvent
from tests import factories

LONDON = ZoneInfo("Europe/London")
NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=LONDON)
INSIGHT = "/partnership/insight/"


def at(year, month, day, hour=12, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


@pytest.fixture
def june(time_machine):
    time_machine.move_to(NOW, tick=False)
    return NOW


def make(business, created_at, **fields):
    concern = factories.ConcernFactory(business=business, created_at=created_at, **fields)
    Concern.objects.filter(pk=concern.pk).update(created_at=created_at)
    return concern


def dataset(client, name) -> dict[str, tuple]:
    """A dataset as the insight page renders it: row label → values (and extras)."""
    rollup.insight_refresh(full=True)  # as beat would before anyone looks
    for found in client.get(INSIGHT).context["datasets"]:
        if found.name == name:
            return {row.label: (*row.values, *row.extras) for row in found.rows}
    raise AssertionError(f"no dataset {name}")


def csv_rows(client, name) -> list[list[str]]:
    rollup.insight_refresh(full=True)
    response = client.get(reverse("escalation:insight_csv", args=[name]))
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode())))


# Who may see it


def test_it_sends_anonymous_people_to_sign_in(client, db):
    for url in (INSIGHT, reverse("escalation:insight_csv", args=["outcomes"])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("person", ["owner", "npt_officer", "superuser"])
def test_it_refuses_insight_to_people_outside_the_chain(request, client, chain, person):
    client.force_login(request.getfixturevalue(person))

    assert client.get(INSIGHT).status_code == 403
    for name in insight.DATASETS:
        assert client.get(reverse("escalation:insight_csv", args=[name])).status_code == 403


def test_it_404s_an_unknown_dataset(client, chain, partnership_member):
    client.force_login(partnership_member)

    assert client.get("/partnership/insight/nonsense.csv").status_code == 404


def test_it_shows_a_group_member_their_groups_areas_only(
    client, chain, june, business, other_business, group_member
):
    make(business, at(2026, 6, 1))
    make(other_business, at(2026, 6, 2))
    make(other_business, at(2026, 6, 3))
    client.force_login(group_member)

    assert dataset(client, "concerns-by-area") == {"Poole": (1,)}
    assert dataset(client, "concerns-by-category")["Theft or shoplifting"] == (1,)
    assert sum(v[0] for v in dataset(client, "concerns-by-month").values()) == 1
    assert csv_rows(client, "concerns-by-area") == [["NPT area", "Concerns"], ["Poole", "1"]]
    assert "For your Co-ordinating Group" in client.get(INSIGHT).content.decode()


# What each dataset counts


def test_it_counts_concerns_by_category_area_and_month(
    client, chain, june, business, other_business, partnership_member
):
    fraud = factories.category("fraud")
    make(business, at(2026, 6, 1))
    make(business, at(2026, 5, 31, 23, 30), category=fraud)  # May in Dorset, June in UTC
    make(other_business, at(2026, 1, 10))
    make(other_business, at(2025, 6, 30, 23, 0))  # before the 12 months
    make(business, at(2026, 6, 2), status=Concern.Status.UNCONFIRMED)  # never counted
    client.force_login(partnership_member)

    by_category = dataset(client, "concerns-by-category")
    by_area = dataset(client, "concerns-by-area")
    by_month = dataset(client, "concerns-by-month")

    assert by_category["Theft or shoplifting"] == (2,)
    assert by_category["Fraud or scams"] == (1,)
    assert by_category["Drugs"] == (0,)
    assert by_area == {"Dorchester": (1,), "Poole": (2,)}
    assert list(by_month)[0] == "July 2025" and list(by_month)[-1] == "June 2026"
    assert len(by_month) == 12
    assert (by_month["January 2026"], by_month["May 2026"], by_month["June 2026"]) == (
        (1,),
        (1,),
        (1,),
    )
    assert by_month["July 2025"] == (0,)


def test_it_counts_open_items_by_tier(client, chain, june, business, area, partnership_member):
    make(business, at(2026, 6, 1))
    factories.concern_at(business, tier=2)
    factories.concern_at(business, tier=3)
    factories.concern_at(business, tier=3, status=Concern.Status.RESOLVED)
    factories.ThemeFactory(npt_area=area)
    client.force_login(partnership_member)

    assert list(dataset(client, "open-items-by-tier").values()) == [(1, 0), (1, 1), (1, 0)]


def test_it_measures_deadlines_met_and_breached_per_tier(
    client, chain, june, business, area, other_area, partnership_member, group_member
):
    def resolved(tier, *, due, on, item=None):
        item = item or factories.concern_at(business, tier=tier)
        model = type(item)
        status = Theme.Status.RESOLVED if model is Theme else Concern.Status.RESOLVED
        model.objects.filter(pk=item.pk).update(
            tier=tier, status=status, resolution_due_at=due, resolved_at=on
        )
        return item

    # Met: an outcome on or before the deadline at the tier.
    resolved(2, due=at(2026, 6, 10), on=at(2026, 6, 9))
    resolved(2, due=at(2026, 6, 10), on=at(2026, 6, 10), item=factories.ThemeFactory(npt_area=area))
    # Breached: an outcome after the deadline...
    resolved(1, due=at(2026, 3, 1), on=at(2026, 3, 4))
    # ... a move up by the overdue sweep (concern at tier 1, theme at tier 2) ...
    swept = factories.concern_at(business, tier=2)
    ConcernEvent.objects.create(
        concern=swept, kind="escalated", rule="overdue", from_tier=1, to_tier=2
    )
    theme = factories.ThemeFactory(npt_area=other_area, tier=3)
    ThemeEvent.objects.create(theme=theme, kind="escalated", rule="overdue", from_tier=2, to_tier=3)
    # ... or open and overdue now with the clock running.
    factories.concern_at(business, tier=3, due=at(2026, 6, 12))
    # Not counted: a person's move, a paused clock, an outcome before the 12 months.
    ConcernEvent.objects.create(
        concern=swept, kind="escalated", actor=group_member, from_tier=2, to_tier=3
    )
    paused = factories.concern_at(business, tier=2, due=at(2026, 6, 1), status="waiting")
    Concern.objects.filter(pk=paused.pk).update(paused_at=at(2026, 5, 20))
    resolved(1, due=at(2025, 1, 1), on=at(2025, 2, 1))
    client.force_login(partnership_member)

    performance = dataset(client, "deadline-performance")

    assert list(performance.values()) == [(0, 2, "0%"), (2, 1, "67%"), (0, 1, "0%")]
    client.force_login(group_member)  # the group sees its own areas: not Dorchester's theme
    assert list(dataset(client, "deadline-performance").values())[1] == (2, 0, "100%")


def test_it_counts_themes_open_and_resolved_by_category(
    client, chain, june, area, other_area, partnership_member
):
    factories.ThemeFactory(npt_area=area)
    factories.ThemeFactory(npt_area=other_area, category=factories.category("fraud"))
    Theme.objects.filter(npt_area=other_area).update(status=Theme.Status.RESOLVED)
    old = factories.ThemeFactory(npt_area=other_area, category=factories.category("fraud"))
    Theme.objects.filter(pk=old.pk).update(status=Theme.Status.RESOLVED, created_at=at(2025, 1, 1))
    client.force_login(partnership_member)

    assert dataset(client, "themes") == {
        "Theft or shoplifting": (1, 0),
        "Fraud or scams": (0, 1),
    }


def test_it_counts_outcomes_including_referrals_to_national_bodies(
    client, chain, june, business, other_business, area, partnership_member, group_member
):
    def given(business, slug, when=None, status=Concern.Status.RESOLVED):
        when = when or at(2026, 6, 1)
        concern = make(business, at(2026, 5, 1))
        Concern.objects.filter(pk=concern.pk).update(
            status=status, outcome=factories.outcome(slug), resolved_at=when
        )

    given(business, "referred-nbcc")
    given(business, "referred-nbcc", status=Concern.Status.CLOSED)
    given(other_business, "referred-action-fraud")
    given(business, "advice-given", when=at(2025, 1, 1))  # before the 12 months
    theme = factories.ThemeFactory(npt_area=area)
    Theme.objects.filter(pk=theme.pk).update(
        status=Theme.Status.RESOLVED, outcome=factories.outcome("action-taken"), resolved_at=NOW
    )
    client.force_login(partnership_member)

    outcomes = dataset(client, "outcomes")

    assert outcomes["Referred to the National Business Crime Centre"] == (2, 0)
    assert outcomes["Referred to Action Fraud / NFIB"] == (1, 0)
    assert outcomes["Referred to the NCSC"] == (0, 0)
    assert outcomes["Action taken"] == (0, 1)
    assert outcomes["Advice given"] == (0, 0)
    client.force_login(group_member)
    assert dataset(client, "outcomes")["Referred to Action Fraud / NFIB"] == (0, 0)


def test_it_reports_what_businesses_said_about_the_outcome(
    client, chain, june, business, partnership_member
):
    for satisfied, status in [
        (True, Concern.Status.CLOSED),
        (True, Concern.Status.CLOSED),
        (False, Concern.Status.IN_PROGRESS),  # "not resolved" reopened it
        (None, Concern.Status.RESOLVED),  # waiting for an answer
        (None, Concern.Status.NEW),  # no outcome yet: not counted
    ]:
        make(business, at(2026, 6, 1), reporter_satisfied=satisfied, status=status)
    client.force_login(partnership_member)

    assert dataset(client, "satisfaction") == {
        "It resolved the concern": (2, "67%"),
        "It did not resolve it": (1, "33%"),
        "No answer yet": (1, ""),
    }


# The page and the exports


def test_it_puts_a_captioned_table_and_a_csv_link_behind_every_chart(
    client, chain, partnership_member
):
    client.force_login(partnership_member)

    page = client.get(INSIGHT).content.decode()

    for name in insight.DATASETS:
        assert f'href="/partnership/insight/{name}.csv"' in page
    assert page.count("<caption>") == len(insight.DATASETS)
    assert page.count('<th scope="col"') >= 2 * len(insight.DATASETS)
    assert page.count('<th scope="row"') >= len(insight.DATASETS)
    assert "<script" not in page.split("<main", 1)[1].split("</main>", 1)[0]


@pytest.mark.parametrize("name", list(insight.DATASETS))
def test_it_downloads_every_dataset_as_csv(client, chain, business, partnership_member, name):
    factories.concern_at(business, tier=2)
    client.force_login(partnership_member)

    response = client.get(reverse("escalation:insight_csv", args=[name]))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith(f'attachment; filename="{name}-')
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    scope = selectors.member_scope(partnership_member)
    built = insight.DATASETS[name](insight.Figures(scope, insight.period()))
    assert rows[0] == built.header()
    assert len(rows) == len(built.rows) + 1


def test_it_stops_a_csv_smuggling_a_formula_into_a_spreadsheet(
    client, chain, june, business, partnership_member
):
    for index, name in enumerate(['=HYPERLINK("http://evil.example")', "+1+2", "-3", "@SUM(A1)"]):
        category = ConcernCategory.objects.create(name=name, slug=f"evil-{index}", position=99)
        make(business, at(2026, 6, 1), category=category)
    client.force_login(partnership_member)

    labels = [row[0] for row in csv_rows(client, "concerns-by-category")]

    assert '\'=HYPERLINK("http://evil.example")' in labels
    assert {"'+1+2", "'-3", "'@SUM(A1)"} <= set(labels)
    assert not [label for label in labels if label[:1] in "=+-@"]


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+44 1202", "'+44 1202"),
        ("-x", "'-x"),
        ("@cmd", "'@cmd"),
        ("\t=1", "'\t=1"),
        ("Poole", "Poole"),
        ("a=b", "a=b"),
        (7, 7),
    ],
)
def test_it_quotes_csv_cells_that_start_like_a_formula(value, written):
    assert insight.csv_cell(value) == written


# Choosing the period and the area


def page_datasets(client, url) -> dict[str, dict[str, tuple]]:
    rollup.insight_refresh(full=True)
    response = client.get(url)
    assert response.status_code == 200
    return {
        found.name: {row.label: (*row.values, *row.extras) for row in found.rows}
        for found in response.context["datasets"]
    }


def test_it_counts_the_period_chosen_and_links_the_csv_to_it(
    client, chain, june, business, other_business, partnership_member
):
    make(business, at(2025, 1, 31, 23, 30))  # the last half hour of January
    make(business, at(2025, 2, 1, 0, 30))
    make(other_business, at(2026, 6, 1))
    client.force_login(partnership_member)

    by = page_datasets(client, f"{INSIGHT}?start=2025-01-01&end=2025-01-31")

    assert by["concerns-by-month"] == {"January 2025": (1,)}
    assert by["concerns-by-area"] == {"Dorchester": (0,), "Poole": (1,)}
    page = client.get(f"{INSIGHT}?start=2025-01-01&end=2025-01-31").content.decode()
    assert "from 1 January 2025 to 31 January 2025" in page
    assert (
        'href="/partnership/insight/concerns-by-month.csv?start=2025-01-01&amp;end=2025-01-31"'
        in (page)
    )
    rows = list(
        csv.reader(
            io.StringIO(
                client.get(
                    "/partnership/insight/concerns-by-month.csv?start=2025-01-01&end=2025-02-28"
                ).content.decode()
            )
        )
    )
    assert rows == [["Month", "Concerns"], ["January 2025", "1"], ["February 2025", "1"]]


def test_it_narrows_the_partnership_to_an_area_or_a_group(
    client, chain, june, business, other_business, group, other_area, partnership_member
):
    make(business, at(2026, 6, 1))
    make(other_business, at(2026, 6, 2))
    make(other_business, at(2026, 6, 3))
    client.force_login(partnership_member)

    assert page_datasets(client, f"{INSIGHT}?where=area-{other_area.pk}")["concerns-by-area"] == {
        "Dorchester": (2,)
    }
    by_group = page_datasets(client, f"{INSIGHT}?where=group-{group.pk}")
    assert by_group["concerns-by-area"] == {"Poole": (1,)}
    assert by_group["concerns-by-category"]["Theft or shoplifting"] == (1,)
    page = client.get(f"{INSIGHT}?where=group-{group.pk}").content.decode()
    assert f"For the {group.name}" in page
    assert f"outcomes.csv?where=group-{group.pk}" in page


def test_it_keeps_a_group_member_to_their_groups_areas_whatever_the_address_says(
    client, chain, june, business, other_business, other_area, other_group, group_member
):
    make(business, at(2026, 6, 1))
    make(other_business, at(2026, 6, 2))
    client.force_login(group_member)

    for where in (f"area-{other_area.pk}", f"group-{other_group.pk}", ""):
        by = page_datasets(client, f"{INSIGHT}?where={where}")
        assert by["concerns-by-area"] == {"Poole": (1,)}
        assert sum(v[0] for v in by["concerns-by-month"].values()) == 1
        rows = list(
            csv.reader(
                io.StringIO(
                    client.get(
                        f"/partnership/insight/concerns-by-area.csv?where={where}"
                    ).content.decode()
                )
            )
        )
        assert rows == [["NPT area", "Concerns"], ["Poole", "1"]]
    assert "NPT area or Co-ordinating Group" not in client.get(INSIGHT).content.decode()


def test_it_explains_dates_the_wrong_way_round_and_keeps_them(
    client, chain, june, partnership_member
):
    client.force_login(partnership_member)

    response = client.get(f"{INSIGHT}?start=2026-03-01&end=2026-02-01")

    page = response.content.decode()
    assert response.status_code == 200
    assert "There is a problem" in page
    assert "The end date must be after the start date." in page
    assert 'value="2026-03-01"' in page and 'value="2026-02-01"' in page
    assert "from July 2025 to June 2026" in page  # the default figures meanwhile
    assert 'href="/partnership/insight/outcomes.csv"' in page  # no link to figures not shown


@pytest.mark.parametrize(
    "query",
    [
        "start=99999-01-01",
        "start=2026-02-30",
        "start=0001-01-01",
        "end=9999-12-31",
        "start=%00",
        "end=" + "9" * 500,
        "start=1999-12-31",
        "where=area-999999",
        "where=group-x",
        "where=%00<script>",
        "start[]=x&end=2026-01-01&start=2026-01-02",
    ],
)
def test_it_never_fails_on_hostile_values(client, chain, june, partnership_member, query):
    client.force_login(partnership_member)

    response = client.get(f"{INSIGHT}?{query}")

    assert response.status_code == 200
    assert "There is a problem" in response.content.decode() or "start[]" in query
    assert client.get(f"/partnership/insight/outcomes.csv?{query}").status_code in (200, 400)
