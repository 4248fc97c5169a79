"""Vehicle-detection metrics: AP at an IoU threshold (COCO-style), precision/recall at a score
threshold, and count errors per chip or per area.

Conventions
-----------
- Boxes are ``(M, 4)`` float arrays ``x0, y0, x1, y1`` in pixels (x1 > x0, y1 > y0); one class
  (class-agnostic: vehicles are one class in eolabel).
- Matching is COCO's greedy rule: predictions in descending score order (stable for ties), each
  takes the still unmatched ground-truth box of highest IoU if that IoU is >= the threshold,
  otherwise it is a false positive.
- AP is the area under the interpolated precision-recall curve sampled at 101 recall points
  0, 0.01, ..., 1 (COCO): precision is first made non-increasing in recall (the envelope), then read
  at the first point whose recall reaches each sample; samples beyond the maximum recall count 0.
  Detections of all chips are pooled before sorting, as COCO does per category.
- With no ground-truth box at all, recall and AP are undefined: NaN (COCO writes -1). With ground
  truth but no prediction (or only false positives), AP is 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.errors import ShapeError

RECALL_POINTS = np.linspace(0.0, 1.0, 101)


def _boxes(a: np.ndarray | Sequence) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64).reshape(-1, 4)
    return arr


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of every box in ``a`` (M, 4) with every box in ``b`` (N, 4): (M, N); empty boxes give 0."""
    a, b = _boxes(a), _boxes(b)
    area_a = np.clip(a[:, 2] - a[:, 0], 0, None) * np.clip(a[:, 3] - a[:, 1], 0, None)
    area_b = np.clip(b[:, 2] - b[:, 0], 0, None) * np.clip(b[:, 3] - b[:, 1], 0, None)
    w = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    h = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = w * h
    union = area_a[:, None] + area_b[None, :] - inter
    out = np.zeros_like(inter)
    np.divide(inter, union, out=out, where=union > 0)
    return out


def match_detections(
    boxes: np.ndarray, scores: np.ndarray, gt_boxes: np.ndarray, *, iou_threshold: float = 0.5
) -> np.ndarray:
    """Boolean array, one per prediction in the input order: True where it matches a ground-truth box."""
    boxes, gt = _boxes(boxes), _boxes(gt_boxes)
    scores = np.asarray(scores, dtype=np.float64).reshape(-1)
    if len(scores) != len(boxes):
        raise ShapeError(f"{len(boxes)} boxes but {len(scores)} scores")
    is_tp = np.zeros(len(boxes), dtype=bool)
    if len(boxes) == 0 or len(gt) == 0:
        return is_tp
    iou = box_iou(boxes, gt)
    taken = np.zeros(len(gt), dtype=bool)
    for i in np.argsort(-scores, kind="stable"):
        candidates = np.where(taken, -1.0, iou[i])
        j = int(np.argmax(candidates))
        if candidates[j] >= iou_threshold:
            taken[j] = True
            is_tp[i] = True
    return is_tp


@dataclass(frozen=True)
class ChipDetections:
    """Predictions and ground truth of one chip (boxes (M,4) / (G,4), scores (M,))."""

    boxes: np.ndarray
    scores: np.ndarray
    gt_boxes: np.ndarray


def average_precision(chips: Sequence[ChipDetections], *, iou_threshold: float = 0.5) -> float:
    """COCO 101-point AP over all ``chips`` pooled; NaN when there is no ground-truth box."""
    n_gt = sum(len(_boxes(c.gt_boxes)) for c in chips)
    if n_gt == 0:
        return float("nan")
    scores = [np.asarray(c.scores, dtype=np.float64).reshape(-1) for c in chips]
    flags = [
        match_detections(c.boxes, s, c.gt_boxes, iou_threshold=iou_threshold)
        for c, s in zip(chips, scores, strict=True)
    ]
    all_scores = np.concatenate(scores) if scores else np.zeros(0)
    all_tp = np.concatenate(flags) if flags else np.zeros(0, dtype=bool)
    if all_scores.size == 0:
        return 0.0
    order = np.argsort(-all_scores, kind="stable")
    tp = np.cumsum(all_tp[order])
    fp = np.cumsum(~all_tp[order])
    recall = tp / n_gt
    precision = tp / (tp + fp)
    envelope = np.maximum.accumulate(precision[::-1])[::-1]
    idx = np.searchsorted(recall, RECALL_POINTS, side="left")
    sampled = np.where(idx < len(envelope), envelope[np.minimum(idx, len(envelope) - 1)], 0.0)
    return float(sampled.mean())


