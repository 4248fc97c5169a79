"""Metrics users compare with their references: cloud masks (F2, omission, over-detection) and
vehicle detections (AP50, counts). Pure numpy."""

from ml.metrics.cloud import (
    COMPARISON_COLORMAP,
    COMPARISON_LABELS,
    NODATA,
    ClassScores,
    ConfusionMatrix,
    binary_cloud_scores,
    class_scores,
    comparison_raster,
)
from ml.metrics.vehicles import (
    ChipDetections,
    CountErrors,
    PrecisionRecall,
    average_precision,
    box_iou,
    count_errors,
    counts_at_threshold,
    match_detections,
    precision_recall_at,
)

__all__ = [
    "COMPARISON_COLORMAP",
    "COMPARISON_LABELS",
    "NODATA",
    "ChipDetections",
    "ClassScores",
    "ConfusionMatrix",
    "CountErrors",
    "PrecisionRecall",
    "average_precision",
    "binary_cloud_scores",
    "box_iou",
    "class_scores",
    "comparison_raster",
    "count_errors",
    "counts_at_threshold",
    "match_detections",
    "precision_recall_at",
]
