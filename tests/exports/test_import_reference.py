"""import_reference: masks and boxes made elsewhere become reference layers; misfits change nothing."""

import io
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.archive import services as archive
from eolabel.archive.models import ReferenceLayer, Sensor
from eolabel.archive.paths import archive_resolve
from eolabel.labelling.models import Annotation
from fixtures.demo.writer import write_raster
from fixtures.tiny import make_geotiff, make_mask_geotiff

pytestmark = pytest.mark.django_db


def ingest(tmp_path: Path, name: str = "S2B_MSIL1C_20240612T103629_T31TCJ", size: int = 64):
    source = make_geotiff(
        tmp_path / f"{name}.tif",
        width=size,
        height=size,
        bands=13,
        dtype="uint16",
        descriptions=Sensor.objects.get(name="sentinel2-l1c").band_names,
    )
    return archive.scene_ingest(path=source).scene


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_reference", *args, stdout=out)
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run(*args)
    assert caught.value.returncode == 1 and "\n" not in str(caught.value)
    return str(caught.value)


def stored_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_a_mask_matched_by_file_name_becomes_a_reference_layer(archive_root, tmp_path):
    scene = ingest(tmp_path)
    mask = make_mask_geotiff(tmp_path / f"{scene.name}_maja.tif", width=64, height=64, n_classes=2, seed=4)

    printed = run(str(mask), "--classes", "0:clear,1:cloud")

    layer = ReferenceLayer.objects.get(scene=scene)
    assert (layer.name, layer.kind, layer.classes) == ("maja", "mask", {"0": "clear", "1": "cloud"})
    assert f"scene {scene.pk}: reference 'maja'" in printed
    with rasterio.open(archive_resolve(layer.asset_path)) as stored, rasterio.open(mask) as source:
        assert np.array_equal(stored.read(1), source.read(1))
    assert Annotation.objects.count() == 0  # never an annotator's work


def test_a_misfit_mask_is_refused_and_nothing_changes(archive_root, tmp_path):
    scene = ingest(tmp_path)
    run(
        str(make_mask_geotiff(tmp_path / "good.tif", width=64, height=64)),
        "--scene",
        str(scene.pk),
        "--name",
        "a",
    )
    before_rows = list(ReferenceLayer.objects.values_list("pk", "name", "checksum", "asset_path"))
    before_files = stored_files(archive_root)
    misfit = make_mask_geotiff(tmp_path / "small.tif", width=48, height=64, seed=1)
    good = make_mask_geotiff(tmp_path / "other.tif", width=64, height=64, seed=2)

    message = refused(str(good), str(misfit), "--scene", str(scene.pk))

    assert "48 x 64 px does not match the scene's 64 x 64 px" in message
    assert list(ReferenceLayer.objects.values_list("pk", "name", "checksum", "asset_path")) == before_rows
    assert stored_files(archive_root) == before_files


def test_a_name_already_taken_is_refused(archive_root, tmp_path):
    scene = ingest(tmp_path)
    first = make_mask_geotiff(tmp_path / "a.tif", width=64, height=64, seed=1)
    run(str(first), "--scene", str(scene.pk), "--name", "truth")

    message = refused(
        str(make_mask_geotiff(tmp_path / "b.tif", width=64, height=64)),
        "--scene",
        str(scene.pk),
        "--name",
        "truth",
    )

    assert "already has a reference layer named 'truth'" in message
    assert ReferenceLayer.objects.get().checksum == archive.file_sha256(first)


