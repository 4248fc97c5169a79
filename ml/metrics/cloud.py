"""Cloud-mask metrics: a confusion matrix accumulated over chips, per-class scores, the binary
cloud / not-cloud scores users compare with MAJA or Fmask, and a comparison raster.

Conventions
-----------
- Rows of the confusion matrix are the **reference** class, columns the **prediction**.
- Pixels equal to ``ignore_index`` (255 by default) in either array, or False in ``valid``,
  are not counted.
- Undefined ratios (0 / 0) never raise: they are ``zero_division`` (NaN by default). Precision is
  undefined when the class is never predicted, recall when the reference never has it. F-beta and
  IoU are computed from counts, ``(1 + b^2) TP / ((1 + b^2) TP + b^2 FN + FP)`` and
  ``TP / (TP + FP + FN)``, so they are 0 (not undefined) as soon as either side has the class, and
  undefined only when neither has it (an empty reference and an empty prediction). Omission is
  ``1 - recall`` and commission (over-detection) ``1 - precision``; both inherit NaN from their
  ratio. Pass ``zero_division=1.0`` to count "nothing to find, nothing found" as perfect.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ml.errors import ConfigError, DataError, ShapeError

NODATA = 255
"""Value of ignored / nodata pixels in masks and in the comparison raster."""

CLEAR_AGREED, CLOUD_AGREED, OMISSION, OVER_DETECTION = 0, 1, 2, 3

COMPARISON_LABELS: dict[int, str] = {
    CLEAR_AGREED: "clear, agreed",
    CLOUD_AGREED: "cloud, agreed",
    OMISSION: "omission (reference cloud, model clear)",
    OVER_DETECTION: "over-detection (model cloud, reference clear)",
    NODATA: "nodata",
}

COMPARISON_COLORMAP: dict[int, tuple[int, int, int, int]] = {
    CLEAR_AGREED: (0, 0, 0, 0),  # transparent: the scene shows through where both say clear
    CLOUD_AGREED: (240, 240, 240, 200),
    OMISSION: (213, 94, 0, 255),  # Okabe-Ito vermillion
    OVER_DETECTION: (0, 114, 178, 255),  # Okabe-Ito blue
    NODATA: (0, 0, 0, 0),
}
"""RGBA colour table for :func:`comparison_raster`, in the form ``rasterio``'s ``write_colormap`` takes."""


