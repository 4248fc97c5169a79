"""bench_queue with tiny numbers: real HTTP against the loopback server, real leases and annotations."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.benchmarks.queue import LevelResult, bench_queue, bench_table
from eolabel.benchmarks.server import database_description, loopback_server
from eolabel.labelling.models import Annotation, Lease


@pytest.mark.django_db(transaction=True)
def test_each_virtual_annotator_leases_and_submits_distinct_chips(builtin_sensors):
    with loopback_server() as port:
        results = bench_queue(
            port=port, annotators=[1, 3], tasks=2, queue_chips=64, deadline_s=60, say=lambda _: None
        )

    assert [r.annotators for r in results] == [1, 3]
    for result in results:
        assert result.errors == ()
        assert len(result.next_s) == len(result.submit_s) == result.annotators * 2
        assert result.chips_annotated == result.distinct_chips == result.annotators * 2
        assert 0 < result.next_ms(50) <= result.next_ms(95) < 60_000
    assert Annotation.objects.count() == 8
    assert Lease.objects.filter(state=Lease.State.SUBMITTED).count() == 8
    assert Lease.objects.filter(state=Lease.State.ACTIVE).count() == 0
    table = bench_table(results)
    assert table.splitlines()[0].split()[:3] == ["annotators", "next", "p50"]
    assert len(table.splitlines()) == 4


def test_the_table_shows_percentiles_in_milliseconds():
    result = LevelResult(
        annotators=2, next_s=(0.010, 0.020, 0.030, 0.040), submit_s=(0.1,) * 4, wall_s=2.0,
        chips_annotated=4, distinct_chips=4,
    )  # fmt: skip

    row = bench_table([result]).splitlines()[-1].split()

    assert row == ["2", "25.0", "38.5", "100.0", "100.0", "2.0", "4"]


@pytest.mark.django_db
def test_the_database_is_named_in_the_output():
    assert database_description().startswith("SQLite ") or "postgres" in database_description().lower()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--annotators", "0"], "1 to 64"),
        (["--annotators", "a,b"], "comma-separated"),
        (["--tasks", "0"], "1 to 1000"),
    ],
)
def test_bad_options_exit_1_with_one_line(args, message):
    with pytest.raises(CommandError, match=message) as caught:
        call_command("bench_queue", *args)

    assert caught.value.returncode == 1 and "\n" not in str(caught.value)