def test_a_value_map_remaps_foreign_codes(archive_root, tmp_path):
    scene = ingest(tmp_path, size=32)
    codes = np.tile(np.arange(5, dtype=np.uint8), (32, 7))[:, :32]  # ukis-csmask codes 0..4
    with rasterio.open(archive_resolve(scene.asset_path)) as src:
        crs, transform = src.crs, src.transform
    foreign = write_raster(tmp_path / "csmask.tif", codes[None], crs=crs, transform=transform)

    run(str(foreign), "--scene", str(scene.pk), "--value-map", "4:1,3:0", "--classes", "0:clear,1:cloud")

    layer = ReferenceLayer.objects.get(scene=scene)
    assert layer.name == "csmask"
    with rasterio.open(archive_resolve(layer.asset_path)) as stored:
        values = stored.read(1)
    expected = np.full(codes.shape, 255, np.uint8)
    expected[codes == 4], expected[codes == 3] = 1, 0
    assert np.array_equal(values, expected)


def test_boxes_attach_and_a_box_outside_the_scene_is_refused(archive_root, tmp_path):
    scene = ingest(tmp_path)
    good = tmp_path / "boxes.geojson"
    feature = {"type": "Feature", "geometry": None, "properties": {"class": "car", "bbox_px": [1, 2, 5, 6]}}
    good.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    bad = tmp_path / "far.geojson"
    far = {**feature, "properties": {"class": "car", "bbox_px": [100, 100, 200, 200]}}
    bad.write_text(json.dumps({"type": "FeatureCollection", "features": [far]}))

    run(str(good), "--scene", str(scene.pk))

    assert ReferenceLayer.objects.get(scene=scene).kind == "boxes"
    assert "not a finite box inside the scene" in refused(str(bad), "--scene", str(scene.pk))
    assert ReferenceLayer.objects.count() == 1


def test_option_errors_are_one_line(archive_root, tmp_path):
    scene = ingest(tmp_path)
    mask = make_mask_geotiff(tmp_path / "x.tif", width=64, height=64)

    assert "no scene with id 999" in refused(str(mask), "--scene", "999")
    assert "no scene name starts its file name" in refused(str(mask))
    assert "no such file" in refused(str(tmp_path / "missing.tif"), "--scene", str(scene.pk))
    assert "is not KEY:VALUE" in refused(str(mask), "--scene", str(scene.pk), "--classes", "clear")
    assert "is not a class value" in refused(str(mask), "--scene", str(scene.pk), "--classes", "a:clear")
    assert "outside 0..255" in refused(str(mask), "--scene", str(scene.pk), "--value-map", "1:300")
    assert ReferenceLayer.objects.count() == 0


def test_a_real_s2cloudless_mask_from_the_shared_samples(archive_root, shared_data):
    folder = shared_data / "sentinel2-l1c-eolearn"
    scene = archive.scene_ingest(path=folder / "S2A_L1C_20150711_T33_eolearn.tif").scene

    run(str(folder / "S2A_L1C_20150711_T33_eolearn_s2cloudless_mask.tif"), "--classes", "0:clear,1:cloud")

    layer = ReferenceLayer.objects.get(scene=scene)
    assert layer.name == "s2cloudless-mask"
    assert layer.classes == {"0": "clear", "1": "cloud"}


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_ukis_csmask_codes_are_remapped_on_a_scene_without_georeference(archive_root, shared_data):
    folder = shared_data / "landsat-ukis"
    scene = archive.scene_ingest(path=folder / "landsat7_toa_6band.tif", new_sensor="landsat7-etm-test").scene
    source = folder / "landsat7_mask.tif"

    run(str(source), "--scene-name", scene.name, "--name", "ukis", "--value-map", "4:1,3:0,0:2",
        "--classes", "0:clear,1:cloud,2:shadow")  # fmt: skip

    layer = ReferenceLayer.objects.get(scene=scene, name="ukis")
    with rasterio.open(source) as src, rasterio.open(archive_resolve(layer.asset_path)) as stored:
        codes, values = src.read(1), stored.read(1)
    assert not scene.georeferenced
    assert np.array_equal(values == 1, codes == 4)
    assert np.array_equal(values == 2, codes == 0)
    assert (codes == 1).any() and np.array_equal(
        values == 255, codes == 1
    )  # water: not mapped, so unlabelled
    assert layer.classes == {"0": "clear", "1": "cloud", "2": "shadow"}
