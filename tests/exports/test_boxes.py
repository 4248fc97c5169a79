"""Boxes: GeoJSON in the scene CRS (hand-computed corners) and COCO structure."""

import io
import json

import pytest

from eolabel.exports.errors import FormatNotForTask
from eolabel.exports.services import export_coco, export_geojson
from eolabel.exports.services.boxes import box_ring
from tests.exports.helpers import lease, submit
from tests.labelling.factories import make_project, make_scene

pytestmark = pytest.mark.django_db


def as_json(writer, project) -> dict:
    out = io.BytesIO()
    writer(project=project, out=out)
    return json.loads(out.getvalue())


def test_box_ring_goes_through_the_chip_offset_and_the_transform():
    transform = (10.0, 0.0, 500000.0, 0.0, -10.0, 4800000.0)
    box = {"x0": 2, "y0": 3, "x1": 10, "y1": 7, "class": 1}

    ring = box_ring(box=box, col_off=32, row_off=64, transform=transform)

    # scene pixels: x 34..42, y 67..71 -> x = 500000 + 10 col, y = 4800000 - 10 row
    assert ring == [
        [500340.0, 4799330.0],
        [500340.0, 4799290.0],
        [500420.0, 4799290.0],
        [500420.0, 4799330.0],
        [500340.0, 4799330.0],
    ]


def test_box_ring_without_a_transform_stays_in_scene_pixels():
    ring = box_ring(
        box={"x0": 1, "y0": 2, "x1": 3, "y1": 4, "class": 0}, col_off=16, row_off=0, transform=None
    )

    assert ring == [[17.0, 2.0], [17.0, 4.0], [19.0, 4.0], [19.0, 2.0], [17.0, 2.0]]


def test_geojson_boxes_land_on_the_right_map_coordinates(manager):
    scene = make_scene(width=32, height=32)  # one chip at (0, 0); 10 m pixels from (500000, 4800000)
    project = make_project(manager=manager, scenes=[scene], chip_size=32, task_type="vehicle-detection")
    annotation = submit(
        lease(project, manager),
        manager,
        boxes=[
            {"x0": 2, "y0": 3, "x1": 10, "y1": 7, "class": 1},
            {"x0": 0, "y0": 0, "x1": 32, "y1": 32, "class": 2},
        ],
    )

    collection = as_json(export_geojson, project)

    assert collection["type"] == "FeatureCollection"
    assert collection["crs"] == {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::32631"}}
    first, second = collection["features"]
    assert first["geometry"]["type"] == "Polygon"
    assert first["geometry"]["coordinates"][0] == [
        [500020.0, 4799970.0],
        [500020.0, 4799930.0],
        [500100.0, 4799930.0],
        [500100.0, 4799970.0],
        [500020.0, 4799970.0],
    ]
    xs = [x for x, _ in second["geometry"]["coordinates"][0]]
    ys = [y for _, y in second["geometry"]["coordinates"][0]]
    assert (min(xs), max(xs), min(ys), max(ys)) == (500000.0, 500320.0, 4799680.0, 4800000.0)
    chip = annotation.project_chip.chip
    assert first["properties"] == {
        "scene": scene.pk,
        "scene_name": scene.name,
        "chip": chip.pk,
        "class": 1,
        "class_name": "car",
        "annotation": annotation.pk,
        "author": manager.pk,
        "version": 1,
        "crs": "EPSG:32631",
        "bbox_px": [2.0, 3.0, 10.0, 7.0],
    }


def test_geojson_adds_the_chip_offset_in_a_larger_scene(manager):
    scene = make_scene(width=64, height=64)
    project = make_project(manager=manager, scenes=[scene], chip_size=32, task_type="vehicle-detection")
    held = lease(project, manager)
    chip = held.project_chip.chip
    submit(held, manager, boxes=[{"x0": 1, "y0": 1, "x1": 2, "y1": 2, "class": 1}])

    feature = as_json(export_geojson, project)["features"][0]

    x0 = 500000.0 + 10.0 * (chip.col_off + 1)
    y0 = 4800000.0 - 10.0 * (chip.row_off + 1)
    assert feature["geometry"]["coordinates"][0][0] == [x0, y0]
    assert feature["geometry"]["coordinates"][0][2] == [x0 + 10.0, y0 - 10.0]


def test_coco_structure_validates(manager):
    scenes = [make_scene(width=64, height=32), make_scene(width=32, height=32, georeferenced=False)]
    project = make_project(manager=manager, scenes=scenes, chip_size=32, task_type="vehicle-detection")
    given = [
        [{"x0": 2, "y0": 3, "x1": 10, "y1": 7, "class": 1}],
        [
            {"x0": 0, "y0": 0, "x1": 4, "y1": 6, "class": 2},
            {"x0": 5.5, "y0": 1, "x1": 8, "y1": 2, "class": 1},
        ],
        [],  # a chip without vehicles stays as a negative image
    ]
    chips = []
    for boxes in given:
        held = lease(project, manager)
        chips.append(held.project_chip.chip)
        submit(held, manager, boxes=boxes)

    coco = as_json(export_coco, project)

    assert set(coco) >= {"images", "annotations", "categories"}
    assert coco["categories"] == [
        {"id": 2, "name": "car", "supercategory": "object", "eolabel_value": 1},
        {"id": 3, "name": "truck", "supercategory": "object", "eolabel_value": 2},
    ]
    image_ids = [image["id"] for image in coco["images"]]
    assert len(image_ids) == len(set(image_ids)) == 3
    assert {image["id"] for image in coco["images"]} == {chip.pk for chip in chips}
    for chip in chips:
        image = next(i for i in coco["images"] if i["id"] == chip.pk)
        assert image["file_name"] == f"{chip.scene.name}_{chip.col_off}_{chip.row_off}.tif"
        assert (image["width"], image["height"]) == (32, 32)
    ids = [a["id"] for a in coco["annotations"]]
    assert len(ids) == len(set(ids)) == 3
    category_ids = {c["id"] for c in coco["categories"]}
    by_image = {}
    for item in coco["annotations"]:
        assert item["image_id"] in image_ids and item["category_id"] in category_ids
        assert item["iscrowd"] == 0
        x, y, w, h = item["bbox"]
        assert w > 0 and h > 0 and item["area"] == w * h
        by_image.setdefault(item["image_id"], []).append((item["bbox"], item["category_id"]))
    assert by_image[chips[0].pk] == [([2.0, 3.0, 8.0, 4.0], 2)]
    assert by_image[chips[1].pk] == [([0.0, 0.0, 4.0, 6.0], 3), ([5.5, 1.0, 2.5, 1.0], 2)]
    assert chips[2].pk not in by_image


def test_boxes_are_not_asked_of_a_mask_project(manager):
    project = make_project(manager=manager)

    with pytest.raises(FormatNotForTask, match="use geotiff"):
        export_coco(project=project, out=io.BytesIO())
    with pytest.raises(FormatNotForTask):
        export_geojson(project=project, out=io.BytesIO())
