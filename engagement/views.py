import datetime as dt
import logging
import secrets
import uuid
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Prefetch
from django.forms.utils import ErrorDict
from django.http import FileResponse, Http404, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dorset_bcp import throttles
from dorset_bcp.files import sandboxed_file_response
from dorset_bcp.throttles import Limit

from . import emails, services, similar
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
    category_choices,
)
from .models import (
    Attachment,
    Concern,
    ConcernUpdate,
    HeldAttachment,
    Outcome,
    Signpost,
)
from .selectors import businesses_of_user

MY_CONCERNS_PAGE_SIZE = 20
# allauth's rate limit (ACCOUNT_RATE_LIMITS) on asking for a guest's private link again.

logger = logging.getLogger(__name__)


# Scoped lookups: every object a person reaches goes through one of these, and anything they
# may not see is a 404, so guessing ids tells them nothing.


def _businesses_for(user):
    return businesses_of_user(user).select_related("npt_area")


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


# The report form keeps what a person gave across a failed submit, a detour to add a business
# and the "check your answers" step: what was typed is a draft in the session and the files
# that passed their checks are held on the server, both against the form's one-time key.

DRAFTS = "report_drafts"
MAX_DRAFTS = 5  # reports started in other tabs; the oldest beyond this is forgotten
HOLDER = "report_holder"
# What a draft keeps of the posted form: the fields, never the token or the buttons.
NOT_KEPT = {"csrfmiddlewaretoken", "attachments", "remove_attachment", "add_business", "continue"}


def _holder(request, *, guest: bool) -> str:
    """Who may see and use files held for a report: the person, or a guest's session."""
    if not guest:
        return f"u{request.user.pk}"
    if HOLDER not in request.session:
        request.session[HOLDER] = secrets.token_urlsafe(24)
    return f"s{request.session[HOLDER]}"


