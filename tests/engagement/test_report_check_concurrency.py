"""Two clicks on "Send report" (or "Add to … instead") at once: one concern or one reply, and
the held files attached once. PostgreSQL, two connections, committed data."""

import threading
import uuid

import pytest
from django.db import connection

from engagement import services
from engagement.models import Attachment, Concern, ConcernUpdate, HeldAttachment
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.usefixtures("transactional_db")]

TIMEOUT = 30


def held_photo(key, holder):
    upload = factories.png_upload("till.png")
    upload.detected_kind = "image/png"
    return services.attachment_hold(submission_key=key, holder=holder, upload=upload)


def twice_at_once(action):
    start = threading.Barrier(2, timeout=TIMEOUT)
    results, errors = [], []

    def run():
        try:
            start.wait()
            results.append(action())
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert errors == []
    return results


def test_two_sends_at_once_make_one_concern_with_the_photo_once(business, owner):
    key = uuid.uuid4()
    held = [held_photo(key, f"u{owner.pk}")]
    concern = factories.ConcernFactory.build(business=business)
    details = services.ConcernDetails(
        category=concern.category,
        description="Gin taken.",
        occurred_on=concern.occurred_on,
        location="By the door",
        impact=Concern.Impact.SOME,
        contact_name="Olive Owner",
        contact_email=owner.email,
    )

    results = twice_at_once(
        lambda: (
            services.concern_submit(
                business=business, reporter=owner, details=details, submission_key=key, held=held
            )[0].pk
        )
    )

    assert len(set(results)) == 1
    assert Concern.objects.count() == 1
    assert Attachment.objects.get().original_name == "till.png"
    assert not HeldAttachment.objects.exists()


def test_two_adds_to_a_concern_at_once_post_one_reply(business, owner):
    concern = factories.ConcernFactory(business=business, reporter=owner)
    key = uuid.uuid4()
    held = [held_photo(key, f"u{owner.pk}")]

    results = twice_at_once(
        lambda: (
            services.concern_reply(
                concern=concern, author=owner, body="Again.", submission_key=key, held=held
            ).pk
        )
    )

    assert len(set(results)) == 1
    assert ConcernUpdate.objects.filter(concern=concern).count() == 1
    assert concern.attachments.count() == 1
    assert not HeldAttachment.objects.exists()
