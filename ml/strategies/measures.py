"""Per-pixel uncertainty measures on class probabilities, in the spirit of modAL's
``uncertainty.py`` but for probability maps.

Every measure returns "higher = more uncertain" so that any of them can be aggregated and ranked
the same way. ``probs`` has the class axis at ``axis`` (1 for (N, K, H, W) maps); the result drops
that axis: (N, H, W).
"""

from __future__ import annotations

import numpy as np

from ml.errors import ShapeError

_EPS = 1e-12


def least_confidence(probs: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """``1 - max_k p_k``: 0 for a sure pixel, ``1 - 1/K`` for a uniform one."""
    return 1.0 - np.max(probs, axis=axis)


def margin(probs: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """``1 - (p_first - p_second)``: 0 when one class has all the mass, 1 when the top two tie.

    modAL's ``classifier_margin`` returns ``p_first - p_second`` and picks the smallest; this is
    the same order flipped so that larger is more uncertain. Needs K >= 2.
    """
    if probs.shape[axis] < 2:
        raise ShapeError("margin needs at least two classes")
    top2 = -np.partition(-np.asarray(probs), 1, axis=axis)
    first = np.take(top2, 0, axis=axis)
    second = np.take(top2, 1, axis=axis)
    return 1.0 - (first - second)


def entropy(probs: np.ndarray, *, axis: int = 1, normalise: bool = False) -> np.ndarray:
    """Shannon entropy ``-sum_k p_k ln p_k`` (nats); divided by ``ln K`` when ``normalise``."""
    p = np.asarray(probs, dtype=np.float64)
    h = -np.sum(p * np.log(np.clip(p, _EPS, 1.0)), axis=axis)
    h = np.clip(h, 0.0, None)
    if normalise:
        k = p.shape[axis]
        h = h / np.log(k) if k > 1 else np.zeros_like(h)
    return h


def binary_entropy(p: np.ndarray) -> np.ndarray:
    """Entropy (nats) of independent Bernoulli probabilities, e.g. a sigmoid heatmap."""
    q = np.clip(np.asarray(p, dtype=np.float64), _EPS, 1.0 - _EPS)
    return -(q * np.log(q) + (1.0 - q) * np.log(1.0 - q))


def two_class(p: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """Stack a sigmoid probability ``p`` as ``[1 - p, p]`` on a new class axis at ``axis``."""
    p = np.asarray(p)
    return np.stack([1.0 - p, p], axis=axis)


MEASURES = {
    "least-confidence": least_confidence,
    "margin": margin,
    "entropy": entropy,
}
"""Name -> measure on (N, K, H, W) probabilities; the names the CLI and the app use."""
