"""Public pages for the resource library, Watch schemes, seminars and contacts.

Watch scheme applications are decided on the scheme's own "manage" page on the site, not only in
the admin: coordinators are usually business people (a Pubwatch chair, a farmer) who have an
ordinary account, not admin access. Editors can use the same page, and manage everything else in
the admin.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from dorset_bcp.files import sandboxed_file_response
from engagement.selectors import businesses_of_user

from . import selectors, services
from .forms import (
    AlertForm,
    ApplyForm,
    BookingForm,
    DecisionForm,
    PreferenceForm,
    ResourceFilterForm,
)
from .ical import seminar_calendar
from .models import Booking, SchemeMembership, Seminar, WatchScheme

RESOURCES_PER_PAGE = 20
# A scheme may have thousands of members: the manage page shows them, and the applications
# waiting, a page at a time.
MANAGE_ROWS_PER_PAGE = 50


# Scoped lookups: anything the person may not see is a 404, so guessing ids tells them nothing.


def _get_resource(user, slug):
    return get_object_or_404(
        selectors.resources_visible_to(user).prefetch_related("topics", "sector_tags"), slug=slug
    )


def _get_scheme(slug) -> WatchScheme:
    return get_object_or_404(WatchScheme, slug=slug)


def _get_scheme_to_manage(user, slug) -> WatchScheme:
    scheme = _get_scheme(slug)
    if not selectors.can_manage_scheme(user, scheme) and not selectors.can_post_alert(user, scheme):
        raise Http404("No such page.")
    return scheme


def _get_own_membership(user, scheme, pk) -> SchemeMembership:
    return get_object_or_404(selectors.memberships_of_user(user, scheme), pk=pk)


def _get_seminar(user, slug) -> Seminar:
    return get_object_or_404(selectors.seminars_visible_to(user), slug=slug)


# Resource library


def resource_list(request):
    form = ResourceFilterForm(request.GET or None)
    filters = form.filters() if request.GET else {"query": "", "topic": None, "sector": ""}
    resources = selectors.resource_search(user=request.user, **filters)
    page = Paginator(resources, RESOURCES_PER_PAGE).get_page(request.GET.get("page"))
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "resources/resource_list.html",
        {
            "form": form,
            "page": page,
            "filtered": any(filters.values()),
            "query_string": query_string.urlencode(),
        },
    )


def resource_detail(request, slug):
    resource = _get_resource(request.user, slug)
    return render(request, "resources/resource_detail.html", {"resource": resource})


def resource_document(request, slug):
    resource = _get_resource(request.user, slug)
    if not resource.document:
        raise Http404("This resource has no document.")
    return sandboxed_file_response(
        resource.document,
        content_type="application/pdf",
        as_attachment=True,
        filename=resource.document_name or f"{resource.slug}.pdf",
        missing="This document is no longer available.",
    )


# Watch schemes


def scheme_list(request):
    schemes = list(WatchScheme.objects.all())
    mine = {}
    if request.user.is_authenticated:
        for membership in selectors.memberships_of_user(request.user).filter(
            status__in=SchemeMembership.OPEN_STATUSES
        ):
            mine.setdefault(membership.scheme_id, []).append(membership)
    for scheme in schemes:
        scheme.my_memberships = mine.get(scheme.pk, [])
    return render(request, "resources/scheme_list.html", {"schemes": schemes})


def _scheme_page(request, scheme, *, apply_form=None, preference_forms=None, status=200):
    context = {"scheme": scheme, "apply_form": apply_form, "has_errors": status == 400}
    if request.user.is_authenticated:
        memberships = list(
            selectors.memberships_of_user(request.user, scheme).filter(
                status__in=SchemeMembership.OPEN_STATUSES
            )
        )
        preference_forms = preference_forms or {}
        for membership in memberships:
            membership.preference_form = preference_forms.get(membership.pk) or PreferenceForm(
                initial={"alert_preference": membership.alert_preference},
                prefix=f"m{membership.pk}",
            )
        joined = {m.business_id for m in memberships}
        can_apply = businesses_of_user(request.user).exclude(pk__in=joined)
        if apply_form is None:
            apply_form = ApplyForm(user=request.user)
            apply_form.fields["business"].queryset = can_apply
        context.update(
            memberships=memberships,
            apply_form=apply_form,
            has_businesses=businesses_of_user(request.user).exists(),
            can_apply=can_apply.exists(),
            is_member=any(m.status == SchemeMembership.Status.APPROVED for m in memberships),
            can_manage=selectors.can_manage_scheme(request.user, scheme)
            or selectors.can_post_alert(request.user, scheme),
        )
    return render(request, "resources/scheme_detail.html", context, status=status)


def scheme_detail(request, slug):
    return _scheme_page(request, _get_scheme(slug))


@login_required
@require_POST
def scheme_apply(request, slug):
    scheme = _get_scheme(slug)
    form = ApplyForm(request.POST, user=request.user)
    if not form.is_valid():
        return _scheme_page(request, scheme, apply_form=form, status=400)
    try:
        membership = services.membership_apply(
            scheme=scheme,
            business=form.cleaned_data["business"],
            user=request.user,
            note=form.cleaned_data["note"],
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _scheme_page(request, scheme, apply_form=form, status=400)
    if membership.status == SchemeMembership.Status.APPROVED:
        messages.info(request, f"{membership.business.name} is already a member of {scheme.name}.")
    else:
        messages.success(
            request,
            f"Thank you. {scheme.name}'s coordinator will look at the application for "
            f"{membership.business.name} and email you their decision.",
        )
    return redirect(scheme)


@login_required
@require_POST
def membership_preference(request, slug, pk):
    scheme = _get_scheme(slug)
    membership = _get_own_membership(request.user, scheme, pk)
    form = PreferenceForm(request.POST, prefix=f"m{membership.pk}")
    if not form.is_valid():
        return _scheme_page(request, scheme, preference_forms={membership.pk: form}, status=400)
    services.membership_set_preference(
        membership=membership,
        user=request.user,
        preference=form.cleaned_data["alert_preference"],
    )
    messages.success(request, "Your alert choice is saved.")
    return redirect(scheme)


@login_required
@require_POST
def membership_leave(request, slug, pk):
    scheme = _get_scheme(slug)
    membership = _get_own_membership(request.user, scheme, pk)
    was_member = membership.status == SchemeMembership.Status.APPROVED
    services.membership_leave(membership=membership, user=request.user)
    if was_member:
        messages.success(request, f"{membership.business.name} has left {scheme.name}.")
    else:
        messages.success(request, "The application is withdrawn.")
    return redirect(scheme)


def _members_only(request, scheme):
    """A signed-in person who is not a member is told what the archive is and how to join."""
    pending = selectors.memberships_of_user(request.user, scheme).filter(
        status=SchemeMembership.Status.PENDING
    )
    return render(
        request,
        "resources/alert_members_only.html",
        {"scheme": scheme, "pending": list(pending)},
        status=403,
    )


@login_required
def alert_list(request, slug):
    scheme = _get_scheme(slug)
    if not selectors.can_read_alerts(request.user, scheme):
        return _members_only(request, scheme)
    alerts = selectors.alerts_for_members(scheme)
    page = Paginator(alerts, 20).get_page(request.GET.get("page"))
    return render(
        request,
        "resources/alert_list.html",
        {"scheme": scheme, "page": page, "now": timezone.now()},
    )


@login_required
def alert_detail(request, slug, pk):
    scheme = _get_scheme(slug)
    if not selectors.can_read_alerts(request.user, scheme):
        # The same page whether or not the alert exists: its number tells a non-member nothing.
        return _members_only(request, scheme)
    alert = get_object_or_404(selectors.alerts_for_members(scheme), pk=pk)
    # Those who post alerts see how the sending is going; members see the alert alone.
    sending = (
        selectors.alert_sending(alert) if selectors.can_post_alert(request.user, scheme) else None
    )
    return render(
        request,
        "resources/alert_detail.html",
        {"scheme": scheme, "alert": alert, "sending": sending},
    )


def _page_holding(waiting, pk):
    """The page number on which the waiting application pk is listed, or None."""
    membership = waiting.filter(pk=pk).values("applied_at").first()
    if membership is None:
        return None
    before = waiting.filter(
        Q(applied_at__lt=membership["applied_at"])
        | Q(applied_at=membership["applied_at"], pk__lt=pk)
    ).count()
    return before // MANAGE_ROWS_PER_PAGE + 1


def _manage_page(request, scheme, *, decision_forms=None, alert_form=None, status=200):
    can_decide = selectors.can_manage_scheme(request.user, scheme)
    can_post = selectors.can_post_alert(request.user, scheme)
    pending = members = None
    if can_decide:
        decision_forms = decision_forms or {}
        waiting = scheme.memberships.filter(status=SchemeMembership.Status.PENDING)
        applications_page = request.GET.get("applications")
        if decision_forms:
            # A refused decision must be shown with its errors, so open the page holding
            # that application even if others were decided since the page was loaded.
            applications_page = _page_holding(waiting, next(iter(decision_forms)))
        # Each list has its own page number, so paging one keeps the other where it was.
        pending = Paginator(
            waiting.select_related("business", "contact").order_by("applied_at", "pk"),
            MANAGE_ROWS_PER_PAGE,
        ).get_page(applications_page)
        for membership in pending:
            membership.decision_form = decision_forms.get(membership.pk) or DecisionForm(
                prefix=f"d{membership.pk}"
            )
        members = Paginator(
            scheme.memberships.filter(status=SchemeMembership.Status.APPROVED)
            .select_related("business", "contact")
            .order_by("business__name", "pk"),
            MANAGE_ROWS_PER_PAGE,
        ).get_page(request.GET.get("members"))
    context = {
        "scheme": scheme,
        "can_decide": can_decide,
        "can_post": can_post,
        "pending": pending,
        "members": members,
        "pending_query": urlencode({"members": members.number}) if members else "",
        "members_query": urlencode({"applications": pending.number}) if pending else "",
        "alert_form": alert_form or (AlertForm() if can_post else None),
        "has_errors": status == 400,
    }
    return render(request, "resources/scheme_manage.html", context, status=status)


@login_required
def scheme_manage(request, slug):
    scheme = _get_scheme_to_manage(request.user, slug)
    return _manage_page(request, scheme)


@login_required
@require_POST
def membership_decide(request, slug, pk):
    scheme = _get_scheme_to_manage(request.user, slug)
    if not selectors.can_manage_scheme(request.user, scheme):
        raise Http404("No such page.")
    membership = get_object_or_404(scheme.memberships.select_related("business"), pk=pk)
    form = DecisionForm(request.POST, prefix=f"d{membership.pk}")
    if not form.is_valid():
        return _manage_page(request, scheme, decision_forms={membership.pk: form}, status=400)
    if membership.status != SchemeMembership.Status.PENDING:
        messages.info(request, "That application has already been decided.")
        return redirect("resources:scheme_manage", slug=scheme.slug)
    if form.cleaned_data["decision"] == "approve":
        services.membership_approve(membership=membership, actor=request.user)
        messages.success(request, f"{membership.business.name} is now a member. We emailed them.")
    else:
        services.membership_decline(
            membership=membership, actor=request.user, reason=form.cleaned_data["reason"]
        )
        messages.success(
            request,
            f"The application from {membership.business.name} is declined. We emailed "
            "them your reason.",
        )
    return redirect("resources:scheme_manage", slug=scheme.slug)


@login_required
@require_POST
def alert_new(request, slug):
    scheme = _get_scheme_to_manage(request.user, slug)
    if not selectors.can_post_alert(request.user, scheme):
        raise Http404("No such page.")
    form = AlertForm(request.POST)
    if not form.is_valid():
        return _manage_page(request, scheme, alert_form=form, status=400)
    data = form.cleaned_data
    alert = services.alert_post(
        scheme=scheme,
        actor=request.user,
        title=data["title"],
        body=data["body"],
        urgency=data["urgency"],
        expires_at=data["expires_at"],
        submission_key=data["submission_key"],
    )
    messages.success(
        request,
        "The alert is posted. It is being emailed now to the members who want every alert; "
        "this page shows how many have gone.",
    )
    return redirect(alert)


# Seminars


def seminar_list(request):
    seminars = list(selectors.seminars_upcoming(now=timezone.now()))
    bookings = {}
    if request.user.is_authenticated:
        for booking in Booking.objects.filter(
            user=request.user,
            status__in=Booking.LIVE_STATUSES,
            seminar__in=[s.pk for s in seminars],
        ):
            bookings[booking.seminar_id] = booking
    for seminar in seminars:
        seminar.my_booking = bookings.get(seminar.pk)
    return render(request, "resources/seminar_list.html", {"seminars": seminars})


def _seminar_page(request, seminar, *, form=None, status=200):
    confirmed = seminar.bookings.filter(status=Booking.Status.CONFIRMED).count()
    context = {
        "seminar": seminar,
        "places_left": max(seminar.capacity - confirmed, 0),
        "form": form,
    }
    if request.user.is_authenticated:
        booking = (
            seminar.bookings.filter(user=request.user, status__in=Booking.LIVE_STATUSES)
            .select_related("business")
            .first()
        )
        context.update(
            booking=booking,
            waiting_position=selectors.waiting_position(booking) if booking else None,
            has_businesses=businesses_of_user(request.user).exists(),
            form=form or BookingForm(user=request.user),
        )
    return render(request, "resources/seminar_detail.html", context, status=status)


def seminar_detail(request, slug):
    return _seminar_page(request, _get_seminar(request.user, slug))


@login_required
@require_POST
def seminar_book(request, slug):
    seminar = _get_seminar(request.user, slug)
    form = BookingForm(request.POST, user=request.user)
    if not form.is_valid():
        return _seminar_page(request, seminar, form=form, status=400)
    try:
        booking = services.seminar_book(
            seminar=seminar, user=request.user, business=form.cleaned_data["business"]
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _seminar_page(request, seminar, form=form, status=400)
    if booking.status == Booking.Status.CONFIRMED:
        messages.success(request, "Your place is booked. We have emailed you the details.")
    else:
        messages.info(
            request,
            "The seminar is full, so you are on the waiting list. If a place comes free it is "
            "yours, and we will email you.",
        )
    return redirect(seminar)


@login_required
@require_POST
def booking_cancel(request, pk):
    booking = get_object_or_404(
        Booking.objects.filter(user=request.user).select_related("seminar"), pk=pk
    )
    try:
        services.booking_cancel(booking=booking, user=request.user)
    except PermissionDenied:
        raise Http404("No such booking.") from None
    messages.success(request, "Your booking is cancelled.")
    return redirect(booking.seminar)


def seminar_ics(request, slug):
    seminar = _get_seminar(request.user, slug)
    # The file needs no login; the joining link goes only to people with a confirmed place,
    # as on the seminar's page.
    has_place = (
        request.user.is_authenticated
        and seminar.bookings.filter(user=request.user, status=Booking.Status.CONFIRMED).exists()
    )
    response = HttpResponse(
        seminar_calendar(seminar, include_online_url=has_place),
        content_type="text/calendar; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{seminar.slug}.ics"'
    return response


# Contacts


def contacts(request):
    return render(request, "resources/contacts.html", {"directory": selectors.contacts_directory()})
