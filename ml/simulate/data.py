"""Chips for the simulator: from a folder of rasters with their ground truth, or generated in memory.

Cloud folders hold ``<name>.tif`` + ``<name>_mask.tif`` pairs (the root of a demo archive works
too: its ``sentinel2/`` or ``vhr/`` folder is used); a mask whose name is not exactly
the image's plus ``_mask`` is paired with the one image sharing its longest underscore-separated
prefix (``landsat5_mask.tif`` <-> ``landsat5_toa_6band.tif``,
``X_s2cloudless_mask.tif`` <-> ``X.tif``). Vehicle folders hold ``<name>.tif`` +
``<name>_vehicles.geojson``. Chips are non-overlapping ``chip_size`` squares; those more than half
nodata are dropped. Images are normalised with band statistics of all chips (no labels needed).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ml.data.classes import IGNORE_INDEX, merge_classes
from ml.data.normalization import BandStats
from ml.errors import DataError

MASK_PRESETS: dict[str, dict[int, int]] = {
    # ukis-csmask: 0 shadow, 1 water, 2 snow/ice, 3 clear land, 4 cloud -> the demo's 0 clear,
    # 1 thick cloud, 2 thin cloud, 3 shadow, 4 snow (water is not cloud: clear)
    "ukis": {0: 3, 1: 0, 2: 4, 3: 0, 4: 1},
}


@dataclass
class SimData:
    """Normalised chips (N, C, S, S) float32 with either masks (N, S, S) or boxes, and a group
    (scene) per chip for the train/test split. ``valid`` (N, S, S) is False on image nodata."""

    task: str
    images: np.ndarray
    valid: np.ndarray
    chip_ids: list[str]
    groups: np.ndarray
    masks: np.ndarray | None = None
    boxes: list[np.ndarray] | None = None
    num_classes: int = 2
    cloud_classes: tuple[int, ...] = (1, 2)

    def __len__(self) -> int:
        return len(self.chip_ids)


def parse_mask_mapping(text: str | None) -> dict[int, int] | None:
    """``"ukis"`` or ``"0:3,1:0,2:4"`` -> {source value: demo class}; None stays None."""
    if not text:
        return None
    if text in MASK_PRESETS:
        return dict(MASK_PRESETS[text])
    try:
        pairs = [item.split(":") for item in text.split(",") if item.strip()]
        return {int(a): int(b) for a, b in pairs}
    except ValueError as exc:
        raise DataError(
            f"mask mapping {text!r}: use a preset ({', '.join(MASK_PRESETS)}) or 'a:b,c:d'"
        ) from exc


def chip_cloud_scene(
    bands: np.ndarray, mask: np.ndarray, *, chip_size: int, max_nodata: float = 0.5
) -> tuple[np.ndarray, np.ndarray]:
    """Cut (C, H, W) bands and an (H, W) mask into chips; nodata (all bands 0 or mask 255) is ignored."""
    images, masks = [], []
    nodata = (bands == 0).all(axis=0) | (mask == IGNORE_INDEX)
    for row in range(0, bands.shape[1] - chip_size + 1, chip_size):
        for col in range(0, bands.shape[2] - chip_size + 1, chip_size):
            window = (slice(row, row + chip_size), slice(col, col + chip_size))
            if nodata[window].mean() > max_nodata:
                continue
            images.append(bands[(slice(None), *window)])
            masks.append(np.where(nodata[window], IGNORE_INDEX, mask[window]))
    if not images:
        return np.zeros((0, bands.shape[0], chip_size, chip_size), bands.dtype), np.zeros(
            (0, chip_size, chip_size)
        )
    return np.stack(images), np.stack(masks).astype(np.int64)


def chip_vehicle_scene(
    bands: np.ndarray, boxes: np.ndarray, *, chip_size: int
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Cut (C, H, W) bands into chips; a box goes to the chip holding its centre, shifted and clipped."""
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    images, chip_boxes = [], []
    for row in range(0, bands.shape[1] - chip_size + 1, chip_size):
        for col in range(0, bands.shape[2] - chip_size + 1, chip_size):
            window = bands[:, row : row + chip_size, col : col + chip_size]
            if (window == 0).all(axis=0).mean() > 0.5:
                continue
            inside = (
                (centres[:, 0] >= col)
                & (centres[:, 0] < col + chip_size)
                & (centres[:, 1] >= row)
                & (centres[:, 1] < row + chip_size)
            )
            local = boxes[inside] - np.array([col, row, col, row], dtype=np.float32)
            local = np.clip(local, 0, chip_size)
            local = local[(local[:, 2] > local[:, 0]) & (local[:, 3] > local[:, 1])]
            images.append(window)
            chip_boxes.append(local)
    return (np.stack(images) if images else np.zeros((0, bands.shape[0], chip_size, chip_size))), chip_boxes


