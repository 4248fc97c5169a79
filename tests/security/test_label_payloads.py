"""Masks and boxes from annotators are hostile until decoded: property tests for the codecs (each bad input
raises the codec's error naming the problem and the field; never another exception) and the API's 400s naming
the field, with nothing stored. Extends tests/labelling/test_codecs.py, which holds the round trips and garbage
bytes; these properties target size, bit depth, classes and coordinates."""

import io
import json
import math
import uuid

import numpy as np
import pytest
from django.test import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from eolabel.labelling import codecs
from eolabel.labelling.errors import BoxesInvalid, MaskInvalid
from eolabel.labelling.models import Annotation
from tests.labelling.factories import add_member, make_project, make_scene, make_user, png_b64, png_bytes

ALLOWED = {0, 1, 2}
W, H = 32, 24
NON_FINITE = st.sampled_from([math.nan, math.inf, -math.inf])
KEYS = ("x0", "y0", "x1", "y1")


@settings(max_examples=40, deadline=None)
@given(width=st.integers(1, 80), height=st.integers(1, 80))
def test_any_wrong_size_names_both_sizes(width, height):
    data = png_bytes(np.zeros((height, width), np.uint8))

    if (width, height) == (W, H):
        assert codecs.mask_decode(data, width=W, height=H, allowed=ALLOWED).shape == (H, W)
    else:
        with pytest.raises(MaskInvalid, match=f"is {width}x{height} px; the chip is {W}x{H} px") as caught:
            codecs.mask_decode(data, width=W, height=H, allowed=ALLOWED)
        assert caught.value.field == "mask_png"


@settings(max_examples=40, deadline=None)
@given(value=st.integers(3, 254), where=st.tuples(st.integers(0, H - 1), st.integers(0, W - 1)))
def test_any_value_outside_the_class_list_is_named(value, where):
    array = np.zeros((H, W), np.uint8)
    array[where] = value

    with pytest.raises(MaskInvalid, match=f"value\\(s\\) {value} are not in the class list"):
        codecs.mask_decode(png_bytes(array), width=W, height=H, allowed=ALLOWED)


@pytest.mark.parametrize("mode", ["1", "I;16", "RGB", "RGBA", "LA", "I", "F"])
def test_every_other_bit_depth_or_channel_count_is_refused(mode):
    image = Image.new(mode, (W, H))
    out = io.BytesIO()
    try:
        image.save(out, format="PNG")
    except OSError:
        pytest.skip(f"Pillow cannot write mode {mode} as PNG")

    with pytest.raises(MaskInvalid, match="single-channel 8-bit") as caught:
        codecs.mask_decode(out.getvalue(), width=W, height=H, allowed=ALLOWED)
    assert caught.value.field == "mask_png"


@st.composite
def good_box(draw):
    x0 = draw(st.floats(0, W - 1, allow_nan=False))
    y0 = draw(st.floats(0, H - 1, allow_nan=False))
    x1 = draw(st.floats(x0 + 0.5, W, allow_nan=False))
    y1 = draw(st.floats(y0 + 0.5, H, allow_nan=False))
    return {"x0": x0, "y0": y0, "x1": x1, "y1": y1, "class": draw(st.sampled_from(sorted(ALLOWED)))}


@settings(max_examples=60, deadline=None)
@given(boxes=st.lists(good_box(), min_size=1, max_size=5), data=st.data())
def test_a_non_finite_coordinate_anywhere_is_named(boxes, data):
    index = data.draw(st.integers(0, len(boxes) - 1))
    key = data.draw(st.sampled_from(KEYS))
    boxes[index][key] = data.draw(NON_FINITE)

    with pytest.raises(BoxesInvalid, match=rf"\[{index}\]\.{key}: must be finite") as caught:
        codecs.boxes_validate(boxes, width=W, height=H, allowed=ALLOWED)
    assert caught.value.field == "boxes"


