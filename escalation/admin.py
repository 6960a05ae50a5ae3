"""Admin for the chain's set-up (groups, partnership, policies, theme settings) and for browsing.

Items move only through services: sweeps, decisions and events are read-only here, and a theme
changes only through its triage forms. Group and Partnership members work in /partnership/.
"""

from django.contrib import admin
from django.core.exceptions import ValidationError

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
)
from engagement.admin import NPTScopedAdmin
from engagement.models import Concern

from .models import (
    Action,
    CoordinatingGroup,
    DeadlinePolicy,
    Decision,
    GroupMembership,
    PartnerOrganisation,
    Partnership,
    PartnershipMembership,
    Sweep,
    Theme,
    ThemeConcern,
    ThemeEvent,
    ThemeSettings,
)
from .services import moves


@admin.register(PartnerOrganisation)
class PartnerOrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "email", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class GroupMembershipInline(admin.TabularInline):
    model = GroupMembership
    formset = NamedRowsInlineFormSet
    extra = 1
    raw_id_fields = ["user"]  # Django's search box has no name
    fields = ["user", "organisation", "role"]


@admin.register(CoordinatingGroup)
class CoordinatingGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "chair", "areas", "email", "phone"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["chair"]
    readonly_fields = ["areas"]
    inlines = [GroupMembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("chair").prefetch_related("npt_areas")

    @admin.display(description="NPT areas covered (set on each NPT area)")
    def areas(self, obj):
        return ", ".join(area.name for area in obj.npt_areas.all()) or "None yet"


class PartnershipMembershipInline(admin.TabularInline):
    model = PartnershipMembership
    formset = NamedRowsInlineFormSet
    extra = 1
    raw_id_fields = ["user"]  # Django's search box has no name
    fields = ["user", "organisation", "role"]


@admin.register(Partnership)
class PartnershipAdmin(admin.ModelAdmin):
    list_display = ["name", "chair", "email", "phone"]
    raw_id_fields = ["chair"]
    inlines = [PartnershipMembershipInline]

    def has_add_permission(self, request):
        # There is one Business Safety Partnership (a database constraint says so too).
        return super().has_add_permission(request) and not Partnership.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DeadlinePolicy)
class DeadlinePolicyAdmin(NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["__str__", "first_response_days", "resolution_days", "warning_days"]
    list_editable = ["first_response_days", "resolution_days", "warning_days"]
    list_filter = ["tier", "priority"]
    ordering = ["tier", "priority"]


@admin.register(ThemeSettings)
class ThemeSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "min_businesses", "window_days"]
    list_display_links = ["__str__"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not ThemeSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


class ThemeConcernInline(ReadOnlyInline):
    model = ThemeConcern
    fields = ("concern", "business", "linked_at")
    readonly_fields = fields
    verbose_name_plural = "linked concerns"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("concern", "concern__business")

    @admin.display(description="business")
    def business(self, obj):
        return obj.concern.business.name


class ThemeEventInline(EventWordsMixin, ReadOnlyInline):
    model = ThemeEvent
    fields = (
        "created_at",
        "kind",
        "actor",
        "rule",
        "from_tier_words",
        "to_tier_words",
        "changes_words",
        "detail",
    )
    readonly_fields = fields
    verbose_name_plural = "history (every state change)"
    classes = ["collapse"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Theme)
class ThemeAdmin(EventHistoryMixin, TriageAdminMixin, NPTScopedAdmin):
    """Officers see their NPT's themes; one returned to them with guidance is theirs to settle.

    The triage forms act only while the theme is with the NPT (tier 1): above that the group or
    the partnership decides, in /partnership/.
    """

    triage_actions = {
        "resolve": TriageAction(
            form=ResolveForm,
            form_kwargs=ADMIN_RESOLVE,
            title="Resolve with an outcome (every linked business is told)",
            button="Resolve",
            call=lambda theme, user, data: moves.item_resolve(
                item=_at_npt(theme),
                actor=user,
                outcome=data["outcome"],
                note=data["note"],
                from_tier=Concern.Tier.NPT,  # checked again under the lock
            ),
            success="Resolved; every business in the theme has been told the outcome.",
        ),
        "escalate": TriageAction(
            form=EscalateForm,
            form_kwargs=ADMIN_ESCALATE,
            title="Escalate to the Business Co-ordinating Group",
            button="Escalate",
            call=lambda theme, user, data: moves.item_escalate(
                item=theme, actor=user, reason=data["reason"], from_tier=Concern.Tier.NPT
            ),
            success="Escalated; the Business Co-ordinating Group has been told.",
        ),
    }

    list_display = [
        "reference",
        "title",
        "tier",
        "status",
        "resolution_due_at",
        "outcome",
        "created_at",
    ]
    list_filter = ["status", "tier", "category", "npt_area"]
    search_fields = ["reference", "title"]
    list_select_related = ["outcome"]
    inlines = [ThemeConcernInline, ThemeEventInline]
    fields = [
        "reference",
        "title",
        "category",
        "npt_area",
        "tier",
        "status",
        "priority",
        "tier_entered_at",
        "first_response_due_at",
        "first_responded_at",
        "resolution_due_at",
        "overdue_flagged_at",
        "current_outcome",
        "current_outcome_note",
        "resolved_at",
        "created_at",
    ]

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("category", "npt_area")


class ActionInline(ReadOnlyInline):
    model = Action
    fields = ("description", "owner", "owner_contact", "due_on", "completed_at")
    readonly_fields = fields


@admin.register(Decision)
class DecisionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "tier", "made_by", "created_at"]
    list_filter = ["tier"]
    list_select_related = ["concern", "theme", "made_by"]
    readonly_fields = ["concern", "theme", "tier", "summary", "made_by", "created_at"]
    inlines = [ActionInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Sweep)
class SweepAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "kind",
        "trigger",
        "escalated",
        "flagged",
        "warned",
        "themes_created",
        "emails_queued",
        "notified_at",
    ]
    list_filter = ["kind", "trigger"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def _at_npt(theme: Theme) -> Theme:
    if theme.tier != Concern.Tier.NPT:
        raise ValidationError(
            "This theme is with the Business Co-ordinating Group or the Partnership; they "
            "decide its outcome in the partnership area."
        )
    return theme
