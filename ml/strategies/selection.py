"""Batch selection over the unlabelled pool: top-k, seeded random, ranked batch (modAL) and a
diversity-only cold start.

Every function returns ``min(k, N)`` distinct indices into the pool arrays it was given, as a
1-D ``np.int64`` array in rank order (best first).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from modAL.batch import ranked_batch as _modal_ranked_batch
from sklearn.metrics import pairwise_distances_argmin_min

from ml.errors import ShapeError


def _as_indices(idx: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(idx, dtype=np.int64).reshape(-1)


def top_k(scores: np.ndarray, *, k: int) -> np.ndarray:
    """The ``k`` highest scores; ties go to the lower index (deterministic)."""
    s = np.asarray(scores, dtype=np.float64).reshape(-1)
    return _as_indices(np.argsort(-s, kind="stable")[: max(0, k)])


def random_batch(n_pool: int, *, k: int, seed: int) -> np.ndarray:
    """``k`` distinct indices of ``range(n_pool)`` drawn uniformly with ``numpy.random.default_rng(seed)``."""
    rng = np.random.default_rng(seed)
    return _as_indices(rng.permutation(n_pool)[: max(0, min(k, n_pool))])


def standardise(pool: np.ndarray, labelled: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """z-score every embedding dimension over pool and labelled together, then divide by sqrt(D).

    Ranked batch turns distances into similarities with ``1 / (1 + d)``, so the scale of the
    embeddings decides how much diversity weighs against uncertainty; this puts typical distances
    near 1 whatever the encoder's scale. Constant dimensions are left centred, not divided.
    """
    x = np.asarray(pool, dtype=np.float64)
    d = x.shape[1]
    lab = np.zeros((0, d)) if labelled is None else np.asarray(labelled, dtype=np.float64).reshape(-1, d)
    both = np.concatenate([x, lab]) if len(lab) else x
    mean = both.mean(axis=0) if len(both) else np.zeros(d)
    std = both.std(axis=0) if len(both) else np.ones(d)
    std = np.where(std > 1e-12, std, 1.0) * np.sqrt(d)
    return (x - mean) / std, (lab - mean) / std


def _unit_interval(scores: np.ndarray) -> np.ndarray:
    s = np.nan_to_num(np.asarray(scores, dtype=np.float64).reshape(-1), nan=0.0)
    lo, hi = (s.min(), s.max()) if s.size else (0.0, 0.0)
    return (s - lo) / (hi - lo) if hi > lo else np.zeros_like(s)


@dataclass
class _LabelledSet:
    """The two attributes modAL's ``ranked_batch`` reads from a learner."""

    X_training: np.ndarray | None
    on_transformed: bool = False


def nearest_to_mean(embeddings: np.ndarray) -> int:
    """Index of the embedding closest to the pool mean: a cheap, O(N) stand-in for the medoid."""
    x = np.asarray(embeddings, dtype=np.float64)
    return int(np.argmin(((x - x.mean(axis=0)) ** 2).sum(axis=1)))


def ranked_batch(
    embeddings: np.ndarray,
    scores: np.ndarray,
    *,
    labelled: np.ndarray | None,
    k: int,
    candidates: int | None = None,
    metric: str = "euclidean",
) -> np.ndarray:
    """Ranked batch-mode sampling (Cardoso et al. 2017) through ``modAL.batch.ranked_batch``.

    Each pick maximises ``alpha * (1 - 1/(1 + d_min)) + (1 - alpha) * u`` where ``d_min`` is the
    distance to the nearest labelled-or-already-picked chip, ``u`` the uncertainty rescaled to
    [0, 1] and ``alpha = |unlabelled| / (|unlabelled| + |labelled|)`` (modAL's rule: diversity
    dominates while few chips are labelled). Embeddings go through :func:`standardise` first.

    ``candidates`` optionally restricts the pool to the ``candidates`` most uncertain chips first
    (uncertainty pre-filter, then diversity). With no labelled chip the first pick is
    :func:`nearest_to_mean` (modAL would build an N x N distance matrix for its medoid).
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    u = _unit_interval(scores)
    if len(emb) != len(u):
        raise ShapeError(f"{len(emb)} embeddings but {len(u)} scores")
    pool_idx = np.arange(len(emb))
    if candidates is not None and candidates < len(emb):
        pool_idx = top_k(u, k=max(candidates, k))
        emb, u = emb[pool_idx], _unit_interval(u[pool_idx])
    k = min(k, len(emb))
    if k <= 0:
        return _as_indices([])
    x, lab = standardise(emb, labelled)
    picked: list[int] = []
    if len(lab) == 0:
        picked.append(nearest_to_mean(x))
        lab = x[picked]
    if k > len(picked):
        rest = np.setdiff1d(np.arange(len(x)), picked)
        order, _ = _modal_ranked_batch(
            _LabelledSet(X_training=lab),
            unlabeled=x[rest],
            uncertainty_scores=u[rest],
            n_instances=k - len(picked),
            metric=metric,
            n_jobs=None,
        )
        picked.extend(rest[np.asarray(order, dtype=np.int64)].tolist())
    return _as_indices(pool_idx[picked])


def k_center_greedy(embeddings: np.ndarray, *, k: int, labelled: np.ndarray | None = None) -> np.ndarray:
    """Farthest-point (k-centre greedy) selection on standardised embeddings.

    Each pick is the chip farthest from every labelled or already picked chip. With no labelled
    chip it starts at :func:`nearest_to_mean`. This is what ranked batch reduces to when every
    uncertainty is equal, in O(N k) time and O(N) memory.
    """
    x, lab = standardise(embeddings, labelled)
    k = min(k, len(x))
    if k <= 0:
        return _as_indices([])
    picked: list[int] = []
    if len(lab):
        _, d_min = pairwise_distances_argmin_min(x, lab)  # chunked by scikit-learn
    else:
        picked.append(nearest_to_mean(x))
        d_min = np.sqrt(((x - x[picked[0]]) ** 2).sum(axis=1))
    while len(picked) < k:
        d_min[picked] = -np.inf
        i = int(np.argmax(d_min))
        picked.append(i)
        d_min = np.minimum(d_min, np.sqrt(((x - x[i]) ** 2).sum(axis=1)))
    return _as_indices(picked)


def cold_start(embeddings: np.ndarray, *, k: int) -> np.ndarray:
    """First batch when no model exists yet: diversity only, :func:`k_center_greedy` from the centre.

    ``embeddings`` can come from a randomly initialised encoder or from simple band statistics
    (:func:`ml.strategies.pool.band_statistics`).
    """
    return k_center_greedy(embeddings, k=k, labelled=None)
