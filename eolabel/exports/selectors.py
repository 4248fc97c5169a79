"""Export reads: which annotation stands for each chip of a project.

The rule (``overlap`` > 1 gives several annotations per chip): each annotation row is taken at its current
version (earlier versions live in AnnotationRevision and are never exported). Per chip, the annotations last
saved by one of the project's reviewers or managers win over the others (a reviewer's correction is the
project's answer); among the remaining candidates the most recently saved one wins (``updated``, then the
highest id). No per-pixel vote is taken: a vote of two annotators breaks no tie and would mix authors.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from eolabel.labelling.models import Annotation, Membership, Project, Role

SELECTION_RULE = (
    "one annotation per chip at its current version: the latest saved by a reviewer or manager of the project "
    "if any, else the latest saved by anyone (ties: highest id)"
)


@dataclass(frozen=True)
class ChipLabel:
    """The annotation that stands for one chip, with the chip's place in its scene."""

    annotation: Annotation
    scene_id: int
    chip_id: int
    col_off: int
    row_off: int
    width: int
    height: int


def export_labels(*, project: Project) -> list[ChipLabel]:
    """One ChipLabel per annotated chip of the project (see the module's rule), ordered by scene, row, column."""
    reviewers = set(
        Membership.objects.filter(project=project, role__in=[Role.REVIEWER, Role.MANAGER]).values_list(
            "user_id", flat=True
        )
    )
    annotations = (
        Annotation.objects.filter(project=project)
        .select_related("project_chip__chip")
        .defer("mask_png", "boxes")
    )
    return sorted(
        (_label(a) for a in _pick(annotations, reviewers)),
        key=lambda label: (label.scene_id, label.row_off, label.col_off),
    )


def _pick(annotations: Iterable[Annotation], reviewers: set[int]) -> list[Annotation]:
    best: dict[int, Annotation] = {}
    for annotation in annotations:
        current = best.get(annotation.project_chip_id)
        if current is None or _key(annotation, reviewers) > _key(current, reviewers):
            best[annotation.project_chip_id] = annotation
    return list(best.values())


def _key(annotation: Annotation, reviewers: set[int]) -> tuple:
    return (annotation.updated_by_id in reviewers, annotation.updated, annotation.pk)


def _label(annotation: Annotation) -> ChipLabel:
    chip = annotation.project_chip.chip
    return ChipLabel(
        annotation=annotation,
        scene_id=chip.scene_id,
        chip_id=chip.pk,
        col_off=chip.col_off,
        row_off=chip.row_off,
        width=chip.width,
        height=chip.height,
    )


CONTENT_BATCH = 500


def label_contents(*, labels: list[ChipLabel], field: str) -> Iterator[tuple[ChipLabel, Any]]:
    """Each label with its annotation's ``mask_png`` or ``boxes``, read in batches: the selection above leaves
    the content out, so a large project never holds every mask in memory at once."""
    for start in range(0, len(labels), CONTENT_BATCH):
        batch = labels[start : start + CONTENT_BATCH]
        content = dict(
            Annotation.objects.filter(pk__in=[label.annotation.pk for label in batch]).values_list(
                "pk", field
            )
        )
        for label in batch:
            yield label, content[label.annotation.pk]
