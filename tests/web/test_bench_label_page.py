"""bench_label_page: the pure parts (percentiles, the table, the missing-browser exit) fast; one tiny real run
in chromium marked browser and slow."""

import math

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.web import bench
from eolabel.web.bench import (
    LabelPagePlan,
    LabelPageResult,
    bench_label_page_run,
    label_page_table,
    percentile,
)
from eolabel.web.bench_screenshots import boxes_pick, class_strokes
from tests.web.browser import browser_required_or_skip


def test_percentiles_interpolate_and_are_nan_for_nothing():
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 95) == pytest.approx(38.5)
    assert math.isnan(percentile([], 50))


def test_the_table_shows_counts_and_percentiles_in_milliseconds():
    # given a result with known figures
    result = LabelPageResult(
        next_ready_ms=(80.0, 100.0), next_imagery_ms=(900.0, 1000.0), move_to_canvas_ms=(1.0, 2.0, 3.0),
        frame_ms=(16.0, 17.0), stroke_ms=850.0, long_task_max_ms=0.0, chip_size=256, stroke_chip_size=512,
    )  # fmt: skip

    # when it is tabulated
    lines = label_page_table(result).splitlines()

    # then each row ends with n, p50, p95, and the stroke line gives the total and the longest task
    assert lines[0].split()[-5:] == ["n", "p50", "ms", "p95", "ms"]
    assert lines[1].startswith("Enter -> next task ready to paint (256 px)")
    assert lines[1].split()[-3:] == ["2", "90.0", "99.0"]
    assert lines[2].split()[-3:] == ["2", "950.0", "995.0"]
    assert lines[3].split()[-3:] == ["3", "2.0", "2.9"]
    assert "(512 px)" in lines[3]
    assert lines[4].split()[-3:] == ["2", "16.5", "16.9"]
    assert "850 ms from pointerdown" in lines[5] and "longest task 0 ms" in lines[5]


def test_without_chromium_the_command_exits_1_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(bench, "CHROMIUM", tmp_path / "no-chromium")

    with pytest.raises(CommandError, match="chromium is not installed") as caught:
        call_command("bench_label_page", "--tasks", "2")

    assert caught.value.returncode == 1


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_two_tasks_and_a_stroke_give_positive_figures(builtin_sensors):
    # given chromium (skipped without it, failed under EOLABEL_REQUIRE_BROWSER=1) and the small demo archive
    browser_required_or_skip()
    plan = LabelPagePlan(tasks=2, chip_size=64, stroke_chip_size=128, small_archive=True)

    # when two tasks are submitted with Enter and a stroke is drawn across a 128 px chip
    result = bench_label_page_run(plan=plan, say=lambda _: None)

    # then every figure is a positive number, one per task and one per pointer move
    assert len(result.next_ready_ms) == len(result.next_imagery_ms) == 2
    assert all(
        0 < ready <= shown < 30_000
        for ready, shown in zip(result.next_ready_ms, result.next_imagery_ms, strict=True)
    )
    assert len(result.move_to_canvas_ms) == bench.STROKE_MOVES
    assert all(0 < ms < 5_000 for ms in result.move_to_canvas_ms)
    assert result.frame_ms and all(ms > 0 for ms in result.frame_ms)
    assert result.stroke_ms >= max(result.move_to_canvas_ms) and result.long_task_max_ms >= 0


def test_screenshots_only_without_a_folder_exits_1():
    with pytest.raises(CommandError, match="--screenshots-only needs --screenshots DIR") as caught:
        call_command("bench_label_page", "--screenshots-only")

    assert caught.value.returncode == 1


def test_strokes_follow_the_longest_runs_of_a_class_a_brush_apart():
    # given a mask with class 1 on rows 10-29, columns 5-44, and a longer run of it on row 12 only
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[10:30, 5:45] = 1
    mask[12, 5:60] = 1

    # when two strokes of class 1 are planned with a 3 px margin
    strokes = class_strokes(mask, value=1, count=2, margin=3)

    # then the first runs along row 12 and the second along the first row more than 6 rows away, inside runs
    assert strokes == (((8.5, 12.5), (56.5, 12.5)), ((8.5, 19.5), (41.5, 19.5)))
    assert class_strokes(mask, value=2) == ()


def test_boxes_picked_are_typical_whole_and_apart():
    # given three cars, a bus, a car touching one of them and a car cut by the chip's edge
    boxes = np.array(
        [
            [10, 10, 18, 14],
            [40, 10, 48, 14],
            [10, 40, 18, 44],
            [60, 60, 90, 66],
            [19, 10, 27, 14],
            [0, 5, 8, 9],
        ],
        dtype=np.float32,
    )

    # when up to three are picked, 4 px apart, on a 128 px chip
    picked = boxes_pick(boxes, width=128, height=128, count=3, gap=4.0)

    # then the three separate whole cars are
    assert picked == ((10.0, 10.0, 18.0, 14.0), (40.0, 10.0, 48.0, 14.0), (10.0, 40.0, 18.0, 44.0))
