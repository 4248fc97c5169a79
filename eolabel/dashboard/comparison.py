"""Comparison maps: a model version's cloud prediction against a reference mask (or against another model
version), in the scene's pixel grid.

The prediction is the version's pre-label masks (ranking.Prelabel) placed in their chip windows; pixels no
pre-label covers are nodata. With ``against_version`` the other version's mosaic plays the reference (so
"omission" reads: that version says cloud, this one clear). Both sides are merged to cloud / not cloud by
class name (``cloud_values``),
then ``ml.metrics.comparison_raster`` gives the four-colour layer and ``ml.metrics.binary_cloud_scores`` the
F2, omission and over-detection (commission) figures, over the pixels both sides cover."""

import io
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
from django.db.models import Count, Q
from django.urls import reverse
from PIL import Image

from eolabel.archive.models import Chip, ReferenceLayer, Scene
from eolabel.archive.paths import archive_resolve
from eolabel.dashboard.errors import NothingToCompare, ReferenceMismatch
from eolabel.labelling.models import Project
from eolabel.ranking.models import Prelabel
from ml.metrics import COMPARISON_COLORMAP, COMPARISON_LABELS, NODATA, binary_cloud_scores, comparison_raster

_LUT = np.zeros((256, 4), dtype=np.uint8)
for _value, _rgba in COMPARISON_COLORMAP.items():
    _LUT[_value] = _rgba


def is_cloud_name(name: str) -> bool:
    """The cloud / not-cloud mapping used everywhere on the dashboard: a class counts as cloud when its name
    contains "cloud" and not "shadow" (so "thick cloud", "thin cloud", "cirrus cloud" are cloud; "cloud
    shadow", "clear", "snow" are not)."""
    lowered = name.lower()
    return "cloud" in lowered and "shadow" not in lowered


def cloud_values(classes: Iterable[tuple[int, str]]) -> frozenset[int]:
    return frozenset(int(value) for value, name in classes if is_cloud_name(str(name)))


def project_cloud_values(project: Project) -> frozenset[int]:
    return cloud_values((c["value"], c["name"]) for c in project.classes)


def reference_cloud_values(reference: ReferenceLayer) -> frozenset[int]:
    return cloud_values((int(value), name) for value, name in (reference.classes or {}).items())


@dataclass(frozen=True)
class Comparison:
    raster: np.ndarray  # uint8, values of ml.metrics.comparison_raster
    scores: dict[str, float]  # binary_cloud_scores' row for the cloud class
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (EPSG:4326)

    def counts(self) -> dict[str, int]:
        found = np.bincount(self.raster.reshape(-1), minlength=256)
        return {COMPARISON_LABELS[v]: int(found[v]) for v in COMPARISON_LABELS}

    def figures(self) -> dict[str, Any]:
        def finite(x: float) -> float | None:
            return None if np.isnan(x) else x

        return {
            "f2": finite(self.scores["f2"]),
            "omission": finite(self.scores["omission"]),
            "over_detection": finite(self.scores["commission"]),
            "precision": finite(self.scores["precision"]),
            "recall": finite(self.scores["recall"]),
            "iou": finite(self.scores["iou"]),
            "pixels": self.scores["support"],
            "counts": self.counts(),
            "bounds": list(self.bounds) if self.bounds else None,
        }


def mask_reference(*, scene: Scene, name: str | None = None) -> ReferenceLayer:
    refs = ReferenceLayer.objects.filter(scene=scene, kind=ReferenceLayer.Kind.MASK).order_by("name")
    reference = refs.filter(name=name).first() if name else refs.first()
    if reference is None:
        raise NothingToCompare("no reference mask for this scene", field="reference")
    return reference


def prediction_mosaic(*, project: Project, scene: Scene, model_version: str) -> np.ndarray:
    """The version's pre-label masks of the scene's chips in one (height, width) uint8 array; NODATA elsewhere."""
    out = np.full((scene.height, scene.width), NODATA, dtype=np.uint8)
    prelabels = Prelabel.objects.filter(
        project=project, model_version=model_version, chip__scene=scene, mask_png__isnull=False
    ).select_related("chip")
    found = False
    for prelabel in prelabels:
        chip = prelabel.chip
        with Image.open(io.BytesIO(bytes(prelabel.mask_png)), formats=["PNG"]) as image:
            mask = np.array(image.convert("L") if image.mode not in ("L", "P") else image, dtype=np.uint8)
        h, w = min(chip.height, mask.shape[0]), min(chip.width, mask.shape[1])
        out[chip.row_off : chip.row_off + h, chip.col_off : chip.col_off + w] = mask[:h, :w]
        found = True
    if not found:
        raise NothingToCompare(f"model version {model_version!r} has no mask pre-label in this scene")
    return out