def _pair_masks(folder: Path, suffix: str) -> list[tuple[Path, Path]]:
    for sub in ("sentinel2", "vhr"):  # the root of a demo archive: use its sensor folder
        if not any(folder.glob(f"*{suffix}")) and any((folder / sub).glob(f"*{suffix}")):
            folder = folder / sub
    targets = sorted(p for p in folder.glob(f"*{suffix}") if p.is_file())
    images = sorted(p for p in folder.glob("*.tif") if not p.name.endswith(("_mask.tif", suffix)))
    pairs = []
    for target in targets:
        stem = target.name[: -len(suffix)]
        parts = stem.split("_")
        match = None
        for cut in range(len(parts), 0, -1):
            prefix = "_".join(parts[:cut])
            found = [p for p in images if p.stem == prefix] or [
                p for p in images if p.stem.startswith(prefix + "_")
            ]
            if len(found) == 1:
                match = found[0]
                break
            if len(found) > 1:
                break
        if match is not None:
            pairs.append((match, target))
    if not pairs:
        raise DataError(f"no image with a matching *{suffix} in {folder}")
    return pairs


def _read(path: Path) -> tuple[np.ndarray, object]:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(), src.transform


def load_cloud_folder(
    folder: str | Path,
    *,
    chip_size: int,
    mask_mapping: Mapping[int, int] | None = None,
    cloud_classes: Sequence[int] = (1, 2),
) -> SimData:
    """Chips of every image/mask pair in ``folder`` (``mask_mapping`` applied to mask values first)."""
    images, masks, groups, ids = [], [], [], []
    for g, (image_path, mask_path) in enumerate(_pair_masks(Path(folder), "_mask.tif")):
        bands, _ = _read(image_path)
        mask, _ = _read(mask_path)
        mask = mask[0].astype(np.int64)
        if mask_mapping is not None:
            mask = merge_classes(mask, mask_mapping, ignore_index=IGNORE_INDEX)
        if mask.shape != bands.shape[1:]:
            raise DataError(f"{mask_path.name}: mask {mask.shape} vs image {bands.shape[1:]}")
        chips, chip_masks = chip_cloud_scene(bands, mask, chip_size=chip_size)
        images.append(chips)
        masks.append(chip_masks)
        groups += [g] * len(chips)
        ids += [f"{image_path.stem}:{i}" for i in range(len(chips))]
    return cloud_data(images, masks, groups=groups, chip_ids=ids, cloud_classes=cloud_classes)


def cloud_data(
    images: Sequence[np.ndarray],
    masks: Sequence[np.ndarray],
    *,
    groups: Sequence[int],
    chip_ids: Sequence[str],
    cloud_classes: Sequence[int] = (1, 2),
) -> SimData:
    """Normalise raw chips (lists of (n, C, S, S) arrays per scene) into :class:`SimData`."""
    if len({a.shape[1] for a in images if len(a)}) > 1:
        raise DataError("all images of a simulation must have the same number of bands")
    raw = np.concatenate([a for a in images if len(a)]) if any(len(a) for a in images) else None
    if raw is None or len(raw) < 4:
        raise DataError("fewer than 4 usable chips: use larger scenes or a smaller --chip-size")
    mask = np.concatenate([m for m in masks if len(m)])
    labelled = mask[mask != IGNORE_INDEX]
    num_classes = max(2, int(labelled.max()) + 1 if labelled.size else 2)
    valid = ~(raw == 0).all(axis=1)
    stats = BandStats.from_images([raw], nodata=0)
    return SimData(
        task="cloud",
        images=stats.normalize(raw),
        valid=valid,
        chip_ids=list(chip_ids),
        groups=np.asarray(groups, dtype=np.int64),
        masks=mask,
        num_classes=num_classes,
        cloud_classes=tuple(c for c in cloud_classes if c < num_classes),
    )


