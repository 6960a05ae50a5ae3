"""No input anyone can send gives a 500: every public form, and every admin list filter.

The tally fixture counts requests and 500s across this module and prints the figure at the end
("hostile input: 0 500s / N requests")."""

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR, SEARCH_VAR
from django.test import Client, RequestFactory
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dorset_bcp.admin_site import refused_lookup
from engagement.models import Concern, User
from tests import factories

HYPOTHESIS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
LONG_EMAIL = "a" * 64 + "@" + ".".join(["b" * 60] * 3 + ["c" * 56]) + ".example"  # 312
ABSURD = ["9" * 30, "-" + "9" * 30, "0", "\x00", "abc", "", "1,2," + "9" * 30]
hostile = (
    st.sampled_from(ABSURD + [LONG_EMAIL, "a" * 10_001, "<script>", "2026-02-30", "😀" * 300])
    | st.text(max_size=300)
    | st.integers().map(str)
)
long_emails = st.builds(
    lambda local, labels: local + "@" + ".".join(labels) + ".example",
    st.text("abcdefgh.1-_", min_size=1, max_size=64).filter(
        lambda s: not s.startswith(".") and not s.endswith(".") and ".." not in s
    ),
    st.lists(st.text("abcdefgh1", min_size=1, max_size=63), min_size=3, max_size=6),
)

_tally = {"requests": 0, "500s": 0}


@pytest.fixture(scope="module", autouse=True)
def _report_tally(request):
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter and _tally["requests"]:
        reporter.write_line(f"hostile input: {_tally['500s']} 500s / {_tally['requests']} requests")


class CountingClient(Client):
    def request(self, **request):
        response = super().request(**request)
        _tally["requests"] += 1
        _tally["500s"] += response.status_code >= 500
        return response


@pytest.fixture
def hostile_client(db):
    return CountingClient(raise_request_exception=False)


@pytest.fixture
def owner_client(hostile_client, owner):
    hostile_client.force_login(owner)
    return hostile_client


def test_the_long_address_is_312_characters():
    assert len(LONG_EMAIL) == 312


# A bounded-length email everywhere.


def test_it_explains_an_overlong_email_on_the_guest_form(hostile_client, area):
    data = factories.guest_form_data(contact_email=LONG_EMAIL)
    response = factories.send_report(hostile_client, data, guest=True)
    assert response.status_code == 200
    assert "at most 254 characters long; this one has 312" in response.content.decode()
    assert not Concern.objects.exists()


def test_it_explains_an_overlong_email_on_the_report_form(owner_client, business):
    data = factories.concern_form_data(business=business.pk, contact_email=LONG_EMAIL)
    response = factories.send_report(owner_client, data)
    assert response.status_code == 200
    assert "at most 254 characters long; this one has 312" in response.content.decode()
    assert not Concern.objects.exists()


def test_it_explains_an_overlong_email_at_sign_up_and_creates_no_account(hostile_client):
    response = hostile_client.post(
        "/accounts/signup/",
        {"email": LONG_EMAIL, "password1": "a long pass phrase", "password2": "a long pass phrase"},
    )
    assert response.status_code == 200
    assert "at most 254 characters long" in response.content.decode()
    assert not User.objects.exists()


def test_it_explains_an_overlong_email_when_adding_an_address(owner_client):
    response = owner_client.post("/accounts/email/", {"email": LONG_EMAIL, "action_add": ""})
    assert response.status_code == 200
    assert "at most 254 characters long" in response.content.decode()


@HYPOTHESIS
@given(email=long_emails)
def test_it_never_fails_on_long_addresses_anywhere(owner_client, business, area, email):
    guest = Client(raise_request_exception=False)
    responses = [
        factories.send_report(guest, factories.guest_form_data(contact_email=email), guest=True),
        guest.post("/accounts/signup/", {"email": email, "password1": "x", "password2": "x"}),
        guest.post("/accounts/password/reset/", {"email": email}),
        factories.send_report(
            owner_client, factories.concern_form_data(business=business.pk, contact_email=email)
        ),
    ]
    _tally["requests"] += len(responses)
    _tally["500s"] += sum(r.status_code >= 500 for r in responses)
    assert [r.status_code for r in responses if r.status_code >= 500] == []
    stored = list(Concern.objects.values_list("contact_email", flat=True))
    stored += list(User.objects.exclude(pk=business.members.first().pk).values_list("email"))
    assert all(len(str(value)) <= 254 for value in stored)  # never cut short: refused or whole


# Public forms outside the report journey (that one is in tests/engagement/test_views.py).


@pytest.fixture
def scheme(db):
    return factories.WatchSchemeFactory(slug="poole-shopwatch", is_accepting=True)


