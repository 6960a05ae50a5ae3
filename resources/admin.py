"""The OPCC editors' admin for the library, Watch schemes, alerts, seminars and contacts.

Content (resources, topics, contacts, scheme descriptions, seminar details) is edited here
directly. Anything that tells people something goes through a service: posting an alert emails
members, approving an application emails the business, cancelling a seminar emails everyone
booked. Declining needs a reason, so it is done on the scheme's manage page on the site, which
the membership's change page links to.

Memberships, alerts, seminars, bookings and resources have a History page listing their
community events with the old and new values each recorded. A resource that has been published
keeps its events, so it cannot be deleted: unpublish it instead.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import UploadedFile
from django.db import models
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from dorset_bcp.admin_widgets import NamedWidgetsAdminMixin
from dorset_bcp.event_history import EventHistoryMixin
from dorset_bcp.triage_admin import ReadOnlyInline

from . import services
from .forms import ResourceAdminForm, SeminarCancelForm, WatchSchemeAdminForm
from .models import (
    Alert,
    AlertDelivery,
    Booking,
    CommunityEvent,
    Resource,
    SchemeMembership,
    Seminar,
    SpecialistContact,
    Topic,
    WatchScheme,
)


class HttpsLinksMixin:
    """Links typed without a scheme are taken as https (Django 6's default, chosen now)."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)


class NoDeleteMixin:
    """Deleting would skip the services (no promotion from the waiting list, nobody told):
    cancel a seminar with its Cancel button, and bookings and memberships on the site."""

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records written by services: browse them, never edit them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Topic)
class TopicAdmin(NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["name", "slug", "position"]
    list_editable = ["position"]
    search_fields = ["name"]
    prepopulated_fields = {"slug": ["name"]}


class CommunityHistoryMixin(EventHistoryMixin):
    """The History page lists the object's community events with their old and new values."""

    history_change_labels = {"expired": "Expired", "contact": "Scheme contact"}


@admin.register(Resource)
class ResourceAdmin(CommunityHistoryMixin, admin.ModelAdmin):
    form = ResourceAdminForm
    list_display = ["title", "publisher", "status", "kind", "position", "published_at"]
    list_filter = ["status", "topics", "sector_tags__sector", "categories"]
    search_fields = ["title", "summary", "publisher", "link_url"]
    prepopulated_fields = {"slug": ["title"]}
    readonly_fields = ["document_name", "document_size", "published_at", "view_on_site_link"]
    actions = ["publish", "unpublish"]

    def get_deleted_objects(self, objs, request):
        # A resource that was ever published keeps its events (they are never deleted), so it
        # stays; the page says so in words rather than as a missing permission on events.
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        with_history = set(
            CommunityEvent.objects.filter(resource__in=[obj.pk for obj in objs]).values_list(
                "resource_id", flat=True
            )
        )
        kept = [obj for obj in objs if obj.pk in with_history]
        if kept:
            perms_needed = set()
            protected = [
                format_html(
                    "{}: it has been published, and its history of publishing is kept, so it "
                    "cannot be deleted. Unpublish it to take it off the site.",
                    obj,
                )
                for obj in kept
            ]
        return deleted, model_count, perms_needed, protected

    @admin.display(description="link or document")
    def kind(self, obj):
        return "Document" if obj.document else "Link"

    @admin.display(description="on the site")
    def view_on_site_link(self, obj):
        if not obj.pk:
            return "—"
        return format_html('<a href="{}">{}</a>', obj.get_absolute_url(), obj.get_absolute_url())

    def save_model(self, request, obj, form, change):
        upload = form.cleaned_data.get("document")
        new_document = upload if isinstance(upload, UploadedFile) else None
        services.resource_save(
            resource=obj,
            sectors=form.cleaned_data.get("sectors", []),
            document=new_document,
            topics=list(form.cleaned_data.get("topics", [])),
            actor=request.user,
        )

    @admin.action(description="Publish the selected resources")
    def publish(self, request, queryset):
        done = sum(services.resource_publish(resource=r, actor=request.user) for r in queryset)
        self.message_user(request, f"{done} resource(s) published.", messages.SUCCESS)

    @admin.action(description="Unpublish the selected resources (back to draft)")
    def unpublish(self, request, queryset):
        done = sum(services.resource_unpublish(resource=r, actor=request.user) for r in queryset)
        self.message_user(request, f"{done} resource(s) unpublished.", messages.SUCCESS)


@admin.register(SpecialistContact)
class SpecialistContactAdmin(NamedWidgetsAdminMixin, HttpsLinksMixin, admin.ModelAdmin):
    list_display = ["name", "team", "email", "phone", "is_active", "position"]
    list_filter = ["team", "is_active"]
    list_editable = ["is_active", "position"]
    search_fields = ["name", "email"]


class SchemeMembershipInline(ReadOnlyInline):
    shown_with_parent = False
    show_change_link = True
    model = SchemeMembership
    fields = ["business", "status", "contact", "alert_preference", "applied_at"]
    readonly_fields = fields
    verbose_name_plural = "memberships and applications"

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("business", "scheme", "contact")


@admin.register(WatchScheme)
class WatchSchemeAdmin(admin.ModelAdmin):
    form = WatchSchemeAdminForm
    list_display = ["name", "is_accepting", "email", "coordinator_list", "manage_link", "position"]
    list_filter = ["is_accepting"]
    search_fields = ["name", "coordinators__email"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [SchemeMembershipInline]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("coordinators")

    @admin.display(description="coordinators")
    def coordinator_list(self, obj):
        return ", ".join(user.email for user in obj.coordinators.all()) or "—"

    @admin.display(description="applications and alerts")
    def manage_link(self, obj):
        url = reverse("resources:scheme_manage", args=[obj.slug])
        return format_html('<a href="{}">Manage on the site</a>', url)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.scheme_set_coordinators(
            scheme=form.instance, coordinators=form.cleaned_data["coordinator_emails"]
        )


@admin.register(SchemeMembership)
class SchemeMembershipAdmin(CommunityHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = [
        "business",
        "scheme",
        "status",
        "alert_preference",
        "contact",
        "applied_at",
        "decided_at",
    ]
    list_filter = ["scheme", "status", "alert_preference"]
    search_fields = ["business__name", "business__postcode", "contact__email"]
    list_select_related = ["business", "scheme", "contact"]
    date_hierarchy = "applied_at"
    actions = ["approve"]
    fields = [
        "scheme",
        "business",
        "contact",
        "status",
        "alert_preference",
        "application_note",
        "applied_at",
        "decided_at",
        "decided_by",
        "decision_reason",
        "left_at",
        "decide_link",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    @admin.display(description="decide")
    def decide_link(self, obj):
        if obj.status != SchemeMembership.Status.PENDING:
            return "Decided."
        url = reverse("resources:scheme_manage", args=[obj.scheme.slug])
        return format_html('<a href="{}">Approve or decline with a reason</a>', url)

    @admin.action(description="Approve the selected applications (emails each business)")
    def approve(self, request, queryset):
        done = 0
        for membership in queryset.filter(status=SchemeMembership.Status.PENDING).select_related(
            "scheme"
        ):
            try:
                services.membership_approve(membership=membership, actor=request.user)
            except PermissionDenied:
                continue
            done += 1
        self.message_user(request, f"{done} application(s) approved.", messages.SUCCESS)


@admin.register(Alert)
class AlertAdmin(CommunityHistoryMixin, NamedWidgetsAdminMixin, admin.ModelAdmin):
    list_display = ["title", "scheme", "urgency", "posted_at", "posted_by", "expires_at"]
    list_filter = ["scheme", "urgency", "posted_at"]
    search_fields = ["title", "body"]
    list_select_related = ["scheme", "posted_by"]
    date_hierarchy = "posted_at"

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["scheme", "title", "body", "urgency", "expires_at"]
        return ["scheme", "title", "body", "urgency", "expires_at", "posted_by", "posted_at"]

    def get_readonly_fields(self, request, obj=None):
        # Members have been emailed what was posted; only the expiry may change afterwards.
        if obj is None:
            return []
        return ["scheme", "title", "body", "urgency", "posted_by", "posted_at"]

    def save_model(self, request, obj, form, change):
        if change:
            services.alert_set_expiry(alert=obj, expires_at=obj.expires_at, actor=request.user)
            return
        alert = services.alert_post(
            scheme=obj.scheme,
            actor=request.user,
            title=obj.title,
            body=obj.body,
            urgency=obj.urgency,
            expires_at=obj.expires_at,
            submission_key=obj.submission_key,
        )
        obj.pk, obj.posted_at, obj.posted_by = alert.pk, alert.posted_at, alert.posted_by
        obj._state.adding = False


@admin.register(AlertDelivery)
class AlertDeliveryAdmin(ReadOnlyAdmin):
    list_display = ["alert", "membership", "channel", "created_at"]
    list_filter = ["channel", "alert__scheme"]
    search_fields = ["alert__title", "membership__business__name"]
    list_select_related = ["alert", "membership__business", "membership__scheme"]


class BookingInline(ReadOnlyInline):
    shown_with_parent = False
    show_change_link = True
    model = Booking
    fields = ["user", "business", "status", "created_at", "confirmed_at", "reminder_sent_at"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "business")


@admin.register(Seminar)
class SeminarAdmin(
    CommunityHistoryMixin,
    NamedWidgetsAdminMixin,
    NoDeleteMixin,
    HttpsLinksMixin,
    admin.ModelAdmin,
):
    list_display = ["title", "starts_at", "status", "capacity", "places_taken", "waiting"]
    list_filter = ["status", "topics", "starts_at"]
    search_fields = ["title", "theme", "venue"]
    prepopulated_fields = {"slug": ["title"]}
    date_hierarchy = "starts_at"
    inlines = [BookingInline]
    fields = [
        "title",
        "slug",
        "theme",
        "description",
        "topics",
        "starts_at",
        "ends_at",
        "venue",
        "online_url",
        "capacity",
        "status",
        "cancel_link",
        "cancelled_at",
        "cancellation_reason",
    ]

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        # A handful of topics, ticked in place: Django's two-box picker (filter_horizontal) adds
        # an icon with a prohibited aria-label in its script, which a template cannot reach.
        if db_field.name == "topics":
            kwargs["widget"] = forms.CheckboxSelectMultiple
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    readonly_fields = ["cancel_link", "cancelled_at", "cancellation_reason"]

    def has_change_permission(self, request, obj=None):
        # A cancelled seminar is history: everyone booked has been told, so it is view-only.
        if obj is not None and obj.is_cancelled:
            return False
        return super().has_change_permission(request, obj)

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            # Cancelling emails everyone booked, so it has its own button, not this list.
            kwargs["choices"] = [
                c for c in Seminar.Status.choices if c[0] != Seminar.Status.CANCELLED
            ]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                confirmed_count=Count("bookings", filter=Q(bookings__status="confirmed")),
                waiting_count=Count("bookings", filter=Q(bookings__status="waiting")),
            )
        )

    @admin.display(description="booked")
    def places_taken(self, obj):
        return obj.confirmed_count

    @admin.display(description="waiting")
    def waiting(self, obj):
        return obj.waiting_count

    @admin.display(description="cancel")
    def cancel_link(self, obj):
        if obj is None or not obj.pk:
            return "—"
        if obj.is_cancelled:
            return "Cancelled."
        url = reverse("admin:resources_seminar_cancel", args=[obj.pk])
        return format_html('<a href="{}">Cancel this seminar and tell everyone booked</a>', url)

    def save_model(self, request, obj, form, change):
        services.seminar_save(seminar=obj, actor=request.user)

    def history_event_model(self, event):
        # A booking's events on its seminar's History: "Booked → Cancelled", in the booking's words.
        return Booking if event.booking_id is not None else Seminar

    def history_events(self, request, obj):
        events = super().history_events(request, obj)
        # Its bookings show on its page only to those who may see bookings (BookingInline), so
        # their events, which name who booked, do the same here.
        if not self.admin_site.get_model_admin(Booking).has_view_permission(request):
            events = events.filter(booking__isnull=True)
        return events

    def get_urls(self):
        return [
            path(
                "<int:object_id>/cancel/",
                self.admin_site.admin_view(self.cancel_view),
                name="resources_seminar_cancel",
            )
        ] + super().get_urls()

    def cancel_view(self, request, object_id):
        seminar = Seminar.objects.filter(pk=object_id).first()
        if seminar is None:
            raise Http404("No such seminar.")
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = SeminarCancelForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            services.seminar_cancel(
                seminar=seminar, actor=request.user, reason=form.cleaned_data["reason"]
            )
            self.message_user(
                request, "The seminar is cancelled; everyone booked is emailed.", messages.SUCCESS
            )
            return redirect("admin:resources_seminar_change", seminar.pk)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "seminar": seminar,
            "form": form,
            "booked": seminar.bookings.filter(status__in=Booking.LIVE_STATUSES).count(),
            "title": f"Cancel {seminar.title}",
        }
        return TemplateResponse(
            request,
            "resources/admin_seminar_cancel.html",
            context,
            status=400 if request.method == "POST" else 200,
        )


@admin.register(Booking)
class BookingAdmin(CommunityHistoryMixin, NoDeleteMixin, admin.ModelAdmin):
    list_display = ["seminar", "user", "business", "status", "created_at", "reminder_sent_at"]
    list_filter = ["status", "seminar"]
    search_fields = ["user__email", "business__name", "seminar__title"]
    list_select_related = ["seminar", "user", "business"]
    readonly_fields = [
        "seminar",
        "user",
        "business",
        "status",
        "created_at",
        "confirmed_at",
        "cancelled_at",
        "reminder_sent_at",
    ]

    def has_add_permission(self, request):
        return False


@admin.register(CommunityEvent)
class CommunityEventAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "kind",
        "actor",
        "membership",
        "alert",
        "seminar",
        "booking",
        "resource",
    ]
    list_filter = ["kind"]
    list_select_related = [
        "actor",
        "membership__business",
        "membership__scheme",
        "alert",
        "seminar",
        "booking__user",
        "booking__seminar",
        "resource",
    ]
    date_hierarchy = "created_at"
