"""The soak, short: 10 locust annotators for 20 s against gunicorn over the small demo archive, then the
database check. The long one is ``make bench`` (``bench_soak --users 50 --minutes 10``)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from eolabel.benchmarks.soak import SoakPlan, _lease_time_overlaps, soak_run, soak_table
from eolabel.labelling.models import Lease, ProjectChip
from tests.labelling.factories import make_project, make_user


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_short_soak_loses_nothing_duplicates_nothing_and_never_leases_a_chip_twice(builtin_sensors):
    plan = SoakPlan(users=10, seconds=20, small_archive=True, overlap=5, web_workers=2, web_threads=4)

    result = soak_run(plan=plan, say=lambda _: None)

    print(soak_table(result))
    assert result.errors == ()
    assert result.lost == 0 and result.duplicates == 0 and result.double_leases == 0
    assert result.lease_time_overlaps == 0  # leases are stamped after the claim: recorded times never overlap
    assert result.requests["submit"]["n"] >= 20 and result.requests["submit"]["failures"] == 0
    assert result.requests["next"]["failures"] == 0 and result.requests["tile"]["failures"] == 0
    assert result.answered == result.annotations  # every stored row was answered to a client, and back
    assert 0 < result.requests["next"]["p50"] <= result.requests["next"]["p95"]
    assert result.rss_start_mb > 50 and result.rss_end_mb > 50


@pytest.mark.django_db
def test_the_lease_time_check_counts_overlapping_leases_of_one_chip():
    project = make_project(manager=make_user("boss", staff=True))
    chip = ProjectChip.objects.filter(project=project).first()
    user_a, user_b = make_user("a"), make_user("b")
    now = timezone.now()

    def lease(user, start_min: int, end_min: int, state: str) -> None:
        Lease.objects.create(
            project=project, project_chip=chip, user=user, state=state, strategy="random",
            leased_at=now + timedelta(minutes=start_min), ended_at=now + timedelta(minutes=end_min),
            expires_at=now + timedelta(minutes=start_min + 15),
        )  # fmt: skip

    lease(user_a, 0, 5, "submitted")
    lease(user_b, 5, 9, "skipped")  # starts as the first ends: fine
    assert _lease_time_overlaps(project) == 0

    lease(user_a, 8, 12, "expired")  # starts before the second ended
    assert _lease_time_overlaps(project) == 1
