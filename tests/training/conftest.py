"""Training fixtures: the small demo archive, a cloud project over its Sentinel-2 scenes, and annotations
written from the demo ground truth (the reference mask cut to the chip)."""

import uuid
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from eolabel.archive.models import ReferenceLayer, Scene
from eolabel.labelling import codecs
from eolabel.labelling.classes import DEMO_CLOUD_CLASSES
from eolabel.labelling.models import Annotation, Lease, Project, ProjectChip
from eolabel.labelling.services.projects import project_create
from eolabel.training.services.pixels import reference_mask_read

CLOUD_CLASSES = DEMO_CLOUD_CLASSES


@pytest.fixture
def demo_archive(archive_root, tmp_path: Path) -> Path:
    out = tmp_path / "demo"
    call_command("make_demo_archive", "--small", "--out", str(out))
    return out


@pytest.fixture
def registry_root(settings, tmp_path: Path) -> Path:
    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    return settings.MODEL_REGISTRY_ROOT


def cloud_project_create(
    user, *, validation_fraction: float = 0.5, strategy: str = "entropy", **kwargs
) -> Project:
    scenes = Scene.objects.filter(sensor__name="sentinel2-l1c").order_by("pk")
    return project_create(
        name="clouds", task_type="cloud-segmentation", classes=CLOUD_CLASSES, sensor_names=["sentinel2-l1c"],
        scene_ids=[s.pk for s in scenes], created_by=user, chip_size=64, strategy=strategy,
        validation_fraction=validation_fraction, **kwargs,
    )  # fmt: skip


CHIP_ORDER = ("chip__scene_id", "chip__row_off", "chip__col_off")
VALIDATION_POSITIONS = (1, 4, 6)


def split_fix(project: Project) -> None:
    """A fixed split (the hash split depends on database ids, which differ between SQLite and PostgreSQL runs):
    chips 1, 4 and 6 in scene/row/column order are held out."""
    chips = list(
        ProjectChip.objects.filter(project=project).order_by(*CHIP_ORDER).values_list("pk", flat=True)
    )
    held_out = [pk for i, pk in enumerate(chips) if i in VALIDATION_POSITIONS]
    ProjectChip.objects.filter(project=project).update(is_validation=False)
    ProjectChip.objects.filter(pk__in=held_out).update(is_validation=True)


@pytest.fixture
def cloud_project(demo_archive, registry_root, user) -> Project:
    project = cloud_project_create(user)
    split_fix(project)
    return project


def truth_mask(project_chip: ProjectChip) -> np.ndarray:
    """The demo ground truth cut to the chip, chip-sized (what a perfect annotator draws)."""
    chip = project_chip.chip
    ref = ReferenceLayer.objects.get(scene_id=chip.scene_id, name="ground-truth")
    return reference_mask_read(reference=ref, chip=chip, size=chip.size)[: chip.height, : chip.width]


def annotate(project_chip: ProjectChip, user, *, mask: np.ndarray | None = None) -> Annotation:
    """An annotation written straight to the database (the API path is the end-to-end test's business)."""
    now = timezone.now()
    project = project_chip.project
    lease = Lease.objects.create(
        project=project, project_chip=project_chip, user=user, state=Lease.State.SUBMITTED, leased_at=now,
        expires_at=now, ended_at=now, strategy=project.strategy,
    )  # fmt: skip
    png = codecs.mask_encode(truth_mask(project_chip) if mask is None else mask)
    annotation = Annotation.objects.create(
        project=project, project_chip=project_chip, lease=lease, author=user, submission_id=uuid.uuid4(),
        kind=Annotation.Kind.MASK, mask_png=png, strategy=project.strategy, updated_by=user, updated=now,
    )  # fmt: skip
    ProjectChip.objects.filter(pk=project_chip.pk).update(state=ProjectChip.State.DONE, done_count=1)
    return annotation


def annotate_n(project: Project, user, *, training: int, validation: int) -> None:
    chips = ProjectChip.objects.filter(project=project, annotations__isnull=True).order_by(*CHIP_ORDER)
    train = list(chips.filter(is_validation=False)[:training])
    held_out = list(chips.filter(is_validation=True)[:validation])
    assert (len(train), len(held_out)) == (training, validation), (
        f"project {project.pk} has {ProjectChip.objects.filter(project=project).count()} chips "
        f"over scenes {list(project.scenes.values_list('pk', 'name', 'width', 'height'))}: "
        f"{len(train)} free training and {len(held_out)} free validation chips"
    )
    for pc in train + held_out:
        annotate(pc, user)


@pytest.fixture
def fast_training(settings):
    """A few optimisation steps: enough to exercise the plumbing, not to learn."""
    settings.EOLABEL_TRAIN_STEPS = 10
    settings.EOLABEL_TRAIN_THREADS = 1


@pytest.fixture
def sent(monkeypatch) -> list[int]:
    """Job ids whose Celery message would have been sent (no broker in unit tests)."""
    ids: list[int] = []
    monkeypatch.setattr("eolabel.training.services.jobs._send", ids.append)
    return ids


def registry_versions(root: Path, project: Project) -> list[str]:
    """Every entry in the project's registry folder, hidden ones included."""
    folder = root / f"project-{project.pk}"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []
