"""Query strategies as pure functions: a per-pixel measure on probabilities (``measures``, ``bald``),
an aggregation pixels -> chip (``aggregate``), a batch selection (``selection``), and the chunked
pool scorer that feeds them from a model (``pool``, the only module here that touches torch, lazily).
"""

from ml.strategies.aggregate import (
    aggregate,
    local_peaks,
    mean_score,
    peak_uncertainty_score,
    top_fraction_score,
)
from ml.strategies.bald import expected_entropy, mutual_information, predictive_entropy
from ml.strategies.measures import MEASURES, binary_entropy, entropy, least_confidence, margin, two_class
from ml.strategies.pool import PoolChip, PoolScores, ScoredChip, band_statistics, collect, score_pool, unbatch
from ml.strategies.selection import (
    cold_start,
    k_center_greedy,
    nearest_to_mean,
    random_batch,
    ranked_batch,
    standardise,
    top_k,
)

__all__ = [
    "PoolChip",
    "PoolScores",
    "ScoredChip",
    "band_statistics",
    "collect",
    "score_pool",
    "MEASURES",
    "aggregate",
    "binary_entropy",
    "cold_start",
    "entropy",
    "expected_entropy",
    "k_center_greedy",
    "least_confidence",
    "local_peaks",
    "margin",
    "mean_score",
    "mutual_information",
    "nearest_to_mean",
    "peak_uncertainty_score",
    "predictive_entropy",
    "random_batch",
    "ranked_batch",
    "standardise",
    "top_fraction_score",
    "top_k",
    "two_class",
    "unbatch",
]
