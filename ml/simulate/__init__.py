"""Active-learning simulator: proof that choosing what to label pays.

An oracle answers from ground truth; each strategy labels chips round after round and a fresh tiny
model is evaluated on held-out chips (binary cloud F2 for clouds, AP50 for vehicles). Outputs: a CSV
of every round, a learning-curve PNG and a summary: labels each strategy needs to reach 95 % of
random sampling's best mean score, area under the learning curve and final score, mean +- std over
seeds. Run ``python -m ml.simulate --help``.
"""

from ml.simulate.data import SimData, load_cloud_folder, load_vehicle_folder, parse_mask_mapping, split
from ml.simulate.loop import (
    METRIC,
    STRATEGIES,
    SimConfig,
    evaluate,
    run_strategy,
    select,
    simulate,
    train_model,
)
from ml.simulate.report import (
    TARGET_FRACTION,
    Summary,
    area_under_curve,
    curves,
    labels_to_reach,
    plot_learning_curves,
    read_csv,
    summarise,
    write_csv,
    write_summary,
)

__all__ = [
    "METRIC",
    "STRATEGIES",
    "SimConfig",
    "SimData",
    "Summary",
    "TARGET_FRACTION",
    "area_under_curve",
    "curves",
    "evaluate",
    "labels_to_reach",
    "load_cloud_folder",
    "load_vehicle_folder",
    "parse_mask_mapping",
    "plot_learning_curves",
    "read_csv",
    "run_strategy",
    "select",
    "simulate",
    "split",
    "summarise",
    "train_model",
    "write_csv",
    "write_summary",
]
