import datetime as dt
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Prefetch
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dorset_bcp import throttles
from dorset_bcp.throttles import Limit

from . import emails, services
from .forms import (
    AccountDeleteForm,
    AddAttachmentsForm,
    BusinessForm,
    ConcernForm,
    FeedbackForm,
    GuestConcernForm,
    GuestLinkForm,
    MessageForm,
    WithdrawForm,
)
from .models import Attachment, Business, Concern, ConcernUpdate, Outcome, Signpost

MY_CONCERNS_PAGE_SIZE = 20
# allauth's rate limit (ACCOUNT_RATE_LIMITS) on asking for a guest's private link again.

logger = logging.getLogger(__name__)


# Scoped lookups: every object a person reaches goes through one of these, and anything they
# may not see is a 404, so guessing ids tells them nothing.


def _businesses_for(user):
    return Business.objects.filter(memberships__user=user).select_related("npt_area")


def _concerns_for(user):
    # npt_area__group: "where it is now" names the group of a tier-2 concern on list pages.
    return Concern.objects.filter(business__memberships__user=user).select_related(
        "business", "category", "npt_area", "npt_area__group", "outcome"
    )


def _get_concern_for_user(user, reference) -> Concern:
    if "\x00" in reference:  # PostgreSQL refuses NUL in a query: it would be a 500
        raise Http404("No concern here.")
    return get_object_or_404(_concerns_for(user), reference=reference)


def _public_updates():
    return Prefetch(
        "updates",
        queryset=ConcernUpdate.objects.filter(kind__in=ConcernUpdate.PUBLIC_KINDS).select_related(
            "author", "specialist_team"
        ),
        to_attr="public_updates",
    )


def home(request):
    return render(request, "engagement/home.html")


# Reporting


def report_start(request):
    """Before anything else, send people who need 999, 101, Action Fraud or Crimestoppers there."""
    signposts = Signpost.objects.filter(is_active=True)
    return render(request, "engagement/report_start.html", {"signposts": signposts})


@login_required
def report_new(request):
    form = ConcernForm(request.POST or None, request.FILES or None, user=request.user)
    if not form.businesses:
        messages.info(request, "First add your business, then you can report your concern.")
        return redirect(
            f"{reverse('engagement:business_add')}?next={reverse('engagement:report_new')}"
        )
    status = 200
    if request.method == "POST" and form.is_valid():
        uploads = form.cleaned_data["attachments"]
        refused = uploads and throttles.allow(
            request, Limit("upload", throttles.account_key(request.user))
        )
        if refused:
            form.add_error(None, throttles.message_for(refused, with_files=True))
            status = 429
        else:
            concern, _ = services.concern_submit(
                business=form.cleaned_data["business"],
                reporter=request.user,
                details=form.concern_details(),
                submission_key=form.cleaned_data["submission_key"],
                attachments=uploads,
            )
            return redirect("engagement:report_submitted", reference=concern.reference)
    return render(
        request, "engagement/report_form.html", {"form": form, "guest": False}, status=status
    )


def _guest_report_limits(data) -> list[Limit]:
    """Per client address, and per address the confirmation goes to (the email cap)."""
    email = data["contact_email"]
    limits = [Limit("guest_report"), Limit("report_email", email)]
    if data["attachments"]:
        limits.append(Limit("upload", email))
    return limits


def report_guest(request):
    form = GuestConcernForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_from_a_bot():
        # Answered as a success, so the bot learns nothing; nothing is stored or emailed.
        logger.info("Guest report refused: the honeypot field was filled in.")
        return redirect("engagement:guest_submitted")
    status = 200
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        limits = _guest_report_limits(data)
        refused = throttles.first_used_up(request, *limits)
        if refused:
            field = "contact_email" if refused.action == "report_email" else None
            form.add_error(field, throttles.message_for(refused, with_files=data["attachments"]))
            status = 429
        else:
            try:
                concern, token = services.guest_concern_submit(
                    business_name=data["business_name"],
                    sector=data["sector"],
                    postcode=data["postcode"],
                    town=data["town"],
                    details=form.concern_details(),
                    submission_key=data["submission_key"],
                    attachments=data["attachments"],
                )
            except ValidationError as exc:
                form.add_error("postcode", exc)
            else:
                if token:  # a new report (the same form sent twice is one report, one email)
                    throttles.count(request, *limits)
                request.session["guest_reference"] = concern.reference
                return redirect("engagement:guest_submitted")
    return render(
        request, "engagement/report_form.html", {"form": form, "guest": True}, status=status
    )