@pytest.fixture
def seminar(db):
    return factories.SeminarFactory(slug="cyber")


PUBLIC_FORMS = {
    "sign up": ("anonymous", "/accounts/signup/", ["email", "password1", "password2"]),
    "sign in": ("anonymous", "/accounts/login/", ["login", "password", "remember"]),
    "reset": ("anonymous", "/accounts/password/reset/", ["email"]),
    "add email": ("owner", "/accounts/email/", ["email", "action_add", "action_remove"]),
    "password": ("owner", "/accounts/password/change/", ["oldpassword", "password1"]),
    "apply": ("owner", "/watch-schemes/poole-shopwatch/apply/", ["business", "note"]),
    "book": ("owner", "/seminars/cyber/book/", ["business"]),
    "guest link": ("anonymous", "/report/track/x/", ["action"]),
}


@HYPOTHESIS
@given(form=st.sampled_from(sorted(PUBLIC_FORMS)), data=st.data())
def test_it_never_fails_on_hostile_public_form_input(
    hostile_client, owner, business, scheme, seminar, form, data
):
    who, url, fields = PUBLIC_FORMS[form]
    client = hostile_client
    if who == "owner":
        client.force_login(owner)
    else:
        client.logout()
    post = {field: data.draw(hostile, label=field) for field in fields}
    assert client.post(url, post).status_code < 500


@HYPOTHESIS
@given(q=hostile, topic=hostile, sector=hostile)
def test_it_never_fails_on_hostile_library_search(hostile_client, q, topic, sector):
    response = hostile_client.get("/resources/", {"q": q, "topic": topic, "sector": sector})
    assert response.status_code == 200


# Every admin list filter, date hierarchy and search box.


def changelists(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    for model, model_admin in admin.site._registry.items():
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        request.path = url
        changelist = model_admin.get_changelist_instance(request)
        params = {SEARCH_VAR, PAGE_VAR, "pk__in", "id__exact"}
        for spec in changelist.filter_specs:
            params.update(spec.expected_parameters())
        if model_admin.date_hierarchy:
            params.update(f"{model_admin.date_hierarchy}__{part}" for part in ("year", "month"))
            params.add(f"{model_admin.date_hierarchy}__day")
        yield url, sorted(params)


def test_it_never_fails_on_absurd_admin_filter_values(hostile_client, superuser):
    hostile_client.force_login(superuser)
    failures = []
    for url, params in changelists(superuser):
        for param in params:
            for value in ABSURD:
                response = hostile_client.get(url, {param: value})
                if response.status_code >= 500:
                    failures.append((url, param, value[:12]))
    assert failures == []


def test_it_drops_an_impossible_year_and_shows_the_list(hostile_client, superuser):
    hostile_client.force_login(superuser)
    url = "/admin/engagement/concern/"
    response = hostile_client.get(url, {"created_at__year": "9" * 30, "status": "new"})
    assert response.status_code == 302
    assert response["Location"] == f"{url}?status=new"
    page = hostile_client.get(response["Location"])
    assert "A filter in the address was not understood" in page.content.decode()


@HYPOTHESIS
@given(year=hostile, month=hostile, day=hostile)
def test_it_never_fails_on_hostile_date_hierarchy_values(
    hostile_client, superuser, year, month, day
):
    hostile_client.force_login(superuser)
    params = {"created_at__year": year, "created_at__month": month, "created_at__day": day}
    assert hostile_client.get("/admin/engagement/concern/", params).status_code < 500


@given(key=st.text(max_size=40), value=st.text(max_size=60) | st.integers().map(str))
def test_it_refuses_only_what_would_fail(key, value):
    refused = refused_lookup(key, value)
    if "\x00" not in key + value and key.rsplit("__", 1)[-1] not in {"year", "month", "day"}:
        digits = [p.strip() for p in value.split(",") if p.strip().lstrip("+-").isdigit()]
        assert refused == any(abs(int(p)) >= 2**63 for p in digits if p.isascii())


def test_it_takes_a_guest_report_whose_location_fills_its_field(hostile_client, area):
    # The placeholder business keeps the location as its address, a shorter column.
    data = factories.guest_form_data(location="Behind the quay " + "x" * 284)
    assert factories.send_report(hostile_client, data, guest=True).status_code == 302
    assert len(Concern.objects.get().location) == 300


@pytest.mark.parametrize("key", ["pk__in", "id", "created_at__year", "created_at__day"])
def test_it_refuses_a_number_too_long_for_python_to_read(key):
    # int() refuses a string of more than 4,300 digits: that must be a refusal, not a 500.
    assert refused_lookup(key, "9" * 5000) is True
