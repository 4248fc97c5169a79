"""Screenshots of the labelling page on the demo archive (``bench_label_page --screenshots DIR``).

Two projects are made over the demo archive already ingested in the current database: a cloud project over its
Sentinel-2 scenes and a vehicle project over its VHR scenes. In each, the chip with the most ground truth (most
cloud pixels; most vehicle boxes) is given a score so that the queue serves it first. In chromium the page's
own tools then draw on it what the ground truth says is there (brush strokes of thick cloud along cloudy rows;
boxes on cars), and the page is saved at the browser's viewport size.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.contrib.auth.models import AbstractBaseUser

from eolabel.archive.models import Chip, ReferenceLayer, Scene
from eolabel.labelling.classes import DEMO_CLOUD_CLASSES, DEMO_VEHICLE_CLASSES
from eolabel.labelling.models import Project
from eolabel.labelling.services import project_create
from eolabel.training.services.pixels import reference_boxes_read, reference_mask_read

CLOUD_FILE = "label-demo-clouds.png"
VEHICLE_FILE = "label-demo-vehicles.png"
CLOUD_VALUES = (1, 2)  # thick and thin cloud in the demo ground truth (and DEMO_CLOUD_CLASSES)
# What the cloud screenshot paints, as (class value, its number key), each where the ground truth has that
# class: thick cloud (white, so hardly seen on cloud), thin cloud and cloud shadow (seen).
PAINTED = ((1, "2"), (2, "3"), (3, "4"))
VEHICLE_KEY = "1"
SHOT_BRUSH = 15
SHOT_BOXES = 3
CLOUD_CHIP_SIZE = 256  # context around the clouds
VEHICLE_CHIP_SIZE = 128  # the demo project's: cars several screen pixels long
_TWO_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"
_TILES_LOADED = """() => {
  const tiles = [...document.querySelectorAll('#label-map .scene-tiles img')];
  return tiles.length > 0 && tiles.every((t) => t.complete);
}"""

Point = tuple[float, float]


@dataclass(frozen=True)
class Shot:
    """One screenshot: the project, its first chip's size, and what to draw on it in chip pixels."""

    file_name: str
    project_id: int
    chip_width: int
    chip_height: int
    strokes: tuple[tuple[str, Point, Point], ...] = ()  # brush strokes: class key, start -> end
    boxes: tuple[tuple[float, ...], ...] = ()  # x0, y0, x1, y1, all of class VEHICLE_KEY


def class_strokes(
    mask: np.ndarray, *, value: int, count: int = 2, margin: int = SHOT_BRUSH // 2
) -> tuple[tuple[Point, Point], ...]:
    """Up to ``count`` horizontal strokes along the longest runs of ``value`` in ``mask``, one per row, rows
    more than a brush apart, each kept ``margin`` pixels inside its run; runs under 2 * margin + 2 give none."""
    runs = sorted(
        ((*_longest_run(mask[row] == value), row) for row in range(mask.shape[0])),
        key=lambda r: (-r[1], r[2]),
    )
    strokes: list[tuple[Point, Point]] = []
    rows: list[int] = []
    for start, length, row in runs:
        if len(strokes) == count or length < 2 * margin + 2:
            break
        if all(abs(row - other) > 2 * margin for other in rows):
            rows.append(row)
            strokes.append(((start + margin + 0.5, row + 0.5), (start + length - margin - 0.5, row + 0.5)))
    return tuple(strokes)


def boxes_pick(
    boxes: np.ndarray, *, width: int, height: int, count: int = SHOT_BOXES, gap: float = 8.0
) -> tuple[tuple[float, ...], ...]:
    """Up to ``count`` boxes (xyxy) of the most typical size (area nearest the median: cars, not buses), whole
    inside the ``width`` x ``height`` chip and at least ``gap`` pixels apart, so that each stands out and
    drawing one never starts inside another."""
    inside = (boxes[:, 0] > 0) & (boxes[:, 1] > 0) & (boxes[:, 2] < width) & (boxes[:, 3] < height)
    boxes = boxes[inside]
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    order = np.argsort(np.abs(area - np.median(area)), kind="stable") if len(area) else []
    picked: list[np.ndarray] = []
    for box in boxes[order]:
        if all(_apart(box, other, gap) for other in picked):
            picked.append(box)
        if len(picked) == count:
            break
    return tuple(tuple(float(v) for v in box) for box in picked)


