"""Ingest: good, duplicate, corrupt, wrong band count, not-a-GeoTIFF, non-georeferenced, STAC, references."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.core.management import call_command
from django.core.management.base import CommandError
from rio_cogeo.cogeo import cog_validate

from eolabel.archive import services
from eolabel.archive.errors import (
    GeoreferenceError,
    NotATiff,
    RasterTooLarge,
    ReferenceError_,
    SensorError,
    StacError,
    UnreadableRaster,
)
from eolabel.archive.models import Chip, ReferenceLayer, Scene, Sensor
from eolabel.archive.paths import archive_resolve
from eolabel.archive.sensors import SENTINEL2_BANDS
from fixtures.tiny import make_geotiff, make_nongeo_tiff

S2_NAMES = [b["name"] for b in SENTINEL2_BANDS]
pytestmark = pytest.mark.django_db


def s2_file(path: Path, *, width: int = 300, height: int = 200, seed: int = 0, **kw) -> Path:
    return make_geotiff(
        path, width=width, height=height, bands=13, dtype="uint16", descriptions=S2_NAMES, seed=seed, **kw
    )


def archive_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_good_file_becomes_a_scene_with_a_cog_and_chips(archive_root, tmp_path):
    source = s2_file(tmp_path / "S2B_MSIL1C_20240612T103629_tile.tif", width=300, height=200)

    outcome = services.scene_ingest(path=source)

    scene = outcome.scene
    assert outcome.created and outcome.translated
    assert scene.sensor.name == "sentinel2-l1c"
    assert (scene.width, scene.height, scene.band_count, scene.dtype) == (300, 200, 13, "uint16")
    assert scene.crs == "EPSG:32631" and scene.georeferenced
    assert scene.acquired.isoformat() == "2024-06-12T10:36:29+00:00"
    stored = archive_resolve(scene.asset_path)
    assert stored.is_relative_to(archive_root)
    assert cog_validate(str(stored), quiet=True)[0]
    with rasterio.open(stored) as cog, rasterio.open(source) as src:
        assert np.array_equal(cog.read(), src.read())
        assert cog.descriptions == tuple(S2_NAMES)
    # 300 x 200 at 256 px: 2 columns x 1 row, the edge chip clipped to 44 px
    chips = list(scene.chips.order_by("col_off"))
    assert [(c.col_off, c.row_off, c.width, c.height) for c in chips] == [(0, 0, 256, 200), (256, 0, 44, 200)]
    assert chips[0].west < chips[0].east <= chips[1].east
    west, south, east, north = scene.bounds
    assert -180 < west < east < 180 and -90 < south < north < 90
    assert scene.footprint["type"] == "Polygon"


def test_the_same_file_twice_is_one_scene(archive_root, tmp_path):
    source = s2_file(tmp_path / "a.tif")
    first = services.scene_ingest(path=source)
    files_before = archive_files(archive_root)

    again = services.scene_ingest(path=source)

    assert not again.created and again.scene.pk == first.scene.pk
    assert Scene.objects.count() == 1 and Chip.objects.count() == first.scene.chips.count()
    assert archive_files(archive_root) == files_before


def test_a_valid_cog_is_copied_byte_for_byte(archive_root, tmp_path):
    source = s2_file(tmp_path / "cog.tif", width=512, height=512, cog=True)
    outcome = services.scene_ingest(path=source)
    assert not outcome.translated
    assert archive_resolve(outcome.scene.asset_path).read_bytes() == source.read_bytes()


def test_truncated_file_is_rejected_and_nothing_is_left(archive_root, tmp_path):
    source = s2_file(tmp_path / "broken.tif", width=512, height=512)
    data = source.read_bytes()
    source.write_bytes(data[: len(data) // 2])

    with pytest.raises(UnreadableRaster, match="broken.tif"):
        services.scene_ingest(path=source)

    assert Scene.objects.count() == 0 and Chip.objects.count() == 0
    assert archive_files(archive_root) == []


def test_wrong_band_count_for_the_named_sensor_is_rejected(archive_root, tmp_path):
    source = make_geotiff(tmp_path / "four.tif", width=64, height=64, bands=4, dtype="uint16")
    with pytest.raises(SensorError, match="4 band.*sentinel2-l1c has 13"):
        services.scene_ingest(path=source, sensor_name="sentinel2-l1c")
    assert Scene.objects.count() == 0 and archive_files(archive_root) == []


@pytest.mark.parametrize(
    "content",
    [
        b"\x89PNG\r\n\x1a\n" + b"\0" * 64,
        b'<VRTDataset rasterXSize="10" rasterYSize="10"></VRTDataset>',
        b"",
    ],
    ids=["png", "vrt", "empty"],
)
def test_not_a_geotiff_is_rejected_before_gdal(archive_root, tmp_path, content):
    source = tmp_path / "fake.tif"
    source.write_bytes(content)
    with pytest.raises(NotATiff, match="fake.tif: not a TIFF"):
        services.scene_ingest(path=source)
    assert Scene.objects.count() == 0


def test_image_without_georeference_is_taken_in_pixel_coordinates(archive_root, tmp_path):
    source = make_nongeo_tiff(
        tmp_path / "patch.tif",
        width=100,
        height=80,
        bands=6,
        dtype="uint16",
        descriptions=["blue", "green", "red", "nir", "swir16", "swir22"],
    )
    scene = services.scene_ingest(path=source).scene
    assert scene.sensor.name == "landsat-tm-etm-6band"
    assert not scene.georeferenced and scene.crs == "" and scene.bounds is None and scene.footprint is None
    assert scene.chips.get().west is None


def test_a_transform_without_crs_is_refused(archive_root, tmp_path):
    source = tmp_path / "nocrs.tif"
    profile = dict(driver="GTiff", width=16, height=16, count=1, dtype="uint8")
    with rasterio.open(
        source, "w", transform=rasterio.Affine(10, 0, 500000, 0, -10, 4000000), **profile
    ) as dst:
        dst.write(np.ones((1, 16, 16), "uint8"))
    with pytest.raises(GeoreferenceError, match="geotransform but no CRS"):
        services.scene_ingest(path=source, sensor_name=None)


def test_caps_on_size(archive_root, tmp_path, settings):
    settings.EOLABEL_MAX_PIXELS = 100 * 100
    source = s2_file(tmp_path / "big.tif", width=101, height=100)
    with pytest.raises(RasterTooLarge, match="above the cap"):
        services.scene_ingest(path=source)


def test_ambiguous_band_layout_asks_for_a_sensor(archive_root, tmp_path):
    source = make_nongeo_tiff(tmp_path / "amb.tif", width=32, height=32, bands=4, dtype="float32")
    with pytest.raises(SensorError, match="ambiguous sensor .*--sensor"):
        services.scene_ingest(path=source)
    scene = services.scene_ingest(path=source, sensor_name="vhr-rgbn").scene
    assert scene.sensor.name == "vhr-rgbn"


def test_new_band_layout_registers_a_sensor(archive_root, tmp_path):
    source = make_geotiff(
        tmp_path / "hyper.tif",
        width=40,
        height=40,
        bands=5,
        dtype="uint16",
        descriptions=["a", "b", "c", "d", "e"],
    )
    with pytest.raises(SensorError, match="no registered sensor"):
        services.scene_ingest(path=source)
    scene = services.scene_ingest(path=source, new_sensor="my-sensor").scene
    sensor = Sensor.objects.get(name="my-sensor")
    assert scene.sensor == sensor and sensor.band_names == ["a", "b", "c", "d", "e"]
    assert sensor.presets["default"]["bands"] == ["a", "b", "c"]
    low, high = sensor.presets["default"]["rescale"][0]
    assert low < high


def test_reference_mask_is_attached_and_a_misfit_one_stores_nothing(archive_root, tmp_path):
    source = s2_file(tmp_path / "scene.tif", width=64, height=48)
    good = make_geotiff(tmp_path / "scene_mask.tif", width=64, height=48, bands=1, dtype="uint8")
    bad = make_geotiff(tmp_path / "other_mask.tif", width=32, height=48, bands=1, dtype="uint8")

    with pytest.raises(ReferenceError_, match="does not match the scene"):
        services.scene_ingest(path=source, references=[services.ReferenceSpec(path=bad)])
    assert Scene.objects.count() == 0 and archive_files(archive_root) == []

    scene = services.scene_ingest(
        path=source, references=[services.ReferenceSpec(path=good, classes={"0": "clear", "1": "cloud"})]
    ).scene
    layer = ReferenceLayer.objects.get(scene=scene)
    assert layer.kind == "mask" and layer.classes == {"0": "clear", "1": "cloud"} and layer.name == "mask"
    with rasterio.open(archive_resolve(layer.asset_path)) as stored, rasterio.open(good) as original:
        assert np.array_equal(stored.read(1), original.read(1))


def test_a_failure_after_the_cog_is_written_removes_it(archive_root, tmp_path, monkeypatch):
    source = s2_file(tmp_path / "x.tif", width=64, height=64)

    def explode(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "chips_ensure", explode)
    with pytest.raises(RuntimeError):
        services.scene_ingest(path=source)
    assert Scene.objects.count() == 0 and archive_files(archive_root) == []


def test_stac_item_with_a_local_asset(archive_root, tmp_path):
    s2_file(tmp_path / "data.tif", width=64, height=64)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "S2A_TEST_ITEM",
        "geometry": None,
        "properties": {"datetime": "2023-03-04T10:20:30Z", "platform": "sentinel-2a"},
        "links": [],
        "assets": {
            "data": {"href": "./data.tif", "type": "image/tiff; application=geotiff", "roles": ["data"]}
        },
    }
    (tmp_path / "item.json").write_text(json.dumps(item))

    scene = services.scene_ingest(path=tmp_path / "item.json").scene

    assert scene.name == "S2A_TEST_ITEM" and scene.sensor.name == "sentinel2-l1c"
    assert scene.acquired.isoformat() == "2023-03-04T10:20:30+00:00"
    assert scene.properties["stac"]["platform"] == "sentinel-2a"


@pytest.mark.parametrize(
    "href", ["https://example.com/a.tif", "/vsicurl/http://x/a.tif", "../outside.tif", "/etc/passwd.tif"]
)
def test_stac_assets_must_be_local_files_beside_the_item(archive_root, tmp_path, href):
    folder = tmp_path / "items"
    folder.mkdir()
    s2_file(tmp_path / "outside.tif", width=32, height=32)
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "bad",
        "geometry": None,
        "properties": {"datetime": "2023-03-04T10:20:30Z"},
        "links": [],
        "assets": {"data": {"href": href, "type": "image/tiff", "roles": ["data"]}},
    }
    (folder / "item.json").write_text(json.dumps(item))
    with pytest.raises(StacError):
        services.scene_ingest(path=folder / "item.json")
    assert Scene.objects.count() == 0


def test_command_reports_each_rejection_and_exits_non_zero(archive_root, tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    s2_file(folder / "good.tif", width=40, height=40)
    (folder / "notes.tif").write_bytes(b"hello")
    make_geotiff(folder / "three.tif", width=16, height=16, bands=3, dtype="uint16")

    with pytest.raises(CommandError, match="ingested 1, already in the archive 0, rejected 2") as err:
        call_command("ingest", str(folder))
    assert err.value.returncode == 1
    stderr = capsys.readouterr().err
    assert "rejected " + str(folder / "notes.tif") + ": notes.tif: not a TIFF" in stderr
    assert "three.tif: no registered sensor has 3 band(s)" in stderr
    assert Scene.objects.count() == 1

    call_command("ingest", str(folder / "good.tif"))
    assert "already in the archive 1" in capsys.readouterr().out


def test_command_exits_zero_when_all_went_in(archive_root, tmp_path, capsys):
    s2_file(tmp_path / "one.tif", width=40, height=40)
    call_command("ingest", str(tmp_path / "one.tif"), "--chip-size", "32")
    out = capsys.readouterr().out
    assert "ingested 1, already in the archive 0, rejected 0" in out
    assert Chip.objects.filter(size=32).count() == math.ceil(40 / 32) ** 2


def test_the_real_samples_go_in_as_they_are(archive_root, shared_data, capsys):
    call_command(
        "ingest",
        str(shared_data),
        "--reference-suffix",
        "_mask",
        "--reference-suffix",
        "_s2cloudless_mask",
        "--reference-suffix",
        "_cloud_mask",
    )
    assert "ingested 8, already in the archive 0, rejected 0" in capsys.readouterr().out
    by_sensor = {s.name: s.scenes.count() for s in Sensor.objects.all()}
    assert by_sensor["sentinel2-l1c"] == 5
    assert by_sensor["landsat-tm-etm-6band"] == 2
    assert by_sensor["landsat8-rgbn-8bit"] == 1
    assert Scene.objects.filter(georeferenced=False).count() == 3
    assert ReferenceLayer.objects.count() == 8
    landsat = ReferenceLayer.objects.get(scene__name="landsat5_toa_6band")
    assert landsat.classes == {
        "0": "cloud shadow",
        "1": "water",
        "2": "snow/ice",
        "3": "clear land",
        "4": "cloud",
    }
    s2 = ReferenceLayer.objects.filter(scene__sensor__name="sentinel2-l1c").first()
    assert s2.name == "s2cloudless-mask" and s2.classes == {"0": "clear", "1": "cloud"}
