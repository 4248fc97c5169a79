"""In-memory chip datasets yielding ``{"image", "mask"}`` or ``{"image", "boxes", "labels"}``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset

from ml.data.augment import dihedral, random_dihedral
from ml.data.classes import IGNORE_INDEX, merge_classes
from ml.data.normalization import BandStats
from ml.errors import DataError, ShapeError


class ChipDataset(Dataset):
    """Chips from numpy arrays: images (C, H, W) plus either masks (H, W) or boxes (M, 4) xyxy.

    ``stats`` normalises images; ``augment`` applies a random flip/rot90 drawn from
    ``(seed, epoch, index)`` so an epoch's augmentation is reproducible (call ``set_epoch``).
    ``class_mapping`` merges mask classes once, at construction (see ``merge_classes``).
    """

    def __init__(
        self,
        images: Sequence[np.ndarray],
        masks: Sequence[np.ndarray] | None = None,
        *,
        boxes: Sequence[np.ndarray] | None = None,
        labels: Sequence[np.ndarray] | None = None,
        stats: BandStats | None = None,
        augment: bool = False,
        seed: int = 0,
        class_mapping: Mapping[int, int] | None = None,
        ignore_index: int = IGNORE_INDEX,
    ) -> None:
        if (masks is None) == (boxes is None):
            raise DataError("give either masks (segmentation) or boxes (detection)")
        self.images = [_check_image(image, i) for i, image in enumerate(images)]
        if not self.images:
            raise DataError("the dataset is empty")
        if len({image.shape[0] for image in self.images}) != 1:
            raise ShapeError("all images must have the same number of bands")
        if stats is not None and stats.num_bands != self.images[0].shape[0]:
            raise ShapeError(f"stats have {stats.num_bands} bands, images {self.images[0].shape[0]}")
        self.task = "segmentation" if masks is not None else "detection"
        self.stats = stats
        self.augment = augment
        self.seed = seed
        self.epoch = 0
        self.ignore_index = ignore_index
        self.masks: list[np.ndarray] = []
        self.boxes: list[np.ndarray] = []
        self.labels: list[np.ndarray] = []
        if masks is not None:
            self.masks = [self._check_mask(mask, i, class_mapping) for i, mask in enumerate(masks)]
            _same_length(self.images, self.masks, "masks")
        else:
            assert boxes is not None
            self.boxes = [_check_boxes(b, i) for i, b in enumerate(boxes)]
            _same_length(self.images, self.boxes, "boxes")
            raw_labels = labels if labels is not None else [np.zeros(len(b), np.int64) for b in self.boxes]
            self.labels = [np.asarray(lab, dtype=np.int64).reshape(-1) for lab in raw_labels]
            _same_length(self.images, self.labels, "labels")
            for i, (b, lab) in enumerate(zip(self.boxes, self.labels, strict=True)):
                if len(b) != len(lab):
                    raise DataError(f"chip {i}: {len(b)} boxes but {len(lab)} labels")

    @property
    def in_channels(self) -> int:
        return int(self.images[0].shape[0])

    def set_epoch(self, epoch: int) -> None:
        """Select the augmentation draws of an epoch (the training loop calls this)."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        image = self.images[index]
        image = self.stats.normalize(image) if self.stats is not None else image.astype(np.float32)
        mask = self.masks[index] if self.masks else None
        boxes = self.boxes[index] if self.boxes else None
        if self.augment:
            rng = np.random.default_rng([self.seed, self.epoch, index])
            image, mask, boxes = dihedral(image, k=random_dihedral(rng), mask=mask, boxes=boxes)
        item = {"image": torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))}
        if mask is not None:
            item["mask"] = torch.from_numpy(np.ascontiguousarray(mask, dtype=np.int64))
        else:
            assert boxes is not None
            item["boxes"] = torch.from_numpy(np.ascontiguousarray(boxes, dtype=np.float32).reshape(-1, 4))
            item["labels"] = torch.from_numpy(self.labels[index].copy())
        return item

    def _check_mask(self, mask: np.ndarray, index: int, mapping: Mapping[int, int] | None) -> np.ndarray:
        array = np.asarray(mask)
        if array.shape != self.images[index].shape[1:]:
            raise ShapeError(f"chip {index}: mask {array.shape} vs image {self.images[index].shape[1:]}")
        if mapping is not None:
            array = merge_classes(array, mapping, ignore_index=self.ignore_index)
        return array.astype(np.int64)


def collate_segmentation(batch: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """Stack images (N, C, H, W) and masks (N, H, W)."""
    return {
        "image": torch.stack([item["image"] for item in batch]),
        "mask": torch.stack([item["mask"] for item in batch]),
    }


def collate_detection(batch: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, Any]:
    """Stack images; keep per-image ``boxes`` and ``labels`` as lists (counts differ per chip)."""
    return {
        "image": torch.stack([item["image"] for item in batch]),
        "boxes": [item["boxes"] for item in batch],
        "labels": [item["labels"] for item in batch],
    }


def collate(batch: Sequence[Mapping[str, torch.Tensor]]) -> dict[str, Any]:
    """Segmentation or detection collate, chosen from the items' keys."""
    return collate_segmentation(batch) if "mask" in batch[0] else collate_detection(batch)


def _check_image(image: np.ndarray, index: int) -> np.ndarray:
    array = np.asarray(image)
    if array.ndim != 3 or min(array.shape) == 0:
        raise ShapeError(f"chip {index}: image must be (C, H, W), got shape {array.shape}")
    return array


def _check_boxes(boxes: np.ndarray, index: int) -> np.ndarray:
    array = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if (
        not np.all(np.isfinite(array))
        or np.any(array[:, 2] <= array[:, 0])
        or np.any(array[:, 3] <= array[:, 1])
    ):
        raise DataError(f"chip {index}: boxes must be finite xyxy with x2 > x1 and y2 > y1")
    return array


def _same_length(images: list[np.ndarray], other: list[Any], name: str) -> None:
    if len(other) != len(images):
        raise DataError(f"{len(images)} images but {len(other)} {name}")
