"""Re-score a project's pool with a model version: ChipScore + Prelabel rows, chunk by chunk, then activate.

Per chunk of chips: read the pixels (rasterio windows), run the model once (MC-dropout samples for BALD), turn
the output into one score per chip with ``ml.strategies.pool``'s pure functions, and keep the most probable
class per pixel (cloud) or the detections (vehicles) as the pre-label. Ranked batch needs the whole pool: chunks
keep embeddings, and the ranks are set once every chunk is scored (inline scoring only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from torch import nn

from eolabel.labelling import codecs
from eolabel.labelling.models import Project, ProjectChip
from eolabel.labelling.services.projects import project_ranking_activate
from eolabel.ranking.models import ChipScore, Prelabel, Strategy
from eolabel.training.models import ScoringChunk, ScoringPass
from eolabel.training.services.datasets import project_task
from eolabel.training.services.pixels import chips_read
from eolabel.training.services.registry import project_registry
from ml import inference
from ml.data.normalization import BandStats
from ml.strategies import ranked_batch
from ml.strategies.pool import cloud_chip_scores, vehicle_chip_scores

Beat = Callable[[float, str], None]
MEASURE = {
    "cloud": {"entropy": "entropy", "margin": "margin", "least-confidence": "least-confidence", "bald": "bald",
              "ranked-batch": "entropy"},
    "vehicles": {"entropy": "entropy", "margin": "peaks", "least-confidence": "peaks", "bald": "bald",
                 "ranked-batch": "peaks"},
}  # fmt: skip


@dataclass
class ChunkScores:
    chip_ids: list[int]
    scores: np.ndarray
    embeddings: np.ndarray


def pool_chip_ids(*, project: Project) -> list[int]:
    """Chips still to label (available or leased), by chip id."""
    return list(
        ProjectChip.objects.filter(project=project)
        .exclude(state=ProjectChip.State.DONE)
        .order_by("chip_id")
        .values_list("chip_id", flat=True)
    )


def _random_score(project_id: int, chip_id: int, version: str) -> float:
    digest = hashlib.sha256(f"random:{project_id}:{chip_id}:{version}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _to_grid(valid: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    h, w = shape
    return valid[:, :: max(1, -(-valid.shape[1] // h)), :: max(1, -(-valid.shape[2] // w))][:, :h, :w]


def chips_score(
    *,
    project: Project,
    model: nn.Module,
    stats: BandStats,
    model_version: str,
    chip_ids: Sequence[int],
    seed: int = 0,
) -> ChunkScores:
    """Score one chunk of chips and write their ChipScore and Prelabel rows (upserts: safe to repeat)."""
    from eolabel.archive.models import Chip

    task = project_task(project)
    chips = list(Chip.objects.filter(pk__in=chip_ids).select_related("scene").order_by("scene_id", "pk"))
    pixels = list(chips_read(chips=chips, size=project.chip_size, stats=stats))
    if not pixels:
        return ChunkScores([], np.zeros(0), np.zeros((0, 0), np.float32))
    images = stats.normalize(np.stack([p.image for p in pixels]))
    valid = np.stack([p.valid for p in pixels])
    strategy = project.strategy
    mc = settings.EOLABEL_MC_SAMPLES if strategy == Strategy.BALD else 0
    measure = MEASURE[task].get(strategy)
    if task == "cloud":
        out = inference.predict_proba(model, images, mc_samples=mc, seed=seed)
        probs = out.mean(axis=0) if mc else out
        scores = cloud_chip_scores(out, strategy=measure, valid=valid) if measure else None
        labels = probs.argmax(axis=1)
        prelabels = [
            {"mask_png": codecs.mask_encode(labels[i, : p.chip.height, : p.chip.width].astype(np.uint8))}
            for i, p in enumerate(pixels)
        ]
    else:
        heat = inference.vehicle_heatmap_proba(model, images, mc_samples=mc, seed=seed)
        grid = _to_grid(valid, heat.shape[-2:])
        scores = vehicle_chip_scores(heat, strategy=measure, valid=grid) if measure else None
        value = min(project.class_values)
        prelabels = [
            {"boxes": _boxes_json(d.boxes, width=p.chip.width, height=p.chip.height, value=value)}
            for d, p in zip(inference.detect(model, images, threshold=0.3), pixels, strict=True)
        ]
    if scores is None:  # the random strategy: a seeded shuffle per version
        scores = np.array([_random_score(project.pk, p.chip.pk, model_version) for p in pixels])
    embeddings = (
        inference.embed(model, images)
        if strategy == Strategy.RANKED_BATCH
        else np.zeros((len(pixels), 0), np.float32)
    )
    ids = [p.chip.pk for p in pixels]
    _write(project, model_version, strategy, ids, scores, prelabels)
    return ChunkScores(ids, np.asarray(scores, dtype=np.float64), embeddings)


def _boxes_json(boxes: np.ndarray, *, width: int, height: int, value: int) -> list[dict]:
    out = []
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        x0, x1 = float(np.clip(x0, 0, width)), float(np.clip(x1, 0, width))
        y0, y1 = float(np.clip(y0, 0, height)), float(np.clip(y1, 0, height))
        if x1 > x0 and y1 > y0:
            out.append(
                {
                    "x0": round(x0, 2),
                    "y0": round(y0, 2),
                    "x1": round(x1, 2),
                    "y1": round(y1, 2),
                    "class": value,
                }
            )
    return out


def _write(project: Project, version: str, strategy: str, ids, scores, prelabels) -> None:
    with transaction.atomic():
        ChipScore.objects.bulk_create(
            [
                ChipScore(
                    project=project, chip_id=c, model_version=version, strategy=strategy, score=float(s)
                )
                for c, s in zip(ids, scores, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["project", "chip", "model_version"],
            update_fields=["score", "strategy", "rank"],
        )
        Prelabel.objects.bulk_create(
            [
                Prelabel(project=project, chip_id=c, model_version=version, **p)
                for c, p in zip(ids, prelabels, strict=True)
            ],
            update_conflicts=True,
            unique_fields=["project", "chip", "model_version"],
            update_fields=["mask_png", "boxes"],
        )


def _ranks_apply(project: Project, version: str, parts: list[ChunkScores]) -> None:
    """Ranked batch: the first K chips in modAL's order get scores above every other chip, in rank order."""
    ids = [c for p in parts for c in p.chip_ids]
    if not ids:
        return
    scores = np.concatenate([p.scores for p in parts])
    embeddings = np.concatenate([p.embeddings for p in parts])
    k = min(len(ids), settings.EOLABEL_RANKED_BATCH_K)
    order = ranked_batch(embeddings, scores, labelled=None, k=k)
    low, high = scores.min(), scores.max()
    unit = (scores - low) / (high - low) if high > low else np.zeros_like(scores)
    final = {ids[i]: (float(unit[i]), None) for i in range(len(ids))}
    for rank, i in enumerate(order, start=1):
        final[ids[int(i)]] = (2.0 - (rank - 1) / k, rank)
    rows = list(ChipScore.objects.filter(project=project, model_version=version, chip_id__in=ids))
    for row in rows:
        row.score, row.rank = final[row.chip_id]
    ChipScore.objects.bulk_update(rows, ["score", "rank"], batch_size=500)


