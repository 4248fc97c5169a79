"""What a job trains and evaluates on, loaded from the database and the archive.

- training: every annotation of a training chip (not a validation chip), in the project's class values;
- validation: annotations of validation chips;
- reference: validation chips cut from a reference layer (``settings.EOLABEL_EVAL_REFERENCE`` first).

Evaluation truth is kept in the form the promotion metric compares: binary cloud / not-cloud masks (0, 1, 255)
for cloud projects, chip-relative boxes for vehicle projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from django.conf import settings

from eolabel.archive.models import ReferenceLayer
from eolabel.labelling import codecs
from eolabel.labelling.models import Annotation, Project, ProjectChip, TaskType
from eolabel.training.errors import UnsupportedProject
from eolabel.training.services.pixels import chips_read, reference_boxes_read, reference_mask_read
from ml.data.classes import IGNORE_INDEX
from ml.data.normalization import BandStats
from ml.registry import training_fingerprint

NOT_CLOUD_WORDS = ("shadow", "not", "clear", "free", "no ")


@dataclass
class LabelledChips:
    """Chips with labels: raw images (C, S, S), valid pixels (S, S), and masks (S, S) or boxes (M, 4)."""

    chip_ids: list[int] = field(default_factory=list)
    images: list[np.ndarray] = field(default_factory=list)
    valid: list[np.ndarray] = field(default_factory=list)
    masks: list[np.ndarray] = field(default_factory=list)
    boxes: list[np.ndarray] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.chip_ids)

    def fingerprint(self) -> str:
        return training_fingerprint(self.keys)


def project_task(project: Project) -> str:
    """``cloud`` or ``vehicles`` (the names ``ml.strategies`` uses)."""
    if project.task_type == TaskType.CLOUD_SEGMENTATION:
        return "cloud"
    if project.task_type == TaskType.VEHICLE_DETECTION:
        return "vehicles"
    raise UnsupportedProject(f"task type {project.task_type!r} cannot be trained")


def num_classes(project: Project) -> int:
    """Output channels of a segmentation model: class value v is channel v."""
    return max(project.class_values) + 1


def cloud_values(names: Mapping[int, str]) -> set[int]:
    """The values whose class is a cloud (thick, thin, cirrus...), not a shadow or a clear class."""
    found = set()
    for value, name in names.items():
        text = f" {str(name).lower().replace('_', ' ').replace('-', ' ')} "
        if ("cloud" in text or "cirrus" in text) and not any(word in text for word in NOT_CLOUD_WORDS):
            found.add(int(value))
    return found


def project_cloud_values(project: Project) -> set[int]:
    values = cloud_values({int(c["value"]): c["name"] for c in project.classes})
    if not values:
        raise UnsupportedProject("no class of the project is a cloud class (a name with 'cloud' in it)")
    return values


def to_binary(mask: np.ndarray, positive: set[int]) -> np.ndarray:
    """0 not cloud, 1 cloud, 255 ignored."""
    out = np.isin(mask, sorted(positive)).astype(np.uint8)
    out[mask == IGNORE_INDEX] = IGNORE_INDEX
    return out


def _annotations(project: Project, *, validation: bool):
    return (
        Annotation.objects.filter(project=project, project_chip__is_validation=validation)
        .select_related("project_chip__chip__scene")
        .order_by("project_chip__chip_id", "id")
    )


def annotated_chips_load(
    *, project: Project, stats: BandStats, validation: bool, binary: bool
) -> LabelledChips:
    """Annotated training (``validation=False``) or validation chips; ``binary`` turns masks into cloud/not."""
    annotations = list(_annotations(project, validation=validation))
    by_chip = {a.project_chip.chip_id: a.project_chip.chip for a in annotations}
    pixels = {p.chip.pk: p for p in chips_read(chips=by_chip.values(), size=project.chip_size, stats=stats)}
    out = LabelledChips()
    positive = project_cloud_values(project) if binary and project_task(project) == "cloud" else set()
    for annotation in annotations:
        chip = annotation.project_chip.chip
        px = pixels[chip.pk]
        out.chip_ids.append(chip.pk)
        out.images.append(px.image)
        out.valid.append(px.valid)
        out.keys.append(f"{chip.pk}:{annotation.pk}:{annotation.version}")
        if annotation.kind == Annotation.Kind.MASK:
            mask = np.full((project.chip_size,) * 2, IGNORE_INDEX, dtype=np.uint8)
            mask[: chip.height, : chip.width] = codecs.mask_decode(
                bytes(annotation.mask_png), width=chip.width, height=chip.height, allowed=project.class_values
            )
            mask[~px.valid] = IGNORE_INDEX
            out.masks.append(to_binary(mask, positive) if positive else mask)
        else:
            out.boxes.append(boxes_array(annotation.boxes or []))
    return out


def boxes_array(boxes: list[dict]) -> np.ndarray:
    return np.asarray([[b["x0"], b["y0"], b["x1"], b["y1"]] for b in boxes], dtype=np.float32).reshape(-1, 4)


def reference_for(scene_id: int, kind: str) -> ReferenceLayer | None:
    refs = ReferenceLayer.objects.filter(scene_id=scene_id, kind=kind)
    preferred = refs.filter(name=settings.EOLABEL_EVAL_REFERENCE).first()
    return preferred or refs.order_by("name").first()


def reference_chips_load(*, project: Project, stats: BandStats) -> LabelledChips:
    """The project's validation chips whose scene has a reference layer, with the reference as truth."""
    task = project_task(project)
    kind = ReferenceLayer.Kind.MASK if task == "cloud" else ReferenceLayer.Kind.BOXES
    chips = [
        pc.chip
        for pc in ProjectChip.objects.filter(project=project, is_validation=True)
        .select_related("chip__scene")
        .order_by("chip__scene_id", "chip_id")
    ]
    refs = {scene_id: reference_for(scene_id, kind) for scene_id in {c.scene_id for c in chips}}
    chips = [c for c in chips if refs[c.scene_id] is not None]
    out = LabelledChips()
    for px in chips_read(chips=chips, size=project.chip_size, stats=stats):
        ref = refs[px.chip.scene_id]
        assert ref is not None
        out.chip_ids.append(px.chip.pk)
        out.images.append(px.image)
        out.valid.append(px.valid)
        if task == "cloud":
            mask = reference_mask_read(reference=ref, chip=px.chip, size=project.chip_size)
            positive = cloud_values({int(k): v for k, v in (ref.classes or {}).items()})
            mask[~px.valid] = IGNORE_INDEX
            out.masks.append(to_binary(mask, positive))
        else:
            out.boxes.append(reference_boxes_read(reference=ref, chip=px.chip))
    return out