def read_vehicle_boxes(path: Path, transform: object) -> np.ndarray:
    """Pixel xyxy boxes from a GeoJSON: a ``bbox_px``/``pixel_bbox`` property if present, else the
    geometry's bounds converted with the raster's inverse transform."""
    features = json.loads(path.read_text())["features"]
    boxes = []
    for feature in features:
        props = feature.get("properties") or {}
        px = next((props[k] for k in ("bbox_px", "pixel_bbox", "bbox_pixels") if k in props), None)
        if px is None:
            coords = np.asarray(_flatten(feature["geometry"]["coordinates"]), dtype=np.float64)
            inverse = ~transform  # type: ignore[operator]
            cols, rows = inverse * (coords[:, 0], coords[:, 1])
            px = [np.min(cols), np.min(rows), np.max(cols), np.max(rows)]
        boxes.append([float(v) for v in px])
    return np.asarray(boxes, dtype=np.float32).reshape(-1, 4)


def _flatten(coords: object) -> list[list[float]]:
    if isinstance(coords, list | tuple) and coords and isinstance(coords[0], int | float):
        return [list(coords[:2])]
    return [pt for item in coords for pt in _flatten(item)]  # type: ignore[union-attr]


def load_vehicle_folder(folder: str | Path, *, chip_size: int) -> SimData:
    """Chips and boxes of every ``<name>.tif`` + ``<name>_vehicles.geojson`` pair in ``folder``."""
    images, boxes, groups, ids = [], [], [], []
    for g, (image_path, geojson) in enumerate(_pair_masks(Path(folder), "_vehicles.geojson")):
        bands, transform = _read(image_path)
        chips, chip_boxes = chip_vehicle_scene(
            bands, read_vehicle_boxes(geojson, transform), chip_size=chip_size
        )
        images.append(chips)
        boxes += chip_boxes
        groups += [g] * len(chips)
        ids += [f"{image_path.stem}:{i}" for i in range(len(chips))]
    return vehicle_data(images, boxes, groups=groups, chip_ids=ids)


def vehicle_data(
    images: Sequence[np.ndarray],
    boxes: Sequence[np.ndarray],
    *,
    groups: Sequence[int],
    chip_ids: Sequence[str],
) -> SimData:
    """Normalise raw vehicle chips into :class:`SimData` (one class: vehicle)."""
    raw = np.concatenate([a for a in images if len(a)]) if any(len(a) for a in images) else None
    if raw is None or len(raw) < 4:
        raise DataError("fewer than 4 usable chips: use larger scenes or a smaller --chip-size")
    stats = BandStats.from_images([raw], nodata=0)
    return SimData(
        task="vehicles",
        images=stats.normalize(raw),
        valid=~(raw == 0).all(axis=1),
        chip_ids=list(chip_ids),
        groups=np.asarray(groups, dtype=np.int64),
        boxes=[np.asarray(b, dtype=np.float32).reshape(-1, 4) for b in boxes],
        num_classes=1,
    )


def binary_cloud(data: SimData) -> SimData:
    """The same chips with masks merged to 0 not cloud / 1 cloud (``data.cloud_classes`` -> 1)."""
    if data.masks is None:
        raise DataError("binary_cloud needs masks")
    cloud = np.isin(data.masks, data.cloud_classes)
    masks = np.where(data.masks == IGNORE_INDEX, IGNORE_INDEX, cloud.astype(np.int64))
    return replace(data, masks=masks, num_classes=2, cloud_classes=(1,))


def split(data: SimData, *, test_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(pool indices, test indices): whole scenes go to the test split when there are >= 4 scenes
    (chips of one scene are alike), otherwise chips are split at random."""
    rng = np.random.default_rng(seed)
    scenes = np.unique(data.groups)
    if len(scenes) >= 4:
        n_test = max(1, round(test_fraction * len(scenes)))
        test_scenes = rng.permutation(scenes)[:n_test]
        is_test = np.isin(data.groups, test_scenes)
    else:
        is_test = np.zeros(len(data), bool)
        is_test[rng.permutation(len(data))[: max(1, round(test_fraction * len(data)))]] = True
    return np.flatnonzero(~is_test), np.flatnonzero(is_test)
