"""Data: chip datasets, class lists and merging, band normalisation, augmentation, resampling, reading."""

from ml.data.augment import dihedral, random_dihedral
from ml.data.classes import (
    CLOUD_BINARY,
    CLOUD_CLASSES,
    CLOUD_TO_BINARY,
    IGNORE_INDEX,
    ClassList,
    ClassMerge,
    merge_classes,
)
from ml.data.datasets import ChipDataset, collate, collate_detection, collate_segmentation
from ml.data.io import read_chips, read_mask, read_mask_chips
from ml.data.normalization import BandStats
from ml.data.resample import resample_to_finest

__all__ = [
    "CLOUD_BINARY",
    "CLOUD_CLASSES",
    "CLOUD_TO_BINARY",
    "IGNORE_INDEX",
    "BandStats",
    "ChipDataset",
    "ClassList",
    "ClassMerge",
    "collate",
    "collate_detection",
    "collate_segmentation",
    "dihedral",
    "merge_classes",
    "random_dihedral",
    "read_chips",
    "read_mask",
    "read_mask_chips",
    "resample_to_finest",
]
