"""Codecs: mask PNGs and boxes (pixel <-> EPSG:4326). Round trips hold; garbage only ever raises the codec's
own validation error, with a message naming the problem."""

import io
import math
import re
import struct
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from eolabel.labelling import codecs
from eolabel.labelling.classes import classes_validate
from eolabel.labelling.errors import BoxesInvalid, ClassListInvalid, MaskInvalid
from tests.labelling.factories import UTM_TRANSFORM, png_bytes

ALLOWED = {0, 1, 2}
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- masks ---------------------------------------------------------------------------------------------


@st.composite
def masks(draw):
    height, width = draw(st.integers(1, 40)), draw(st.integers(1, 40))
    values = draw(st.lists(st.sampled_from([0, 1, 2, 255]), min_size=height * width, max_size=height * width))
    return np.array(values, dtype=np.uint8).reshape(height, width)


@FAST
@given(masks())
def test_mask_encode_decode_round_trip_is_pixel_exact(array):
    data = codecs.mask_encode(array)
    back = codecs.mask_decode(data, width=array.shape[1], height=array.shape[0], allowed=ALLOWED)
    assert back.dtype == np.uint8 and np.array_equal(back, array)


@FAST
@given(masks())
def test_palette_pngs_are_read_as_indexes(array):
    back = codecs.mask_decode(
        png_bytes(array, "P"), width=array.shape[1], height=array.shape[0], allowed=ALLOWED
    )
    assert np.array_equal(back, array)


@FAST
@given(st.binary(max_size=300))
def test_garbage_bytes_only_raise_mask_invalid(data):
    with pytest.raises(MaskInvalid):
        codecs.mask_decode(data, width=8, height=8, allowed=ALLOWED)


@FAST
@given(st.binary(min_size=1, max_size=200))
def test_garbage_after_a_valid_header_only_raises_mask_invalid(tail):
    header = png_bytes(np.zeros((8, 8), np.uint8))[:33]
    with pytest.raises(MaskInvalid):
        codecs.mask_decode(header + tail, width=8, height=8, allowed=ALLOWED)


@FAST
@given(st.data())
def test_corrupted_pngs_decode_to_a_valid_mask_or_raise_mask_invalid(data):
    original = np.random.default_rng(0).choice(np.array([0, 1, 2], np.uint8), size=(16, 16))
    raw = bytearray(png_bytes(original))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        back = codecs.mask_decode(bytes(raw), width=16, height=16, allowed=ALLOWED)
    except MaskInvalid:
        return
    assert back.shape == (16, 16) and set(np.unique(back)) <= ALLOWED | {255}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"GIF89a....", "not a PNG"),
        (png_bytes(np.zeros((8, 9), np.uint8)), "is 9x8 px; the chip is 8x8 px"),
        (png_bytes(np.zeros((8, 8), np.uint8), "RGB"), "got RGB, 8-bit"),
        (png_bytes(np.zeros((8, 8), np.uint8), "RGBA"), "got RGBA"),
        (png_bytes(np.zeros((8, 8), np.uint8), "1"), "1-bit"),
        (png_bytes(np.full((8, 8), 7, np.uint8)), "value(s) 7 are not in the class list"),
        (
            png_bytes(np.random.default_rng(1).integers(0, 3, (8, 8), dtype=np.uint8))[:50],
            "cannot be decoded",
        ),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (codecs.MASK_MAX_BYTES), "above the 2 MB limit"),
    ],
)
def test_bad_masks_name_the_problem(data, message):
    with pytest.raises(MaskInvalid, match=re.escape(message)) as caught:
        codecs.mask_decode(data, width=8, height=8, allowed=ALLOWED)
    assert caught.value.field == "mask_png"


def test_sixteen_bit_pngs_are_refused():
    out = io.BytesIO()
    Image.fromarray(np.zeros((8, 8), np.uint16)).save(out, format="PNG")
    with pytest.raises(MaskInvalid, match="16-bit"):
        codecs.mask_decode(out.getvalue(), width=8, height=8, allowed=ALLOWED)


def test_a_decompression_bomb_is_refused_from_its_header():
    # 8x8 declared in IHDR but the pixel stream inflates to far more than that
    ihdr = struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 20_000_000, 9)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    data = codecs.PNG_SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    back = codecs.mask_decode(data, width=8, height=8, allowed=ALLOWED)  # only 8x8 bytes are ever read
    assert back.shape == (8, 8)
    with pytest.raises(MaskInvalid, match="is 8x8 px"):
        codecs.mask_decode(data, width=64, height=64, allowed=ALLOWED)


# --- pixel boxes ---------------------------------------------------------------------------------------


@st.composite
def boxes_in(draw, width=32, height=24):
    out = []
    for _ in range(draw(st.integers(0, 6))):
        x0 = draw(st.floats(0, width - 0.5))
        y0 = draw(st.floats(0, height - 0.5))
        x1 = draw(st.floats(x0 + 0.25, width))
        y1 = draw(st.floats(y0 + 0.25, height))
        out.append({"x0": x0, "y0": y0, "x1": x1, "y1": y1, "class": draw(st.sampled_from(sorted(ALLOWED)))})
    return out


@FAST
@given(boxes_in())
def test_valid_boxes_pass_unchanged(raw):
    boxes = codecs.boxes_validate(raw, width=32, height=24, allowed=ALLOWED)
    assert [b.as_dict() for b in boxes] == raw


@FAST
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=5),
                    max_leaves=20))  # fmt: skip
def test_garbage_boxes_only_raise_boxes_invalid(raw):
    try:
        boxes = codecs.boxes_validate(raw, width=32, height=24, allowed=ALLOWED)
    except BoxesInvalid:
        return
    assert raw == [] and boxes == []


