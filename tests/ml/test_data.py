from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine

from ml.data import (
    CLOUD_BINARY,
    CLOUD_CLASSES,
    CLOUD_TO_BINARY,
    IGNORE_INDEX,
    BandStats,
    ChipDataset,
    ClassList,
    collate_detection,
    dihedral,
    merge_classes,
    read_chips,
    read_mask,
    read_mask_chips,
    resample_to_finest,
)
from ml.data.classes import CLOUD_MERGE_BINARY
from ml.errors import DataError, ShapeError


def test_cloud_class_config_has_the_agreed_values():
    assert CLOUD_CLASSES == ("clear", "thick_cloud", "thin_cloud", "cloud_shadow", "snow")
    assert CLOUD_BINARY == ("not_cloud", "cloud")
    assert CLOUD_TO_BINARY == {0: 0, 1: 1, 2: 1, 3: 0, 4: 0}
    assert IGNORE_INDEX == 255


def test_merge_classes_maps_cloud_classes_to_binary_and_keeps_ignored_pixels():
    mask = np.array([[0, 1, 2], [3, 4, 255]], dtype=np.uint8)

    merged = merge_classes(mask, CLOUD_TO_BINARY)

    assert merged.tolist() == [[0, 1, 1], [0, 0, 255]]
    assert CLOUD_MERGE_BINARY.apply(mask).tolist() == merged.tolist()


def test_merge_classes_refuses_values_missing_from_the_mapping():
    with pytest.raises(DataError, match=r"\[7\]"):
        merge_classes(np.array([0, 7]), CLOUD_TO_BINARY)


def test_class_list_indexes_names_and_round_trips():
    classes = ClassList(CLOUD_CLASSES)

    assert classes.num_classes == 5 and classes.index("cloud_shadow") == 3
    assert ClassList.from_dict(classes.to_dict()) == classes
    with pytest.raises(DataError):
        ClassList(("a", "a"))
    with pytest.raises(DataError):
        ClassList(("a", "b"), ignore_index=1)


def test_band_stats_streamed_over_images_equal_stats_of_all_pixels():
    rng = np.random.default_rng(0)
    images = [
        rng.normal(loc=[[[100]], [[2000]]], scale=[[[5]], [[300]]], size=(2, 8, 9 + i)) for i in range(3)
    ]
    pixels = np.concatenate([im.reshape(2, -1) for im in images], axis=1)

    stats = BandStats.from_images(images, bands=["red", "nir"])

    np.testing.assert_allclose(stats.mean, pixels.mean(axis=1), rtol=1e-10)
    np.testing.assert_allclose(stats.std, pixels.std(axis=1), rtol=1e-10)
    normalised = stats.normalize(np.stack(images[:1]))
    assert normalised.dtype == np.float32 and normalised.shape == (1, 2, 8, 9)
    assert BandStats.from_dict(stats.to_dict()) == stats


def test_band_stats_skip_nodata_and_give_constant_bands_unit_std():
    image = np.array([[[1.0, 3.0, 0.0]], [[5.0, 5.0, 0.0]]])

    stats = BandStats.from_images([image], nodata=0.0)

    assert stats.mean == (2.0, 5.0)
    assert stats.std == (1.0, 1.0)
    np.testing.assert_allclose(stats.denormalize(stats.normalize(image)), image, atol=1e-6)


def test_band_stats_refuse_images_with_the_wrong_band_count():
    stats = BandStats(mean=(0.0, 0.0), std=(1.0, 1.0))

    with pytest.raises(ShapeError):
        stats.normalize(np.zeros((3, 4, 4)))


def _box_mask(box: np.ndarray, height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), dtype=np.int64)
    x1, y1, x2, y2 = box.astype(int)
    mask[y1:y2, x1:x2] = 1
    return mask


def _mask_box(mask: np.ndarray) -> list[int]:
    ys, xs = np.nonzero(mask)
    return [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]


@pytest.mark.parametrize("k", range(8))
def test_dihedral_moves_image_mask_and_boxes_identically(k):
    height, width = 12, 20  # not square, so a wrong width/height swap shows
    box = np.array([3.0, 2.0, 9.0, 5.0])
    mask = _box_mask(box, height, width)
    image = np.stack(
        [mask.astype(np.float32), np.arange(height * width, dtype=np.float32).reshape(height, width)]
    )

    out_image, out_mask, out_boxes = dihedral(image, k=k, mask=mask, boxes=box[None])

    assert np.array_equal(out_image[0], out_mask)
    assert _mask_box(out_mask) == out_boxes[0].tolist()
    assert out_image.shape[1:] == ((height, width) if k % 2 == 0 else (width, height))


def test_the_eight_dihedral_elements_are_distinct():
    image = np.arange(16, dtype=np.float32).reshape(1, 4, 4)

    outputs = {dihedral(image, k=k)[0].tobytes() for k in range(8)}

    assert len(outputs) == 8


def test_chip_dataset_yields_normalised_tensors_and_merged_masks(seg_chips):
    images, _ = seg_chips
    masks = [np.full((32, 32), 2, dtype=np.uint8) for _ in images]
    stats = BandStats(mean=(1.0,) * 4, std=(2.0,) * 4)

    ds = ChipDataset(images, masks, stats=stats, class_mapping=CLOUD_TO_BINARY)
    item = ds[1]

    assert item["image"].dtype == torch.float32 and item["image"].shape == (4, 32, 32)
    assert torch.allclose(item["image"], torch.from_numpy((images[1] - 1.0) / 2.0))
    assert item["mask"].dtype == torch.int64 and set(item["mask"].unique().tolist()) == {1}
    assert ds.task == "segmentation" and len(ds) == 4


