import json
import math
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from ml.simulate import (
    SimConfig,
    area_under_curve,
    labels_to_reach,
    load_cloud_folder,
    load_vehicle_folder,
    parse_mask_mapping,
    plot_learning_curves,
    read_csv,
    run_strategy,
    simulate,
    split,
    summarise,
    write_csv,
)
from ml.simulate.cli import main
from ml.simulate.data import binary_cloud, cloud_data, vehicle_data
from ml.simulate.loop import initial_set


def blob_scenes(n_scenes: int = 4, chips_per_scene: int = 6, size: int = 16, seed: int = 0):
    """Raw chips: dark noisy ground, some with a bright round cloud (class 1), as per-scene lists."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    images, masks = [], []
    for _ in range(n_scenes):
        scene_images, scene_masks = [], []
        for _ in range(chips_per_scene):
            cloud = np.zeros((size, size), bool)
            if rng.random() < 0.7:
                cy, cx, r = rng.uniform(0, size, 2).tolist() + [rng.uniform(3, 7)]
                cloud = (yy - cy) ** 2 + (xx - cx) ** 2 < r**2
            image = 1000 + 200 * rng.random((3, size, size)) + 4000 * cloud[None]
            scene_images.append(image.astype(np.uint16))
            scene_masks.append(cloud.astype(np.int64))
        images.append(np.stack(scene_images))
        masks.append(np.stack(scene_masks))
    groups = [g for g in range(n_scenes) for _ in range(chips_per_scene)]
    ids = [f"s{g}:{i}" for g in range(n_scenes) for i in range(chips_per_scene)]
    return images, masks, groups, ids


TINY = SimConfig(
    task="cloud",
    strategies=("random", "entropy"),
    seeds=1,
    initial=4,
    batch=3,
    rounds=2,
    width=8,
    depth=2,
    steps=6,
)


def tiny_data():
    images, masks, groups, ids = blob_scenes()
    return cloud_data(images, masks, groups=groups, chip_ids=ids, cloud_classes=(1,))


def test_labelled_set_grows_by_the_batch_each_round_without_repeats():
    data = tiny_data()
    pool, test = split(data, test_fraction=0.25, seed=0)

    rows = simulate(data, pool, test, config=TINY, log=lambda _: None)

    pool_ids = {data.chip_ids[i] for i in pool}
    for strategy in TINY.strategies:
        mine = [r for r in rows if r["strategy"] == strategy]
        assert [r["n_labelled"] for r in mine] == [4, 7, 10]
        seen: list[str] = []
        for r in mine:
            seen += str(r["added"]).split(";")
            assert len(seen) == len(set(seen)) == r["n_labelled"]
        assert set(seen) <= pool_ids
        assert all(0.0 <= float(r["f2"]) <= 1.0 for r in mine)
    # the same seed starts every strategy from the same chips
    firsts = {r["added"] for r in rows if r["round"] == 0}
    assert len(firsts) == 1


def test_test_split_holds_out_whole_scenes():
    data = tiny_data()

    pool, test = split(data, test_fraction=0.25, seed=0)

    assert len(np.intersect1d(pool, test)) == 0 and len(pool) + len(test) == len(data)
    assert set(data.groups[test].tolist()).isdisjoint(data.groups[pool].tolist())


def test_runs_are_deterministic_for_a_seed():
    data = tiny_data()
    pool, test = split(data, test_fraction=0.25, seed=0)
    config = SimConfig(task="cloud", strategies=("entropy",), initial=4, batch=3, rounds=1, steps=4)

    a = run_strategy(data, pool, test, strategy="entropy", seed=0, config=config, log=lambda _: None)
    b = run_strategy(data, pool, test, strategy="entropy", seed=0, config=config, log=lambda _: None)

    assert [(r["added"], r["f2"]) for r in a] == [(r["added"], r["f2"]) for r in b]


def test_labels_to_reach_interpolates_and_reports_not_reached():
    n = np.array([8.0, 16.0, 24.0])

    assert labels_to_reach(n, np.array([0.6, 0.7, 0.9]), 0.8) == pytest.approx(20.0)
    assert labels_to_reach(n, np.array([0.85, 0.7, 0.9]), 0.8) == 8.0
    assert labels_to_reach(n, np.array([0.6, 0.7, 0.75]), 0.8) is None


def fake_rows():
    rows = []
    for seed, jitter in ((0, -0.02), (1, 0.02)):
        for rnd, (rand, ent) in enumerate([(0.5, 0.5), (0.6, 0.7), (0.7, 0.9), (0.8, 0.92)]):
            n = 8 + 8 * rnd
            rows.append(
                {"strategy": "random", "seed": seed, "round": rnd, "n_labelled": n, "f2": rand + jitter}
            )
            rows.append(
                {"strategy": "entropy", "seed": seed, "round": rnd, "n_labelled": n, "f2": ent + jitter}
            )
    return rows


def test_summary_targets_a_share_of_random_best_mean_and_reports_seed_spread():
    summary = summarise(fake_rows(), metric="f2", target_fraction=0.9)

    assert summary is not None
    # random's mean curve peaks at its end: 0.8 at 32 labels; target 0.9 x 0.8 = 0.72
    assert (summary.random_best, summary.random_best_n) == (pytest.approx(0.8), 32.0)
    assert summary.target == pytest.approx(0.72)
    random, entropy = summary.strategies
    assert random.labels_to_target == pytest.approx(25.6)  # 0.7 at 24, 0.8 at 32
    assert entropy.labels_to_target == pytest.approx(16.8)  # 0.7 at 16, 0.9 at 24
    assert entropy.fraction_of_random == pytest.approx(16.8 / 25.6)
    # per seed (jitter -0.02 / +0.02): entropy 0.68 -> 0.88 and 0.72 at 16
    assert (
        entropy.labels_per_seed == [pytest.approx(17.6), pytest.approx(16.0)] and entropy.seeds_reaching == 2
    )
    assert entropy.final_mean == pytest.approx(0.92) and entropy.final_std == pytest.approx(0.02)
    assert entropy.aulc_std == pytest.approx(0.02) and entropy.aulc_mean > random.aulc_mean
    assert "16.8 (0.66x)" in summary.text() and "16.0-17.6" in summary.text()
    assert summarise([r for r in fake_rows() if r["strategy"] == "entropy"], metric="f2") is None


def test_a_last_round_dip_of_random_does_not_move_the_target():
    rows = [
        {"strategy": "random", "seed": 0, "round": r, "n_labelled": 8 * (r + 1), "f2": v}
        for r, v in enumerate([0.5, 0.9, 0.6])
    ] + [
        {"strategy": "entropy", "seed": 0, "round": r, "n_labelled": 8 * (r + 1), "f2": v}
        for r, v in enumerate([0.5, 0.7, 0.95])
    ]

    summary = summarise(rows, metric="f2")

    entropy = summary.strategies[1]
    assert (summary.random_best, summary.random_best_n) == (0.9, 16.0)
    assert summary.target == pytest.approx(0.855)
    assert entropy.labels_to_target == pytest.approx(16 + 8 * (0.855 - 0.7) / 0.25)
    assert summary.strategies[0].labels_to_target == pytest.approx(8 + 8 * (0.855 - 0.5) / 0.4)


def test_area_under_curve_is_the_mean_height_over_labelled_chips():
    assert area_under_curve(np.array([8.0, 16.0, 32.0]), np.array([0.0, 1.0, 1.0])) == pytest.approx(
        (4 + 16) / 24
    )
    assert area_under_curve(np.array([8.0]), np.array([0.4])) == 0.4
    assert area_under_curve(np.array([8.0, 16.0, 24.0]), np.array([0.2, np.nan, 0.4])) == pytest.approx(0.3)
    assert math.isnan(area_under_curve(np.array([8.0]), np.array([np.nan])))


def test_csv_round_trip_and_png_curve(tmp_path):
    rows = fake_rows()

    write_csv(rows, tmp_path / "sim.csv")
    plot_learning_curves(rows, metric="f2", path=tmp_path / "curve.png")

    back = read_csv(tmp_path / "sim.csv")
    assert back[0] == {
        "strategy": "random",
        "seed": 0,
        "round": 0,
        "n_labelled": 8,
        "f2": pytest.approx(0.48),
    }
    png = (tmp_path / "curve.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 200_000


def write_tif(path, array):
    array = array if array.ndim == 3 else array[None]
    height, width = array.shape[1:]
    profile = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": array.shape[0],
        "dtype": array.dtype,
    }
    transform = Affine(1.0, 0.0, 500000.0, 0.0, -1.0, 4800000.0 + height)
    with warnings.catch_warnings():  # rasterio warns while opening for writing, before the transform is set
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path, "w", crs="EPSG:32631", transform=transform, **profile) as dst:
            dst.write(array)


def test_cloud_folder_pairs_masks_by_prefix_and_applies_a_mapping(tmp_path):
    image = np.full((3, 32, 32), 1000, np.uint16)
    mask = np.full((32, 32), 3, np.uint8)  # ukis: 3 clear land
    mask[:16, :16] = 4  # ukis: cloud
    write_tif(tmp_path / "landsat5_toa_6band.tif", image)
    write_tif(tmp_path / "landsat5_mask.tif", mask)
    write_tif(tmp_path / "other.tif", image)
    write_tif(tmp_path / "other_mask.tif", np.zeros((32, 32), np.uint8) + 3)

    data = load_cloud_folder(tmp_path, chip_size=16, mask_mapping={0: 3, 1: 0, 2: 4, 3: 0, 4: 1})

    assert len(data) == 8 and data.images.shape == (8, 3, 16, 16)
    assert data.chip_ids[0] == "landsat5_toa_6band:0"
    assert data.masks[0].max() == 1 and data.masks[1].max() == 0  # cloud -> 1, clear land -> 0
    assert data.cloud_classes == (1,)


def test_vehicle_folder_reads_pixel_boxes_into_chips(tmp_path):
    write_tif(tmp_path / "vhr.tif", np.full((4, 32, 32), 500, np.uint16))
    features = [
        {"type": "Feature", "properties": {"bbox_px": [2, 2, 8, 6]}, "geometry": None},
        {"type": "Feature", "properties": {"bbox_px": [20, 18, 26, 22]}, "geometry": None},
    ]
    (tmp_path / "vhr_vehicles.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features})
    )

    data = load_vehicle_folder(tmp_path, chip_size=16)

    assert len(data) == 4
    assert data.boxes[0].tolist() == [[2, 2, 8, 6]]
    assert data.boxes[3].tolist() == [[4, 2, 10, 6]]  # shifted into the bottom-right chip
    assert len(data.boxes[1]) == len(data.boxes[2]) == 0


def test_real_landsat_samples_load_with_the_ukis_mapping(shared_data):
    folder = shared_data / "landsat-ukis"
    if not folder.is_dir():
        pytest.skip("landsat-ukis samples are not in the shared data folder")

    data = load_cloud_folder(folder, chip_size=128, mask_mapping=parse_mask_mapping("ukis"))

    assert data.images.shape == (32, 6, 128, 128)
    labelled = data.masks[data.masks != 255]
    assert set(np.unique(labelled).tolist()) <= {0, 1, 3, 4} and (labelled == 1).any()


def test_diverse_initial_set_is_a_cold_start_on_band_statistics():
    data = tiny_data()
    pool = np.arange(len(data))

    first = initial_set(data, pool, config=SimConfig(initial=5, initial_selection="diverse"), seed=0)

    assert len(set(first.tolist())) == 5
    assert np.array_equal(
        first, initial_set(data, pool, config=SimConfig(initial=5, initial_selection="diverse"), seed=9)
    )


def test_vehicle_round_trains_scores_and_selects():
    rng = np.random.default_rng(0)
    images = [(500 + 100 * rng.random((6, 3, 16, 16))).astype(np.uint16)]
    boxes = [
        np.array([[4, 4, 10, 8]], np.float32) if i % 2 else np.zeros((0, 4), np.float32) for i in range(6)
    ]
    data = vehicle_data(images, boxes, groups=[0] * 6, chip_ids=[f"v{i}" for i in range(6)])
    config = SimConfig(task="vehicles", strategies=("peaks",), initial=2, batch=2, rounds=1, steps=2)

    rows = run_strategy(
        data, np.arange(4), np.arange(4, 6), strategy="peaks", seed=0, config=config, log=print
    )

    assert [r["n_labelled"] for r in rows] == [2, 4]
    added = [i for r in rows for i in str(r["added"]).split(";")]
    assert len(set(added)) == 4 and set(added) <= {"v0", "v1", "v2", "v3"}
    assert 0.0 <= rows[-1]["ap50"] <= 1.0 or math.isnan(rows[-1]["ap50"])


def test_cli_writes_csv_png_and_summary_from_a_folder(tmp_path, capsys):
    images, masks, _, _ = blob_scenes(n_scenes=4, chips_per_scene=4, size=16)
    for g, (scene, scene_masks) in enumerate(zip(images, masks, strict=True)):
        mosaic = np.concatenate(
            [np.concatenate(list(scene[:2]), axis=2), np.concatenate(list(scene[2:]), axis=2)], axis=1
        )
        mmask = np.concatenate(
            [np.concatenate(list(scene_masks[:2]), axis=1), np.concatenate(list(scene_masks[2:]), axis=1)],
            axis=0,
        )
        write_tif(tmp_path / f"scene{g}.tif", mosaic)
        write_tif(tmp_path / f"scene{g}_mask.tif", mmask.astype(np.uint8))
    out = tmp_path / "out"

    code = main(
        ["--data", str(tmp_path), "--out", str(out), "--strategy", "random", "--strategy", "margin,ranked-batch",
         "--seeds", "1", "--initial", "3", "--batch", "2", "--rounds", "1", "--chip-size", "16", "--steps", "3",
         "--cloud-classes", "1"]
    )  # fmt: skip

    assert code == 0
    rows = read_csv(out / "simulation.csv")
    assert {r["strategy"] for r in rows} == {"random", "margin", "ranked-batch"}
    assert [r["n_labelled"] for r in rows if r["strategy"] == "ranked-batch"] == [3, 5]
    assert (out / "learning_curve.png").stat().st_size > 1000
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metric"] == "f2" and len(summary["strategies"]) == 3
    assert "target: 95% of random's best mean f2" in capsys.readouterr().out

    # re-summarise the CSV without simulating, with another target
    (out / "learning_curve.png").unlink()
    assert (
        main(["--from-csv", str(out / "simulation.csv"), "--out", str(out), "--target-fraction", "0.5"]) == 0
    )
    assert (out / "learning_curve.png").stat().st_size > 1000
    assert json.loads((out / "summary.json").read_text())["target_fraction"] == 0.5
    assert read_csv(out / "simulation.csv") == rows


def test_cli_fails_with_one_line_for_a_missing_folder(tmp_path, capsys):
    code = main(["--data", str(tmp_path / "nope"), "--out", str(tmp_path / "out")])

    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("ml.simulate:") and "\n" not in err


def test_binary_cloud_merges_cloud_classes_and_keeps_nodata():
    images = [np.full((1, 3, 4, 4), 1000, np.uint16)] * 4
    mask = np.array([[0, 1, 2, 3], [4, 255, 1, 0], [0, 0, 0, 0], [2, 2, 2, 2]])
    data = cloud_data(images, [mask[None]] * 4, groups=[0, 1, 2, 3], chip_ids=list("abcd"))

    merged = binary_cloud(data)

    assert merged.num_classes == 2 and merged.cloud_classes == (1,)
    assert merged.masks[0].tolist() == [[0, 1, 1, 0], [0, 255, 1, 0], [0, 0, 0, 0], [1, 1, 1, 1]]
    assert data.masks[0, 0, 3] == 3  # the original is untouched