def guest_submitted(request):
    reference = request.session.get("guest_reference")
    if not reference:
        return redirect("engagement:report_start")
    return render(request, "engagement/guest_submitted.html", {"reference": reference})


def _concern_for_link(request, token) -> Concern | None:
    """The report a guest's private link opens. Lookups are throttled per client address, and
    links that open nothing far more tightly, so the links cannot be guessed by trying."""
    throttles.allow_or_429(request, Limit("guest_link"))
    throttles.check_or_429(request, Limit("guest_link_miss"))
    concern = services.concern_for_token(token)
    if concern is None:
        throttles.count(request, Limit("guest_link_miss"))
    return concern


@never_cache
def guest_track(request, token):
    concern = _concern_for_link(request, token)
    if concern is None:
        raise Http404("No report matches this link.")
    if request.method == "POST" and request.POST.get("action") == "confirm":
        if services.concern_confirm_guest(concern=concern):
            messages.success(request, f"Thank you. Your report {concern.reference} is confirmed.")
        return redirect(request.path)
    return _concern_page(request, concern, track_token=token)


def _concern_page(
    request,
    concern,
    *,
    track_token=None,
    reply_form=None,
    feedback_form=None,
    attach_form=None,
    withdraw_form=None,
):
    updates = concern.updates.filter(kind__in=ConcernUpdate.PUBLIC_KINDS).select_related(
        "author", "specialist_team"
    )
    context = {
        "concern": concern,
        "updates": updates,
        "attachments": concern.attachments.all(),
        "track_token": track_token,
        "reply_form": reply_form or MessageForm(),
        "feedback_form": feedback_form or FeedbackForm(),
        "attach_form": attach_form or AddAttachmentsForm(),
        "withdraw_form": withdraw_form or WithdrawForm(),
        "held_by": _holder_words(concern),
        **_joined_to(request, concern, track_token),
    }
    return render(request, "engagement/concern_detail.html", context)


def _joined_to(request, concern, track_token) -> dict:
    """The concern a duplicate was joined to, linked only for an owner who may open it."""
    if concern.duplicate_of_id is None:
        return {}
    original = Concern.objects.only("reference").get(pk=concern.duplicate_of_id)
    visible = track_token is None and request.user.is_authenticated
    if visible:
        visible = _concerns_for(request.user).filter(pk=original.pk).exists()
    return {"original": original, "original_url": original.get_absolute_url() if visible else ""}


def _guest_concern(request, token) -> Concern:
    """The confirmed guest report a private link opens (throttled); 404 for anything else."""
    concern = _concern_for_link(request, token)
    if concern is None or concern.status == Concern.Status.UNCONFIRMED:
        raise Http404("No report matches this link.")
    return concern


@require_POST
def guest_attach(request, token):
    return _attach(request, _guest_concern(request, token), author=None, track_token=token)


@require_POST
def guest_withdraw(request, token):
    return _withdraw(request, _guest_concern(request, token), author=None, track_token=token)


@never_cache
def guest_link(request):
    """A guest asks for their private link again. The page says the same whether or not the
    email and reference match a report, and the link goes only to the report's own address."""
    form = GuestLinkForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["email"].lower()
        # Per IP and per address: nobody can use the form to flood an inbox or to try
        # references in bulk. Over the limit, nothing is sent and the page reads the same.
        if (
            throttles.allow(
                request, Limit("guest_link_resend", email), Limit("report_email", email)
            )
            is None
        ):
            services.guest_link_resend(email=email, reference=form.cleaned_data["reference"])
        else:
            logger.info("Guest link request over the rate limit; nothing sent.")
        return redirect("engagement:guest_link_sent")
    return render(request, "engagement/guest_link.html", {"form": form})


def guest_link_sent(request):
    return render(request, "engagement/guest_link_sent.html")


@require_POST
def guest_reply(request, token):
    return _reply(request, _guest_concern(request, token), author=None, track_token=token)


@require_POST
def guest_feedback(request, token):
    return _feedback(request, _guest_concern(request, token), author=None, track_token=token)


