import math

import numpy as np
import pytest

from ml.metrics import (
    ChipDetections,
    average_precision,
    box_iou,
    count_errors,
    counts_at_threshold,
    match_detections,
    precision_recall_at,
)

GT = np.array([[0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)


def test_box_iou_of_half_overlapping_boxes_is_one_third():
    iou = box_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10], [50, 50, 60, 60]]))

    assert iou[0, 0] == pytest.approx(50 / 150)
    assert iou[0, 1] == 0.0


def test_matching_is_greedy_by_descending_score():
    # both predictions overlap gt 0; the higher score one takes it even though the other fits better
    boxes = np.array([[0, 0, 10, 10], [1, 0, 11, 10]], dtype=float)
    scores = np.array([0.6, 0.9])

    flags = match_detections(boxes, scores, GT[:1])

    assert flags.tolist() == [False, True]


def test_matching_takes_the_best_unmatched_gt_and_respects_threshold():
    boxes = np.array([[0, 0, 10, 10], [0, 0, 10, 10], [21, 21, 31, 31], [40, 40, 50, 50]], dtype=float)
    scores = np.array([0.9, 0.8, 0.7, 0.6])

    flags = match_detections(boxes, scores, GT, iou_threshold=0.5)

    # duplicate of gt 0 is a false positive; [21,21,31,31] has IoU 81/119 ~ 0.68 with gt 1
    assert flags.tolist() == [True, False, True, False]


def test_ap_is_one_for_perfect_detections():
    chips = [ChipDetections(boxes=GT, scores=np.array([0.9, 0.8]), gt_boxes=GT)]

    assert average_precision(chips) == pytest.approx(1.0)


def test_ap_hand_computed_with_a_false_positive_ranked_first():
    # ranking: FP (0.9), TP (0.8), TP (0.7) over 2 gt boxes
    # precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> envelope 2/3 everywhere -> AP = 2/3
    boxes = np.array([[40, 40, 50, 50], [0, 0, 10, 10], [20, 20, 30, 30]], dtype=float)
    chips = [ChipDetections(boxes=boxes, scores=np.array([0.9, 0.8, 0.7]), gt_boxes=GT)]

    assert average_precision(chips) == pytest.approx(2 / 3)


def test_ap_hand_computed_with_a_miss_pools_chips():
    # chip A: TP 0.9; chip B: FP 0.8, and one gt never found -> recall reaches 1/2 only
    # recall points 0..0.5 (51 of 101) have precision 1, the rest 0 -> AP = 51/101
    a = ChipDetections(boxes=GT[:1], scores=np.array([0.9]), gt_boxes=GT[:1])
    b = ChipDetections(boxes=np.array([[40, 40, 50, 50]]), scores=np.array([0.8]), gt_boxes=GT[1:])

    assert average_precision([a, b]) == pytest.approx(51 / 101)


def test_ap_with_no_predictions_is_zero_and_all_false_positives_is_zero():
    empty = ChipDetections(boxes=np.zeros((0, 4)), scores=np.zeros(0), gt_boxes=GT)
    wrong = ChipDetections(boxes=np.array([[40, 40, 50, 50]]), scores=np.array([0.99]), gt_boxes=GT)

    assert average_precision([empty]) == 0.0
    assert average_precision([wrong]) == 0.0


def test_ap_without_any_ground_truth_is_nan():
    chips = [ChipDetections(boxes=GT, scores=np.array([0.9, 0.8]), gt_boxes=np.zeros((0, 4)))]

    assert math.isnan(average_precision(chips))
    assert math.isnan(average_precision([]))


def test_precision_recall_at_threshold_drops_low_scores():
    boxes = np.array([[0, 0, 10, 10], [40, 40, 50, 50], [20, 20, 30, 30]], dtype=float)
    chips = [ChipDetections(boxes=boxes, scores=np.array([0.9, 0.6, 0.3]), gt_boxes=GT)]

    pr = precision_recall_at(chips, score_threshold=0.5)

    assert (pr.tp, pr.fp, pr.fn) == (1, 1, 1)
    assert pr.precision == 0.5 and pr.recall == 0.5


def test_precision_recall_with_no_vehicles_and_no_predictions_is_nan_not_an_error():
    chips = [ChipDetections(boxes=np.zeros((0, 4)), scores=np.zeros(0), gt_boxes=np.zeros((0, 4)))]

    pr = precision_recall_at(chips)

    assert (pr.tp, pr.fp, pr.fn) == (0, 0, 0)
    assert math.isnan(pr.precision) and math.isnan(pr.recall)


def test_count_errors_per_chip_skip_zero_truth_in_mape_only():
    err = count_errors([3, 1, 2], [4, 2, 0])

    assert err.mae == pytest.approx((1 + 1 + 2) / 3)
    assert err.mape == pytest.approx((25 + 50) / 2)
    assert err.n_skipped_mape == 1
    assert err.bias == pytest.approx((-1 - 1 + 2) / 3)


def test_count_errors_per_area_sum_chips_first():
    err = count_errors([3, 1, 2], [4, 2, 0], groups=["a", "a", "b"])

    # area a: 4 vs 6, area b: 2 vs 0
    assert err.n == 2
    assert err.mae == pytest.approx(2.0)
    assert err.mape == pytest.approx(100 * 2 / 6)


def test_count_errors_all_zero_truth_gives_nan_mape():
    err = count_errors([0, 1], [0, 0])

    assert math.isnan(err.mape) and err.n_skipped_mape == 2 and err.mae == 0.5


def test_counts_at_threshold():
    assert counts_at_threshold([np.array([0.9, 0.4]), np.zeros(0)], score_threshold=0.5).tolist() == [1, 0]
