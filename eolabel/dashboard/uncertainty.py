"""The uncertainty layer: where the model doubts, scene by scene. Each chip scored by a model version (the
scoring pass's ChipScore rows, higher = more worth labelling) becomes an EPSG:4326 rectangle coloured by its
score; the per-scene table (chips scored, mean and max score) orders the archive's scenes by doubt."""

from collections import defaultdict
from typing import Any

from eolabel.archive.models import Scene
from eolabel.labelling.models import Project
from eolabel.ranking.models import ChipScore


def _scores(*, project: Project, version: str | None, scene: Scene | None = None):
    if not version:
        return ChipScore.objects.none()
    rows = ChipScore.objects.filter(project=project, model_version=version).select_related("chip")
    if scene is not None:
        rows = rows.filter(chip__scene=scene)
    return rows.order_by("chip_id")


def uncertainty_geojson(
    *, project: Project, model_version: str | None = None, scene: Scene | None = None
) -> dict[str, Any]:
    """The chips scored by ``model_version`` (default: the project's current one), of one scene or all, as
    EPSG:4326 rectangles with their score; chips without geographic bounds are left out."""
    version = model_version or project.current_model_version
    features = []
    for s in _scores(project=project, version=version, scene=scene).filter(chip__west__isnull=False):
        c = s.chip
        ring = [[c.west, c.south], [c.east, c.south], [c.east, c.north], [c.west, c.north], [c.west, c.south]]
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": {"chip": c.pk, "scene": c.scene_id, "score": s.score, "rank": s.rank},
            }
        )
    values = [f["properties"]["score"] for f in features]
    return {
        "type": "FeatureCollection",
        "model_version": version,
        "scene": scene.pk if scene is not None else None,
        "score_range": [min(values), max(values)] if values else None,
        "features": features,
    }


def uncertainty_scenes(*, project: Project, model_version: str | None = None) -> list[dict[str, Any]]:
    """One row per project scene with chips scored by the version: chips scored, mean and max score, bounds;
    the most doubtful scene (highest mean) first."""
    version = model_version or project.current_model_version
    by_scene: dict[int, list[float]] = defaultdict(list)
    for scene_id, score in _scores(project=project, version=version).values_list("chip__scene_id", "score"):
        by_scene[scene_id].append(score)
    scenes = project.scenes.filter(pk__in=list(by_scene)).order_by("id")
    rows = [
        {
            "id": scene.pk,
            "name": scene.name,
            "acquired": scene.acquired.isoformat() if scene.acquired else None,
            "bounds": list(scene.bounds) if scene.bounds else None,
            "chips_scored": len(by_scene[scene.pk]),
            "mean_score": sum(by_scene[scene.pk]) / len(by_scene[scene.pk]),
            "max_score": max(by_scene[scene.pk]),
        }
        for scene in scenes
    ]
    return sorted(rows, key=lambda r: (-r["mean_score"], r["id"]))
