"""GeoTIFF export: each chip's mask lands pixel-exact in its window of its scene's grid, 255 elsewhere."""

import io
import json
import zipfile

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.io import MemoryFile

from eolabel.exports.errors import FormatNotForTask
from eolabel.exports.services import export_geotiff
from eolabel.labelling import services
from tests.exports.helpers import known_mask, lease, submit
from tests.labelling.factories import UTM_TRANSFORM, add_member, make_project, make_scene, make_user

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]


def exported(project) -> dict[str, bytes]:
    out = io.BytesIO()
    export_geotiff(project=project, out=out)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def read_tif(data: bytes):
    with MemoryFile(data) as memory, memory.open() as src:
        return src.read(1), src.profile, src.descriptions, src.tags(), src.tags(1)


def test_a_known_mask_lands_in_its_window_with_the_scene_crs_and_transform(manager):
    scene = make_scene(width=96, height=64)
    project = make_project(manager=manager, scenes=[scene], chip_size=32)
    held = lease(project, manager)
    chip = held.project_chip.chip
    mask = known_mask(chip.width, chip.height)
    annotation = submit(held, manager, mask=mask)

    files = exported(project)

    assert sorted(files) == ["export.json", f"{scene.name}.tif"]
    data, profile, descriptions, tags, band_tags = read_tif(files[f"{scene.name}.tif"])
    assert profile["crs"] == rasterio.crs.CRS.from_epsg(32631)
    assert profile["transform"] == Affine(*UTM_TRANSFORM)
    assert (profile["width"], profile["height"], profile["dtype"], profile["nodata"]) == (
        96,
        64,
        "uint8",
        255,
    )
    window = data[chip.row_off : chip.row_off + chip.height, chip.col_off : chip.col_off + chip.width]
    assert np.array_equal(window, mask)
    outside = data.copy()
    outside[chip.row_off : chip.row_off + chip.height, chip.col_off : chip.col_off + chip.width] = 0
    assert int((outside == 255).sum()) == 96 * 64 - chip.width * chip.height
    assert descriptions == ("0 clear, 1 cloud, 2 shadow",)
    assert json.loads(tags["EOLABEL_CLASSES"])[1]["name"] == "cloud"
    assert band_tags["CLASS_2"] == "shadow"
    manifest = json.loads(files["export.json"])
    assert manifest["files"][0]["annotations"] == [annotation.pk]
    assert manifest["files"][0]["crs"] == "EPSG:32631"


def test_every_annotated_chip_of_every_scene_is_written(manager):
    scenes = [make_scene(width=64, height=64), make_scene(width=32, height=32)]
    project = make_project(manager=manager, scenes=scenes, chip_size=32)
    placed = []
    for seed in range(5):  # all five chips of the two scenes
        held = lease(project, manager)
        chip = held.project_chip.chip
        mask = known_mask(chip.width, chip.height, seed=seed)
        submit(held, manager, mask=mask)
        placed.append((chip, mask))

    files = exported(project)

    for chip, mask in placed:
        data = read_tif(files[f"{chip.scene.name}.tif"])[0]
        assert np.array_equal(data[chip.row_off : chip.row_off + 32, chip.col_off : chip.col_off + 32], mask)


def test_a_scene_without_georeference_gives_a_plain_pixel_tiff(manager):
    scene = make_scene(width=32, height=32, georeferenced=False)
    project = make_project(manager=manager, scenes=[scene], chip_size=32)
    held = lease(project, manager)
    mask = known_mask(32, 32, seed=3)
    submit(held, manager, mask=mask)

    data, profile, *_ = read_tif(exported(project)[f"{scene.name}.tif"])

    assert profile["crs"] is None
    assert profile["transform"] == Affine.identity()
    assert np.array_equal(data, mask)


def test_with_overlap_the_reviewers_version_wins_over_a_later_annotation(manager):
    scene = make_scene(width=32, height=32)
    project = make_project(manager=manager, scenes=[scene], chip_size=32, overlap=2)
    first_user, second_user, reviewer = make_user("first"), make_user("second"), make_user("rita")
    add_member(project, first_user, "annotator")
    add_member(project, second_user, "annotator")
    add_member(project, reviewer, "reviewer")
    first = submit(lease(project, first_user), first_user, mask=np.zeros((32, 32), np.uint8))
    corrected = np.full((32, 32), 2, np.uint8)
    services.annotation_edit(
        annotation=first, user=reviewer, version=1, mask_png=_png(corrected), seconds_spent=1.0
    )
    submit(
        lease(project, second_user), second_user, mask=np.ones((32, 32), np.uint8)
    )  # saved after the review

    data = read_tif(exported(project)[f"{scene.name}.tif"])[0]

    assert np.array_equal(data, corrected)


def test_with_overlap_and_no_review_the_latest_annotation_wins(manager):
    scene = make_scene(width=32, height=32)
    project = make_project(manager=manager, scenes=[scene], chip_size=32, overlap=2)
    first_user, second_user = make_user("first"), make_user("second")
    add_member(project, first_user, "annotator")
    add_member(project, second_user, "annotator")
    submit(lease(project, first_user), first_user, mask=np.zeros((32, 32), np.uint8))
    submit(lease(project, second_user), second_user, mask=np.ones((32, 32), np.uint8))

    data = read_tif(exported(project)[f"{scene.name}.tif"])[0]

    assert np.array_equal(data, np.ones((32, 32), np.uint8))


def test_a_project_without_annotations_exports_only_its_manifest(manager):
    project = make_project(manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32)

    files = exported(project)

    assert list(files) == ["export.json"]
    assert json.loads(files["export.json"])["files"] == []


def test_masks_are_not_asked_of_a_boxes_project(manager):
    project = make_project(manager=manager, task_type="vehicle-detection")

    with pytest.raises(FormatNotForTask, match="use geojson or coco"):
        export_geotiff(project=project, out=io.BytesIO())


def _png(array: np.ndarray) -> bytes:
    from tests.labelling.factories import png_bytes

    return png_bytes(array)
