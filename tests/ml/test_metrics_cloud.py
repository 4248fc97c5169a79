import math

import numpy as np
import pytest

from ml.metrics import (
    COMPARISON_COLORMAP,
    ConfusionMatrix,
    binary_cloud_scores,
    comparison_raster,
)

# reference / prediction pairs (r, p) kept: (1,1) (1,1) (1,0) (1,2) (0,0) (0,0); two pixels ignored
REF = np.array([[1, 1, 1, 1], [0, 0, 255, 0]], dtype=np.uint8)
PRED = np.array([[1, 1, 0, 2], [0, 0, 1, 255]], dtype=np.uint8)


def test_confusion_matrix_counts_reference_rows_prediction_columns_and_skips_ignored():
    cm = ConfusionMatrix(3).update(PRED, REF)

    assert cm.matrix.tolist() == [[2, 0, 0], [1, 2, 1], [0, 0, 0]]
    assert cm.total == 6


def test_scores_match_hand_computed_values_per_class():
    s = ConfusionMatrix(3).update(PRED, REF).scores(beta=2.0)

    # class 1: TP 2, FN 2, FP 0
    assert s.precision[1] == 1.0
    assert s.recall[1] == 0.5
    assert s.f1[1] == pytest.approx(2 / 3)
    assert s.fbeta[1] == pytest.approx(10 / 18)  # 5*2 / (5*2 + 4*2 + 0)
    assert s.iou[1] == 0.5
    assert s.omission[1] == 0.5
    assert s.commission[1] == 0.0
    # class 0: TP 2, FN 0, FP 1
    assert s.precision[0] == pytest.approx(2 / 3)
    assert s.fbeta[0] == pytest.approx(10 / 11)
    assert s.commission[0] == pytest.approx(1 / 3)
    assert s.support.tolist() == [2, 4, 0]


def test_class_predicted_but_absent_from_reference_has_zero_precision_and_undefined_recall():
    s = ConfusionMatrix(3).update(PRED, REF).scores()

    assert s.precision[2] == 0.0
    assert math.isnan(s.recall[2])
    assert math.isnan(s.omission[2])
    assert s.commission[2] == 1.0
    assert s.fbeta[2] == 0.0
    assert s.iou[2] == 0.0


def test_empty_reference_and_prediction_give_nan_by_default_and_never_raise():
    clear = np.zeros((4, 4), dtype=np.uint8)

    row = ConfusionMatrix(2).update(clear, clear).scores().row(1)

    for key in ("precision", "recall", "f1", "f2", "iou", "omission", "commission"):
        assert math.isnan(row[key]), key
    assert row["support"] == 0


def test_empty_masks_with_zero_division_one_count_as_perfect():
    clear = np.zeros((4, 4), dtype=np.uint8)

    row = ConfusionMatrix(2).update(clear, clear).scores(zero_division=1.0).row(1)

    assert (row["precision"], row["recall"], row["f2"], row["iou"]) == (1.0, 1.0, 1.0, 1.0)
    assert (row["omission"], row["commission"]) == (0.0, 0.0)


def test_missed_everything_gives_zero_recall_full_omission_and_undefined_precision():
    ref = np.ones((2, 2), dtype=np.uint8)
    pred = np.zeros((2, 2), dtype=np.uint8)

    row = ConfusionMatrix(2).update(pred, ref).scores().row(1)

    assert row["recall"] == 0.0 and row["omission"] == 1.0 and row["f2"] == 0.0
    assert math.isnan(row["precision"])


def test_accumulating_in_chunks_equals_one_update_and_addition():
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 5, size=(3, 16, 16))
    pred = rng.integers(0, 5, size=(3, 16, 16))

    whole = ConfusionMatrix(5).update(pred, ref)
    chunked = ConfusionMatrix(5)
    for i in range(3):
        chunked.update(pred[i], ref[i])
    summed = ConfusionMatrix(5).update(pred[0], ref[0]) + ConfusionMatrix(5).update(pred[1:], ref[1:])

    assert np.array_equal(whole.matrix, chunked.matrix)
    assert np.array_equal(whole.matrix, summed.matrix)


def test_valid_mask_excludes_pixels():
    ref = np.array([1, 1, 0, 0])
    pred = np.array([1, 0, 0, 1])

    cm = ConfusionMatrix(2).update(pred, ref, valid=np.array([True, False, True, False]))

    assert cm.matrix.tolist() == [[1, 0], [0, 1]]


def test_out_of_range_class_raises_value_error():
    with pytest.raises(ValueError):
        ConfusionMatrix(2).update(np.array([0, 3]), np.array([0, 1]))


def test_binary_merge_counts_thick_and_thin_as_cloud():
    # demo classes: 0 clear, 1 thick, 2 thin, 3 shadow, 4 snow
    ref = np.array([1, 2, 2, 0, 3, 4, 1])
    pred = np.array([2, 1, 0, 1, 0, 4, 255])

    row = binary_cloud_scores(pred, ref, cloud_classes=(1, 2))
    merged = ConfusionMatrix(5).update(pred, ref).binary([1, 2])

    # cloud: TP 2 (1->2, 2->1), FN 1 (2->0), FP 1 (0->1); last pixel ignored
    assert merged.matrix.tolist() == [[2, 1], [1, 2]]
    assert row["precision"] == pytest.approx(2 / 3)
    assert row["recall"] == pytest.approx(2 / 3)
    assert row["f2"] == pytest.approx(10 / 15)


def test_merged_requires_a_partition():
    with pytest.raises(ValueError):
        ConfusionMatrix(3).merged([[0], [1]])


def test_comparison_raster_has_four_values_and_nodata():
    pred = np.array([[False, True], [False, True], [True, False]])
    ref = np.array([[False, True], [True, False], [True, True]])
    valid = np.array([[True, True], [True, True], [True, False]])

    out = comparison_raster(pred, ref, valid=valid)

    assert out.dtype == np.uint8
    assert out.tolist() == [[0, 1], [2, 3], [1, 255]]
    assert set(COMPARISON_COLORMAP) == {0, 1, 2, 3, 255}
    assert all(len(rgba) == 4 for rgba in COMPARISON_COLORMAP.values())
