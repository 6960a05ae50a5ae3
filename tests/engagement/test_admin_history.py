"""The admin's History page of a concern and of a business: every event, who made it, and the
old and new values it recorded, for whoever may see the item, and nobody else."""

import html
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from engagement import services
from engagement.models import ConcernEvent
from tests import factories


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def history_url(item) -> str:
    return f"/admin/{item._meta.app_label}/{item._meta.model_name}/{item.pk}/history/"


def page_words(response) -> str:
    """The page as its reader sees it: tags gone, white space folded."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", html.unescape(text))  # a name such as O'Brien, as written


def test_a_concerns_history_shows_each_change_from_and_to_in_words(
    client, concern, npt_officer, area
):
    colleague = factories.OfficerFactory(area=area, full_name="PC Carol Colleague")
    services.concern_assign(concern=concern, officer=npt_officer, actor=npt_officer)
    services.concern_set_priority(concern=concern, priority="high", actor=npt_officer)
    services.concern_assign(concern=concern, officer=colleague, actor=npt_officer)
    client.force_login(npt_officer)

    response = client.get(history_url(concern))

    assert response.status_code == 200
    words = page_words(response)
    assert "Priority : Normal → High" in words
    assert f"Assigned officer : — → {npt_officer}" in words
    assert f"Assigned officer : {npt_officer} → PC Carol Colleague" in words
    assert "Status : New → In progress" in words
    assert words.index("Normal → High") < words.index("→ PC Carol Colleague")  # oldest first
    assert f"{npt_officer.get_full_name()}" in words  # who


def test_a_concerns_history_reads_the_sweeps_moves_from_its_columns(client, concern, superuser):
    """The sweep writes its events in SQL without `changes`: their tiers still read."""
    ConcernEvent.objects.create(
        concern=concern,
        kind=ConcernEvent.Kind.ESCALATED,
        rule="overdue",
        from_tier=1,
        to_tier=2,
    )
    client.force_login(superuser)
    words = page_words(client.get(history_url(concern)))
    assert "Tier : Neighbourhood Policing Team → Business Co-ordinating Group" in words
    assert "Rule: overdue" in words


def test_a_legal_hold_reads_on_and_off_with_its_reason(client, concern, npt_officer):
    services.concern_set_legal_hold(
        concern=concern, hold=True, reason="Case 55/1234", actor=npt_officer
    )
    client.force_login(npt_officer)
    words = page_words(client.get(history_url(concern)))
    assert "Legal hold : No → Yes" in words
    assert "Legal hold reason : — → Case 55/1234" in words


def who_did(client, concern, kind: str) -> list[str]:
    response = client.get(history_url(concern))
    return [event["who"] for event in response.context["events"] if event["what"] == kind]


def test_a_guests_withdrawal_is_not_put_down_to_the_portal(client, area, superuser):
    """A guest acts without an account, so the event has no actor: the page must not say the
    portal did it."""
    concern = factories.ConcernFactory(business__npt_area=area, reporter=None)
    services.concern_withdraw(concern=concern, author=None, reason="Sorted out.")
    client.force_login(superuser)

    assert who_did(client, concern, "Withdrawn by the reporter") == [NO_ACCOUNT]


def test_a_closed_accounts_reply_is_not_put_down_to_the_portal(client, concern, owner, superuser):
    services.concern_reply(concern=concern, author=owner, body="It was 4pm.")
    client.force_login(superuser)
    assert "Olive Owner" in who_did(client, concern, "Business replied")

    services.user_delete(user=owner)

    assert who_did(client, concern, "Business replied") == [NO_ACCOUNT]


NO_ACCOUNT = "No account: a guest, the portal or a closed account"


def test_an_officer_of_another_npt_cannot_read_a_concerns_history(
    client, concern, npt_officer, other_npt_officer
):
    services.concern_set_priority(concern=concern, priority="urgent", actor=npt_officer)
    client.force_login(other_npt_officer)

    response = client.get(history_url(concern))

    assert response.status_code in (302, 403, 404)
    assert "Urgent" not in response.content.decode()


def test_someone_without_staff_access_cannot_read_a_concerns_history(client, concern, owner):
    client.force_login(owner)
    response = client.get(history_url(concern))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def history_queries(client, concern, officer, events: int) -> int:
    for _ in range(events):
        ConcernEvent.objects.create(
            concern=concern,
            kind=ConcernEvent.Kind.PRIORITY,
            actor=officer,
            changes={"priority": {"from": "normal", "to": "high"}},
        )
    with CaptureQueriesContext(connection) as queries:
        assert client.get(history_url(concern)).status_code == 200
    return len(queries)


def test_a_concerns_history_costs_the_same_queries_however_many_events(
    client, concern, npt_officer, other_concern, django_assert_num_queries
):
    client.force_login(npt_officer)
    few = history_queries(client, concern, npt_officer, events=1)
    many = history_queries(client, concern, npt_officer, events=40)
    assert few == many
    # Session and user, the officer's postings, the concern, the events' count and their page
    # (with their actors), the person's permissions (two, for the admin's menus) and the
    # admin's own edits; pinned, so a query a row would show up here.
    with django_assert_num_queries(few):
        client.get(history_url(concern))
    assert few == 9


# A business


def test_a_businesss_history_shows_its_edits_without_its_name_or_address(
    client, business, owner, npt_officer
):
    services.business_update(
        business=business,
        actor=owner,
        name="Zebedee Stores",
        size_band="medium",
        is_rural=True,
    )
    client.force_login(npt_officer)

    response = client.get(history_url(business))

    assert response.status_code == 200
    words = page_words(response)
    assert "Size : 2 to 9 people → 50 to 249 people" in words
    assert "Rural business : No → Yes" in words
    assert "Name : (not recorded) → changed" in words
    history = words[words.index("Every change") :]
    assert "Zebedee" not in history.split("Edits saved through")[0]


def test_an_officer_of_another_npt_cannot_read_a_businesss_history(
    client, business, owner, other_npt_officer
):
    services.business_update(business=business, actor=owner, size_band="large")
    client.force_login(other_npt_officer)

    response = client.get(history_url(business))

    assert response.status_code in (302, 403, 404)
    assert "250 people or more" not in response.content.decode()


def test_a_concerns_page_lists_what_each_event_changed_in_its_history(client, concern, npt_officer):
    services.concern_set_priority(concern=concern, priority="high", actor=npt_officer)
    client.force_login(npt_officer)

    response = client.get(f"/admin/engagement/concern/{concern.pk}/change/")

    assert response.status_code == 200
    assert "Priority: Normal → High" in page_words(response)


def test_a_search_word_in_the_address_does_not_cap_or_hide_a_long_history(
    client, concern, npt_officer
):
    """The list's search paginator counts to 1,000 at most; the History counts every event."""
    client.force_login(npt_officer)
    ConcernEvent.objects.bulk_create(
        ConcernEvent(concern=concern, kind=ConcernEvent.Kind.NOTE_ADDED, actor=npt_officer)
        for _ in range(1_050)
    )
    total = concern.events.count()

    response = client.get(history_url(concern), {"q": "theft", "p": "11"})

    assert response.status_code == 200
    assert response.context["page"].number == 11
    assert f"({total} in all)" in page_words(response)
