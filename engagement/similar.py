"""What a report about to be sent may repeat: the business's own recent open concerns that look
alike, and the open common theme of its category in its NPT area.

Read on the "check your answers" page of every report, so each read is one query on indexed
columns (the business, or the theme's category and area), cut to a few rows.
"""

import datetime as dt
import re

from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from escalation.models import Theme

from .models import Business, Concern, ConcernCategory, NPTArea

SIMILAR_LIMIT = 3
# A concern reported more than a month ago is no longer "the same thing again" to most
# businesses; an older one is found on /my/.
SIMILAR_WITHIN_DAYS = 30
# Words this short or this common say nothing about what happened.
MIN_WORD_LENGTH = 5
MAX_WORDS = 6
COMMON_WORDS = frozenset(
    [
        "about",
        "after",
        "again",
        "always",
        "another",
        "around",
        "because",
        "before",
        "being",
        "could",
        "every",
        "their",
        "there",
        "these",
        "thing",
        "things",
        "think",
        "those",
        "through",
        "today",
        "under",
        "where",
        "which",
        "while",
        "would",
        "shop",
        "store",
        "staff",
        "customer",
        "customers",
        "people",
        "person",
        "someone",
        "business",
    ]
)


def description_words(description: str) -> list[str]:
    """The few longest distinctive words of a description, lower case, longest first."""
    words = {
        word
        for word in re.findall(r"[^\W\d_]+", description.lower())
        if len(word) >= MIN_WORD_LENGTH and word not in COMMON_WORDS
    }
    return sorted(words, key=lambda word: (-len(word), word))[:MAX_WORDS]


def similar_concerns(
    *,
    business: Business,
    category: ConcernCategory,
    description: str,
    now: dt.datetime | None = None,
) -> list[Concern]:
    """The business's open concerns from the last month with the same category or some of the
    same words, the closest first (one query, at most SIMILAR_LIMIT rows)."""
    since = (now or timezone.now()) - dt.timedelta(days=SIMILAR_WITHIN_DAYS)
    words = Q()
    for word in description_words(description):
        words |= Q(description__icontains=word)
    same_category = Q(category=category)
    return list(
        Concern.objects.filter(
            same_category | words if words else same_category,
            business=business,
            status__in=Concern.OPEN_STATUSES,
            created_at__gte=since,
        )
        .annotate(
            closeness=Case(
                When(same_category & words if words else same_category, then=Value(2)),
                When(same_category, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            )
        )
        .select_related("category")
        .only("pk", "reference", "description", "created_at", "status", "category__name")
        .order_by("-closeness", "-created_at", "-pk")[:SIMILAR_LIMIT]
    )


def similar_themes(*, npt_area: NPTArea | int, category: ConcernCategory) -> list[Theme]:
    """The open common theme of this category in this NPT area, if there is one (one query)."""
    return list(
        Theme.objects.filter(status=Theme.Status.OPEN, category=category, npt_area=npt_area)
        .only("pk", "reference", "title", "created_at")
        .order_by("-created_at")[:SIMILAR_LIMIT]
    )