class ConfusionMatrix:
    """Pixel confusion matrix of ``num_classes`` classes, accumulable chip by chip.

    ``matrix[r, p]`` counts pixels whose reference class is ``r`` and predicted class is ``p``.
    """

    def __init__(self, num_classes: int) -> None:
        if num_classes < 1:
            raise ConfigError(f"num_classes must be >= 1, got {num_classes}")
        self.num_classes = num_classes
        self.matrix = np.zeros((num_classes, num_classes), dtype=np.int64)

    def update(
        self,
        pred: np.ndarray,
        ref: np.ndarray,
        *,
        ignore_index: int | None = NODATA,
        valid: np.ndarray | None = None,
    ) -> ConfusionMatrix:
        """Add the pixels of one chunk (any shape, same for both); returns ``self``.

        Raises ``ShapeError`` for shapes that differ and ``DataError`` for class values outside ``[0, num_classes)``
        that are not ``ignore_index``.
        """
        pred = np.asarray(pred)
        ref = np.asarray(ref)
        if pred.shape != ref.shape:
            raise ShapeError(f"pred shape {pred.shape} != ref shape {ref.shape}")
        keep = np.ones(pred.shape, dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
        if ignore_index is not None:
            keep = keep & (pred != ignore_index) & (ref != ignore_index)
        p = pred[keep].astype(np.int64)
        r = ref[keep].astype(np.int64)
        k = self.num_classes
        if p.size and (p.min() < 0 or p.max() >= k or r.min() < 0 or r.max() >= k):
            raise DataError(f"class values must lie in [0, {k}) or equal ignore_index")
        self.matrix += np.bincount(r * k + p, minlength=k * k).reshape(k, k)
        return self

    def __add__(self, other: ConfusionMatrix) -> ConfusionMatrix:
        if other.num_classes != self.num_classes:
            raise ShapeError("cannot add confusion matrices of different sizes")
        out = ConfusionMatrix(self.num_classes)
        out.matrix = self.matrix + other.matrix
        return out

    @property
    def total(self) -> int:
        """Number of pixels counted."""
        return int(self.matrix.sum())

    def merged(self, groups: Sequence[Sequence[int]]) -> ConfusionMatrix:
        """A smaller matrix whose class ``i`` is the union of the original classes ``groups[i]``.

        Every original class must be in exactly one group.
        """
        flat = sorted(c for g in groups for c in g)
        if flat != list(range(self.num_classes)):
            raise ConfigError("groups must partition the classes exactly once")
        lookup = np.empty(self.num_classes, dtype=np.int64)
        for i, group in enumerate(groups):
            lookup[list(group)] = i
        out = ConfusionMatrix(len(groups))
        np.add.at(out.matrix, (lookup[:, None], lookup[None, :]), self.matrix)
        return out

    def binary(self, positive: Sequence[int]) -> ConfusionMatrix:
        """2x2 matrix: class 0 = every class not in ``positive``, class 1 = the ``positive`` classes."""
        pos = sorted(set(positive))
        neg = [c for c in range(self.num_classes) if c not in pos]
        return self.merged([neg, pos])

    def scores(self, *, beta: float = 2.0, zero_division: float = float("nan")) -> ClassScores:
        """Per-class scores; see the module docstring for undefined cases."""
        return class_scores(self.matrix, beta=beta, zero_division=zero_division)


@dataclass(frozen=True)
class ClassScores:
    """Per-class scores, each an array of shape (K,); ``fbeta`` uses ``beta`` (2 by default)."""

    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    fbeta: np.ndarray
    iou: np.ndarray
    omission: np.ndarray
    commission: np.ndarray
    support: np.ndarray
    beta: float

    def row(self, k: int) -> dict[str, float]:
        """Scores of class ``k`` as plain floats (for CSV rows and JSON)."""
        return {
            "precision": float(self.precision[k]),
            "recall": float(self.recall[k]),
            "f1": float(self.f1[k]),
            f"f{self.beta:g}": float(self.fbeta[k]),
            "iou": float(self.iou[k]),
            "omission": float(self.omission[k]),
            "commission": float(self.commission[k]),
            "support": int(self.support[k]),
        }


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    num = num.astype(np.float64)
    den = den.astype(np.float64)
    out = np.full(num.shape, zero_division, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def class_scores(
    matrix: np.ndarray, *, beta: float = 2.0, zero_division: float = float("nan")
) -> ClassScores:
    """Precision, recall, F1, F-beta, IoU, omission and commission rates per class of ``matrix``."""
    m = np.asarray(matrix, dtype=np.int64)
    tp = np.diag(m)
    fn = m.sum(axis=1) - tp  # reference has it, prediction does not
    fp = m.sum(axis=0) - tp  # prediction has it, reference does not
    b2 = beta * beta
    precision = _ratio(tp, tp + fp, zero_division)
    recall = _ratio(tp, tp + fn, zero_division)
    return ClassScores(
        precision=precision,
        recall=recall,
        f1=_ratio(2 * tp, 2 * tp + fn + fp, zero_division),
        fbeta=_ratio((1 + b2) * tp, (1 + b2) * tp + b2 * fn + fp, zero_division),
        iou=_ratio(tp, tp + fp + fn, zero_division),
        omission=1.0 - recall,  # NaN stays NaN; zero_division=1 gives 0
        commission=1.0 - precision,
        support=tp + fn,
        beta=beta,
    )


def binary_cloud_scores(
    pred: np.ndarray,
    ref: np.ndarray,
    *,
    cloud_classes: Sequence[int] = (1, 2),
    ignore_index: int | None = NODATA,
    valid: np.ndarray | None = None,
    beta: float = 2.0,
    zero_division: float = float("nan"),
) -> dict[str, float]:
    """Scores of the cloud class after merging ``cloud_classes`` (thick + thin by default) into
    "cloud" and every other class into "not cloud"; keys as :meth:`ClassScores.row`."""
    keep = np.ones(np.shape(pred), dtype=bool) if valid is None else np.asarray(valid, dtype=bool)
    if ignore_index is not None:
        keep = keep & (pred != ignore_index) & (ref != ignore_index)
    cloud = np.asarray(cloud_classes)
    cm = ConfusionMatrix(2).update(
        np.isin(pred, cloud).astype(np.uint8), np.isin(ref, cloud).astype(np.uint8), valid=keep
    )
    return cm.scores(beta=beta, zero_division=zero_division).row(1)


def comparison_raster(
    pred_cloud: np.ndarray, ref_cloud: np.ndarray, *, valid: np.ndarray | None = None
) -> np.ndarray:
    """uint8 raster: 0 clear agreed, 1 cloud agreed, 2 omission (reference cloud, model clear),
    3 over-detection (model cloud, reference clear), 255 where ``valid`` is False.

    ``pred_cloud`` and ``ref_cloud`` are boolean arrays of one shape; colours in :data:`COMPARISON_COLORMAP`.
    """
    pred = np.asarray(pred_cloud, dtype=bool)
    ref = np.asarray(ref_cloud, dtype=bool)
    if pred.shape != ref.shape:
        raise ShapeError(f"pred shape {pred.shape} != ref shape {ref.shape}")
    out = np.full(pred.shape, CLEAR_AGREED, dtype=np.uint8)
    out[pred & ref] = CLOUD_AGREED
    out[ref & ~pred] = OMISSION
    out[pred & ~ref] = OVER_DETECTION
    if valid is not None:
        out[~np.asarray(valid, dtype=bool)] = NODATA
    return out
