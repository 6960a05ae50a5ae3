"""The officers' search and "reported" filter on the concern list, within their own NPT."""

import datetime as dt

import pytest
import time_machine
from django.contrib import admin
from django.db import connection
from django.utils import timezone

from engagement.models import Concern
from engagement.search import concern_search, search_words
from tests import factories

CHANGELIST = "/admin/engagement/concern/"


@pytest.fixture
def officer_client(client, npt_officer):
    client.force_login(npt_officer)
    return client


@pytest.fixture
def concerns(business, other_business, owner):
    """Two concerns of the officer's NPT and one of another NPT that shares their words."""
    chandlery = factories.BusinessFactory(
        name="Harbour Chandlery", postcode="BH15 4QT", npt_area=business.npt_area
    )
    return {
        "invoice": factories.ConcernFactory(
            business=chandlery,
            description="A fake invoice arrived from a supplier we never used.",
            contact_email="ann.harbour@example.org",
        ),
        "shelf": factories.ConcernFactory(
            business=business,
            reporter=owner,
            description="Two men took whisky from the shelf by the door.",
        ),
        "elsewhere": factories.ConcernFactory(
            business=factories.BusinessFactory(
                name="Harbour Chandlery West", postcode="BH15 4QT", npt_area=other_business.npt_area
            ),
            description="A fake invoice, and whisky taken from the shelf.",
        ),
    }


def listed(client, concerns, query) -> set[str]:
    """The names of `concerns` that the list shows for this query string."""
    response = client.get(CHANGELIST, query)
    assert response.status_code == 200
    page = response.content.decode()
    return {
        name
        for name, concern in concerns.items()
        if f"/admin/engagement/concern/{concern.pk}/change/" in page
    }


def found(client, concerns, search) -> set[str]:
    return listed(client, concerns, {"q": search})


SEARCHES = {
    "reference": (lambda c: c["invoice"].reference, {"invoice"}),
    "reference in lower case": (lambda c: c["invoice"].reference.lower(), {"invoice"}),
    "concern number": (lambda c: str(c["shelf"].pk), {"shelf"}),
    "part of the business name": (lambda c: "chandl", {"invoice"}),
    "business name": (lambda c: "Harbour Chandlery", {"invoice"}),
    "postcode": (lambda c: "BH15 4QT", {"invoice"}),
    "part of the postcode": (lambda c: "4qt", {"invoice"}),
    "a word of the description": (lambda c: "whisky", {"shelf"}),
    "the start of a word": (lambda c: "invoi", {"invoice"}),
    "words in any order": (lambda c: "supplier fake", {"invoice"}),
    "a quoted phrase": (lambda c: '"fake invoice"', {"invoice"}),
    "the reporter's email": (lambda c: "ann.harbour@example.org", {"invoice"}),
    "words that are in no one concern": (lambda c: "whisky invoice", set()),
}


@pytest.mark.parametrize("case", SEARCHES)
def test_it_finds_concerns_by_reference_business_postcode_and_words(officer_client, concerns, case):
    search, expected = SEARCHES[case]
    assert found(officer_client, concerns, search(concerns)) == expected


@pytest.mark.postgres
@pytest.mark.parametrize("case", SEARCHES)
def test_it_finds_the_same_through_postgresqls_indexes(officer_client, concerns, case):
    # The same searches through the trigram and full-text predicates (engagement.search).
    assert connection.vendor == "postgresql"
    search, expected = SEARCHES[case]
    assert found(officer_client, concerns, search(concerns)) == expected


def test_it_never_finds_another_npts_concern_by_search(officer_client, concerns):
    elsewhere = concerns["elsewhere"]
    for search in [elsewhere.reference, str(elsewhere.pk), "West", "whisky shelf fake"]:
        assert "elsewhere" not in found(officer_client, concerns, search), search


def test_it_lets_the_other_npt_find_its_own(client, other_npt_officer, concerns):
    client.force_login(other_npt_officer)
    assert found(client, concerns, concerns["elsewhere"].reference) == {"elsewhere"}
    assert found(client, concerns, "chandlery") == {"elsewhere"}


@pytest.mark.parametrize(
    "search",
    ["'", '"', "\\", "a\\", "'a\\'", "&|!():*", "<->", "%", "_", "x" * 300, "DBC-2026-", "9" * 40],
)
def test_it_answers_any_search_without_failing(officer_client, concerns, search):
    assert officer_client.get(CHANGELIST, {"q": search}).status_code == 200


def test_it_splits_a_search_as_djangos_admin_does():
    assert search_words(' fake  "Harbour Chandlery" 4QT ') == ["fake", "Harbour Chandlery", "4QT"]


def test_it_searches_with_no_duplicate_rows(rf, npt_officer, concerns):
    request = rf.get(CHANGELIST)
    request.user = npt_officer
    model_admin = admin.site.get_model_admin(Concern)
    queryset, may_have_duplicates = model_admin.get_search_results(
        request, model_admin.get_queryset(request), "harbour"
    )
    assert may_have_duplicates is False
    assert set(queryset) == {concerns["invoice"]}


