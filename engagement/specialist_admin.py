"""The specialist teams in the admin: their routing (administrators) and their concerns (members).

A specialist team member (Rural Crime Team, Cyber-Crime Protect and Prevention Officer) is staff
with no NPT: they see, county-wide and read-only, the concerns referred to their team when the
concerns arrived, with the NPT's thread, and may add an internal note or send the business advice.
Nothing else in the admin is theirs: every other model needs a posting or a permission they lack.
"""

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404

from . import services
from .admin import (
    CONCERN_REPORT_FIELDSETS,
    TRIAGE_ACTIONS,
    AttachmentInline,
    ConcernAdmin,
    ConcernAttachmentsMixin,
    ConcernEventInline,
    ConcernUpdateInline,
    TriageAction,
    TriageAdminMixin,
    TriageMessageForm,
    staff_postings,
)
from .forms import TEXT_LIMIT
from .models import (
    Concern,
    ConcernCategory,
    Sector,
    SpecialistConcern,
    SpecialistReferral,
    SpecialistTeam,
    SpecialistTeamMember,
    User,
)


def specialist_team_ids(request) -> list[int]:
    """The specialist teams the signed-in staff member belongs to, read once per request."""
    user = request.user
    if not (user.is_active and user.is_staff):
        return []
    return staff_postings(request)[1]


# Administrators: which categories and business types reach which team.


class SpecialistTeamForm(forms.ModelForm):
    categories = forms.ModelMultipleChoiceField(
        queryset=ConcernCategory.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Concerns in these categories reach the team.",
    )
    sectors = forms.MultipleChoiceField(
        label="Business types",
        choices=Sector.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Concerns from businesses of these types reach the team.",
    )

    class Meta:
        model = SpecialistTeam
        fields = ["name", "slug", "categories", "sectors", "rural_businesses", "is_active"]


