"""Pixel scores -> one score per chip, ignoring nodata / ignored pixels.

A chip with no valid pixel scores 0.0 (there is nothing to label there), never NaN, so that
rankings stay total.
"""

from __future__ import annotations

import numpy as np

from ml.errors import ConfigError


def _flat(pixel_scores: np.ndarray, valid: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(pixel_scores, dtype=np.float64)
    n = s.shape[0]
    v = (
        np.ones(s.shape, dtype=bool)
        if valid is None
        else np.broadcast_to(np.asarray(valid, dtype=bool), s.shape)
    )
    return s.reshape(n, -1), v.reshape(n, -1)


def mean_score(pixel_scores: np.ndarray, *, valid: np.ndarray | None = None) -> np.ndarray:
    """Mean over the valid pixels of each chip: (N, ...) -> (N,)."""
    s, v = _flat(pixel_scores, valid)
    count = v.sum(axis=1)
    total = np.where(v, s, 0.0).sum(axis=1)
    out = np.zeros(len(s))
    np.divide(total, count, out=out, where=count > 0)
    return out


def top_fraction_score(
    pixel_scores: np.ndarray, *, fraction: float = 0.1, valid: np.ndarray | None = None
) -> np.ndarray:
    """Mean of the ``ceil(fraction * n_valid)`` most uncertain valid pixels of each chip (at least one).

    Rewards chips with a compact uncertain region (a cloud edge, thin cirrus) that a plain mean
    over a mostly easy chip would dilute.
    """
    if not 0.0 < fraction <= 1.0:
        raise ConfigError(f"fraction must be in (0, 1], got {fraction}")
    s, v = _flat(pixel_scores, valid)
    ordered = -np.sort(-np.where(v, s, -np.inf), axis=1)  # descending, invalid last
    ordered = np.where(np.isfinite(ordered), ordered, 0.0)
    n_valid = v.sum(axis=1)
    k = np.maximum(1, np.ceil(fraction * n_valid - 1e-9)).astype(np.int64)
    csum = np.cumsum(ordered, axis=1)
    picked = csum[np.arange(len(s)), np.minimum(k, s.shape[1]) - 1] if s.shape[1] else np.zeros(len(s))
    return np.where(n_valid > 0, picked / k, 0.0)


def aggregate(
    pixel_scores: np.ndarray,
    *,
    method: str = "mean",
    fraction: float = 0.1,
    valid: np.ndarray | None = None,
) -> np.ndarray:
    """Dispatch by name: ``"mean"`` or ``"top"`` (mean of the top ``fraction``)."""
    if method == "mean":
        return mean_score(pixel_scores, valid=valid)
    if method == "top":
        return top_fraction_score(pixel_scores, fraction=fraction, valid=valid)
    raise ConfigError(f"unknown aggregation {method!r}; use 'mean' or 'top'")


def local_peaks(heatmap: np.ndarray, *, min_score: float = 0.05) -> np.ndarray:
    """Boolean (N, H, W): pixels that are the maximum of their 3x3 neighbourhood and >= ``min_score``."""
    h = np.asarray(heatmap, dtype=np.float64)
    padded = np.pad(h, ((0, 0), (1, 1), (1, 1)), constant_values=-np.inf)
    height, width = h.shape[1:]
    neighbourhood = np.max(
        np.stack([padded[:, dy : dy + height, dx : dx + width] for dy in range(3) for dx in range(3)]),
        axis=0,
    )
    return (h >= neighbourhood) & (h >= min_score)


def peak_uncertainty_score(
    heatmap: np.ndarray, *, min_score: float = 0.05, valid: np.ndarray | None = None
) -> np.ndarray:
    """Chip uncertainty of a vehicle detector: mean of ``2 * min(s, 1 - s)`` over candidate peaks.

    ``heatmap`` is the centre-heatmap probability (N, H, W) (or (N, 1, H, W)). Candidate peaks are
    3x3 local maxima with ``s >= min_score``: the places where the decoder might or might not put
    a box. A peak at 0.5 counts 1 (a coin toss), at 0.05 or 0.95 it counts 0.1. The mean (not the
    sum) keeps busy parking lots from always outranking chips with one ambiguous car; a chip with
    no candidate peak scores 0.
    """
    h = np.asarray(heatmap, dtype=np.float64)
    if h.ndim == 4:
        h = h[:, 0]
    peaks = local_peaks(h, min_score=min_score)
    if valid is not None:
        peaks &= np.broadcast_to(np.asarray(valid, dtype=bool).reshape(h.shape), h.shape)
    u = 2.0 * np.minimum(h, 1.0 - h)
    return mean_score(u, valid=peaks)