@login_required
def report_submitted(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return render(request, "engagement/report_submitted.html", {"concern": concern})


# My businesses and concerns


@login_required
def my_dashboard(request):
    businesses = _businesses_for(request.user)
    # A business that has reported for years has hundreds of concerns: a page at a time keeps
    # /my/ as quick for them as for a newcomer (the newest first, as before).
    concerns = (
        _concerns_for(request.user)
        .prefetch_related(_public_updates())
        .order_by("-created_at", "-pk")  # the pk breaks ties, so no report shows on two pages
        # The columns the list shows: sorting an owner's thousand concerns then moves narrow
        # rows, not every description and contact detail.
        .only(
            "reference",
            "created_at",
            "status",
            "tier",
            "business__name",
            "category__name",
            "npt_area__name",
            "npt_area__group__name",
            "outcome__name",
        )
    )
    page = Paginator(concerns, MY_CONCERNS_PAGE_SIZE).get_page(request.GET.get("page"))
    # resources builds on engagement, so its reads are imported here, not at import time.
    from resources import selectors as community
    from resources.models import Booking, SchemeMembership

    bookings = (
        community.bookings_of_user(request.user)
        .filter(status__in=Booking.LIVE_STATUSES, seminar__ends_at__gt=timezone.now())
        .order_by("seminar__starts_at", "pk")
    )
    memberships = (
        community.memberships_of_user(request.user)
        .filter(status__in=SchemeMembership.OPEN_STATUSES)
        .order_by("scheme__name", "business__name", "pk")
    )
    return render(
        request,
        "engagement/my_dashboard.html",
        {
            "businesses": businesses,
            "concerns": page.object_list,
            "page": page,
            "bookings": bookings,
            "memberships": memberships,
        },
    )


@login_required
def business_add(request):
    form = BusinessForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            business = services.business_create(owner=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error("postcode", exc)
        else:
            messages.success(
                request, f"{business.name} is added. Your local team is {business.npt_area}."
            )
            next_url = request.GET.get("next", "")
            if next_url == reverse("engagement:report_new"):
                return redirect(next_url)
            return redirect("engagement:my_dashboard")
    return render(request, "engagement/business_form.html", {"form": form, "business": None})


@login_required
def business_edit(request, pk):
    business = get_object_or_404(_businesses_for(request.user), pk=pk)
    form = BusinessForm(request.POST or None, instance=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_update(business=business, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error("postcode", exc)
        else:
            messages.success(request, f"{business.name} is updated.")
            return redirect("engagement:my_dashboard")
    return render(request, "engagement/business_form.html", {"form": form, "business": business})


@login_required
def concern_detail(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return _concern_page(request, concern)


@login_required
@require_POST
def concern_reply(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return _reply(request, concern, author=request.user)


@login_required
@require_POST
def concern_feedback(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return _feedback(request, concern, author=request.user)


@login_required
@require_POST
def concern_attach(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return _attach(request, concern, author=request.user)


@login_required
@require_POST
def concern_withdraw(request, reference):
    concern = _get_concern_for_user(request.user, reference)
    return _withdraw(request, concern, author=request.user)


def _attach(request, concern, *, author, track_token=None):
    if not concern.is_open:
        messages.warning(request, "This concern is no longer open, so nothing more can be added.")
        return _back_to(concern, track_token)
    form = AddAttachmentsForm(request.POST, request.FILES)
    if form.is_valid():
        try:
            added = services.concern_add_attachments(
                concern=concern, author=author, attachments=form.cleaned_data["attachments"]
            )
        except ValidationError as exc:
            form.add_error("attachments", exc)
        else:
            names = ", ".join(attachment.original_name for attachment in added)
            messages.success(request, f"Attached: {names}.")
            return _back_to(concern, track_token)
    return _concern_page(request, concern, track_token=track_token, attach_form=form)


def _withdraw(request, concern, *, author, track_token=None):
    form = WithdrawForm(request.POST)
    if concern.is_open and not form.is_valid():
        return _concern_page(request, concern, track_token=track_token, withdraw_form=form)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    concern, withdrawn = services.concern_withdraw(concern=concern, author=author, reason=reason)
    if withdrawn:
        messages.success(request, f"Your report {concern.reference} is withdrawn.")
    elif concern.outcome_id and concern.outcome.slug == Outcome.WITHDRAWN_SLUG:
        messages.info(request, f"Your report {concern.reference} was already withdrawn.")
    else:
        messages.warning(request, "This concern already has an outcome, so it cannot be withdrawn.")
    return _back_to(concern, track_token)


def _holder_words(concern) -> str:
    """Who heard what the business said, in the words the business reads."""
    from escalation.selectors import concern_held_by  # escalation builds on engagement

    return concern_held_by(concern)


def _back_to(concern, track_token):
    if track_token:
        return redirect("engagement:guest_track", token=track_token)
    return redirect(concern)


def _reply(request, concern, *, author, track_token=None):
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _concern_page(request, concern, track_token=track_token, reply_form=form)
    # Per client address, and per account (a guest's: per report).
    key = throttles.account_key(author) if author else throttles.concern_key(concern)
    refused = throttles.allow(request, Limit("reply", key))
    if refused:
        form.add_error("body", throttles.message_for(refused))
        response = _concern_page(request, concern, track_token=track_token, reply_form=form)
        response.status_code = 429
        return response
    services.concern_reply(concern=concern, author=author, body=form.cleaned_data["body"])
    messages.success(request, f"Your reply has been sent to {_holder_words(concern)}.")
    return _back_to(concern, track_token)


def _feedback(request, concern, *, author, track_token=None):
    form = FeedbackForm(request.POST)
    if not form.is_valid():
        return _concern_page(request, concern, track_token=track_token, feedback_form=form)
    concern = services.concern_feedback(
        concern=concern,
        author=author,
        resolved=form.cleaned_data["resolved"],
        comment=form.cleaned_data["comment"],
    )
    if concern.status == Concern.Status.CLOSED:
        messages.success(request, "Thank you. We have closed your concern.")
    else:
        messages.info(request, f"We have reopened your concern and told {_holder_words(concern)}.")
    return _back_to(concern, track_token)


@login_required
def attachment_download(request, reference, pk):
    concern = _get_concern_for_user(request.user, reference)
    attachment = get_object_or_404(Attachment, concern=concern, pk=pk)
    return attachment_response(attachment)


def attachment_response(attachment: Attachment) -> FileResponse:
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("This file is no longer available.") from None
    response = FileResponse(
        handle,
        content_type=attachment.content_type,
        as_attachment=attachment.content_type == "application/pdf",
        filename=attachment.original_name,
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@login_required
def account(request):
    from dorset_bcp.middleware import SESSION_STARTED, duration_words, request_session_limits
    from dorset_bcp.two_factor import has_second_factor
    from privacy.services import export_link_days

    started = request.session.get(SESSION_STARTED)
    limits = request_session_limits(request)
    return render(
        request,
        "engagement/account.html",
        {
            "signed_in_at": dt.datetime.fromtimestamp(started, tz=dt.UTC) if started else None,
            "idle_limit": duration_words(limits.idle),
            "absolute_limit": duration_words(limits.absolute),
            "export_days": export_link_days(),
            "two_factor_on": has_second_factor(request.user),
        },
    )


@require_POST
@login_required
def account_sign_out_everywhere(request):
    from dorset_bcp.middleware import session_keep_after_version_change

    services.user_sign_out_everywhere(user=request.user)
    session_keep_after_version_change(request)
    messages.success(
        request, "You have been signed out on every other device. You are still signed in here."
    )
    return redirect("engagement:account")


@login_required
def account_delete(request):
    form = AccountDeleteForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_delete(user=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            logout(request)
            messages.success(request, "Your account has been deleted.")
            return redirect("engagement:home")
    return render(request, "engagement/account_delete.html", {"form": form})


# Operations


@require_GET
@never_cache
def healthz(request):
    """Database and broker status for load balancers and monitoring."""
    status = {"database": "ok", "broker": "ok"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:
        logger.warning("Health check: database unavailable: %s", exc)
        status["database"] = "unavailable"
    try:
        from dorset_bcp.celery import app

        with app.connection_for_write() as conn:
            # One quick try: a health check must answer fast when the broker is down.
            conn.ensure_connection(
                max_retries=0, interval_start=0, timeout=settings.HEALTHZ_BROKER_TIMEOUT
            )
    except Exception as exc:
        logger.warning("Health check: broker unavailable: %s", exc)
        status["broker"] = "unavailable"
    healthy = all(value == "ok" for value in status.values())
    body = {"status": "ok" if healthy else "degraded", **status}
    if status["database"] == "ok":
        # Reported, not failed on: a mail relay outage is no reason for a load balancer to take
        # the web servers away, but monitoring should see the outbox backing up.
        outbox = emails.email_health()
        body["email"] = outbox["state"]
        if outbox["state"] != "ok":
            body["email_failed"] = outbox["failed"]
            body["email_oldest_pending_seconds"] = outbox["oldest_pending_seconds"]
    return JsonResponse(body, status=200 if healthy else 503)
