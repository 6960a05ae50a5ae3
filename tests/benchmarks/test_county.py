"""`make bench`'s county seeder and page table run end to end at a tiny size (not timed: the
targets live in the benchmark, and this machine's speed proves nothing here)."""

import pytest
from django.db.models import F

from benchmarks import county, jobs, pages
from engagement.models import Business, Concern, ConcernEvent, User
from escalation.models import Decision, Theme


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_it_seeds_a_tiny_county_and_prints_every_page_row(capsys, monkeypatch, two_factor_on):
    monkeypatch.setattr(pages, "REQUESTS", 2)
    monkeypatch.setattr(pages, "WARM_UP", 1)
    monkeypatch.setattr(pages, "THROUGHPUT_REQUESTS", 1)
    for name, value in [("MEMBERS", 20), ("OUTBOX_EMAILS", 20), ("PURGE_EMAILS", 50)]:
        monkeypatch.setattr(jobs, name, value)
    monkeypatch.setattr(jobs, "ALERT_POSTS", 1)

    seeded = county.seed_county(200)

    bulk = Concern.objects.filter(contact_email__endswith="@county.bench")
    owner = User.objects.get(email=county.OWNER_EMAIL)
    assert bulk.count() + Concern.objects.filter(reporter=owner).count() >= 200
    assert Business.objects.filter(memberships__user__email__endswith="@county.bench").count() == (
        seeded.businesses
    )
    assert ConcernEvent.objects.count() >= 200
    assert Decision.objects.exists() and Theme.objects.exists()
    assert Concern.objects.filter(reporter=owner, contact_name="Sam Harper").count() >= 20
    # Every seeded concern sits in its business's NPT area, as the routing would put it.
    assert not Concern.objects.exclude(npt_area=F("business__npt_area")).exists()

    pages.run(200)

    rows = [
        line for line in capsys.readouterr().out.splitlines() if line.endswith(("met", "missed"))
    ]
    assert len(rows) == len(pages.page_rows()) + 4  # the pages, then the four jobs
    assert not [row for row in rows if "failed" in row], rows
    # The jobs leave the seeded data as they found it.
    assert not User.objects.filter(email__endswith="@jobs.bench").exists()
