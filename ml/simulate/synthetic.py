"""An in-memory pool from the demo-archive generators (``fixtures.demo_archive``) when ``--data`` is omitted."""

from __future__ import annotations

from types import ModuleType

import numpy as np

from ml.errors import DataError
from ml.simulate.data import SimData, chip_cloud_scene, chip_vehicle_scene, cloud_data, vehicle_data


def _generator() -> ModuleType:
    try:
        import fixtures.demo_archive as demo
    except ImportError as exc:
        raise DataError(f"no --data given and fixtures.demo_archive is not importable ({exc})") from exc
    return demo


def synthetic_cloud(*, seed: int, n_scenes: int, scene_size: int, chip_size: int) -> SimData:
    """``n_scenes`` random Sentinel-2-like scenes cut into chips (demo classes 0..4, cloud = 1, 2)."""
    demo = _generator()
    rng = np.random.default_rng(seed)
    images, masks, groups, ids = [], [], [], []
    for g in range(n_scenes):
        bands, mask = demo.make_s2_scene(rng, scene_size)
        chips, chip_masks = chip_cloud_scene(bands, mask.astype(np.int64), chip_size=chip_size)
        images.append(chips)
        masks.append(chip_masks)
        groups += [g] * len(chips)
        ids += [f"synthetic{g:03d}:{i}" for i in range(len(chips))]
    return cloud_data(images, masks, groups=groups, chip_ids=ids)


def synthetic_vehicles(*, seed: int, n_scenes: int, scene_size: int, chip_size: int) -> SimData:
    """``n_scenes`` Pleiades-like sites (one visit each, 30-90 % of stalls taken) cut into chips;
    cars and trucks are one class."""
    demo = _generator()
    rng = np.random.default_rng(seed)
    size = max(scene_size, 128)
    images, boxes, groups, ids = [], [], [], []
    for g in range(n_scenes):
        layout = demo.make_site_layout(rng, size)
        wanted = round(rng.uniform(0.3, 0.9) * len(layout.slots_of("stall")))
        bands, scene_boxes, _ = demo.make_vhr_scene(rng, size, layout, wanted)
        chips, chip_boxes = chip_vehicle_scene(bands, scene_boxes, chip_size=chip_size)
        images.append(chips)
        boxes += chip_boxes
        groups += [g] * len(chips)
        ids += [f"synthetic{g:03d}:{i}" for i in range(len(chips))]
    return vehicle_data(images, boxes, groups=groups, chip_ids=ids)
