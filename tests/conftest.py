import datetime as dt
import os
import shutil

import pytest
from django.db import connection

from dorset_bcp.celery import app as celery_app
from tests import factories
from tests.reference_data import reload_reference_data

# Unit tests publish to an in-memory broker: they check what was queued after commit, and call
# task functions directly. Tests that need the real broker and a real worker say so (redis).
celery_app.conf.update(broker_url="memory://", broker_transport_options={})

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "0") == "1"

# TEST_CLOCK_AT=<ISO 8601 moment> starts the whole run at that moment, the clock ticking from
# there, so CI can prove that no test passes only on some days or at some hours (.ci/run runs
# the suite at a bank holiday, the clock changes, the new year and a leap day).
_clock = None


def pytest_configure(config):
    global _clock
    at = os.environ.get("TEST_CLOCK_AT")
    if at:
        import time_machine

        moment = dt.datetime.fromisoformat(at)
        if moment.tzinfo is None:
            raise pytest.UsageError(f"TEST_CLOCK_AT needs a UTC offset, e.g. {at}+00:00")
        _clock = time_machine.travel(moment, tick=True)
        _clock.start()


def pytest_unconfigure(config):
    if _clock is not None:
        _clock.stop()


def pytest_report_header(config):
    at = os.environ.get("TEST_CLOCK_AT")
    return f"clock: started at {at} (TEST_CLOCK_AT)" if at else None


def skip_or_fail(reason: str):
    """CI sets REQUIRE_SERVICES=1 so a missing service fails instead of skipping quietly."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES=1 forbids skipping)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _required_services(request):
    if request.node.get_closest_marker("postgres") and connection.vendor != "postgresql":
        skip_or_fail("needs PostgreSQL: set DATABASE_URL")
    if request.node.get_closest_marker("redis") and not os.environ.get("REDIS_URL"):
        skip_or_fail("needs Redis: set REDIS_URL")
    if request.node.get_closest_marker("browser") and not shutil.which("chromium"):
        skip_or_fail("needs Chromium at /usr/bin/chromium: apt-get install chromium")


@pytest.fixture(autouse=True)
def _reference_data_after_flush(request):
    # Transactional tests run last and each leaves the tables empty; give the next one the
    # categories, outcomes, policies and groups a migrated database has.
    marker = request.node.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or any(
        name in request.fixturenames for name in ("transactional_db", "live_server")
    )
    if transactional:
        request.getfixturevalue("transactional_db")
        reload_reference_data()


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fresh_cache(settings, request):
    # Each test gets an empty cache of its own: with REDIS_URL set the real cache would carry
    # allauth's rate limits (one confirmation email per address every few minutes) from one
    # test, or one run, to the next.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": request.node.nodeid,
        }
    }


@pytest.fixture(autouse=True)
def _fresh_category_choices():
    # The report form keeps the category choices for a minute (engagement.forms); a test's
    # categories are rolled back after it, without the signal that would forget them.
    from engagement.forms import forget_category_choices

    forget_category_choices()
    yield
    forget_category_choices()


@pytest.fixture(autouse=True)
def _two_factor_off(settings):
    # Production always asks staff, members and coordinators for the second sign-in step, and
    # refuses to start with it off. Most tests are about what happens after signing in, so the
    # suite signs people in with the password alone; tests/test_two_factor.py and the browser
    # tests of two-step sign-in turn it back on (the `two_factor_on` fixture).
    settings.TWO_FACTOR_REQUIRED = False


@pytest.fixture
def two_factor_on(settings):
    settings.TWO_FACTOR_REQUIRED = True


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Argon2 is right for people and slow on purpose; tests create hundreds of accounts.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# The people in every access test.


@pytest.fixture
def area(db):
    return factories.NPTAreaFactory(name="Poole", districts=["BH12", "BH13", "BH14", "BH15"])


@pytest.fixture
def other_area(db):
    return factories.NPTAreaFactory(name="Dorchester", districts=["DT1", "DT2"])


@pytest.fixture
def owner(db):
    return factories.UserFactory(email="owner@example.org", full_name="Olive Owner")


@pytest.fixture
def other_owner(db):
    return factories.UserFactory(email="other.owner@example.org", full_name="Oscar Other")


@pytest.fixture
def business(owner, area):
    return factories.BusinessFactory(owner=owner, npt_area=area, postcode="BH15 1AA")


@pytest.fixture
def other_business(other_owner, other_area):
    return factories.BusinessFactory(owner=other_owner, npt_area=other_area, postcode="DT1 1AA")


@pytest.fixture
def npt_officer(area):
    return factories.OfficerFactory(area=area, email="pc.poole@example.org")


@pytest.fixture
def other_npt_officer(other_area):
    return factories.OfficerFactory(area=other_area, email="pc.dorchester@example.org")


@pytest.fixture
def superuser(db):
    return factories.UserFactory(email="admin@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def concern(business, owner):
    return factories.ConcernFactory(business=business, reporter=owner)


@pytest.fixture
def other_concern(other_business, other_owner):
    return factories.ConcernFactory(business=other_business, reporter=other_owner)


# Specialist team members (teams loaded by engagement's migrations).


@pytest.fixture
def rural_specialist(db):
    return factories.SpecialistFactory(
        team="rural-crime-team", email="rural.team@example.org", full_name="PC Rowan Hale"
    )


@pytest.fixture
def cyber_specialist(db):
    return factories.SpecialistFactory(
        team="cyber-protect", email="cyber.protect@example.org", full_name="Dee Carter"
    )
