"""Fixtures for ml tests: one torch thread (tiny nets gain nothing from more, and the box is shared), tiny seeded chips."""

import numpy as np
import pytest
import torch

torch.set_num_threads(1)


@pytest.fixture
def seg_chips() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Four 4-band 32 px chips whose 3-class mask is a threshold of bands 0 and 1."""
    rng = np.random.default_rng(7)
    images = [rng.normal(size=(4, 32, 32)).astype(np.float32) for _ in range(4)]
    masks = [(image[0] > 0).astype(np.int64) + (image[1] > 1).astype(np.int64) for image in images]
    return images, masks


@pytest.fixture
def box_chips() -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Four 3-band 64 px chips with three bright rectangles ("vehicles") each and their boxes."""
    rng = np.random.default_rng(3)
    images, boxes = [], []
    for _ in range(4):
        image = 0.05 * rng.normal(size=(3, 64, 64)).astype(np.float32)
        chip_boxes = []
        for x, y in ((6, 8), (30, 36), (44, 10)):
            w, h = (int(v) for v in rng.integers(5, 10, size=2))
            image[:, y : y + h, x : x + w] += 1.0
            chip_boxes.append([x, y, x + w, y + h])
        images.append(image)
        boxes.append(np.asarray(chip_boxes, dtype=np.float32))
    return images, boxes
