"""The review area (/partnership/) for Co-ordinating Group and Partnership members.

Everyone reaches an item through selectors.item_for_user, so an item outside their scope is a
404 whoever asks and however they guess its id; a person who may see an item but not act on it
(it is with another body) gets 403 for a change. People who are not group or Partnership
members get 403 on every page here. Every change is a POST to a view that calls a service.
"""

import io
import uuid
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from dorset_bcp.item_forms import EscalateForm, ResolveForm
from engagement.models import Concern, NPTArea, Outcome

from . import insight, review, selectors
from .context_processors import remember_membership
from .forms import (
    MAX_ACTIONS,
    ActionDoneForm,
    ActionFormSet,
    DecisionForm,
    InsightFilterForm,
    QueueFilterForm,
    ReturnForm,
)
from .models import Action, PartnerOrganisation
from .services import decisions as decision_services
from .services import moves

QUEUE_PAGE_SIZE = 50


def member_required(view):
    """Signed in (else the login page) and a group or Partnership member (else 403)."""

    @login_required
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        scope = selectors.member_scope(request.user)
        remember_membership(request, scope)
        if not scope.is_member:
            raise PermissionDenied(
                "The review area is for Co-ordinating Group and Partnership members."
            )
        request.member_scope = scope
        return view(request, *args, **kwargs)

    return wrapped


def _item_url(item) -> str:
    kind = item._meta.model_name  # "concern" or "theme", as in the URLs
    return reverse("escalation:item", args=[kind, item.pk])


# The queue


