"""BALD (Houlsby et al. 2011) from Monte-Carlo dropout samples.

``samples`` is (T, N, K, H, W): T stochastic forward passes of softmax probabilities. The mutual
information between the prediction and the model parameters is

    I = H[ mean_t p_t ] - mean_t H[ p_t ]

(entropy of the mean minus mean of the entropies): high where the passes disagree with each other,
not merely where each pass is unsure. Values are in nats, clipped at 0 against rounding.
"""

from __future__ import annotations

import numpy as np

from ml.errors import ShapeError
from ml.strategies.measures import entropy


def predictive_entropy(samples: np.ndarray, *, class_axis: int = 2) -> np.ndarray:
    """Entropy of the mean over the sample axis 0: (T, N, K, H, W) -> (N, H, W)."""
    return entropy(np.mean(samples, axis=0), axis=class_axis - 1)


def expected_entropy(samples: np.ndarray, *, class_axis: int = 2) -> np.ndarray:
    """Mean over samples of each sample's entropy: (T, N, K, H, W) -> (N, H, W)."""
    return np.mean(entropy(samples, axis=class_axis), axis=0)


def mutual_information(
    samples: np.ndarray, *, class_axis: int = 2, valid: np.ndarray | None = None
) -> np.ndarray:
    """Per-pixel BALD score (N, H, W); pixels where ``valid`` is False get 0."""
    s = np.asarray(samples, dtype=np.float64)
    if s.ndim < 3:
        raise ShapeError("samples must have a sample axis, a chip axis and a class axis")
    mi = np.clip(
        predictive_entropy(s, class_axis=class_axis) - expected_entropy(s, class_axis=class_axis), 0.0, None
    )
    if valid is not None:
        mi = np.where(np.asarray(valid, dtype=bool), mi, 0.0)
    return mi