@dataclass(frozen=True)
class PrecisionRecall:
    """Counts and ratios at one score threshold; ratios are NaN when their denominator is 0."""

    tp: int
    fp: int
    fn: int
    precision: float
    recall: float


def precision_recall_at(
    chips: Sequence[ChipDetections], *, score_threshold: float = 0.5, iou_threshold: float = 0.5
) -> PrecisionRecall:
    """Keep predictions with score >= ``score_threshold``, match greedily, count over all chips."""
    tp = fp = n_gt = 0
    for c in chips:
        scores = np.asarray(c.scores, dtype=np.float64).reshape(-1)
        keep = scores >= score_threshold
        flags = match_detections(_boxes(c.boxes)[keep], scores[keep], c.gt_boxes, iou_threshold=iou_threshold)
        tp += int(flags.sum())
        fp += int((~flags).sum())
        n_gt += len(_boxes(c.gt_boxes))
    precision = tp / (tp + fp) if tp + fp else float("nan")
    recall = tp / n_gt if n_gt else float("nan")
    return PrecisionRecall(tp=tp, fp=fp, fn=n_gt - tp, precision=precision, recall=recall)


@dataclass(frozen=True)
class CountErrors:
    """Count errors over ``n`` units (chips or areas).

    ``mape`` is the mean of ``|pred - true| / true`` over units with ``true > 0`` only (in %, NaN
    if none); ``n_skipped_mape`` says how many units with no true vehicle it left out — their
    error is still in ``mae``.
    """

    n: int
    mae: float
    mape: float
    n_skipped_mape: int
    bias: float


def count_errors(
    pred_counts: Sequence[float] | np.ndarray,
    true_counts: Sequence[float] | np.ndarray,
    *,
    groups: Sequence[object] | np.ndarray | None = None,
) -> CountErrors:
    """MAE, MAPE and mean signed error (pred - true) of vehicle counts.

    Per chip by default; with ``groups`` (one key per chip, e.g. a scene or area id) the counts are
    first summed per group, giving the errors per area. NaN everywhere when there is no unit.
    """
    pred = np.asarray(pred_counts, dtype=np.float64).reshape(-1)
    true = np.asarray(true_counts, dtype=np.float64).reshape(-1)
    if pred.shape != true.shape:
        raise ShapeError(f"{pred.size} predicted counts but {true.size} true counts")
    if groups is not None:
        keys, inverse = np.unique(np.asarray(groups), return_inverse=True)
        pred = np.bincount(inverse.reshape(-1), weights=pred, minlength=len(keys))
        true = np.bincount(inverse.reshape(-1), weights=true, minlength=len(keys))
    if pred.size == 0:
        return CountErrors(n=0, mae=float("nan"), mape=float("nan"), n_skipped_mape=0, bias=float("nan"))
    err = pred - true
    has = true > 0
    mape = float(np.mean(np.abs(err[has]) / true[has]) * 100.0) if has.any() else float("nan")
    return CountErrors(
        n=int(pred.size),
        mae=float(np.mean(np.abs(err))),
        mape=mape,
        n_skipped_mape=int((~has).sum()),
        bias=float(np.mean(err)),
    )


def counts_at_threshold(scores: Sequence[np.ndarray], *, score_threshold: float = 0.5) -> np.ndarray:
    """Number of detections with score >= ``score_threshold`` in each chip (int64 array)."""
    return np.array([int((np.asarray(s) >= score_threshold).sum()) for s in scores], dtype=np.int64)