@pytest.mark.parametrize(
    ("box", "message"),
    [
        ({"x0": 0, "y0": 0, "x1": 33, "y1": 4, "class": 1}, "outside the chip"),
        ({"x0": -1, "y0": 0, "x1": 3, "y1": 4, "class": 1}, "outside the chip"),
        ({"x0": 5, "y0": 0, "x1": 3, "y1": 4, "class": 1}, "x0 < x1"),
        ({"x0": 1, "y0": 4, "x1": 3, "y1": 4, "class": 1}, "y0 < y1"),
        ({"x0": math.nan, "y0": 0, "x1": 3, "y1": 4, "class": 1}, "finite"),
        ({"x0": 0, "y0": 0, "x1": math.inf, "y1": 4, "class": 1}, "finite"),
        ({"x0": 0, "y0": 0, "x1": 3, "y1": 4, "class": 9}, "class"),
        ({"x0": 0, "y0": 0, "x1": 3, "y1": 4, "class": True}, "class"),
        ({"x0": "0", "y0": 0, "x1": 3, "y1": 4, "class": 1}, "number"),
        ({"x0": 0, "y0": 0, "x1": 3, "y1": 4}, "keys"),
    ],
)
def test_bad_boxes_name_the_problem(box, message):
    with pytest.raises(BoxesInvalid, match=message) as caught:
        codecs.boxes_validate(
            [{"x0": 1, "y0": 1, "x1": 2, "y1": 2, "class": 1}, box], width=32, height=24, allowed=ALLOWED
        )
    assert caught.value.field == "boxes" and "[1]" in caught.value.message


# --- boxes <-> GeoJSON ---------------------------------------------------------------------------------

GEO = codecs.ChipGeo(crs="EPSG:32631", transform=tuple(UTM_TRANSFORM), col_off=64, row_off=32)


@FAST
@given(boxes_in())
def test_pixel_geo_pixel_round_trip(raw):
    boxes = codecs.boxes_validate(raw, width=32, height=24, allowed=ALLOWED)
    fc = codecs.boxes_to_geojson(boxes, geo=GEO)
    back = codecs.boxes_from_geojson(fc, geo=GEO, width=32, height=24, allowed=ALLOWED)
    assert len(back) == len(boxes)
    for a, b in zip(boxes, back, strict=True):
        assert b.cls == a.cls
        assert (b.x0, b.y0, b.x1, b.y1) == pytest.approx((a.x0, a.y0, a.x1, a.y1), abs=1e-6)


def test_geojson_is_lon_lat_where_the_chip_is():
    fc = codecs.boxes_to_geojson([codecs.Box(0, 0, 32, 24, 1)], geo=GEO)
    ring = fc["features"][0]["geometry"]["coordinates"][0]
    assert fc["features"][0]["properties"] == {"class": 1} and len(ring) == 5 and ring[0] == ring[-1]
    lon, lat = ring[0]
    # pixel (64, 32) of the scene is x = 500640 m, y = 4799680 m in UTM 31N: just east of 3 deg E, about 43.35 N
    assert 3.0 < lon < 3.02 and 43.3 < lat < 43.4


@FAST
@given(st.recursive(st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=12),
                    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(
                        st.sampled_from(["type", "features", "geometry", "coordinates", "properties", "class"]),
                        inner, max_size=5),
                    max_leaves=30))  # fmt: skip
def test_garbage_geojson_only_raises_boxes_invalid(raw):
    try:
        codecs.boxes_from_geojson(raw, geo=GEO, width=32, height=24, allowed=ALLOWED)
    except BoxesInvalid:
        pass


def test_geojson_outside_the_chip_is_refused():
    fc = codecs.boxes_to_geojson([codecs.Box(0, 0, 32, 24, 1)], geo=GEO)
    far = codecs.ChipGeo(crs=GEO.crs, transform=GEO.transform, col_off=GEO.col_off + 10, row_off=GEO.row_off)
    with pytest.raises(BoxesInvalid, match=r"features\[0\]: outside the chip") as caught:
        codecs.boxes_from_geojson(fc, geo=far, width=32, height=24, allowed=ALLOWED)
    assert caught.value.field == "geojson"


# --- class lists ---------------------------------------------------------------------------------------


def test_class_list_is_cleaned():
    assert classes_validate([{"value": 3, "name": " cloud ", "colour": "#FFAA00"}]) == [
        {"value": 3, "name": "cloud", "colour": "#ffaa00"}
    ]


@pytest.mark.parametrize(
    ("classes", "message"),
    [
        ([], "1 to 32"),
        ([{"value": i, "name": f"c{i}", "colour": "#000000"} for i in range(33)], "1 to 32"),
        (
            [{"value": 1, "name": "a", "colour": "#000000"}, {"value": 1, "name": "b", "colour": "#000000"}],
            "used twice",
        ),
        ([{"value": 255, "name": "a", "colour": "#000000"}], "0..254"),
        ([{"value": -1, "name": "a", "colour": "#000000"}], "0..254"),
        ([{"value": 1.0, "name": "a", "colour": "#000000"}], "0..254"),
        ([{"value": 1, "name": "x" * 65, "colour": "#000000"}], "1 to 64"),
        ([{"value": 1, "name": "  ", "colour": "#000000"}], "1 to 64"),
        ([{"value": 1, "name": "a", "colour": "red"}], "#rrggbb"),
        ([{"value": 1, "name": "a", "colour": "#12345g"}], "#rrggbb"),
        ([{"value": 1, "name": "a"}], "keys"),
        ({"value": 1}, "1 to 32"),
    ],
)
def test_bad_class_lists_name_the_problem(classes, message):
    with pytest.raises(ClassListInvalid, match=message):
        classes_validate(classes)