def reference_array(*, reference: ReferenceLayer, scene: Scene) -> np.ndarray:
    with rasterio.open(archive_resolve(reference.asset_path)) as src:
        data = src.read(1)
        nodata = src.nodata
    if data.shape != (scene.height, scene.width):
        raise ReferenceMismatch(
            f"reference {reference.name} is {data.shape[1]}x{data.shape[0]} px; the scene is "
            f"{scene.width}x{scene.height} px"
        )
    data = data.astype(np.int64)
    if nodata is not None:
        data[data == nodata] = NODATA
    data[(data < 0) | (data > NODATA)] = NODATA
    return data.astype(np.uint8)


def scene_comparison(
    *,
    project: Project,
    scene: Scene,
    model_version: str,
    reference_name: str | None = None,
    against_version: str | None = None,
    chip: Chip | None = None,
) -> Comparison:
    """The comparison of the whole scene, or of one chip's window of it when ``chip`` is given, against the
    scene's reference mask ``reference_name`` (default: the first by name) or, when given, against the
    pre-labels of ``against_version``."""
    pred = prediction_mosaic(project=project, scene=scene, model_version=model_version)
    if against_version:
        ref = prediction_mosaic(project=project, scene=scene, model_version=against_version)
        ref_values = project_cloud_values(project)
    else:
        reference = mask_reference(scene=scene, name=reference_name)
        ref = reference_array(reference=reference, scene=scene)
        ref_values = reference_cloud_values(reference)
    bounds = scene.bounds
    if chip is not None:
        rows = slice(chip.row_off, chip.row_off + chip.height)
        cols = slice(chip.col_off, chip.col_off + chip.width)
        pred, ref = pred[rows, cols], ref[rows, cols]
        bounds = (chip.west, chip.south, chip.east, chip.north) if chip.west is not None else None
    valid = (pred != NODATA) & (ref != NODATA)
    pred_cloud = np.isin(pred, list(project_cloud_values(project)))
    ref_cloud = np.isin(ref, list(ref_values))
    scores = binary_cloud_scores(
        pred_cloud.astype(np.uint8),
        ref_cloud.astype(np.uint8),
        cloud_classes=(1,),
        ignore_index=None,
        valid=valid,
    )
    return Comparison(
        raster=comparison_raster(pred_cloud, ref_cloud, valid=valid), scores=scores, bounds=bounds
    )


def comparison_png(raster: np.ndarray) -> bytes:
    """RGBA PNG of a comparison raster in COMPARISON_COLORMAP's colours (one image pixel per scene pixel)."""
    out = io.BytesIO()
    Image.fromarray(_LUT[raster]).save(out, format="PNG", optimize=True)
    return out.getvalue()


def comparison_options(*, project: Project) -> dict[str, Any]:
    """What can be compared: model versions with mask pre-labels, and the project's scenes that have a reference
    mask or pre-labels of at least two versions (``references`` may then be empty: compare versions)."""
    versions = sorted(
        set(
            Prelabel.objects.filter(project=project, mask_png__isnull=False)
            .values_list("model_version", flat=True)
            .distinct()
        )
    )
    with_versions = {
        scene_id
        for scene_id, n in Prelabel.objects.filter(project=project, mask_png__isnull=False)
        .order_by()
        .values_list("chip__scene_id")
        .annotate(n=Count("model_version", distinct=True))
        if n >= 2
    }
    scenes = []
    comparable = Q(references__kind=ReferenceLayer.Kind.MASK) | Q(pk__in=with_versions)
    for scene in project.scenes.filter(comparable).distinct().order_by("name"):
        names = list(
            scene.references.filter(kind=ReferenceLayer.Kind.MASK)
            .order_by("name")
            .values_list("name", flat=True)
        )
        scenes.append(
            {
                "id": scene.pk,
                "name": scene.name,
                "bounds": list(scene.bounds) if scene.bounds else None,
                "references": names,
                "tilejson_url": reverse("tiles:tilejson", args=[scene.pk]),
            }
        )
    current = project.current_model_version if project.current_model_version in versions else None
    return {
        "model_versions": versions,
        "current_model_version": current or (versions[-1] if versions else None),
        "scenes": scenes,
        "cloud_classes": sorted(c["name"] for c in project.classes if is_cloud_name(c["name"])),
        "legend": [
            {"value": v, "label": COMPARISON_LABELS[v], "rgba": list(COMPARISON_COLORMAP[v])}
            for v in sorted(COMPARISON_LABELS)
            if v != NODATA
        ],
    }