@settings(max_examples=60, deadline=None)
@given(box=good_box(), shift=st.floats(0.01, 1e12), axis=st.sampled_from(["x", "y"]))
def test_a_box_leaving_the_chip_is_refused(box, shift, axis):
    box[f"{axis}1"] = (W if axis == "x" else H) + shift

    with pytest.raises(BoxesInvalid, match="outside the chip"):
        codecs.boxes_validate([box], width=W, height=H, allowed=ALLOWED)


@settings(max_examples=40, deadline=None)
@given(
    box=good_box(), cls=st.one_of(st.integers().filter(lambda v: v not in ALLOWED), st.booleans(), st.text())
)
def test_a_class_outside_the_list_is_refused(box, cls):
    box["class"] = cls

    with pytest.raises(BoxesInvalid, match="class must be one of"):
        codecs.boxes_validate([box], width=W, height=H, allowed=ALLOWED)


# --- through the API ----------------------------------------------------------------------------------------


@pytest.fixture
def tasks(db):
    manager, anna = make_user("mona", staff=True), make_user("anna")
    cloud = make_project(manager=manager, scenes=[make_scene(width=64, height=64)])
    boxes = make_project(
        manager=manager, scenes=[make_scene(width=64, height=64)], task_type="vehicle-detection"
    )
    client = Client()
    client.force_login(anna)
    found = {}
    for name, project in (("mask", cloud), ("boxes", boxes)):
        add_member(project, anna, "annotator")
        found[name] = client.post(f"/api/projects/{project.pk}/tasks/next").json()["task"]
    return client, found


def submit(client: Client, task: dict, label: dict, *, raw: str | None = None):
    body = {"submission_id": str(uuid.uuid4()), "seconds_spent": 1, **label}
    data = raw if raw is not None else json.dumps(body)
    return client.post(f"/api/tasks/{task['id']}/annotations", data, content_type="application/json")


BOX = {"x0": 1, "y0": 1, "x1": 5, "y1": 5, "class": 1}
BAD_LABELS = [
    ("mask", {"mask_png": png_b64(np.zeros((16, 16), np.uint8))}, "mask_png", "the chip is 32x32"),
    ("mask", {"mask_png": png_b64(np.full((32, 32), 9, np.uint8))}, "mask_png", "not in the class list"),
    ("mask", {"mask_png": png_b64(np.zeros((32, 32), np.uint8), "RGB")}, "mask_png", "single-channel"),
    ("mask", {"mask_png": "A" * 3_000_000}, "mask_png", "limit"),
    ("boxes", {"boxes": [{**BOX, "x1": 1e308}]}, "boxes", "outside the chip"),
    ("boxes", {"boxes": [{**BOX, "x0": -3}]}, "boxes", "outside the chip"),
    ("boxes", {"boxes": [{**BOX, "class": 99}]}, "boxes", "class"),
    ("boxes", {"boxes": [{**BOX, "x0": "1"}]}, "boxes", "must be a number"),
    ("boxes", {"boxes": [BOX] * 5001}, "boxes", "limit of 5000"),
    ("boxes", {"boxes": [{**BOX, "extra": 1}]}, "boxes", "exactly the keys"),
    ("boxes", {"geojson": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"class": 1},
         "geometry": {"type": "Polygon", "coordinates": [[[200, 0], [201, 0], [201, 1], [200, 0]]]}}]}},
     "geojson", "outside"),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "label", "field", "message"), BAD_LABELS)
def test_bad_labels_are_400_naming_the_field_and_store_nothing(tasks, kind, label, field, message):
    client, found = tasks

    response = submit(client, found[kind], label)

    assert response.status_code == 400, response.content[:300]
    assert response.json()["detail"].startswith(f"{field}:") and message in response.json()["detail"]
    assert Annotation.objects.count() == 0


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_json_numbers_are_refused_before_any_field_is_read(tasks, literal):
    client, found = tasks
    raw = json.dumps({"submission_id": str(uuid.uuid4()), "seconds_spent": 1, "boxes": [{**BOX, "x0": 0}]})

    response = submit(client, found["boxes"], {}, raw=raw.replace('"x0": 0', f'"x0": {literal}'))

    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    assert Annotation.objects.count() == 0
