"""Evaluate a model on labelled chips and decide promotions.

The project's metric: F2 of the cloud class after merging to binary cloud / not cloud (cloud projects;
"nothing to find, nothing found" counts 1), AP50 (vehicle projects; NaN without any ground-truth box).
A candidate is promoted when there is no current model, or when it scores strictly higher than the current
model on the same evaluation set, evaluated now.
"""

from __future__ import annotations

import math

import numpy as np
from torch import nn

from eolabel.training.services.datasets import LabelledChips
from ml import inference
from ml.data.normalization import BandStats
from ml.metrics import ChipDetections, ConfusionMatrix, average_precision, precision_recall_at

METRIC = {"cloud": "f2", "vehicles": "ap50"}
CHUNK = 32
DETECTION_THRESHOLD = 0.05


def model_evaluate(
    model: nn.Module, chips: LabelledChips, *, task: str, stats: BandStats, positive: set[int]
) -> dict[str, float] | None:
    """Scores on ``chips`` (None when there is none). ``positive``: the model's cloud class values."""
    if not len(chips):
        return None
    if task == "cloud":
        cm = ConfusionMatrix(2)
        for start in range(0, len(chips), CHUNK):
            part = slice(start, start + CHUNK)
            pred = inference.predict_mask(model, stats.normalize(np.stack(chips.images[part])))
            cm.update(
                np.isin(pred, sorted(positive)).astype(np.uint8),
                np.stack(chips.masks[part]),
                valid=np.stack(chips.valid[part]),
            )
        row = cm.scores(beta=2.0, zero_division=1.0).row(1)
        return {**row, "pixels": int(cm.total), "chips": len(chips)}
    detections: list[ChipDetections] = []
    for start in range(0, len(chips), CHUNK):
        part = slice(start, start + CHUNK)
        dets = inference.detect(
            model, stats.normalize(np.stack(chips.images[part])), threshold=DETECTION_THRESHOLD
        )
        detections += [
            ChipDetections(d.boxes, d.scores, gt) for d, gt in zip(dets, chips.boxes[part], strict=True)
        ]
    pr = precision_recall_at(detections, score_threshold=0.3)
    return {
        "ap50": float(average_precision(detections, iou_threshold=0.5)),
        "precision": float(pr.precision),
        "recall": float(pr.recall),
        "chips": len(chips),
    }


def primary_metric(metrics: dict[str, dict | None], *, task: str) -> tuple[str, float | None]:
    """The promotion metric: on the annotated validation chips if any, else on the reference chips."""
    name = METRIC[task]
    for source in ("validation", "reference"):
        scores = metrics.get(source)
        if scores is not None and not math.isnan(scores[name]):
            return f"{source}.{name}", float(scores[name])
    return name, None


def candidate_wins(*, candidate: float | None, current: float | None, has_current: bool) -> bool:
    """No current model: always. Otherwise only a strictly higher, defined metric wins."""
    if not has_current:
        return True
    if candidate is None or math.isnan(candidate):
        return False
    return current is None or math.isnan(current) or candidate > current
