import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from engagement.models import Concern
from escalation.models import Partnership
from tests import factories

LONDON = ZoneInfo("Europe/London")


def at(year, month, day, hour=10, minute=0):
    return dt.datetime(year, month, day, hour, minute, tzinfo=LONDON)


def make_overdue(item, *, hours=1, **fields):
    """Put an item's resolution deadline in the past, as the clock would have done."""
    type(item).objects.filter(pk=item.pk).update(
        resolution_due_at=timezone.now() - dt.timedelta(hours=hours), **fields
    )
    item.refresh_from_db()
    return item


@pytest.fixture
def group(area):
    group = factories.CoordinatingGroupFactory(name="BCP Business Co-ordinating Group", slug="bcp")
    area.group = group
    area.save(update_fields=["group"])
    return group


@pytest.fixture
def other_group(other_area):
    group = factories.CoordinatingGroupFactory(
        name="Dorset Business Co-ordinating Group", slug="dorset"
    )
    other_area.group = group
    other_area.save(update_fields=["group"])
    return group


@pytest.fixture
def group_member(group):
    return factories.GroupMemberFactory(
        group=group, email="bid.manager@example.org", full_name="Gemma Group"
    )


@pytest.fixture
def other_group_member(other_group):
    return factories.GroupMemberFactory(
        group=other_group, email="dorset.group@example.org", full_name="Otto Other"
    )


@pytest.fixture
def partnership_member(db):
    return factories.PartnershipMemberFactory(
        email="champion@example.org", full_name="Pat Partnership"
    )


@pytest.fixture
def chair(db):
    user = factories.UserFactory(email="chair@example.org", full_name="Chris Chair")
    partnership = Partnership.load()
    partnership.chair = user
    partnership.save(update_fields=["chair"])
    return user


@pytest.fixture
def chain(group, other_group, group_member, other_group_member, partnership_member, chair):
    """Both groups with a member each, a partnership member and the chair."""
    return {
        "group": group,
        "other_group": other_group,
        "group_member": group_member,
        "other_group_member": other_group_member,
        "partnership_member": partnership_member,
        "chair": chair,
    }


@pytest.fixture
def overdue_concern(concern):
    return make_overdue(concern)


def concern_at_tier(business, tier, **fields):
    concern = factories.ConcernFactory(business=business, **fields)
    Concern.objects.filter(pk=concern.pk).update(tier=tier)
    concern.refresh_from_db()
    return concern


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Every fixture person gets a password; Argon2 at full strength makes each test seconds slower.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def policy_concern(business, **fields):
    """A concern as concern_submit makes it: every deadline column from the tier-1 policy."""
    from engagement import deadlines

    concern = factories.ConcernFactory(business=business, **fields)
    due = deadlines.deadlines_for(tier=1, priority=concern.priority, start=concern.created_at)
    Concern.objects.filter(pk=concern.pk).update(**due)
    concern.refresh_from_db()
    return concern