def shots_prepare(*, created_by: AbstractBaseUser) -> list[Shot]:
    """Both projects over the demo scenes in the current database, their chosen chips scored to come first."""
    clouds = _project("Demo clouds (Sentinel-2)", "cloud-segmentation", DEMO_CLOUD_CLASSES, "sentinel2-l1c",
                      created_by, CLOUD_CHIP_SIZE)  # fmt: skip
    chip, mask = _best(clouds, _cloud_mask, lambda m: int(np.isin(m, CLOUD_VALUES).sum()))
    mask = mask[: chip.height, : chip.width]
    strokes = tuple((key, *stroke) for value, key in PAINTED for stroke in class_strokes(mask, value=value))
    cloud_shot = Shot(
        file_name=CLOUD_FILE, project_id=clouds.pk, chip_width=chip.width, chip_height=chip.height,
        strokes=strokes,
    )  # fmt: skip
    vehicles = _project("Demo vehicles (VHR)", "vehicle-detection", DEMO_VEHICLE_CLASSES, "vhr-rgbn",
                        created_by, VEHICLE_CHIP_SIZE)  # fmt: skip
    chip, boxes = _best(vehicles, lambda ref, c: reference_boxes_read(reference=ref, chip=c), len)
    vehicle_shot = Shot(
        file_name=VEHICLE_FILE, project_id=vehicles.pk, chip_width=chip.width, chip_height=chip.height,
        boxes=boxes_pick(boxes, width=chip.width, height=chip.height),
    )  # fmt: skip
    return [cloud_shot, vehicle_shot]


def shots_take(page, *, base: str, shots: Sequence[Shot], out_dir: Path) -> list[Path]:
    """Open each project's labelling page, draw with its tools, save the viewport as PNG."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for shot in shots:
        page.goto(f"{base}/projects/{shot.project_id}/label/")
        page.wait_for_selector("#label-map[data-task]")
        box = page.locator(".chip-layer").bounding_box()
        scale_x, scale_y = box["width"] / shot.chip_width, box["height"] / shot.chip_height

        def at(x: float, y: float, box=box, sx=scale_x, sy=scale_y) -> Point:
            return box["x"] + x * sx, box["y"] + y * sy

        if shot.strokes:
            page.fill("#brush-size", str(SHOT_BRUSH))
        for key, start, end in shot.strokes:
            page.keyboard.press(key)
            _drag(page, at(*start), at(*end))
        if shot.boxes:
            page.keyboard.press(VEHICLE_KEY)
        for x0, y0, x1, y1 in shot.boxes:
            _drag(page, at(x0, y0), at(x1, y1))
        page.mouse.move(box["x"] + box["width"] + 40, box["y"] + 40)  # the cursor off the chip
        page.evaluate("() => document.activeElement?.blur()")  # no focus ring around the map
        page.wait_for_function(_TILES_LOADED, polling="raf")
        page.evaluate(_TWO_FRAMES)
        path = out_dir / shot.file_name
        page.screenshot(path=str(path))
        saved.append(path)
    return saved


def _project(
    name: str, task: str, classes: list, sensor: str, created_by: AbstractBaseUser, chip_size: int
) -> Project:
    scenes = list(Scene.objects.filter(sensor__name=sensor).order_by("pk").values_list("pk", flat=True))
    if not scenes:
        raise RuntimeError(f"no {sensor} scenes: the demo archive is not ingested")
    return project_create(
        name=f"{name} (screenshot)", task_type=task, classes=classes, sensor_names=[sensor], scene_ids=scenes,
        created_by=created_by, chip_size=chip_size, retrain_every_n=1_000_000,
    )  # fmt: skip


def _best(project: Project, read, measure) -> tuple[Chip, object]:
    """The project's chip whose ground truth measures most; it is scored so that it is leased first."""
    best = None
    for project_chip in project.project_chips.select_related("chip__scene"):
        chip = project_chip.chip
        reference = ReferenceLayer.objects.filter(scene=chip.scene, name="ground-truth").first()
        if reference is None:
            continue
        truth = read(reference, chip)
        if best is None or measure(truth) > best[0]:
            best = (measure(truth), project_chip, truth)
    if best is None or best[0] == 0:
        raise RuntimeError(f"project {project.name!r}: no chip with ground truth to show")
    _, project_chip, truth = best
    project_chip.score = 1.0
    project_chip.save(update_fields=["score"])
    return project_chip.chip, truth


def _cloud_mask(reference: ReferenceLayer, chip: Chip) -> np.ndarray:
    return reference_mask_read(reference=reference, chip=chip, size=chip.size)


def _longest_run(row: np.ndarray) -> tuple[int, int]:
    best_start, best_length, start = 0, 0, None
    for i, on in enumerate([*row.tolist(), False]):
        if on and start is None:
            start = i
        elif not on and start is not None:
            if i - start > best_length:
                best_start, best_length = start, i - start
            start = None
    return best_start, best_length


def _apart(a: np.ndarray, b: np.ndarray, gap: float) -> bool:
    return a[0] >= b[2] + gap or b[0] >= a[2] + gap or a[1] >= b[3] + gap or b[1] >= a[3] + gap


def _drag(page, start: Point, end: Point, steps: int = 12) -> None:
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(*end, steps=steps)
    page.mouse.up()