class SpecialistTeamMemberInline(admin.StackedInline):
    model = SpecialistTeamMember
    extra = 1
    verbose_name_plural = (
        "members (staff accounts: they see the team's concerns in the admin, county-wide)"
    )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # Only staff sign in to the admin, where the team's concerns are; a plain list of the
        # few staff accounts, named by its label, rather than a search box.
        if db_field.name == "user":
            kwargs["queryset"] = User.objects.filter(is_staff=True, is_active=True).order_by(
                "full_name", "email"
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(SpecialistTeam)
class SpecialistTeamAdmin(admin.ModelAdmin):
    form = SpecialistTeamForm
    list_display = ["name", "categories_list", "sectors_list", "rural_businesses", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SpecialistTeamMemberInline]

    class Media:
        css = {"all": ["css/admin-specialist.css"]}

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("categories")

    @admin.display(description="categories")
    def categories_list(self, obj):
        return ", ".join(category.name for category in obj.categories.all())

    @admin.display(description="business types")
    def sectors_list(self, obj):
        return obj.get_sectors_display()


# Members: the team's concerns.


class AdviceForm(TriageMessageForm):
    body = forms.CharField(
        label="Advice for the business",
        max_length=TEXT_LIMIT,
        widget=forms.Textarea(attrs={"rows": 4}),
    )


def _send_advice(concern, user, data):
    # A member of two teams the concern reached writes for the first by name; both are told in
    # the same thread.
    # An active team first: one that has been stood down is refused by the service.
    team = (
        SpecialistTeam.objects.filter(memberships__user=user, referrals__concern=concern)
        .order_by("-is_active", "name")
        .first()
    )
    if team is None:
        raise ValidationError("This concern was not referred to your team.")
    return services.concern_send_advice(
        concern=concern,
        actor=user,
        team=team,
        body=data["body"],
        submission_key=data["submission_key"],
    )


class AdviceAction(TriageAction):
    def applies(self, item) -> bool:
        # Advice goes on an open concern, from a team still active (the `can_advise` the
        # members' queryset annotates); the service refuses the rest under its lock.
        return item.is_open and getattr(item, "can_advise", False)


SPECIALIST_ACTIONS = {
    "advice": AdviceAction(
        form=AdviceForm,
        title="Send advice to the business",
        button="Send advice",
        call=_send_advice,
        success="Advice sent; the business has been emailed.",
        tier_one=False,
    ),
    "note": TRIAGE_ACTIONS["note"],
}


class SpecialistAttachmentInline(AttachmentInline):
    attachment_route = "engagement_specialistconcern_attachment"


@admin.register(SpecialistConcern)
class SpecialistConcernAdmin(ConcernAttachmentsMixin, TriageAdminMixin, admin.ModelAdmin):
    attachment_route = "engagement_specialistconcern_attachment"
    triage_actions = SPECIALIST_ACTIONS
    change_form_template = "admin/engagement/specialistconcern/change_form.html"
    view_on_site = False
    actions = None
    list_display = [
        "reference",
        "business",
        "category",
        "npt_area",
        "status",
        "tier_name",
        "created_at",
    ]
    list_display_links = ["reference"]
    list_filter = ["category", "npt_area", "status"]
    search_fields = ["reference", "business__name", "business__postcode"]
    list_select_related = ["business", "category", "npt_area"]
    list_per_page = 50
    show_full_result_count = False
    ordering = ["-created_at"]
    inlines = [ConcernUpdateInline, SpecialistAttachmentInline, ConcernEventInline]
    fieldsets = [
        *CONCERN_REPORT_FIELDSETS,
        (
            "With the NPT",
            {
                "fields": [
                    "npt_area",
                    "tier",
                    "status",
                    "priority",
                    "assigned_officer",
                    "created_at",
                    "referred_to",
                ]
            },
        ),
        ("Outcome", {"fields": ["current_outcome", "current_outcome_note", "resolved_at"]}),
    ]

    business_details = ConcernAdmin.business_details
    tier_name = ConcernAdmin.tier_name

    @admin.display(description="referred to")
    def referred_to(self, obj):
        teams = SpecialistTeam.objects.filter(referrals__concern=obj).values_list("name", flat=True)
        return ", ".join(teams)

    def get_readonly_fields(self, request, obj=None):
        return [f for fieldset in self.fieldsets for f in fieldset[1]["fields"]]

    def changelist_view(self, request, extra_context=None):
        # As on the officers' workbench: the page's width for the columns, not the app sidebar
        # (a member has one model; the breadcrumbs lead to the index).
        extra_context = {"is_nav_sidebar_enabled": False, **(extra_context or {})}
        return super().changelist_view(request, extra_context)

    def get_queryset(self, request):
        queryset = (
            super()
            .get_queryset(request)
            .select_related(
                "business", "category", "npt_area", "npt_area__group", "assigned_officer", "outcome"
            )
        )
        teams = specialist_team_ids(request)
        if not teams:
            return queryset.none()
        # County-wide, but only what was referred to the member's teams on arrival.
        return (
            queryset.filter(
                Exists(SpecialistReferral.objects.filter(concern=OuterRef("pk"), team__in=teams))
            )
            .exclude(status=Concern.Status.UNCONFIRMED)
            .annotate(
                can_advise=Exists(
                    SpecialistReferral.objects.filter(
                        concern=OuterRef("pk"), team__in=teams, team__is_active=True
                    )
                )
            )
        )

    def _not_applicable(self, current, action) -> str | None:
        # Refused before the call, so the form is not offered again once the concern is closed.
        if isinstance(action, AdviceAction) and not current.is_open:
            return (
                f"This concern has an outcome already ({current.get_status_display()}); "
                "advice was not sent."
            )
        return super()._not_applicable(current, action)

    def triage_notice(self, item) -> str:
        """Why the advice form is missing, when it is."""
        if not item.is_open:
            outcome = f": {item.outcome}" if item.outcome_id else ""
            return (
                f"This concern has an outcome{outcome}, so advice is no longer sent. "
                "You can still add an internal note."
            )
        return (
            "Your teams this concern was referred to are no longer active, so advice is not "
            "sent in their name. You can still add an internal note."
        )

    # Members of a specialist team only: an administrator works in the concerns list itself.
    def has_module_permission(self, request):
        return bool(specialist_team_ids(request))

    def has_view_permission(self, request, obj=None):
        return bool(specialist_team_ids(request))

    # Read-only: no field is edited here; the note and advice forms call services.
    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _item_or_404(self, request, object_id):
        # The triage forms ask for view permission here, not change: the page is read-only and
        # the forms are the only writes, each a service with its own checks.
        item = self.get_queryset(request).filter(pk=object_id).first()
        if item is None:
            raise Http404("Nothing here.")
        return item
