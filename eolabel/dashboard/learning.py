"""Model versions and the learning curve: the project metric of each version against its training-set size,
with the active-learning simulator's curves (random sampling, and the project's own strategy) beside it.

Where a simulator run is read from (docs/dashboard.md):

1. the project's own run: ``<MODEL_REGISTRY_ROOT>/project-<id>/simulation/simulation.csv``, i.e. what
   ``python -m ml.simulate ... --out <MODEL_REGISTRY_ROOT>/project-<id>/simulation`` writes (the folder sits
   beside the registry's ``v<N>`` folders, which the registry ignores);
2. otherwise, for cloud projects only, the repository's demo-archive run
   (``settings.EOLABEL_DASHBOARD_SIMULATION_CSV``, by default ``docs/figures/al-cloud-binary.csv``), marked
   ``"scope": "demo"`` so the page says it is not this project's.

The CSV is parsed and averaged over seeds by ``ml.simulate.report`` (``read_csv``, ``curves``), the same code
that draws the simulator's own figure."""

import math
from pathlib import Path
from typing import Any

from django.conf import settings

from eolabel.labelling.models import Project
from eolabel.training.models import ModelVersion
from eolabel.training.services.registry import registry_name
from ml.simulate.report import curves, read_csv

SIMULATION_FOLDER = "simulation"
SIMULATION_FILE = "simulation.csv"
# The simulator's ``task`` column for each project task type.
SIMULATOR_TASK = {"cloud-segmentation": "cloud", "vehicle-detection": "vehicles"}


def dashboard_models(*, project: Project) -> dict[str, Any]:
    """The version table (newest first), the curve (oldest first) and the simulator's curves."""
    versions = list(ModelVersion.objects.filter(project=project).order_by("created", "id"))
    metric_name = versions[-1].metric_name if versions else ("f2" if _is_cloud(project) else "ap50")
    table = [
        {
            "version": v.version,
            "created": v.created.isoformat(),
            "parent": v.parent,
            "training_size": v.training_size,
            "metric_name": v.metric_name,
            "metric": v.metric,
            "metrics": v.metrics,
            "promoted": v.promoted,
            "current": v.version == project.current_model_version,
        }
        for v in reversed(versions)
    ]
    curve = [
        {"version": v.version, "n_labels": v.training_size, "value": v.metric, "promoted": v.promoted}
        for v in versions
        if v.metric is not None and v.metric_name == metric_name
    ]
    source = simulation_source(project=project)
    simulation: dict[str, list[dict[str, float]]] = {}
    if source is not None:
        found = simulation_curves(
            path=source["path"], metric=metric_name, task=SIMULATOR_TASK.get(project.task_type)
        )
        simulation = {k: v for k, v in found.items() if k in ("random", project.strategy)}
    return {
        "metric_name": metric_name,
        "versions": table,
        "curve": curve,
        "simulation": simulation,
        "simulation_source": {"scope": source["scope"], "file": source["path"].name}
        if source and simulation
        else None,
    }


def _is_cloud(project: Project) -> bool:
    return project.task_type == "cloud-segmentation"


def project_simulation_path(*, project_id: int) -> Path:
    """Where a simulator run for the project is stored: beside its versions in the model registry."""
    root = Path(settings.MODEL_REGISTRY_ROOT)
    return root / registry_name(project_id=project_id) / SIMULATION_FOLDER / SIMULATION_FILE


def demo_simulation_path() -> Path:
    default = Path(settings.BASE_DIR) / "docs" / "figures" / "al-cloud-binary.csv"
    return Path(getattr(settings, "EOLABEL_DASHBOARD_SIMULATION_CSV", default))


def simulation_source(*, project: Project) -> dict[str, Any] | None:
    """``{"scope": "project" | "demo", "path": Path}`` of the run to show, or None."""
    own = project_simulation_path(project_id=project.pk)
    if own.is_file():
        return {"scope": "project", "path": own}
    demo = demo_simulation_path()
    if _is_cloud(project) and demo.is_file():
        return {"scope": "demo", "path": demo}
    return None


def simulation_curves(
    *, path: Path, metric: str, task: str | None = None
) -> dict[str, list[dict[str, float]]]:
    """Mean ``metric`` over seeds per number of labels, per strategy (``ml.simulate.report.curves``), for the
    rows of ``task`` when the CSV has a task column; rows without a number for ``metric`` are left out."""
    rows = [
        r
        for r in read_csv(path)
        if (task is None or r.get("task") in (None, task)) and isinstance(r.get(metric), float)
    ]
    return {
        c.strategy: [
            {"n_labels": int(round(n)), "value": float(v)}
            for n, v in zip(c.n_labelled, c.mean, strict=True)
            if math.isfinite(float(v))
        ]
        for c in sorted(curves(rows, metric=metric), key=lambda c: c.strategy)
    }
