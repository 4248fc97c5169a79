"""Mixed-resolution inputs: resample every band onto the finest grid of the set."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from ml.errors import DataError, ShapeError

METHODS = ("bilinear", "nearest")


def resample_to_finest(
    bands: Sequence[np.ndarray],
    *,
    resolutions_m: Sequence[float] | None = None,
    method: str = "bilinear",
) -> np.ndarray:
    """Stack bands given at different resolutions into one float32 (C, H, W) array on the finest grid.

    Each item is one band (h, w) or a group of bands at one resolution (b, h, w), all covering
    the same extent (e.g. Sentinel-2's 10 m, 20 m and 60 m groups). The finest grid is the
    largest shape; with ``resolutions_m`` (one per item) the extents are checked to agree.
    ``method``: "bilinear" for reflectances, "nearest" for categorical layers (exact repeat for
    integer ratios). Output band order follows the input order.
    """
    if method not in METHODS:
        raise DataError(f"method must be one of {METHODS}, got {method!r}")
    groups = [_as_group(band) for band in bands]
    if not groups:
        raise DataError("no bands given")
    height = max(g.shape[1] for g in groups)
    width = max(g.shape[2] for g in groups)
    if not any(g.shape[1:] == (height, width) for g in groups):
        raise ShapeError("no band is on the finest grid in both dimensions")
    if resolutions_m is not None:
        _check_extents(groups, resolutions_m)
    out = []
    for group in groups:
        tensor = torch.from_numpy(group)[None]
        if group.shape[1:] != (height, width):
            kwargs = {"align_corners": False} if method == "bilinear" else {}
            tensor = F.interpolate(tensor, size=(height, width), mode=method, **kwargs)
        out.append(tensor[0].numpy())
    return np.concatenate(out, axis=0).astype(np.float32)


def _as_group(band: np.ndarray) -> np.ndarray:
    array = np.asarray(band, dtype=np.float32)
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or min(array.shape) == 0:
        raise ShapeError(f"each band must be (h, w) or (b, h, w), got shape {array.shape}")
    return np.ascontiguousarray(array)


def _check_extents(groups: list[np.ndarray], resolutions_m: Sequence[float]) -> None:
    if len(resolutions_m) != len(groups):
        raise DataError(f"{len(resolutions_m)} resolutions for {len(groups)} bands")
    extents = [(g.shape[1] * r, g.shape[2] * r) for g, r in zip(groups, resolutions_m, strict=True)]
    coarsest = max(resolutions_m)
    ref_h, ref_w = extents[0]
    for ext_h, ext_w in extents[1:]:
        if abs(ext_h - ref_h) > coarsest or abs(ext_w - ref_w) > coarsest:
            raise DataError(f"band extents differ: {extents} (metres)")
