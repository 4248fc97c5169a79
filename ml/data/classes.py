"""Class lists for masks and boxes, and merging fine classes into a project's coarser ones."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ml.errors import DataError

IGNORE_INDEX = 255  # mask value for "not labelled": contributes nothing to the loss
CLOUD_CLASSES = ("clear", "thick_cloud", "thin_cloud", "cloud_shadow", "snow")
CLOUD_BINARY = ("not_cloud", "cloud")
# The CNES-style setting: thick and thin cloud are cloud; clear, shadow and snow are not.
CLOUD_TO_BINARY: dict[int, int] = {0: 0, 1: 1, 2: 1, 3: 0, 4: 0}
VEHICLE_CLASSES = ("vehicle",)


@dataclass(frozen=True)
class ClassList:
    """Ordered class names; class ``i`` has mask value ``i``. ``ignore_index`` marks unlabelled pixels."""

    names: tuple[str, ...]
    ignore_index: int = IGNORE_INDEX

    def __post_init__(self) -> None:
        if not self.names or len(set(self.names)) != len(self.names):
            raise DataError(f"class names must be non-empty and unique, got {self.names!r}")
        if 0 <= self.ignore_index < len(self.names):
            raise DataError(f"ignore_index {self.ignore_index} collides with a class value")

    @property
    def num_classes(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        """Mask value of a class name."""
        try:
            return self.names.index(name)
        except ValueError as exc:
            raise DataError(f"unknown class {name!r}; classes are {self.names}") from exc

    def to_dict(self) -> dict[str, Any]:
        return {"names": list(self.names), "ignore_index": self.ignore_index}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassList:
        return cls(names=tuple(data["names"]), ignore_index=int(data.get("ignore_index", IGNORE_INDEX)))


@dataclass(frozen=True)
class ClassMerge:
    """A mapping from a fine class list to a coarser one (e.g. five cloud classes -> cloud / not cloud)."""

    source: ClassList
    target: ClassList
    mapping: Mapping[int, int]

    def __post_init__(self) -> None:
        if set(self.mapping) != set(range(self.source.num_classes)):
            raise DataError("the mapping must give a target for every source class")
        if not set(self.mapping.values()) <= set(range(self.target.num_classes)):
            raise DataError("the mapping points at values outside the target classes")

    def apply(self, mask: np.ndarray) -> np.ndarray:
        """Merge a mask; ignored pixels keep the target's ignore value."""
        merged = merge_classes(mask, self.mapping, ignore_index=self.source.ignore_index)
        if self.target.ignore_index != self.source.ignore_index:
            merged[merged == self.source.ignore_index] = self.target.ignore_index
        return merged


CLOUD = ClassList(CLOUD_CLASSES)
CLOUD_BINARY_LIST = ClassList(CLOUD_BINARY)
CLOUD_MERGE_BINARY = ClassMerge(source=CLOUD, target=CLOUD_BINARY_LIST, mapping=CLOUD_TO_BINARY)


def merge_classes(
    mask: np.ndarray, mapping: Mapping[int, int], *, ignore_index: int = IGNORE_INDEX
) -> np.ndarray:
    """Map every mask value through ``mapping``; ``ignore_index`` stays; unmapped values raise DataError."""
    values = np.asarray(mask)
    if values.size and (values.min() < 0 or values.max() > 255):
        raise DataError("mask values must lie in [0, 255]")
    table = np.full(256, -1, dtype=np.int64)
    for source, target in mapping.items():
        table[int(source)] = int(target)
    table[ignore_index] = ignore_index
    merged = table[values.astype(np.int64)]
    if (merged < 0).any():
        unknown = sorted(set(np.unique(values[merged < 0]).tolist()))
        raise DataError(f"mask values {unknown} have no entry in the mapping")
    return merged
