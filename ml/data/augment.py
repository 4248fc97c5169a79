"""Dihedral augmentation (flips and 90-degree rotations) applied identically to image, mask and boxes.

Element ``k`` in 0..7 of the dihedral group: horizontal flip if ``k >= 4``, then ``k % 4``
counter-clockwise quarter turns (``np.rot90`` on the last two axes). Boxes are xyxy in pixel
coordinates where pixel ``i`` spans ``[i, i + 1)``, so they transform exactly with the pixels.
"""

from __future__ import annotations

import numpy as np

from ml.errors import ShapeError

DIHEDRAL_ORDER = 8


def random_dihedral(rng: np.random.Generator) -> int:
    """Draw one of the eight flips/rotations."""
    return int(rng.integers(DIHEDRAL_ORDER))


def dihedral(
    image: np.ndarray,
    *,
    k: int,
    mask: np.ndarray | None = None,
    boxes: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Apply dihedral element ``k`` to a (C, H, W) image and, when given, an (H, W) mask and (M, 4) boxes."""
    if image.ndim != 3:
        raise ShapeError(f"image must be (C, H, W), got shape {image.shape}")
    if mask is not None and mask.shape != image.shape[1:]:
        raise ShapeError(f"mask shape {mask.shape} differs from image {image.shape[1:]}")
    if not 0 <= k < DIHEDRAL_ORDER:
        raise ValueError(f"k must be in 0..7, got {k}")
    width = image.shape[2]
    out_boxes = None if boxes is None else np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    if k >= 4:
        image = image[:, :, ::-1]
        mask = None if mask is None else mask[:, ::-1]
        if out_boxes is not None:
            out_boxes = np.stack(
                [width - out_boxes[:, 2], out_boxes[:, 1], width - out_boxes[:, 0], out_boxes[:, 3]], axis=1
            )
    for _ in range(k % 4):
        width = image.shape[2]
        image = np.rot90(image, 1, axes=(1, 2))
        mask = None if mask is None else np.rot90(mask, 1, axes=(0, 1))
        if out_boxes is not None:  # (x, y) -> (y, W - x)
            out_boxes = np.stack(
                [out_boxes[:, 1], width - out_boxes[:, 2], out_boxes[:, 3], width - out_boxes[:, 0]], axis=1
            )
    return (
        np.ascontiguousarray(image),
        None if mask is None else np.ascontiguousarray(mask),
        None if out_boxes is None else out_boxes.astype(np.float32),
    )
