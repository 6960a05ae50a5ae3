"""The officers' concern search: each word typed is matched by predicates an index serves.

Django's admin search ORs `UPPER(field) LIKE '%word%'` over every searched field, across the
join to the business, and no index serves that: at a million concerns one search read the table
several times over (the count, the page, the date links). On PostgreSQL each word here is
matched as

- a concern reference (DBC-2024-000123): the unique index on the reference; a bare number is the
  concern's id;
- part of a business's name or postcode: trigram indexes on the business table find the
  businesses, and the `business_id` index their concerns;
- the start of a word of the description or of the reporter's email: a full-text index;

so the database joins a few index scans (a BitmapOr) instead of reading every row. Every word
must match (somewhere), as in Django's search. On SQLite, the zero-setup development database,
references the same way and the other fields with LIKE, as Django does.
"""

import contextlib
import re

from django.contrib.postgres.search import SearchQuery, SearchVectorExact
from django.db import connection, transaction
from django.db.models import F, Lookup, Q, QuerySet, Subquery
from django.utils.text import smart_split, unescape_string_literal

from .models import CONCERN_WORDS, Business, Concern

REFERENCE = re.compile(r"DBC-\d{4}-\d{6,}", re.IGNORECASE)
# A concern's id typed alone; more digits than a bigint holds would fail the query.
CONCERN_ID = re.compile(r"\d{1,18}")
# What may stand in a full-text query: quotes, backslashes and operators are left out, so no
# input can make a malformed query.
WORD_PARTS = re.compile(r"[\w@.+-]+")


class AnyOf(Lookup):
    """`column = ANY(ARRAY(subquery))`: the subquery runs once, first, and its ids are looked up
    in the column's index, which can sit inside an OR; `IN (subquery)` inside an OR is checked
    row by row instead."""

    lookup_name = "any_of"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


class ILike(Lookup):
    """`column ILIKE pattern`, which a trigram index serves (Django's icontains is
    `UPPER(column) LIKE UPPER(pattern)`, which it does not)."""

    lookup_name = "ilike"

    def as_sql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *rhs_params)


def search_words(text: str) -> list[str]:
    """The words of a search, with "quoted phrases" kept whole, as Django's admin splits them."""
    words = []
    for bit in smart_split(text):
        if bit.startswith(('"', "'")) and bit[0] == bit[-1] and len(bit) > 1:
            bit = unescape_string_literal(bit)
        if bit.strip():
            words.append(bit.strip())
    return words


def _reference_q(word: str) -> Q:
    q = Q(pk__in=[])
    if REFERENCE.fullmatch(word):
        q |= Q(reference=word.upper())
    if CONCERN_ID.fullmatch(word):
        q |= Q(pk=int(word))
    return q


def _word_q_postgresql(word: str) -> Q:
    anywhere = f"%{connection.ops.prep_for_like_query(word)}%"
    businesses = (
        Business.objects.filter(Q(ILike(F("name"), anywhere)) | Q(ILike(F("postcode"), anywhere)))
        .order_by()
        .values("pk")
    )
    q = _reference_q(word) | Q(AnyOf(F("business_id"), Subquery(businesses)))
    parts = WORD_PARTS.findall(word)
    if parts:
        text_query = " & ".join(f"'{part}':*" for part in parts)
        q |= Q(
            SearchVectorExact(
                CONCERN_WORDS, SearchQuery(text_query, search_type="raw", config="simple")
            )
        )
    return q


def _word_q_other(word: str) -> Q:
    return (
        _reference_q(word)
        | Q(business__name__icontains=word)
        | Q(business__postcode__icontains=word)
        | Q(description__icontains=word)
        | Q(contact_email__icontains=word)
    )


def concern_search(queryset: QuerySet[Concern], text: str) -> QuerySet[Concern]:
    """The concerns of `queryset` that match every word of `text`."""
    word_q = _word_q_postgresql if connection.vendor == "postgresql" else _word_q_other
    for word in search_words(text):
        queryset = queryset.filter(word_q(word))
    return queryset


@contextlib.contextmanager
def one_process_plans():
    """Run a search's queries without PostgreSQL's parallel workers.

    The search's page is the first 50 matches in the workbench order; PostgreSQL reads them
    down the workbench index, checking each row's words, and, misjudging how many rows a word
    start matches, plans two parallel workers for it. Starting them cost more than the scan
    (about 20 ms alone against 80-230 ms with workers on a busy 2-core server), and they take
    the cores other requests are waiting for. SET LOCAL lasts to the end of this transaction.
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield
