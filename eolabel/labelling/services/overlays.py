"""View-only overlays of a task's chip: the scene's reference labels and the current model's uncertainty.

Neither ever becomes part of an annotation: the page draws them on their own canvases. The reference is the
scene's mask reference layer (``EOLABEL_EVAL_REFERENCE`` preferred, as evaluation picks it) cut to the chip; the
uncertainty is computed on request from the project's current model version, with ``ml.strategies``' measures,
and kept in a small in-process LRU cache keyed by (model version, chip, measure): registry versions never change.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from django.conf import settings
from torch import nn

from eolabel.archive.models import Chip, ReferenceLayer
from eolabel.labelling.models import Project
from eolabel.ranking.models import Strategy
from eolabel.training.services.datasets import project_task, reference_for
from eolabel.training.services.pixels import chips_read, reference_mask_read
from eolabel.training.services.registry import project_registry
from ml import inference
from ml.data.normalization import BandStats
from ml.strategies import binary_entropy, entropy, mutual_information, two_class

UNCERTAINTY_CACHE_SIZE = 64  # chips; a 512 px chip's map is 256 KiB
MODEL_CACHE_SIZE = 2  # model versions held in memory (the current one, and the one before a promotion)
_inference_lock = threading.Lock()  # MC dropout switches the shared model's modes: one request at a time


@dataclass(frozen=True)
class ReferenceCut:
    """A reference mask cut to a chip: (height, width) uint8 class values, 255 where the reference has none."""

    reference: ReferenceLayer
    values: np.ndarray


@dataclass(frozen=True)
class Uncertainty:
    """Per-pixel uncertainty of a chip in [0, 1] as (height, width) uint8 (0 sure .. 255 most unsure)."""

    model_version: str
    measure: str
    values: np.ndarray


def chip_reference_cut(*, chip: Chip) -> ReferenceCut | None:
    """The scene's mask reference cut to the chip, or None when the scene has no mask reference."""
    reference = reference_for(chip.scene_id, ReferenceLayer.Kind.MASK)
    if reference is None:
        return None
    size = max(chip.width, chip.height)
    values = reference_mask_read(reference=reference, chip=chip, size=size)[: chip.height, : chip.width]
    return ReferenceCut(reference=reference, values=np.ascontiguousarray(values))


def uncertainty_measure(*, project: Project) -> str:
    """``bald`` when the project ranks by BALD and MC dropout is configured, else ``entropy``."""
    if project.strategy == Strategy.BALD and settings.EOLABEL_MC_SAMPLES >= 2:
        return "bald"
    return "entropy"


def chip_uncertainty(*, project: Project, chip: Chip, model_version: str) -> Uncertainty:
    """The model version's per-pixel uncertainty over the chip (cached). Registry errors propagate."""
    measure = uncertainty_measure(project=project)
    mc = settings.EOLABEL_MC_SAMPLES if measure == "bald" else 0
    values = _uncertainty_cached(
        str(settings.MODEL_REGISTRY_ROOT),
        model_version,
        chip.pk,
        project.chip_size,
        project_task(project),
        mc,
    )
    return Uncertainty(model_version=model_version, measure=measure, values=values)


def uncertainty_cache_clear() -> None:
    _uncertainty_cached.cache_clear()
    _model_load.cache_clear()


@lru_cache(maxsize=MODEL_CACHE_SIZE)
def _model_load(root: str, model_version: str) -> tuple[nn.Module, BandStats]:
    model, meta = project_registry().load(model_version)
    return model, BandStats.from_dict(meta.band_stats)


@lru_cache(maxsize=UNCERTAINTY_CACHE_SIZE)
def _uncertainty_cached(
    root: str, model_version: str, chip_id: int, size: int, task: str, mc: int
) -> np.ndarray:
    model, stats = _model_load(root, model_version)
    chip = Chip.objects.select_related("scene").get(pk=chip_id)
    pixels = next(chips_read(chips=[chip], size=size, stats=stats))
    images = stats.normalize(pixels.image[None])
    with _inference_lock:
        unit = pixel_uncertainty(model=model, images=images, task=task, mc_samples=mc)[0]
    unit = np.where(pixels.valid, unit, 0.0)[: chip.height, : chip.width]
    values = np.round(np.clip(unit, 0.0, 1.0) * 255).astype(np.uint8)
    values.setflags(write=False)  # shared by every caller of the cache
    return values


def pixel_uncertainty(*, model: nn.Module, images: np.ndarray, task: str, mc_samples: int = 0) -> np.ndarray:
    """Uncertainty (N, H, W) in [0, 1] of normalised images (N, C, H, W): for clouds the softmax entropy over
    ln K (BALD over ln K with MC samples); for vehicles the largest per-class binary entropy (BALD) of the centre
    heat-map over ln 2, spread back from the output grid to input pixels."""
    height, width = images.shape[-2:]
    if task == "cloud":
        out = inference.predict_proba(model, images, mc_samples=mc_samples, seed=0)
        classes = out.shape[-3]
        pixel = mutual_information(out) if mc_samples else entropy(out)
        return pixel / math.log(classes) if classes > 1 else np.zeros_like(pixel)
    heat = inference.vehicle_heatmap_proba(model, images, mc_samples=mc_samples, seed=0)
    if mc_samples:
        grid = mutual_information(two_class(heat, axis=2)).max(axis=1)
    else:
        grid = binary_entropy(heat).max(axis=1)
    grid = grid / math.log(2)
    step_y, step_x = -(-height // grid.shape[1]), -(-width // grid.shape[2])
    return np.repeat(np.repeat(grid, step_y, axis=1), step_x, axis=2)[:, :height, :width]