def _key(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except (TypeError, ValueError, AttributeError):
        return None


def _draft(request, key: uuid.UUID | None, *, guest: bool) -> QueryDict | None:
    draft = request.session.get(DRAFTS, {}).get(str(key)) if key else None
    if draft is None or draft["guest"] != guest:
        return None
    data = QueryDict(mutable=True)
    for name, values in draft["data"].items():
        data.setlist(name, values)
    data["submission_key"] = str(key)
    return data


def _draft_save(request, key: uuid.UUID, data, *, guest: bool) -> None:
    drafts = request.session.get(DRAFTS, {})
    drafts.pop(str(key), None)
    while len(drafts) >= MAX_DRAFTS:
        drafts.pop(next(iter(drafts)))
    drafts[str(key)] = {
        "guest": guest,
        "data": {name: data.getlist(name) for name in data if name not in NOT_KEPT},
    }
    request.session[DRAFTS] = drafts


def _draft_forget(request, key: uuid.UUID) -> None:
    drafts = request.session.get(DRAFTS, {})
    if drafts.pop(str(key), None) is not None:
        request.session[DRAFTS] = drafts


def _held(key: uuid.UUID | None, holder: str) -> list[HeldAttachment]:
    if key is None:
        return []
    return list(HeldAttachment.objects.filter(submission_key=key, holder=holder))


def _report_form_class(guest: bool):
    return GuestConcernForm if guest else ConcernForm


def _new_report_form(request, *, guest: bool, data=None, files=None):
    kwargs = {} if guest else {"user": request.user}
    return _report_form_class(guest)(data, files, **kwargs)


def _quiet(form) -> None:
    # A resumed form shows what was typed without complaining about what is not done yet:
    # marking it cleaned stops Django validating it when the page asks for its errors.
    form._errors = ErrorDict()
    form.cleaned_data = {}


def _form_url(guest: bool) -> str:
    return reverse("engagement:report_guest" if guest else "engagement:report_new")


def _check_url(guest: bool, key: uuid.UUID) -> str:
    name = "engagement:report_guest_check" if guest else "engagement:report_new_check"
    return reverse(name, args=[key])


REPORT_FORM_FIELDS = "engagement/includes/report_form_fields.html"


def _render_form(request, form, *, guest: bool, held):
    return render(
        request,
        "engagement/report_form.html",
        {"form": form, "guest": guest, "held": held, "max_files": settings.ATTACHMENT_MAX_FILES},
    )


# The empty guest form is the page most visitors open, and its fields are the same for everyone
# but for the one-time submission key: they are rendered once per process, with a stand-in key,
# through the same template as every other report form, and each page swaps its own key in. They
# are rendered again when the categories are read again (CATEGORY_CHOICES_SECONDS, or at once on
# a change) or in another language. The CSRF token is outside them, rendered for each request.
_STAND_IN_KEY = uuid.UUID("00000000-0000-4000-8000-000000000000")
# (the category choices, the language, the HTML), replaced whole so threads never mix two.
_empty_guest: list = [(None, None, "")]


def _empty_guest_fields(key: uuid.UUID) -> str | None:
    """The fields of an unbound guest report form with this submission key, as HTML."""
    category = GuestConcernForm.base_fields["category"]
    assert isinstance(category, forms.ModelChoiceField)  # nosec B101 # the form declares it
    choices = category_choices(category)
    language = get_language()
    kept_choices, kept_language, html = _empty_guest[0]
    if kept_choices is not choices or kept_language != language:
        form = GuestConcernForm(initial={"submission_key": _STAND_IN_KEY})
        html = render_to_string(
            REPORT_FORM_FIELDS,
            {"form": form, "guest": True, "held": [], "max_files": settings.ATTACHMENT_MAX_FILES},
        )
        if html.count(str(_STAND_IN_KEY)) != 1:
            return None  # never guess where the key goes: the page is rendered in full
        _empty_guest[0] = (choices, language, html)
    # Only a UUID's hex digits and hyphens go in, into markup that was escaped when rendered.
    return mark_safe(html.replace(str(_STAND_IN_KEY), str(key)))  # noqa: S308 # nosec B308, B703


def _render_empty_guest_form(request):
    fields_html = _empty_guest_fields(uuid.uuid4())
    if fields_html is None:
        return _render_form(request, _new_report_form(request, guest=True), guest=True, held=[])
    # No form object is needed around the fields: an empty form has no errors to summarise.
    return render(
        request, "engagement/report_form.html", {"form": None, "fields_html": fields_html}
    )


def _hold_new_files(request, form, *, key: uuid.UUID, holder: str, held: list) -> list:
    """Hold the files of this post that passed their checks; the held list afterwards.
    Storing files is what the upload throttle guards: per client address, and per account
    (a guest's: per session), counted once for each post that brings new files."""
    field = form.fields["attachments"]
    kept = {(item.original_name, item.size) for item in held}
    # A second click on "Continue" posts the same file again: it is kept once.
    new = [
        upload
        for upload in form.cleaned_data.get("attachments") or getattr(field, "accepted", [])
        if ((upload.name or "attachment")[:255], upload.size) not in kept
    ]
    if not new:
        return held
    if len(held) + len(new) > settings.ATTACHMENT_MAX_FILES:
        form.add_error(
            "attachments",
            f"You have {len(held)} files attached and chose {len(new)} more; the most is "
            f"{settings.ATTACHMENT_MAX_FILES}. Remove one, or choose fewer.",
        )
        return held
    owner = throttles.account_key(request.user) if holder.startswith("u") else holder
    if refused := throttles.allow(request, Limit("upload", owner)):
        form.add_error("attachments", throttles.message_for(refused, with_files=True))
        form.throttled = True
        return held
    for upload in new:
        held.append(services.attachment_hold(submission_key=key, holder=holder, upload=upload))
    return held


def _report_form(request, *, guest: bool):
    if request.method != "POST":
        key = _key(request.GET.get("resume"))
        data = _draft(request, key, guest=guest)
        if guest and data is None:
            return _render_empty_guest_form(request)
        form = _new_report_form(request, guest=guest, data=data)
        if not guest and not form.businesses:
            messages.info(request, "First add your business, then you can report your concern.")
            return redirect(f"{reverse('engagement:business_add')}?next={_form_url(False)}")
        held = []
        if data is not None:
            _quiet(form)
            held = _held(key, _holder(request, guest=guest))
            change = request.GET.get("change", "")
            if change in form.fields:
                form.fields[change].widget.attrs["autofocus"] = True
        return _render_form(request, form, guest=guest, held=held)

    form = _new_report_form(request, guest=guest, data=request.POST, files=request.FILES)
    if not guest and not form.businesses:
        return redirect(f"{reverse('engagement:business_add')}?next={_form_url(False)}")
    if guest and form.is_from_a_bot():
        # Answered as a success, so the bot learns nothing; nothing is stored or emailed.
        logger.info("Guest report refused: the honeypot field was filled in.")
        return redirect("engagement:guest_submitted")
    valid = form.is_valid()
    key = _key(request.POST.get("submission_key"))
    if key is None:  # a form that lost its hidden key: nothing can be held for it
        return _render_form(request, form, guest=guest, held=[])
    holder = _holder(request, guest=guest)
    held = _hold_new_files(request, form, key=key, holder=holder, held=_held(key, holder))
    _draft_save(request, key, request.POST, guest=guest)
    resume = f"{_form_url(guest)}?resume={key}"
    remove = request.POST.get("remove_attachment")
    if remove:
        removed = (
            remove.isascii()
            and remove.isdigit()
            and services.held_attachment_remove(submission_key=key, holder=holder, pk=int(remove))
        )
        if removed:
            messages.success(request, "The file is removed.")
        return redirect(f"{resume}&change=attachments")
    if not guest and "add_business" in request.POST:
        return redirect(f"{reverse('engagement:business_add')}?{urlencode({'next': resume})}")
    if valid and not form.errors:
        return redirect(_check_url(guest, key))
    response = _render_form(request, form, guest=guest, held=held)
    if getattr(form, "throttled", False):
        response.status_code = 429
    return response


@login_required
def report_new(request):
    return _report_form(request, guest=False)


def report_guest(request):
    return _report_form(request, guest=True)


# Check your answers


def _answer_rows(form, *, guest: bool, held) -> list[dict]:
    """The summary list: what each answer was, in the words the form asked it."""
    data = form.cleaned_data

    def choice(name):
        return dict(form.fields[name].choices).get(data[name], data[name])

    rows = []
    if guest:
        rows += [
            ("Business name", data["business_name"], "business_name"),
            ("Type of business", choice("sector"), "sector"),
            ("Town or village", data["town"], "town"),
            ("Business postcode", data["postcode"], "postcode"),
        ]
    else:
        rows.append(("Business", data["business"].name, "business"))
    occurred_time = data["occurred_time"]
    rows += [
        ("What it is about", data["category"].name, "category"),
        ("What happened", data["description"], "description"),
        ("Date it happened", date_format(data["occurred_on"], "j F Y"), "occurred_on"),
        (
            "Time",
            time_format(occurred_time, "H:i") if occurred_time else "Not given",
            "occurred_time",
        ),
        ("Where it happened", data["location"], "location"),
        ("Police or fraud reference", data["existing_reference"] or "None", "existing_reference"),
        ("Impact on the business", choice("impact"), "impact"),
        ("More about the impact", data["impact_details"] or "None", "impact_details"),
        ("Attachments", ", ".join(h.original_name for h in held) or "None", "attachments"),
        ("Your name", data["contact_name"], "contact_name"),
        ("Email address", data["contact_email"], "contact_email"),
        ("Phone number", data["contact_phone"] or "None", "contact_phone"),
        ("How we contact you", choice("contact_preference"), "contact_preference"),
    ]
    return [{"label": label, "value": value, "field": field} for label, value, field in rows]


def _area_of(form, *, guest: bool):
    if not guest:
        return form.cleaned_data["business"].npt_area_id
    try:
        return services.npt_for_postcode(form.cleaned_data["postcode"])
    except ValidationError:
        return None


def _similar(form, *, guest: bool) -> tuple[list, list]:
    data = form.cleaned_data
    concerns = []
    if not guest:  # a guest is never shown anyone's concerns, only a theme of the area
        concerns = similar.similar_concerns(
            business=data["business"], category=data["category"], description=data["description"]
        )
    area = _area_of(form, guest=guest)
    themes = similar.similar_themes(npt_area=area, category=data["category"]) if area else []
    return concerns, themes


def _already_sent(request, key: uuid.UUID, *, guest: bool):
    """Where a form already sent (a second click, a reload) leads: its concern, once."""
    if guest:
        concern = Concern.objects.filter(submission_key=key).only("reference").first()
        if concern is not None and request.session.get("guest_reference") == concern.reference:
            return redirect("engagement:guest_submitted")
        return None
    concern = _concerns_for(request.user).filter(submission_key=key).first()
    if concern is not None:
        return redirect("engagement:report_submitted", reference=concern.reference)
    update = (
        ConcernUpdate.objects.filter(
            submission_key=key, concern__business__memberships__user=request.user
        )
        .select_related("concern")
        .first()
    )
    if update is not None:
        return redirect(update.concern)
    return None


def _report_check(request, key: uuid.UUID, *, guest: bool):
    if request.method == "POST" and (sent := _already_sent(request, key, guest=guest)):
        return sent
    data = _draft(request, key, guest=guest)
    if data is None:
        if sent := _already_sent(request, key, guest=guest):
            return sent
        messages.info(request, "We could not find that report. Please fill in the form again.")
        return redirect(_form_url(guest))
    form = _new_report_form(request, guest=guest, data=data)
    holder = _holder(request, guest=guest)
    held = _held(key, holder)
    if not form.is_valid():
        return _render_form(request, form, guest=guest, held=held)
    concerns, themes = _similar(form, guest=guest)
    if request.method == "POST":
        action = request.POST.get("action", "send")
        if action == "add_to_concern":
            match = [c for c in concerns if c.reference == request.POST.get("reference")]
            if match:
                return _add_to_concern(request, form, match[0], key=key, held=held)
        elif action == "add_to_theme":
            match = [t for t in themes if t.reference == request.POST.get("reference")]
            if match:
                return _send(request, form, key=key, held=held, guest=guest, theme=match[0])
        elif action == "send":
            return _send(request, form, key=key, held=held, guest=guest)
        messages.info(request, "That report or theme has changed. Check your answers again.")
        return redirect(request.path)
    context = {
        "guest": guest,
        "key": key,
        "rows": _answer_rows(form, guest=guest, held=held),
        "change_url": f"{_form_url(guest)}?resume={key}",
        "similar_concerns": concerns,
        "similar_themes": themes,
    }
    return render(request, "engagement/report_check.html", context)


def _send(request, form, *, key, held, guest: bool, theme=None):
    from escalation.services import theme_link_concern  # escalation builds on engagement

    data = form.cleaned_data
    # A guest's report emails its confirmation: per client address, and per address the email
    # goes to. Checked before, counted after a new report, so a second click costs nothing.
    limits = [Limit("guest_report"), Limit("report_email", data["contact_email"])]
    if guest and (refused := throttles.first_used_up(request, *limits)):
        field = "contact_email" if refused.action == "report_email" else None
        form.add_error(field, throttles.message_for(refused))
        response = _render_form(request, form, guest=guest, held=held)
        response.status_code = 429
        return response
    try:
        if guest:
            concern, token = services.guest_concern_submit(
                business_name=data["business_name"],
                sector=data["sector"],
                postcode=data["postcode"],
                town=data["town"],
                details=form.concern_details(),
                submission_key=key,
                held=held,
            )
        else:
            concern, _ = services.concern_submit(
                business=data["business"],
                reporter=request.user,
                details=form.concern_details(),
                submission_key=key,
                held=held,
            )
    except ValidationError as exc:
        form.add_error("postcode" if guest else None, exc)
        return _render_form(request, form, guest=guest, held=held)
    if theme is not None and theme_link_concern(
        theme=theme, concern=concern, actor=None if guest else request.user
    ):
        messages.success(request, f"Your report is part of {theme.reference}: {theme.title}.")
    _draft_forget(request, key)
    if guest:
        if token:  # a new report (the same form sent twice is one report, one email)
            throttles.count(request, *limits)
        request.session["guest_reference"] = concern.reference
        return redirect("engagement:guest_submitted")
    return redirect("engagement:report_submitted", reference=concern.reference)


def _added_text(form) -> str:
    data = form.cleaned_data
    lines = [
        "Reported again with the report form:",
        "",
        data["description"],
        "",
        f"When: {date_format(data['occurred_on'], 'j F Y')}"
        + (f" at {time_format(data['occurred_time'], 'H:i')}" if data["occurred_time"] else ""),
        f"Where: {data['location']}",
        f"Impact: {dict(form.fields['impact'].choices).get(data['impact'], data['impact'])}",
    ]
    if data["impact_details"]:
        lines.append(f"More about the impact: {data['impact_details']}")
    if data["existing_reference"]:
        lines.append(f"Police or fraud reference: {data['existing_reference']}")
    return "\n".join(lines)


def _add_to_concern(request, form, concern, *, key, held):
    # What it posts is a reply, so it counts against the replies the account may send.
    if refused := throttles.allow(request, Limit("reply", throttles.account_key(request.user))):
        messages.error(request, throttles.message_for(refused))
        return redirect(request.path)
    try:
        services.concern_reply(
            concern=concern,
            author=request.user,
            body=_added_text(form),
            submission_key=key,
            held=held,
        )
    except ValidationError as exc:  # its files would not fit: the report stays to send
        messages.error(request, " ".join(exc.messages))
        return redirect(request.path)
    _draft_forget(request, key)
    messages.success(
        request,
        f"Your report is added to {concern.reference} and sent to {_holder_words(concern)}.",
    )
    return redirect(concern)


@login_required
def report_new_check(request, key):
    return _report_check(request, key, guest=False)


def report_guest_check(request, key):
    return _report_check(request, key, guest=True)


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
        # Its budget is its own, counted whether or not a report matched: a stranger's
        # guesses never use up the cap that lets the address's owner report (report_email),
        # and no later cap tells them whether a guess matched.
        if throttles.allow(request, Limit("guest_link_resend", email)) is None:
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
    back_to_report, resume_key = _report_to_return_to(request)
    if request.method == "POST" and form.is_valid():
        try:
            business = services.business_create(owner=request.user, **form.service_kwargs())
        except ValidationError as exc:
            form.add_error("postcode", exc)
        else:
            messages.success(
                request, f"{business.name} is added. Your local team is {business.npt_area}."
            )
            if back_to_report:
                _draft_choose_business(request, resume_key, business)
                return redirect(back_to_report)
            return redirect("engagement:my_dashboard")
    return render(
        request,
        "engagement/business_form.html",
        {"form": form, "business": None, "back_to_report": back_to_report},
    )


def _report_to_return_to(request) -> tuple[str, uuid.UUID | None]:
    """The report form to go back to after adding a business, if that is where they came from:
    only the form itself, fresh or resumed with one of this session's drafts."""
    next_url = request.GET.get("next", "")
    report_url = reverse("engagement:report_new")
    if next_url == report_url:
        return report_url, None
    prefix = f"{report_url}?resume="
    key = _key(next_url.removeprefix(prefix)) if next_url.startswith(prefix) else None
    if key is None or _draft(request, key, guest=False) is None:
        return "", None
    return f"{prefix}{key}", key


def _draft_choose_business(request, key: uuid.UUID | None, business) -> None:
    # The business just added is the one the report is about: the reason for the detour.
    if key is None:
        return
    data = _draft(request, key, guest=False)
    if data is not None:
        data.setlist("business", [str(business.pk)])
        _draft_save(request, key, data, guest=False)


@login_required
def business_edit(request, pk):
    business = get_object_or_404(_businesses_for(request.user), pk=pk)
    form = BusinessForm(request.POST or None, instance=business)
    if request.method == "POST" and form.is_valid():
        try:
            services.business_update(business=business, actor=request.user, **form.service_kwargs())
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
    return sandboxed_file_response(
        attachment.file,
        content_type=attachment.content_type,
        as_attachment=attachment.content_type == "application/pdf",
        filename=attachment.original_name,
        missing="This file is no longer available.",
    )


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