def test_it_searches_in_the_nine_queries_of_the_list(
    officer_client, concerns, django_assert_num_queries
):
    # The businesses a word names are a subquery of the count and of the page, not a query of
    # their own: the same nine as the list without a search (tests/engagement/test_queries.py).
    # On PostgreSQL a search also turns parallel workers off for its transaction (SET LOCAL,
    # here inside the test's transaction: a savepoint and its release besides).
    expected = 9 if connection.vendor != "postgresql" else 9 + 3
    with django_assert_num_queries(expected) as captured:
        response = officer_client.get(CHANGELIST, {"q": "harbour invoice"})
    assert response.status_code == 200
    if connection.vendor == "postgresql":
        statements = [query["sql"] for query in captured.captured_queries]
        assert "SET LOCAL max_parallel_workers_per_gather = 0" in statements


def test_a_search_with_many_matches_is_counted_only_so_far(officer_client, business, monkeypatch):
    # Past the limit the list says "more than" and offers the pages up to it.
    from engagement.admin import SearchPaginator

    monkeypatch.setattr(SearchPaginator, "limit", 3)
    monkeypatch.setattr(admin.site.get_model_admin(Concern), "list_per_page", 2)
    for _ in range(5):
        factories.ConcernFactory(business=business, description="Graffiti on the shutter.")
    page = officer_client.get(CHANGELIST, {"q": "graffiti"}).content.decode()
    assert "More than 3 results" in page
    assert "More than 3 concerns: add a word to the search to narrow them" in page
    second = officer_client.get(CHANGELIST, {"q": "graffiti", "p": "2"})
    assert second.status_code == 200


def test_a_search_within_the_limit_is_counted_exactly(officer_client, business, monkeypatch):
    from engagement.admin import SearchPaginator

    monkeypatch.setattr(SearchPaginator, "limit", 3)
    for _ in range(3):
        factories.ConcernFactory(business=business, description="Graffiti on the shutter.")
    page = officer_client.get(CHANGELIST, {"q": "graffiti"}).content.decode()
    assert "3 results" in page
    assert "More than" not in page
    assert "3 concerns" in page


# The "reported" filter: the calendar drill-down that replaced the date hierarchy.

NOW = timezone.make_aware(dt.datetime(2026, 12, 2, 10, 0))


@pytest.fixture
def by_date(business):
    def made(year, month, day):
        return factories.ConcernFactory(
            business=business, created_at=timezone.make_aware(dt.datetime(year, month, day, 12))
        )

    return {
        "this_month": made(2026, 12, 1),
        "march": made(2026, 3, 31),
        "last_year": made(2025, 12, 31),
        "long_ago": made(2019, 6, 1),
    }


@pytest.mark.parametrize(
    "value, expected",
    [
        ("2026", {"this_month", "march"}),
        ("2026-3", {"march"}),
        ("2026-12", {"this_month"}),
        ("2025", {"last_year"}),
        ("earlier", {"long_ago"}),
        ("2026-13", {"this_month", "march", "last_year", "long_ago"}),
        ("1999", {"this_month", "march", "last_year", "long_ago"}),
    ],
)
def test_it_filters_by_the_year_or_month_reported(client, npt_officer, by_date, value, expected):
    with time_machine.travel(NOW, tick=False):
        client.force_login(npt_officer)
        assert listed(client, by_date, {"reported": value}) == expected


def test_it_offers_the_months_of_a_chosen_year_without_reading_the_rows(
    client, npt_officer, by_date, django_assert_num_queries
):
    with time_machine.travel(NOW, tick=False):
        client.force_login(npt_officer)
        with django_assert_num_queries(9):  # as the unfiltered list: no query for the links
            page = client.get(CHANGELIST, {"reported": "2026"}).content.decode()
    assert "March 2026" in page
    assert "December 2026" in page
    assert "January 2027" not in page
    assert "Before 2022" in page


# PostgreSQL serves each of these from the index made for it (engagement migration 0015): the
# expressions must match the index's exactly, which only the plan shows. Sequential scans and
# sorts are priced out so the tiny test tables do not hide a mismatch.


def plan(queryset) -> str:
    """EXPLAIN of the query, with sequential scans and sorts priced out."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def changelist_queryset(rf, officer, search=""):
    request = rf.get(CHANGELIST, {"q": search} if search else {})
    request.user = officer
    return (
        admin.site.get_model_admin(Concern).get_changelist_instance(request).get_queryset(request)
    )


@pytest.mark.postgres
def test_it_reads_the_workbench_order_from_its_index(rf, npt_officer, concerns):
    assert "concern_workbench_idx" in plan(changelist_queryset(rf, npt_officer)[:50])


@pytest.mark.postgres
def test_it_searches_through_the_trigram_and_full_text_indexes(concerns):
    # Every branch of a word's match is served by an index, or PostgreSQL would have to read
    # the table for it (and here would show a sequential scan instead of these).
    searched = plan(concern_search(Concern.objects.order_by(), "harbour"))
    assert "Seq Scan" not in searched
    for index in ["concern_words_idx", "business_name_trgm_idx", "business_postcode_trgm_idx"]:
        assert index in searched
    assert "engagement_concern_business_id" in searched