def pool_score(
    *, project: Project, model_version: str, beat: Beat | None = None, chunk_size: int | None = None
) -> int:
    """Score the whole pool with ``model_version`` inline, chunk by chunk; returns how many chips were scored.
    ``beat(fraction, message)`` is called after every chunk (the job's heartbeat). Does not activate."""
    model, meta = project_registry().load(model_version)
    stats = BandStats.from_dict(meta.band_stats)
    ids = pool_chip_ids(project=project)
    size = chunk_size or settings.EOLABEL_SCORE_CHUNK
    parts = []
    for number, start in enumerate(range(0, len(ids), size)):
        part = chips_score(
            project=project, model=model, stats=stats, model_version=model_version,
            chip_ids=ids[start : start + size], seed=number,
        )  # fmt: skip
        if project.strategy == Strategy.RANKED_BATCH:
            parts.append(part)
        if beat is not None:
            beat(
                min(start + size, len(ids)) / max(len(ids), 1),
                f"scored {min(start + size, len(ids))}/{len(ids)} chips",
            )
    if parts:
        _ranks_apply(project, model_version, parts)
    return len(ids)


# --- distributed scoring: a chord-free counter table ---------------------------------------------------------


def scoring_pass_start(*, project: Project, model_version: str, chunk_size: int | None = None) -> ScoringPass:
    """Split the pool into ScoringChunk rows and send one ``training.score_chunk`` task per chunk after commit;
    the chunk that completes the pass activates it."""
    from eolabel.training.tasks import score_chunk_task

    ids = pool_chip_ids(project=project)
    size = chunk_size or settings.EOLABEL_SCORE_CHUNK
    groups = [ids[i : i + size] for i in range(0, len(ids), size)]
    with transaction.atomic():
        scoring_pass = ScoringPass.objects.create(
            project=project, model_version=model_version, chunks_total=len(groups)
        )
        chunks = ScoringChunk.objects.bulk_create(
            [ScoringChunk(scoring_pass=scoring_pass, index=i, chip_ids=g) for i, g in enumerate(groups)]
        )
        for chunk in chunks:
            transaction.on_commit(
                lambda c=chunk: score_chunk_task.delay(project.pk, model_version, c.chip_ids, chunk_id=c.pk)
            )
    return scoring_pass


def score_chunk(
    *, project_id: int, model_version: str, chip_ids: Sequence[int], chunk_id: int | None = None
) -> bool:
    """Score one chunk; with ``chunk_id``, tick it off and activate its pass when it was the last one.
    Returns True when this call activated the pass. A repeated delivery rewrites the same rows and ticks nothing."""
    project = Project.objects.get(pk=project_id)
    model, meta = project_registry().load(model_version)
    chips_score(
        project=project, model=model, stats=BandStats.from_dict(meta.band_stats), model_version=model_version,
        chip_ids=chip_ids, seed=chunk_id or 0,
    )  # fmt: skip
    if chunk_id is None:
        return False
    chunk = ScoringChunk.objects.select_related("scoring_pass").get(pk=chunk_id)
    ScoringChunk.objects.filter(pk=chunk_id, done=False).update(done=True)
    if ScoringChunk.objects.filter(scoring_pass_id=chunk.scoring_pass_id, done=False).exists():
        return False
    with transaction.atomic():
        if not ScoringPass.objects.filter(pk=chunk.scoring_pass_id, activated=False).update(
            activated=True, finished=timezone.now()
        ):
            return False
        project_ranking_activate(project=project, model_version=model_version)
    return True
