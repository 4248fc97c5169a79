"""The active-learning loop with a ground-truth oracle.

For each (strategy, seed): label ``initial`` chips of the pool, then ``rounds`` times: train a fresh
model on the labelled chips, evaluate it on the held-out test chips, score the unlabelled pool,
label the selected ``batch``. A last training and evaluation follows the last batch, so a run has
``rounds + 1`` evaluated points. Every strategy starts from the same initial chips for a given
seed, and the model of round ``r`` is initialised and trained with the same seed whatever the
strategy, so curves differ only by what was labelled.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ml import inference
from ml.data import ChipDataset
from ml.errors import ConfigError
from ml.metrics import ChipDetections, ConfusionMatrix, average_precision, count_errors, precision_recall_at
from ml.models import UNet, VehicleNet
from ml.simulate.data import SimData
from ml.strategies import (
    PoolChip,
    cold_start,
    collect,
    k_center_greedy,
    random_batch,
    ranked_batch,
    score_pool,
    top_k,
)
from ml.strategies.pool import band_statistics
from ml.training import train

STRATEGIES = ("random", "entropy", "margin", "least-confidence", "bald", "ranked-batch", "coreset", "peaks")
_UNCERTAINTY = {"cloud": "entropy", "vehicles": "peaks"}  # what ranked-batch weighs against diversity
METRIC = {"cloud": "f2", "vehicles": "ap50"}
VEHICLE_STRIDE = 2

Log = Callable[[str], None]


@dataclass(frozen=True)
class SimConfig:
    """Knobs of one simulation; defaults fit a 2-core laptop in minutes."""

    task: str = "cloud"
    strategies: tuple[str, ...] = ("random", "entropy")
    seeds: int = 1
    initial: int = 8
    batch: int = 8
    rounds: int = 4
    width: int = 8
    depth: int = 2
    steps: int = 120  # optimisation steps per training, whatever the labelled set's size
    batch_size: int = 8
    lr: float = 3e-3
    mc_samples: int = 6
    dropout_kind: str = "element"  # MC dropout: "element" (Dropout) or "channel" (Dropout2d)
    aggregation: str | None = None  # None: "mean" for clouds, "top" for vehicles
    ranked_candidates: int = 0  # 0: ranked batch over the whole pool (modAL as is)
    pool_sample: int = 0  # 0: score the whole unlabelled pool each round
    chunk_size: int = 64
    initial_selection: str = "random"  # or "diverse": cold start on band statistics
    workers: int = 1
    threads: int = 1

    def check(self) -> None:
        if self.task not in METRIC:
            raise ConfigError(f"task must be 'cloud' or 'vehicles', got {self.task!r}")
        unknown = [s for s in self.strategies if s not in STRATEGIES]
        if unknown:
            raise ConfigError(f"unknown strategies {unknown}; use {', '.join(STRATEGIES)}")
        if min(self.initial, self.batch, self.seeds, self.steps) < 1 or self.rounds < 0:
            raise ConfigError("initial, batch, seeds and steps must be >= 1 and rounds >= 0")
        if "bald" in self.strategies and self.mc_samples < 2:
            raise ConfigError("bald needs --mc-samples >= 2")


def _model(data: SimData, config: SimConfig, seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    channels = data.images.shape[1]
    if data.task == "cloud":
        return UNet(
            channels,
            data.num_classes,
            depth=config.depth,
            width=config.width,
            dropout=0.2,
            dropout_kind=config.dropout_kind,
        )
    return VehicleNet(
        channels,
        1,
        depth=config.depth,
        width=config.width,
        dropout=0.2,
        stride=VEHICLE_STRIDE,
        dropout_kind=config.dropout_kind,
    )


def train_model(data: SimData, labelled: np.ndarray, *, config: SimConfig, seed: int) -> torch.nn.Module:
    """A fresh model trained for about ``config.steps`` steps on the ``labelled`` chips."""
    model = _model(data, config, seed)
    images = [data.images[i] for i in labelled]
    if data.task == "cloud":
        assert data.masks is not None
        dataset = ChipDataset(images, [data.masks[i] for i in labelled], augment=True, seed=seed)
        task = "segmentation"
    else:
        assert data.boxes is not None
        dataset = ChipDataset(images, boxes=[data.boxes[i] for i in labelled], augment=True, seed=seed)
        task = "detection"
    per_epoch = max(1, -(-len(labelled) // config.batch_size))
    epochs = max(1, round(config.steps / per_epoch))
    train(
        model,
        dataset,
        task=task,
        epochs=epochs,
        seed=seed,
        batch_size=config.batch_size,
        lr=config.lr,
        num_threads=config.threads,
    )
    return model


def evaluate(model: torch.nn.Module, data: SimData, test: np.ndarray, *, chunk: int = 64) -> dict[str, float]:
    """Cloud: binary cloud scores (F2 first); vehicles: AP50, P/R at 0.3 and count errors."""
    if data.task == "cloud":
        assert data.masks is not None
        cm = ConfusionMatrix(data.num_classes)
        for start in range(0, len(test), chunk):
            idx = test[start : start + chunk]
            pred = inference.predict_mask(model, data.images[idx], batch_size=16)
            cm.update(pred, data.masks[idx], valid=data.valid[idx])
        row = cm.binary(data.cloud_classes).scores(beta=2.0).row(1)
        return {k: row[k] for k in ("f2", "f1", "precision", "recall", "iou", "omission", "commission")}
    assert data.boxes is not None
    chips = []
    for start in range(0, len(test), chunk):
        idx = test[start : start + chunk]
        dets = inference.detect(model, data.images[idx], threshold=0.05, batch_size=16)
        chips += [ChipDetections(d.boxes, d.scores, data.boxes[i]) for d, i in zip(dets, idx, strict=True)]
    pr = precision_recall_at(chips, score_threshold=0.3)
    counts = count_errors([int((c.scores >= 0.3).sum()) for c in chips], [len(c.gt_boxes) for c in chips])
    return {
        "ap50": average_precision(chips, iou_threshold=0.5),
        "precision": pr.precision,
        "recall": pr.recall,
        "count_mae": counts.mae,
    }


def _pool_chips(data: SimData, idx: np.ndarray) -> Iterator[PoolChip]:
    for i in idx:
        yield PoolChip(int(i), data.images[i], data.valid[i])


def select(
    strategy: str,
    model: torch.nn.Module,
    data: SimData,
    *,
    unlabelled: np.ndarray,
    labelled: np.ndarray,
    config: SimConfig,
    seed: int,
) -> np.ndarray:
    """Chip indices (into ``data``) of the next batch, best first."""
    k = min(config.batch, len(unlabelled))
    if strategy == "random":
        return unlabelled[random_batch(len(unlabelled), k=k, seed=seed)]
    candidates = unlabelled
    if config.pool_sample and len(unlabelled) > config.pool_sample:
        candidates = np.sort(unlabelled[random_batch(len(unlabelled), k=config.pool_sample, seed=seed + 1)])
    diversity = strategy in ("ranked-batch", "coreset")
    measure = _UNCERTAINTY[data.task] if diversity else strategy
    scored = collect(
        score_pool(
            _pool_chips(data, candidates),
            model,
            strategy=measure,
            task=data.task,
            chunk_size=config.chunk_size,
            mc_samples=config.mc_samples if strategy == "bald" else 0,
            aggregation=config.aggregation,
            embeddings=diversity,
            seed=seed,
        )
    )
    if not diversity:
        return candidates[top_k(scored.scores, k=k)]
    known = inference.embed(model, data.images[labelled], batch_size=16)
    if strategy == "coreset":
        return candidates[k_center_greedy(scored.embeddings, k=k, labelled=known)]
    limit = config.ranked_candidates or None
    return candidates[ranked_batch(scored.embeddings, scored.scores, labelled=known, k=k, candidates=limit)]


def initial_set(data: SimData, pool: np.ndarray, *, config: SimConfig, seed: int) -> np.ndarray:
    """The first labelled chips: seeded random, or a diverse cold start on band statistics."""
    k = min(config.initial, len(pool))
    if config.initial_selection == "diverse":
        return pool[cold_start(band_statistics(data.images[pool], valid=data.valid[pool]), k=k)]
    return pool[random_batch(len(pool), k=k, seed=seed)]


def run_strategy(
    data: SimData,
    pool: np.ndarray,
    test: np.ndarray,
    *,
    strategy: str,
    seed: int,
    config: SimConfig,
    log: Log,
) -> list[dict[str, object]]:
    """One learning curve: ``rounds + 1`` rows (see :func:`simulate` for the columns)."""
    torch.set_num_threads(config.threads)
    added = initial_set(data, pool, config=config, seed=seed)
    labelled = np.zeros(0, dtype=np.int64)
    rows: list[dict[str, object]] = []
    for rnd in range(config.rounds + 1):
        labelled = np.concatenate([labelled, added])
        t0 = time.monotonic()
        model = train_model(data, labelled, config=config, seed=seed * 1000 + rnd)
        t1 = time.monotonic()
        scores = evaluate(model, data, test)
        t2 = time.monotonic()
        row: dict[str, object] = {
            "task": data.task,
            "strategy": strategy,
            "seed": seed,
            "round": rnd,
            "n_labelled": len(labelled),
            **scores,
            "added": ";".join(data.chip_ids[i] for i in added),
            "train_s": round(t1 - t0, 2),
            "eval_s": round(t2 - t1, 2),
        }
        metric = METRIC[data.task]
        log(f"[{strategy} seed {seed}] round {rnd} n={len(labelled)} {metric}={scores[metric]:.4f}")
        unlabelled = np.setdiff1d(pool, labelled)
        if rnd < config.rounds and len(unlabelled):
            added = select(
                strategy,
                model,
                data,
                unlabelled=unlabelled,
                labelled=labelled,
                config=config,
                seed=seed * 1000 + rnd,
            )
        elif rnd < config.rounds:
            log(f"[{strategy} seed {seed}] the pool is exhausted after round {rnd}")
            rows.append({**row, "select_s": 0.0})
            break
        row["select_s"] = round(time.monotonic() - t2, 2)
        rows.append(row)
    return rows


_SHARED: dict[str, object] = {}


def _job(args: tuple[str, int]) -> list[dict[str, object]]:
    strategy, seed = args
    data, pool, test, config = (_SHARED[k] for k in ("data", "pool", "test", "config"))
    return run_strategy(data, pool, test, strategy=strategy, seed=seed, config=config, log=_print)  # type: ignore[arg-type]


def _print(message: str) -> None:
    print(message, flush=True)


def simulate(
    data: SimData, pool: np.ndarray, test: np.ndarray, *, config: SimConfig, log: Log = _print
) -> list[dict[str, object]]:
    """All strategies x seeds; rows ``task, strategy, seed, round, n_labelled, <metrics>, added,
    train_s, eval_s, select_s``. With ``workers`` > 1 the runs go to forked processes (one torch
    thread each); results do not depend on the number of workers."""
    config.check()
    jobs = [(s, seed) for seed in range(config.seeds) for s in config.strategies]
    log(f"simulate: {len(jobs)} runs, pool {len(pool)} chips, test {len(test)} chips, {asdict(config)}")
    if config.workers <= 1:
        results = [
            run_strategy(data, pool, test, strategy=s, seed=seed, config=config, log=log) for s, seed in jobs
        ]
    else:
        _SHARED.update(data=data, pool=pool, test=test, config=config)
        context = multiprocessing.get_context("fork")
        with context.Pool(config.workers) as workers:
            results = workers.map(_job, jobs, chunksize=1)
        _SHARED.clear()
    return [row for rows in results for row in rows]