@require_GET
@never_cache
@member_required
def queue(request):
    scope = request.member_scope
    now = timezone.now()
    form = QueueFilterForm(
        request.GET or None,
        tiers=review.queue_tiers(scope),
        categories=list(selectors.categories()),
        areas=list(selectors.areas_in_scope(scope)),
    )
    filters = form.filters()
    rows = review.queue(request.user, filters, now=now)
    page = Paginator(rows, QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    items = []
    for row in page:
        row["url"] = reverse("escalation:item", args=[row["kind"], row["item_id"]])
        row["time_left"] = review.time_left(row["due"], now=now, paused=row["paused"])
        row["priority_label"] = Concern.Priority(row["item_priority"]).label
        row["with"] = _holder(row)
        items.append(row)
    query_string = request.GET.copy()
    query_string.pop("page", None)
    return render(
        request,
        "escalation/queue.html",
        {
            "form": form,
            "page": page,
            "items": items,
            "filtered": any(v for k, v in request.GET.items() if k != "page"),
            "query_string": query_string.urlencode(),
            "scope": scope,
        },
    )


def _holder(row) -> str:
    if row["item_tier"] == Concern.Tier.PARTNERSHIP:
        return "Business Safety Partnership"
    if row["item_tier"] == Concern.Tier.GROUP:
        return row["group_name"] or "No Co-ordinating Group set"
    return f"{row['area_name']} NPT"


# The item page


def _get_item(request, kind, pk):
    return selectors.item_for_user(request.user, kind, pk)


@require_GET
@never_cache
@member_required
def item_detail(request, kind, pk):
    item = _get_item(request, kind, pk)
    return _item_page(request, item, kind)


def _item_page(request, item, kind, *, bound=None, status=200):
    """The item with its concerns, timeline and decisions; the forms for whoever may act."""
    scope = request.member_scope
    now = timezone.now()
    can_act = selectors.user_can_act(request.user, item)
    events = [
        {"event": event, "actor": review.event_actor(event, item), "move": _move_text(event)}
        for event in selectors.item_events(item)
    ]
    decisions = list(selectors.item_decisions(item))
    for decision in decisions:
        decision.can_complete = review.can_complete(scope, item, decision)
        decision.action_list = list(decision.actions.all())
        for action in decision.action_list:
            if decision.can_complete and not action.is_done:
                action.done_form = ActionDoneForm(prefix=f"done-{action.pk}")
    forms = {}
    if can_act:
        forms = _blank_forms(item)
        forms.update(bound or {})
    # The one form that failed (if any) is summarised at the top of the page.
    for name, form in (bound or {}).items():
        if name.endswith("_form") and form.is_bound and not form.is_valid():
            forms["error_form"] = form
    formset = (bound or {}).get("action_formset")
    if formset is not None and formset.is_bound and not formset.is_valid():
        forms["error_form"] = forms.get("error_form") or (bound or {}).get("decision_form")
        forms["error_formset"] = formset
    context = {
        "item": item,
        "kind": kind,
        "is_theme": kind == "theme",
        "body": selectors.owning_body(item),
        "time_left": review.time_left(item.resolution_due_at, now=now, paused=item.clock_paused_at),
        "can_act": can_act,
        "can_escalate": can_act and item.tier < Concern.Tier.PARTNERSHIP,
        "events": events,
        "decisions": decisions,
        "max_actions": MAX_ACTIONS,
        **forms,
    }
    if kind == "theme":
        concerns = list(selectors.linked_concerns(item))
        threads = selectors.public_threads([concern.pk for concern in concerns])
        for concern in concerns:
            concern.thread = threads[concern.pk]  # type: ignore[attr-defined] # for the template
        context["concerns"] = concerns
    else:
        context["themes"] = selectors.themes_of(item, request.user)
        context["thread"] = selectors.public_threads([item.pk])[item.pk]
    return render(request, "escalation/item_detail.html", context, status=status)


def _move_text(event) -> str:
    tiers = Concern.Tier
    if event.from_tier and event.to_tier and event.from_tier != event.to_tier:
        return f"from {tiers(event.from_tier).label} to {tiers(event.to_tier).label}"
    return ""


def _outcomes():
    return list(Outcome.objects.filter(is_active=True).order_by("position", "name"))


def _owners():
    return list(PartnerOrganisation.objects.filter(is_active=True).order_by("name"))


def _blank_forms(item) -> dict:
    state = {"from_tier": item.tier}
    return {
        "decision_form": DecisionForm(prefix="decision", initial=state),
        "action_formset": ActionFormSet(prefix="actions", form_kwargs={"owners": _owners()}),
        "escalate_form": EscalateForm(prefix="escalate", initial=state, **ESCALATE_WORDING),
        "return_form": ReturnForm(prefix="return", initial=state),
        "resolve_form": ResolveForm(
            prefix="resolve", initial=state, outcomes=_outcomes(), **RESOLVE_WORDING
        ),
    }


# The shared forms' wording here: a Group escalates to the Partnership, and an outcome's note
# goes to the business.
ESCALATE_WORDING = {
    "reason_label": "Why does it need the Business Safety Partnership?",
    "reason_help": "For example: it needs a county-wide response or a national body.",
}
RESOLVE_WORDING = {
    "note_label": "Note to the business (required for some outcomes)",
    "note_help": "The business sees this with the outcome.",
}


def _moved_on(request, item, prefix):
    """If the item changed since the form was shown (a second click, someone else first),
    say so and go back to it rather than act twice or refuse."""
    seen = request.POST.get(f"{prefix}-from_tier", "")
    if not item.is_open:
        messages.info(request, "This already has an outcome, so nothing was changed.")
        return redirect(_item_url(item))
    # isascii: "²".isdigit() is True but int("²") fails; int() refuses thousands of digits.
    if seen.isascii() and seen.isdigit() and len(seen) <= 2 and int(seen) != item.tier:
        body = selectors.owning_body(item)
        messages.info(
            request,
            f"This has moved since you opened it: it is now with {body}. Nothing was changed.",
        )
        return redirect(_item_url(item))
    return None


def _require_act(request, item):
    if not selectors.user_can_act(request.user, item):
        raise PermissionDenied("Only the body that holds this item can change it.")


def _service_refused(request, item, exc: ValidationError):
    # The form was valid but the item changed under us (the service re-checks under a lock).
    messages.error(request, " ".join(exc.messages))
    return redirect(_item_url(item))


# Moves: escalate, return, resolve


def _move(request, kind, pk, *, form_class, prefix, act, done, **form_kwargs):
    item = _get_item(request, kind, pk)
    moved = _moved_on(request, item, prefix)
    if moved:
        return moved
    _require_act(request, item)
    form = form_class(request.POST, prefix=prefix, **form_kwargs)
    if not form.is_valid():
        return _item_page(request, item, kind, bound={f"{prefix}_form": form}, status=400)
    try:
        act(item, form.cleaned_data)
    except ValidationError as exc:
        return _service_refused(request, item, exc)
    messages.success(request, done)
    return redirect(_item_url(item))


@require_POST
@member_required
def item_escalate(request, kind, pk):
    return _move(
        request,
        kind,
        pk,
        form_class=EscalateForm,
        prefix="escalate",
        **ESCALATE_WORDING,
        act=lambda item, data: moves.item_escalate(
            item=item, actor=request.user, reason=data["reason"], from_tier=data["from_tier"]
        ),
        done="Escalated to the Business Safety Partnership.",
    )


@require_POST
@member_required
def item_return(request, kind, pk):
    return _move(
        request,
        kind,
        pk,
        form_class=ReturnForm,
        prefix="return",
        act=lambda item, data: moves.item_return(
            item=item, actor=request.user, guidance=data["guidance"], from_tier=data["from_tier"]
        ),
        done="Returned to the tier below with your guidance.",
    )


@require_POST
@member_required
def item_resolve(request, kind, pk):
    return _move(
        request,
        kind,
        pk,
        form_class=ResolveForm,
        prefix="resolve",
        outcomes=_outcomes(),
        **RESOLVE_WORDING,
        act=lambda item, data: moves.item_resolve(
            item=item,
            actor=request.user,
            outcome=data["outcome"],
            note=data["note"],
            from_tier=data["from_tier"],
        ),
        done="The outcome is recorded and the business has been told.",
    )


# Decisions and actions


@require_POST
@member_required
def item_decide(request, kind, pk):
    item = _get_item(request, kind, pk)
    moved = _moved_on(request, item, "decision")
    if moved:
        return moved
    _require_act(request, item)
    owners = _owners()
    if "add_action" in request.POST:
        return _with_another_row(request, item, kind, owners)
    form = DecisionForm(request.POST, prefix="decision")
    formset = ActionFormSet(request.POST, prefix="actions", form_kwargs={"owners": owners})
    if not (form.is_valid() and formset.is_valid()):
        bound = {"decision_form": form, "action_formset": formset}
        return _item_page(request, item, kind, bound=bound, status=400)
    actions = [
        decision_services.ActionSpec(
            description=f.cleaned_data["description"],
            owner=f.cleaned_data["owner"],
            due_on=f.cleaned_data["due_on"],
            owner_contact=f.cleaned_data["owner_contact"],
        )
        for f in formset.forms
        if f.has_changed() and f.cleaned_data
    ]
    try:
        _, created = decision_services.decision_record_once(
            item=item,
            actor=request.user,
            summary=form.cleaned_data["summary"],
            actions=actions,
            from_tier=form.cleaned_data["from_tier"],
            submission_key=form.cleaned_data["submission_key"],
        )
    except decision_services.DecisionFormUsed as exc:
        # Sent again from a form that already recorded a decision, with other words: offer
        # them back on a fresh form (a new key), so a second send records a further decision.
        data = request.POST.copy()
        data["decision-submission_key"] = str(uuid.uuid4())
        again = DecisionForm(data, prefix="decision")
        again.is_valid()
        again.add_error(None, exc)
        bound = {"decision_form": again, "action_formset": formset}
        return _item_page(request, item, kind, bound=bound, status=409)
    except ValidationError as exc:
        return _service_refused(request, item, exc)
    if created:
        messages.success(request, f"Decision recorded with {len(actions)} action(s).")
    else:
        messages.info(request, "That decision was already recorded; it has not been added twice.")
    return redirect(_item_url(item))


def _with_another_row(request, item, kind, owners):
    """ "Add another action" without JavaScript: the same page, what was typed, one more row."""
    prefix = "actions"
    try:
        rows = int(request.POST.get(f"{prefix}-TOTAL_FORMS", "1"))
    except ValueError:
        rows = 1
    rows = max(1, min(rows, MAX_ACTIONS - 1))
    fields = ("description", "owner", "owner_contact", "due_on")
    typed = [
        {name: request.POST.get(f"{prefix}-{index}-{name}", "") for name in fields}
        for index in range(rows)
    ]
    formset = ActionFormSet(prefix=prefix, form_kwargs={"owners": owners})
    formset.extra = rows + 1 - formset.min_num
    for form, initial in zip(formset.forms, typed, strict=False):
        form.initial = initial
    # Without JavaScript, autofocus is how the new row gets the focus.
    formset.forms[-1].fields["description"].widget.attrs["autofocus"] = True
    decision_form = DecisionForm(
        prefix="decision",
        initial={
            "from_tier": request.POST.get("decision-from_tier", item.tier),
            "summary": request.POST.get("decision-summary", ""),
            "submission_key": request.POST.get("decision-submission_key") or uuid.uuid4(),
        },
    )
    bound = {"decision_form": decision_form, "action_formset": formset}
    return _item_page(request, item, kind, bound=bound)


@require_POST
@member_required
def action_done(request, kind, pk, action_pk):
    item = _get_item(request, kind, pk)
    try:
        action = selectors.action_for_item(item, action_pk)
    except Action.DoesNotExist:
        raise Http404("No such action.") from None
    if not review.can_complete(request.member_scope, item, action.decision):
        raise PermissionDenied("Only the body that agreed this action can mark it done.")
    if action.is_done:
        messages.info(request, "That action was already marked done.")
        return redirect(_item_url(item))
    form = ActionDoneForm(request.POST, prefix=f"done-{action.pk}")
    note = form.cleaned_data["note"] if form.is_valid() else ""
    decision_services.action_complete(action=action, actor=request.user, note=note)
    messages.success(request, f"Marked done: {action.description[:80]}")
    return redirect(_item_url(item))


# Insight


def _insight(request) -> tuple[insight.Figures, InsightFilterForm]:
    """The figures a person asked for, within what they may see, and the form that asked."""
    scope = request.member_scope
    default = insight.period()
    areas = list(NPTArea.objects.select_related("group")) if scope.is_partnership else []
    form = InsightFilterForm(
        request.GET or None,
        scope=scope,
        areas=areas,
        default_start=default.start,
        today=default.end,
    )
    start, end, area_ids, _ = form.choice()
    p = insight.period(now=default.now, start=start, end=end)
    return insight.Figures(scope, p, areas=area_ids), form


@require_GET
@never_cache
@member_required
def insight_page(request):
    figures, form = _insight(request)
    return render(
        request,
        "escalation/insight.html",
        {
            "datasets": insight.all_datasets(figures),
            "scope": figures.scope,
            "period": figures.period,
            "form": form,
            "where": form.choice()[3],
            "query_string": form.query_string(),
            "as_of": insight.as_of(),
        },
    )


@require_GET
@never_cache
@member_required
def insight_csv(request, name):
    build = insight.DATASETS.get(name)
    if build is None:
        raise Http404("No such dataset.")
    figures, form = _insight(request)
    if form.is_bound and not form.is_valid():
        # A link to figures nobody can have: say so rather than send other figures.
        return HttpResponseBadRequest("Those dates or that area are not valid.")
    dataset = build(figures)
    out = io.StringIO()
    insight.write_csv(dataset, out)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    p = figures.period
    stamp = timezone.localdate().isoformat() if p.is_default else f"{p.start}-to-{p.end}"
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response
