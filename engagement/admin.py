import datetime as dt
import re
import uuid

from allauth.mfa.models import Authenticator
from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import BaseUserCreationForm, UserChangeForm
from django.contrib.auth.models import Group
from django.core.exceptions import BadRequest, PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, F, Q
from django.http import Http404
from django.urls import path, reverse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join

from dorset_bcp.admin_widgets import NamedRowsInlineFormSet, NamedWidgetsAdminMixin
from dorset_bcp.event_history import EventHistoryMixin
from dorset_bcp.item_forms import EscalateForm, ResolveForm
from dorset_bcp.triage_admin import (
    ADMIN_ESCALATE,
    ADMIN_RESOLVE,
    EventWordsMixin,
    ReadOnlyInline,
    TriageAction,
    TriageAdminMixin,
    tier_words,
)

from . import emails as outbox
from . import services
from .forms import TEXT_LIMIT
from .models import (
    BUSINESS_DETAIL_FIELDS,
    DUE_RANK,
    NEXT_DUE_AT,
    Attachment,
    Business,
    BusinessMembership,
    Concern,
    ConcernCategory,
    ConcernEvent,
    ConcernUpdate,
    NPTArea,
    NPTOfficer,
    OutboundEmail,
    Outcome,
    PostcodeDistrict,
    ResponseTemplate,
    Signpost,
    User,
)
from .search import concern_search, one_process_plans
from .views import attachment_response


def staff_postings(request) -> tuple[list[int], list[int]]:
    """The NPT areas the signed-in person is posted to and the specialist teams they belong
    to, read together once per request: every admin page asks about both (its app list)."""
    if not hasattr(request, "_staff_postings"):
        rows = User.objects.filter(pk=request.user.pk).values_list(
            "nptofficer__area_id", "specialistteammember__team_id"
        )
        areas, teams = set(), set()
        for area_id, team_id in rows:
            areas.add(area_id)
            teams.add(team_id)
        request._staff_postings = (sorted(areas - {None}), sorted(teams - {None}))
    return request._staff_postings


def officer_area_ids(request) -> list[int]:
    """The NPT areas the signed-in officer is posted to, read once per request."""
    return staff_postings(request)[0]