def test_chip_dataset_augmentation_depends_on_seed_epoch_and_index_only(seg_chips):
    images, masks = seg_chips
    ds = ChipDataset(images, masks, augment=True, seed=1)

    draws = []
    for epoch in range(4):
        ds.set_epoch(epoch)
        draws.append(torch.stack([ds[i]["image"] for i in range(4)]))
    ds.set_epoch(2)
    again = torch.stack([ds[i]["image"] for i in range(4)])

    assert torch.equal(again, draws[2])
    assert not all(torch.equal(draws[0], d) for d in draws[1:])


def test_chip_dataset_for_boxes_collates_variable_counts(box_chips):
    images, boxes = box_chips
    boxes = [boxes[0], boxes[1][:1], np.zeros((0, 4), np.float32), boxes[3]]

    ds = ChipDataset(images, boxes=boxes, augment=True)
    batch = collate_detection([ds[i] for i in range(4)])

    assert batch["image"].shape == (4, 3, 64, 64)
    assert [len(b) for b in batch["boxes"]] == [3, 1, 0, 3]
    assert all(lab.dtype == torch.int64 for lab in batch["labels"])
    assert ds.task == "detection"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"masks": None},
        {"masks": [np.zeros((32, 32))] * 3},
        {"masks": [np.zeros((16, 16))] * 4},
        {"masks": None, "boxes": [np.array([[5, 5, 4, 9]])] * 4},
    ],
)
def test_chip_dataset_rejects_inconsistent_inputs(seg_chips, kwargs):
    with pytest.raises((DataError, ShapeError)):
        ChipDataset(seg_chips[0], **kwargs)


def test_resample_to_finest_puts_10_20_60_m_groups_on_the_10_m_grid():
    b10 = np.arange(2 * 12 * 12, dtype=np.float32).reshape(2, 12, 12)
    b20 = np.full((3, 6, 6), 7.0, dtype=np.float32)
    b60 = np.array([[1.0, 2.0], [3.0, 4.0]], dtype=np.float32)

    out = resample_to_finest([b10, b20, b60], resolutions_m=[10, 20, 60], method="nearest")

    assert out.shape == (6, 12, 12) and out.dtype == np.float32
    assert np.array_equal(out[:2], b10)
    assert np.all(out[2:5] == 7.0)
    assert np.array_equal(out[5], np.repeat(np.repeat(b60, 6, axis=0), 6, axis=1))


def test_bilinear_resampling_keeps_the_band_mean_and_ranges():
    coarse = np.random.default_rng(0).uniform(0, 1, size=(10, 10)).astype(np.float32)

    out = resample_to_finest([np.zeros((20, 20)), coarse])

    assert out[1].min() >= coarse.min() - 1e-6 and out[1].max() <= coarse.max() + 1e-6
    assert out[1].mean() == pytest.approx(coarse.mean(), abs=0.01)


def test_resample_refuses_bands_covering_different_extents():
    with pytest.raises(DataError, match="extents"):
        resample_to_finest([np.zeros((12, 12)), np.zeros((4, 4))], resolutions_m=[10, 20])


def _write_tif(path: Path, data: np.ndarray) -> Path:
    profile = {
        "driver": "GTiff",
        "height": data.shape[1],
        "width": data.shape[2],
        "count": data.shape[0],
        "dtype": data.dtype.name,
        "crs": "EPSG:32633",
        "transform": Affine(10, 0, 500000, 0, -10, 4600000),
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def test_read_chips_cuts_a_raster_row_major_and_pads_the_edges(tmp_path):
    data = np.arange(2 * 40 * 50, dtype=np.uint16).reshape(2, 40, 50)
    path = _write_tif(tmp_path / "scene.tif", data)

    chips, windows = read_chips(path, size=32)

    assert chips.shape == (4, 2, 32, 32) and chips.dtype == np.uint16
    assert [(w.col_off, w.row_off, w.width, w.height) for w in windows] == [
        (0, 0, 32, 32),
        (32, 0, 18, 32),
        (0, 32, 32, 8),
        (32, 32, 18, 8),
    ]
    assert np.array_equal(chips[3, :, :8, :18], data[:, 32:, 32:])
    assert np.all(chips[3, :, 8:, :] == 0) and np.all(chips[3, :, :, 18:] == 0)


def test_mask_chips_are_padded_with_the_ignore_value(tmp_path):
    mask = np.ones((1, 20, 20), dtype=np.uint8)
    path = _write_tif(tmp_path / "mask.tif", mask)

    chips, _ = read_mask_chips(path, size=16)

    assert chips.shape == (4, 16, 16) and chips.dtype == np.int64
    assert np.all(chips[0] == 1) and np.all(chips[3, 4:, :] == IGNORE_INDEX)
    assert read_mask(path).shape == (20, 20)


def test_read_chips_reports_unreadable_files_as_data_errors(tmp_path):
    bad = tmp_path / "bad.tif"
    bad.write_bytes(b"not a tiff")

    with pytest.raises(DataError):
        read_chips(bad, size=16)


def test_real_sentinel2_scene_reads_into_13_band_chips_with_its_cloud_mask(shared_data):
    folder = shared_data / "sentinel2-l1c-eolearn"

    chips, windows = read_chips(folder / "S2A_L1C_20150711_T33_eolearn.tif", size=64)
    masks, _ = read_mask_chips(folder / "S2A_L1C_20150711_T33_eolearn_s2cloudless_mask.tif", size=64)
    stats = BandStats.from_images([chips[0]])

    assert chips.shape == (4, 13, 64, 64) and masks.shape == (4, 64, 64)
    assert set(np.unique(masks[3])) <= {0, 1, IGNORE_INDEX}
    assert stats.num_bands == 13 and all(s > 0 for s in stats.std)
    assert (windows[-1].width, windows[-1].height) == (100 - 64, 101 - 64)
