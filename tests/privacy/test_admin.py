"""Administrators edit the retention schedule and read the disposal log; officers place a
legal hold on a concern from its admin page."""

import datetime as dt

import pytest

from engagement.models import Concern, ConcernEvent
from privacy import services
from privacy.models import DisposalLog, RetentionRule

CHANGELIST = "/admin/engagement/concern/"


@pytest.fixture
def logged(db):
    services.retention_run(kinds=["closed_concerns"])
    return DisposalLog.objects.get()


def test_an_administrator_reads_the_disposal_log(client, superuser, logged):
    client.force_login(superuser)
    response = client.get("/admin/privacy/disposallog/")
    assert response.status_code == 200
    assert "Concerns with an outcome (anonymised)" in response.content.decode()
    assert client.get(f"/admin/privacy/disposallog/{logged.pk}/change/").status_code == 200


def test_nobody_writes_or_deletes_the_disposal_log(client, superuser, logged):
    client.force_login(superuser)
    assert client.get("/admin/privacy/disposallog/add/").status_code == 403
    assert client.get(f"/admin/privacy/disposallog/{logged.pk}/delete/").status_code == 403
    response = client.post(f"/admin/privacy/disposallog/{logged.pk}/change/", {"count": 99})
    assert response.status_code == 403
    logged.refresh_from_db()
    assert logged.count == 0


@pytest.mark.parametrize("who", ["editor", "npt_officer"])
def test_only_administrators_see_the_schedule_and_the_log(client, request, who, logged):
    client.force_login(request.getfixturevalue(who))
    rule = RetentionRule.objects.first()
    for url in (
        "/admin/privacy/disposallog/",
        f"/admin/privacy/disposallog/{logged.pk}/change/",
        "/admin/privacy/retentionrule/",
        f"/admin/privacy/retentionrule/{rule.pk}/change/",
    ):
        assert client.get(url).status_code == 403, url


def test_an_administrator_changes_a_period(client, superuser):
    rule = RetentionRule.objects.get(kind="closed_concerns")
    client.force_login(superuser)
    url = f"/admin/privacy/retentionrule/{rule.pk}/change/"
    response = client.post(url, {"days": "1095", "basis": rule.basis, "is_active": "on"})
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.days == 1095


def test_a_bad_period_is_refused_and_kept(client, superuser):
    rule = RetentionRule.objects.get(kind="closed_concerns")
    client.force_login(superuser)
    url = f"/admin/privacy/retentionrule/{rule.pk}/change/"
    response = client.post(url, {"days": "-3", "basis": "Changed words", "is_active": "on"})
    assert response.status_code == 200
    assert "Changed words" in response.content.decode()
    rule.refresh_from_db()
    assert rule.days == 730


# Legal hold


def seen(concern):
    """What the officer saw when the form was drawn (the admin's own rendering of it)."""
    from django.contrib import admin

    concern.refresh_from_db()
    return admin.site._registry[Concern].triage_seen(concern)


def test_an_officer_places_a_legal_hold(client, npt_officer, concern):
    client.force_login(npt_officer)
    page = client.get(f"{CHANGELIST}{concern.pk}/change/").content.decode()
    assert "Save legal hold" in page
    response = client.post(
        f"{CHANGELIST}{concern.pk}/triage/legal_hold/",
        {
            "legal_hold-hold": "on",
            "legal_hold-reason": "Evidence in case 55/1234/26",
            "legal_hold-seen": seen(concern),
        },
    )
    assert response.status_code == 302
    concern.refresh_from_db()
    assert (concern.legal_hold, concern.legal_hold_reason) == (True, "Evidence in case 55/1234/26")
    assert ConcernEvent.objects.filter(
        concern=concern, kind="legal_hold", actor=npt_officer
    ).exists()


def test_a_hold_needs_a_reason(client, npt_officer, concern):
    client.force_login(npt_officer)
    response = client.post(
        f"{CHANGELIST}{concern.pk}/triage/legal_hold/",
        {"legal_hold-hold": "on", "legal_hold-reason": " ", "legal_hold-seen": seen(concern)},
    )
    assert response.status_code == 400
    assert "Say why the report is held." in response.content.decode()
    assert not Concern.objects.get(pk=concern.pk).legal_hold


def test_an_officer_lifts_a_hold_on_a_closed_concern(client, npt_officer, concern):
    from engagement.services import concern_set_legal_hold

    concern_set_legal_hold(concern=concern, hold=True, reason="Case", actor=npt_officer)
    Concern.objects.filter(pk=concern.pk).update(
        status=Concern.Status.CLOSED, closed_at=concern.created_at + dt.timedelta(days=2)
    )
    client.force_login(npt_officer)
    response = client.post(
        f"{CHANGELIST}{concern.pk}/triage/legal_hold/",
        {"legal_hold-reason": "", "legal_hold-seen": seen(concern)},
    )
    assert response.status_code == 302
    assert not Concern.objects.get(pk=concern.pk).legal_hold


def test_another_npts_officer_cannot_hold_a_concern(client, other_npt_officer, concern):
    client.force_login(other_npt_officer)
    response = client.post(
        f"{CHANGELIST}{concern.pk}/triage/legal_hold/",
        {"legal_hold-hold": "on", "legal_hold-reason": "Mine", "legal_hold-seen": ""},
    )
    assert response.status_code == 404
    assert not Concern.objects.get(pk=concern.pk).legal_hold