class NPTScopedAdmin(admin.ModelAdmin):
    """Officers see and act on their own NPT's rows only; superusers see everything."""

    npt_field = "npt_area"

    def is_officer(self, request):
        return request.user.is_active and request.user.is_staff and bool(officer_area_ids(request))

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        if not self.is_officer(request):
            return queryset.none()
        return queryset.filter(**{f"{self.npt_field}__in": officer_area_ids(request)})

    def has_module_permission(self, request):
        return request.user.is_superuser or self.is_officer(request)

    def changelist_view(self, request, extra_context=None):
        # PostgreSQL refuses NUL in a query: a filter or search carrying one would be a 500.
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            raise BadRequest("Filters and searches cannot contain NUL characters.")
        return super().changelist_view(request, extra_context)

    def has_view_permission(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if not self.is_officer(request):
            return False
        return obj is None or getattr(obj, f"{self.npt_field}_id") in officer_area_ids(request)

    def has_change_permission(self, request, obj=None):
        return self.has_view_permission(request, obj)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AgeFilter(admin.SimpleListFilter):
    title = "age"
    parameter_name = "age"

    def lookups(self, request, model_admin):
        return [
            ("today", "Today"),
            ("week", "Last 7 days"),
            ("month", "Last 28 days"),
            ("older", "Older than 28 days"),
        ]

    def queryset(self, request, queryset):
        now = timezone.now()
        start_of_today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
        cutoffs = {
            "today": start_of_today,
            "week": now - dt.timedelta(days=7),
            "month": now - dt.timedelta(days=28),
        }
        if self.value() in cutoffs:
            return queryset.filter(created_at__gte=cutoffs[self.value()])
        if self.value() == "older":
            return queryset.filter(created_at__lt=now - dt.timedelta(days=28))
        return queryset


class ReportedFilter(admin.SimpleListFilter):
    """The calendar drill-down the date hierarchy gave (a year, then its months), from the
    calendar rather than from the rows: the hierarchy read every matching row for its links,
    twice, on each page of the list. A choice is a range on `created_at`."""

    title = "reported"
    parameter_name = "reported"
    years_listed = 5  # this year and the four before; "Earlier" holds the rest

    def _years(self) -> list[int]:
        this_year = timezone.localdate().year
        return list(range(this_year, this_year - self.years_listed, -1))

    def _chosen(self) -> tuple[int, int | None] | None:
        """(year, month or None) for a value such as "2026" or "2026-11", else None."""
        match = re.fullmatch(r"(\d{4})(?:-(\d{1,2}))?", self.value() or "")
        if match is None:
            return None
        year, month = int(match[1]), int(match[2]) if match[2] else None
        if year not in self._years() or (month is not None and not 1 <= month <= 12):
            return None
        return year, month

    def lookups(self, request, model_admin):
        choices = []
        chosen = self._chosen()
        today = timezone.localdate()
        for year in self._years():
            choices.append((str(year), str(year)))
            if chosen and chosen[0] == year:
                last_month = today.month if year == today.year else 12
                choices += [
                    (f"{year}-{month}", f"{dt.date(year, month, 1):%B %Y}")
                    for month in range(1, last_month + 1)
                ]
        choices.append(("earlier", f"Before {self._years()[-1]}"))
        return choices

    def queryset(self, request, queryset):
        if self.value() == "earlier":
            return queryset.filter(created_at__lt=_local_start(self._years()[-1], 1))
        chosen = self._chosen()
        if chosen is None:
            return queryset
        year, month = chosen
        if month is None:
            start, end = _local_start(year, 1), _local_start(year + 1, 1)
        else:
            start = _local_start(year, month)
            end = _local_start(year + month // 12, month % 12 + 1)
        return queryset.filter(created_at__gte=start, created_at__lt=end)


def _local_start(year: int, month: int) -> dt.datetime:
    """Midnight on the first of the month, in the portal's time zone."""
    return timezone.make_aware(dt.datetime(year, month, 1))


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request, model_admin):
        return [("me", "Assigned to me"), ("nobody", "Unassigned")]

    def queryset(self, request, queryset):
        if self.value() == "me":
            return queryset.filter(assigned_officer=request.user)
        if self.value() == "nobody":
            return queryset.filter(assigned_officer__isnull=True)
        return queryset


# The workbench's deadlines. A concern's next deadline is its first response until someone
# has responded, then its resolution. A concern waiting for the business has its clock paused
# (services._resume_clock moves the deadlines on when it restarts), so it is never overdue.
RUNNING_STATUSES = (Concern.Status.NEW, Concern.Status.IN_PROGRESS)


def with_next_due(queryset):
    """Concerns annotated with `next_due_at` and `due_rank` (0 running, 1 waiting, 2 done)."""
    return queryset.annotate(next_due_at=NEXT_DUE_AT, due_rank=DUE_RANK)


def overdue_q(now) -> Q:
    """Running concerns whose next deadline has passed (on a with_next_due() queryset)."""
    return Q(status__in=RUNNING_STATUSES, next_due_at__lt=now)


def waiting_q() -> Q:
    return Q(status=Concern.Status.WAITING)


class DueFilter(admin.SimpleListFilter):
    title = "deadline"
    parameter_name = "due"

    def lookups(self, request, model_admin):
        return [("overdue", "Overdue"), ("waiting", "Waiting for the business")]

    def queryset(self, request, queryset):
        if self.value() == "overdue":
            return with_next_due(queryset).filter(overdue_q(timezone.now()))
        if self.value() == "waiting":
            return queryset.filter(waiting_q())
        return queryset


class WorkbenchChangeList(ChangeList):
    """The concern list, with each page's businesses read after the page is chosen.

    Joined to the page's query, PostgreSQL hashes every business in the county before sorting
    the NPT's rows (it cannot know only fifty survive the sort); read by id afterwards they
    are one small query.
    """

    def get_queryset(self, request, exclude_parameters=None):
        queryset = super().get_queryset(request, exclude_parameters)
        return (
            queryset.select_related(None)
            .select_related("category", "assigned_officer")
            .prefetch_related("business")
        )


class SearchPaginator(Paginator):
    """A search's pages, counted as far as SEARCH_COUNT_LIMIT.

    A word many reports use matches thousands of an NPT's concerns, and counting them all read
    every one (at a million concerns, over half the page's time); past a thousand matches an
    officer adds a word rather than pages on. The list says "more than 1,000" (`more`).
    """

    limit = 1000
    more = False

    @property
    def limit_text(self) -> str:
        return f"{self.limit:,}"

    @cached_property
    def count(self):
        found = self.object_list.order_by()[: self.limit + 1].count()
        self.more = found > self.limit
        return min(found, self.limit)


class ConcernUpdateInline(ReadOnlyInline):
    model = ConcernUpdate
    fields = ["created_at", "kind", "author", "body"]
    readonly_fields = fields
    verbose_name_plural = "updates, questions, replies and notes"

    def get_queryset(self, request):
        # Each row shows str(update), which names its concern: join it, or it is a query a row.
        return super().get_queryset(request).select_related("author", "concern")


class AttachmentInline(ReadOnlyInline):
    model = Attachment
    fields = ["download", "content_type", "size", "created_at"]
    readonly_fields = fields
    attachment_route = "engagement_concern_attachment"  # ConcernAttachmentsMixin's URL name

    @admin.display(description="file")
    def download(self, obj):
        url = reverse(f"admin:{self.attachment_route}", args=[obj.concern_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


class ConcernAttachmentsMixin:
    """A concern page's files, downloaded sandboxed by whoever may see the concern."""

    attachment_route = "engagement_concern_attachment"

    def get_extra_urls(self):
        return [
            path(
                "<int:object_id>/attachments/<int:pk>/",
                self.admin_site.admin_view(self.attachment_view),
                name=self.attachment_route,
            ),
        ]

    def attachment_view(self, request, object_id, pk):
        concern = self._item_or_404(request, object_id)
        attachment = concern.attachments.filter(pk=pk).first()
        if attachment is None:
            raise Http404("No such file.")
        return attachment_response(attachment)


class ConcernEventInline(EventWordsMixin, ReadOnlyInline):
    model = ConcernEvent
    fields = [
        "created_at",
        "kind",
        "actor",
        "rule",
        "from_status_words",
        "to_status_words",
        "from_tier_words",
        "to_tier_words",
        "changes_words",
        "detail",
    ]
    readonly_fields = fields
    verbose_name_plural = "history (every state change)"
    classes = ["collapse"]  # long, and read less often than the thread above it

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


# Triage forms: each one is a service call.


class AssignForm(forms.Form):
    officer = forms.ModelChoiceField(queryset=User.objects.none(), label="Assign to")

    def __init__(self, *args, concern, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = User.objects.filter(
            npt_areas=concern.npt_area_id, is_active=True
        ).order_by("full_name", "email")


class PriorityForm(forms.Form):
    priority = forms.ChoiceField(choices=Concern.Priority.choices)


class TriageMessageForm(forms.Form):
    body = forms.CharField(max_length=TEXT_LIMIT, widget=forms.Textarea(attrs={"rows": 4}))
    # A one-time key: a double-click or a resent form posts the message once.
    submission_key = forms.UUIDField(
        initial=uuid.uuid4, required=False, label="", widget=forms.HiddenInput
    )


# Three forms share the message shape; each names its box, so a label finds one box only.
class UpdateForm(TriageMessageForm):
    body = forms.CharField(
        label="Update for the business",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class QuestionForm(TriageMessageForm):
    body = forms.CharField(
        label="Question for the business",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class NoteForm(TriageMessageForm):
    body = forms.CharField(
        label="Internal note",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


class LegalHoldForm(forms.Form):
    hold = forms.BooleanField(
        required=False,
        label="Keep the reporter's words under a legal hold",
        help_text=(
            "While held, the report is not anonymised when the reporter deletes their account "
            "or when the retention schedule comes due."
        ),
    )
    reason = forms.CharField(
        required=False,
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 2}),
        label="Reason for the hold (for example the case or proceedings)",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("hold") and not cleaned.get("reason", "").strip():
            self.add_error("reason", "Say why the report is held.")
        return cleaned


class DuplicateForm(forms.Form):
    original = forms.CharField(
        label="Reference of the original concern",
        max_length=40,
        error_messages={"required": "Enter the reference of the concern this one repeats."},
    )

    def __init__(self, *args, concern, candidates, **kwargs):
        super().__init__(*args, **kwargs)
        self.concern = concern
        # The concerns the officer may see (the admin's scoped queryset): an original outside
        # their NPT is as unknown as a mistyped reference.
        self.candidates = candidates

    def clean_original(self):
        reference = self.cleaned_data["original"].strip().upper()
        if "\x00" in reference or not reference:  # PostgreSQL refuses NUL in a query
            raise forms.ValidationError("Enter the reference of the concern this one repeats.")
        if reference == self.concern.reference:
            raise forms.ValidationError(
                "That is this concern's own reference: enter the reference of the concern it "
                "repeats."
            )
        original = self.candidates.filter(reference=reference).first()
        if original is None:
            raise forms.ValidationError(
                f"There is no concern {reference} among your NPT's concerns; check the reference."
            )
        if original.duplicate_of_id is not None:
            raise forms.ValidationError(
                f"{reference} is itself a duplicate of {original.duplicate_of}: enter "
                f"{original.duplicate_of} instead."
            )
        return original


# The admin is tier-1 work. Assigning, prioritising, asking, resolving and escalating act only
# while the concern is with its NPT (checked under the row lock); once the Group or the
# Partnership holds it, they decide. Updates to the business and internal notes are allowed at
# any tier: the NPT still talks to its businesses.
NPT = Concern.Tier.NPT

TRIAGE_ACTIONS = {
    "assign": TriageAction(
        form=AssignForm,
        title="Assign",
        button="Assign",
        call=lambda concern, user, data: services.concern_assign(
            concern=concern, officer=data["officer"], actor=user, from_tier=NPT
        ),
        success="Assigned.",
        unchanged=lambda concern, data: (
            f"It is already assigned to {data['officer']}; nothing changed."
            if concern.assigned_officer_id == data["officer"].pk
            else None
        ),
    ),
    "priority": TriageAction(
        form=PriorityForm,
        title="Set priority",
        button="Set priority",
        call=lambda concern, user, data: services.concern_set_priority(
            concern=concern, priority=data["priority"], actor=user, from_tier=NPT
        ),
        success="Priority changed.",
        unchanged=lambda concern, data: (
            f"The priority is already {concern.get_priority_display()}; nothing changed."
            if concern.priority == data["priority"]
            else None
        ),
    ),
    "update": TriageAction(
        form=UpdateForm,
        title="Post an update to the business",
        button="Post update",
        call=lambda concern, user, data: services.concern_post_update(
            concern=concern, actor=user, body=data["body"], submission_key=data["submission_key"]
        ),
        success="Update posted; the business has been emailed.",
        tier_one=False,
        template_field="body",
        template_label="Start the update from a template",
    ),
    "question": TriageAction(
        form=QuestionForm,
        title="Ask the business a question (pauses the clock)",
        button="Ask question",
        call=lambda concern, user, data: services.concern_ask_question(
            concern=concern,
            actor=user,
            body=data["body"],
            from_tier=NPT,
            submission_key=data["submission_key"],
        ),
        success="Question sent; the deadline clock is paused until they reply.",
        template_field="body",
        template_label="Start the question from a template",
    ),
    "note": TriageAction(
        form=NoteForm,
        title="Add an internal note (the business never sees it)",
        button="Add note",
        call=lambda concern, user, data: services.concern_add_note(
            concern=concern, actor=user, body=data["body"], submission_key=data["submission_key"]
        ),
        success="Note added.",
        tier_one=False,
    ),
    "resolve": TriageAction(
        form=ResolveForm,
        form_kwargs=ADMIN_RESOLVE,
        title="Resolve with an outcome",
        button="Resolve",
        call=lambda concern, user, data: services.concern_resolve(
            concern=concern, actor=user, outcome=data["outcome"], note=data["note"], from_tier=NPT
        ),
        success="Resolved; the business has been told the outcome.",
        template_field="note",
        template_label="Start the explanation from a template",
    ),
    "duplicate": TriageAction(
        form=DuplicateForm,
        title="Mark as a duplicate of another concern",
        button="Mark as duplicate",
        call=lambda concern, user, data: services.concern_mark_duplicate(
            concern=concern, original=data["original"], actor=user, from_tier=NPT
        ),
        success="Marked as a duplicate and closed; the business has been told.",
        # A second click of the button finds the work done: said so, not refused.
        unchanged=lambda concern, data: (
            f"{concern} is already a duplicate of {data['original']}; nothing changed."
            if concern.duplicate_of_id == data["original"].pk
            else None
        ),
    ),
    "escalate": TriageAction(
        form=EscalateForm,
        form_kwargs=ADMIN_ESCALATE,
        title="Escalate to the Business Co-ordinating Group",
        button="Escalate",
        call=lambda concern, user, data: _escalate(concern, user, data["reason"]),
        success="Escalated; the Business Co-ordinating Group has been told.",
    ),
    "legal_hold": TriageAction(
        form=LegalHoldForm,
        title="Legal hold",
        button="Save legal hold",
        call=lambda concern, user, data: services.concern_set_legal_hold(
            concern=concern, hold=data["hold"], reason=data["reason"], actor=user
        ),
        success="Legal hold saved.",
        tier_one=False,
        unchanged=lambda concern, data: (
            "The legal hold is already as you set it; nothing changed."
            if concern.legal_hold == data["hold"]
            and concern.legal_hold_reason == (data["reason"].strip() if data["hold"] else "")
            else None
        ),
    ),
}


def _escalate(concern, user, reason):
    from escalation.services import item_escalate  # escalation builds on engagement

    # The admin is tier-1 work: a concern that has already moved up is not escalated again.
    return item_escalate(item=concern, actor=user, reason=reason, from_tier=Concern.Tier.NPT)


# What the business reported, as the officers and the specialist teams read it.
CONCERN_REPORT_FIELDSETS = [
    (
        "Concern",
        {
            "fields": [
                "reference",
                "business",
                "business_details",
                "category",
                "description",
                "occurred_on",
                "occurred_time",
                "location",
                "existing_reference",
                "impact",
                "impact_details",
            ]
        },
    ),
    (
        "Contact",
        {"fields": ["contact_name", "contact_email", "contact_phone", "contact_preference"]},
    ),
]


@admin.register(Concern)
class ConcernAdmin(EventHistoryMixin, ConcernAttachmentsMixin, TriageAdminMixin, NPTScopedAdmin):
    triage_actions = TRIAGE_ACTIONS
    triage_watch = ("status", "tier", "priority", "assigned_officer")
    # A concern's page on the site is the business's own (/my/concerns/…): officers cannot open
    # it, so "View on site" would only lead them to a 404.
    view_on_site = False
    list_display = [
        "reference",
        "business",
        "category",
        "priority",
        "status",
        "tier_name",
        "assigned_officer",
        "next_due",
    ]
    list_filter = [
        DueFilter,
        "status",
        "category",
        "priority",
        AgeFilter,
        ReportedFilter,
        AssignedFilter,
        "tier",
    ]
    # What the search box looks in; get_search_results matches them (engagement.search).
    search_fields = [
        "reference",
        "business__name",
        "business__postcode",
        "description",
        "contact_email",
    ]
    search_help_text = (
        "Search by reference, business name or postcode, or words of the description or the "
        "reporter's email."
    )
    list_select_related = ["category", "assigned_officer"]  # the business: WorkbenchChangeList
    # No date_hierarchy: its links read every matching row (MIN/MAX, then the distinct years)
    # on each page of the list. ReportedFilter gives the same drill-down from the calendar.
    list_per_page = 50
    # The total beside a search would be one more count of the whole NPT.
    show_full_result_count = False
    actions = ["assign_to_me"]
    inlines = [ConcernUpdateInline, AttachmentInline, ConcernEventInline]
    fieldsets = [
        *CONCERN_REPORT_FIELDSETS,
        (
            "Triage",
            {
                "fields": [
                    "npt_area",
                    "tier",
                    "owning_body",
                    "status",
                    "priority",
                    "assigned_officer",
                    "created_at",
                    "first_response_due_at",
                    "first_responded_at",
                    "resolution_due_at",
                    "paused_at",
                ]
            },
        ),
        (
            "Outcome",
            {
                "fields": [
                    "current_outcome",
                    "current_outcome_note",
                    "duplicate_of_link",
                    "duplicates_list",
                    "resolved_at",
                    "reporter_satisfied",
                    "closed_at",
                ]
            },
        ),
        ("Legal hold", {"fields": ["legal_hold", "legal_hold_reason", "anonymised_at"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Every field changes only through the triage forms below, which call services.
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    @admin.display(description="owned by")
    def owning_body(self, obj):
        from escalation.selectors import owning_body

        return str(owning_body(obj))

    @admin.display(description="business details")
    def business_details(self, obj):
        business = obj.business
        return format_html(
            "{}, {}, {} {} — {} ({}){}",
            business.address_line1,
            business.town,
            business.postcode,
            "",
            business.get_sector_display(),
            business.get_size_band_display(),
            " — rural" if business.is_rural else "",
        )

    @admin.display(description="duplicate of")
    def duplicate_of_link(self, obj):
        if obj.duplicate_of_id is None:
            return self.get_empty_value_display()
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:engagement_concern_change", args=[obj.duplicate_of_id]),
            obj.duplicate_of,
        )

    @admin.display(description="duplicates joined to it")
    def duplicates_list(self, obj):
        duplicates = list(
            obj.duplicates.order_by("created_at", "pk").values_list("pk", "reference")
        )
        if not duplicates:
            return self.get_empty_value_display()
        return format_html_join(
            ", ",
            '<a href="{}">{}</a>',
            (
                (reverse("admin:engagement_concern_change", args=[pk]), ref)
                for pk, ref in duplicates
            ),
        )

    @admin.display(description="tier", ordering="tier")
    def tier_name(self, obj):
        return tier_words(obj.tier)

    @admin.display(description="next due", ordering="next_due_at")
    def next_due(self, obj):
        from escalation.review import time_left

        if obj.next_due_at is None:
            return self.get_empty_value_display()
        waiting = obj.status == Concern.Status.WAITING
        left = time_left(
            obj.next_due_at,
            now=timezone.now(),
            paused=obj.paused_at if waiting else None,
            left_words="Due in {}",
        )
        responded = obj.first_responded_at is not None or obj.first_response_due_at is None
        state = next(
            (name for name in ("overdue", "paused", "soon") if getattr(left, name)), "running"
        )
        return format_html(
            '{} {}<br><span class="due-words {}">{}</span>',
            "Outcome by" if responded else "Reply by",
            f"{timezone.localtime(obj.next_due_at):%-d %b %H:%M}",
            state,
            left.text,
        )

    def get_queryset(self, request):
        queryset = with_next_due(
            super()
            .get_queryset(request)
            .select_related(
                "business",
                "category",
                "npt_area",
                "npt_area__group",
                "assigned_officer",
                "outcome",
                "duplicate_of",
            )
        )
        if not request.user.is_superuser:
            # A guest's report reaches the NPT only once the guest confirms it from the email.
            queryset = queryset.exclude(status=Concern.Status.UNCONFIRMED)
        return queryset

    def changelist_view(self, request, extra_context=None):
        # The officers' workbench needs the page's width for its columns beside the filters
        # (at 1280 px the app sidebar would push the deadlines out of view); the breadcrumbs
        # and the index lead everywhere the sidebar does.
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        if not request.GET.get(SEARCH_VAR):
            return super().changelist_view(request, extra_context)
        with one_process_plans():
            response = super().changelist_view(request, extra_context)
            # The page's rows are read as the template renders: inside, too.
            if hasattr(response, "render"):
                response.render()
            return response

    def get_changelist(self, request, **kwargs):
        return WorkbenchChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        paginator = SearchPaginator if request.GET.get(SEARCH_VAR) else self.paginator
        return paginator(queryset, per_page, orphans, allow_empty_first_page)

    def get_search_results(self, request, queryset, search_term):
        # Each word through an index (engagement.search) rather than Django's OR of
        # LIKE '%word%' across the join; no row can match twice, so no DISTINCT.
        return concern_search(queryset, search_term), False

    def get_ordering(self, request):
        # What is due first; newest first among those with no deadline left.
        return [F("due_rank").asc(), F("next_due_at").asc(nulls_last=True), "-created_at"]

    def triage_form_kwargs(self, request, item, form_class) -> dict:
        if form_class is AssignForm:
            return {"concern": item}
        if form_class is DuplicateForm:
            return {"concern": item, "candidates": self.get_queryset(request)}
        return {}

    def triage_initial(self, item, name) -> dict:
        if name == "priority":
            return {"priority": item.priority}
        if name == "assign" and item.assigned_officer_id:
            return {"officer": item.assigned_officer_id}
        if name == "legal_hold":
            return {"hold": item.legal_hold, "reason": item.legal_hold_reason}
        return {}

    def triage_templates(self, request, item):
        names = [
            name
            for name, action in self.triage_actions.items()
            if action.template_field and action.applies(item)
        ]
        offered = {name: [] for name in names}
        # One query for every form, however many templates there are.
        for template in ResponseTemplate.objects.offered_for(item).filter(used_for__in=names):
            offered[template.used_for].append(template)
        return offered

    @admin.action(description="Assign the selected concerns to me")
    def assign_to_me(self, request, queryset):
        if not self.is_officer(request):
            raise PermissionDenied
        done = 0
        for concern in queryset.filter(npt_area__in=officer_area_ids(request)):
            try:
                services.concern_assign(
                    concern=concern, officer=request.user, actor=request.user, from_tier=NPT
                )
            except ValidationError:
                continue  # it has moved up a tier: the Group or Partnership holds it now
            done += 1
        self.message_user(request, f"{done} concern(s) assigned to you.", messages.SUCCESS)


class BusinessAdminForm(forms.ModelForm):
    class Meta:
        model = Business
        fields = BUSINESS_DETAIL_FIELDS

    def clean_postcode(self):
        # Saved through the service, which routes a new postcode to the NPT that covers it.
        postcode = self.cleaned_data["postcode"]
        if "postcode" in self.changed_data:
            services.npt_for_postcode(postcode)
        return postcode


@admin.register(Business)
class BusinessAdmin(EventHistoryMixin, NPTScopedAdmin):
    form = BusinessAdminForm
    history_change_labels = {"people": "People who belong to it"}
    list_display = [
        "name",
        "sector",
        "size_band",
        "town",
        "postcode",
        "npt_area",
        "is_rural",
        "bid_member",
    ]
    list_filter = ["sector", "size_band", "is_rural", "bid_member", "npt_area"]
    search_fields = ["name", "postcode", "town"]
    list_select_related = ["npt_area"]
    readonly_fields = ["npt_area", "created_at"]

    def has_change_permission(self, request, obj=None):
        return request.user.is_superuser

    def save_model(self, request, obj, form, change):
        # Through the service, so the business's history records the change.
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        services.business_update(business=obj, actor=request.user, **changed)


class PostcodeDistrictInline(admin.TabularInline):
    model = PostcodeDistrict
    formset = NamedRowsInlineFormSet
    extra = 1


class NPTOfficerInline(admin.TabularInline):
    model = NPTOfficer
    formset = NamedRowsInlineFormSet
    extra = 1
    # An id box with a lookup link, not Django's script-built search box, which has no name.
    raw_id_fields = ["user"]


@admin.register(NPTArea)
class NPTAreaAdmin(admin.ModelAdmin):
    list_display = ["name", "districts_list", "email", "phone"]
    search_fields = ["name", "districts__code"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [PostcodeDistrictInline, NPTOfficerInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("districts")

    @admin.display(description="postcode districts")
    def districts_list(self, obj):
        return ", ".join(d.code for d in obj.districts.all())


@admin.register(PostcodeDistrict)
class PostcodeDistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "area"]
    list_filter = ["area"]
    search_fields = ["code"]
    list_select_related = ["area"]


@admin.register(ConcernCategory)
class ConcernCategoryAdmin(NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "is_cyber", "is_rural", "is_active", "position"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Outcome)
class OutcomeAdmin(NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "requires_note", "is_active", "position"]
    list_editable = ["position", "is_active"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    """Administrators and OPCC editors keep the wording; officers use it on a concern's page.

    Access is Django's model permissions: the "OPCC editors" group has them (engagement
    migration 0011), officers do not.
    """

    list_display = ["title", "used_for", "category", "status", "is_active", "position"]
    list_filter = ["used_for", "category", "status", "is_active"]
    list_select_related = ["category"]
    search_fields = ["title", "body"]
    fields = ["title", "used_for", "category", "status", "body", "is_active", "position"]


@admin.register(Signpost)
class SignpostAdmin(NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["title", "when", "phone", "is_urgent", "is_active", "position"]
    list_editable = ["position", "is_active"]


def _outbox_attention():
    """Failed emails and ones unsent for longer than emails.LONG_PENDING_AFTER."""
    waiting_since = timezone.now() - outbox.LONG_PENDING_AFTER
    return OutboundEmail.objects.filter(sent_at__isnull=True).filter(
        Q(failed_at__isnull=False) | Q(created_at__lt=waiting_since)
    )


class OutboxDeliveryFilter(admin.SimpleListFilter):
    title = "delivery"
    parameter_name = "delivery"

    def lookups(self, request, model_admin):
        return [
            ("attention", "Needs attention (failed or long pending)"),
            ("failed", "Failed"),
            ("pending", "Waiting to be sent"),
            ("sent", "Sent"),
        ]

    def queryset(self, request, queryset):
        match self.value():
            case "attention":
                return queryset.filter(pk__in=_outbox_attention().values("pk"))
            case "failed":
                return queryset.filter(sent_at__isnull=True, failed_at__isnull=False)
            case "pending":
                return queryset.filter(sent_at__isnull=True, failed_at__isnull=True)
            case "sent":
                return queryset.filter(sent_at__isnull=False)
        return queryset


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["subject", "to", "created_at", "sent_at", "failed_at", "attempts"]
    list_filter = [OutboxDeliveryFilter]
    search_fields = ["to", "subject"]
    actions = ["send_again"]
    readonly_fields = [
        "to",
        "subject",
        "body_text",
        "body_html",
        "contains_secret",
        "created_at",
        "sent_at",
        "failed_at",
        "attempts",
        "next_attempt_at",
        "attempt_started_at",
        "message_id",
        "last_error",
    ]

    @admin.action(description="Send again (failed or waiting emails)")
    def send_again(self, request, queryset):
        count = outbox.email_send_again(email_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} email(s) will be sent within a minute.")

    def get_actions(self, request):
        # The changelist's actions need change permission, which nobody has on the outbox;
        # "send again" is the one thing a superuser may do to it.
        actions = super().get_actions(request)
        if request.user.is_active and request.user.is_superuser:
            actions["send_again"] = self.get_action("send_again")
        return actions

    # The outbox holds personal data and, until sent, private links: superusers only.
    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_superuser

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


def _concern_counts(request) -> str:
    """Overdue, waiting for the business and new, among the concerns the person may see.

    Read once per request: the index builds its app list twice (the page's and the sidebar's).
    """
    if not hasattr(request, "_concern_counts"):
        concerns = admin.site.get_model_admin(Concern).get_queryset(request)
        counts = concerns.order_by().aggregate(
            overdue=Count("pk", filter=overdue_q(timezone.now())),
            waiting=Count("pk", filter=waiting_q()),
            new=Count("pk", filter=Q(status=Concern.Status.NEW)),
        )
        words = {"overdue": "overdue", "waiting": "waiting for the business", "new": "new"}
        request._concern_counts = ", ".join(
            f"{counts[key]} {words[key]}" for key in words if counts[key]
        )
    return request._concern_counts


def _outbox_attention_count(request) -> int:
    """Emails that need attention, read once per request like the concern counts."""
    if not hasattr(request, "_outbox_attention_count"):
        request._outbox_attention_count = _outbox_attention().count()
    return request._outbox_attention_count


def with_work_counts(request, app_list):
    """The admin index counts what needs doing beside the models it concerns
    (PortalAdminSite.get_app_list).

    Concerns: overdue, waiting for the business and new, in the person's own NPT (all areas
    for a superuser). Outbound emails: those that need attention.
    """
    on_index = getattr(request.resolver_match, "url_name", None) in ("index", "app_list")
    for app in app_list if on_index else []:
        for model in app["models"]:
            if model["model"] is Concern:
                counts = _concern_counts(request)
                if counts:
                    model["name"] = f"{model['name']} ({counts})"
            if model["model"] is OutboundEmail:
                waiting = _outbox_attention_count(request)
                if waiting:
                    model["name"] = f"{model['name']} ({waiting} need attention)"
                    model["admin_url"] += "?delivery=attention"
    return app_list


class BusinessMembershipInline(admin.TabularInline):
    model = BusinessMembership
    formset = NamedRowsInlineFormSet
    extra = 0
    raw_id_fields = ["business"]


class UserCreationForm(BaseUserCreationForm):
    class Meta:
        model = User
        fields = ["email"]


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(NamedWidgetsAdminMixin, BaseUserAdmin):
    add_form = UserCreationForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "full_name", "is_staff", "is_active", "date_joined"]
    search_fields = ["email", "full_name"]
    list_filter = ["is_staff", "is_superuser", "is_active", "groups"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal details", {"fields": ["full_name", "phone"]}),
        (
            "Roles",
            {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]},
        ),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]
    inlines = [NPTOfficerInline, BusinessMembershipInline]
    # A plain list of choices, each named: Django's two-box picker adds an unnamed icon.
    filter_horizontal = ()


# Django's own group admin, with a plain list of permissions: its two-box picker adds an icon
# with a prohibited aria-label from its script.
admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    filter_horizontal = ()


# Two-step sign-in (allauth.mfa). An administrator can see who has set it up and remove a lost
# phone's authenticator so its owner sets it up again; the secret itself is never shown.
admin.site.unregister(Authenticator)


@admin.register(Authenticator)
class AuthenticatorAdmin(admin.ModelAdmin):
    list_display = ["user", "type", "created_at", "last_used_at"]
    list_filter = ["type"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    fields = ["user", "type", "created_at", "last_used_at"]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# The specialist teams' screens build on the classes above, so they are registered after them.
from . import specialist_admin  # noqa: E402, F401
