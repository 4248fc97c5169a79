"""Tile endpoint and TileJSON: pixel values read back from PNG/WebP, presets, errors, ETag, non-geo images."""

import base64
import io
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image
from rasterio.transform import from_bounds

from eolabel.archive.models import Scene
from eolabel.archive.services import scene_ingest
from eolabel.tiles import render

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning"),
]

WEB_MERCATOR = morecantile.tms.get("WebMercatorQuad")
Z, X, Y = 12, 2064, 1495  # a tile over Toulouse; the geo scene covers exactly this tile with 64 x 64 pixels
GEO_SIZE = 64
NODATA_FROM_COL = 56  # columns 56..63 of the geo scene are nodata in every band
NONGEO_WIDTH, NONGEO_HEIGHT = 320, 288
LANDSAT = "landsat-tm-etm-6band"  # bands: blue, green, red, nir, swir16, swir22


def write_tiff(path: Path, data: np.ndarray, *, crs: str | None = None, transform=None, nodata=None) -> Path:
    profile = {"driver": "GTiff", "width": data.shape[2], "height": data.shape[1], "count": data.shape[0]}
    profile.update({"dtype": data.dtype.name, "nodata": nodata})
    if crs:
        profile.update({"crs": crs, "transform": transform})
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def geo_bands() -> np.ndarray:
    """Six uint16 bands: red grows with the column, green with the row, blue falls with the column."""
    rows, cols = np.mgrid[0:GEO_SIZE, 0:GEO_SIZE]
    data = np.full((6, GEO_SIZE, GEO_SIZE), 500, dtype=np.uint16)
    data[0] = 3000 - 20 * cols  # blue
    data[1] = 100 + 40 * rows  # green
    data[2] = 100 + 40 * cols  # red
    data[:, :, NODATA_FROM_COL:] = 0
    return data


def nongeo_bands() -> np.ndarray:
    """Six uint16 bands whose values encode the pixel: red = col % 256, green = row % 256, blue = quadrant."""
    rows, cols = np.mgrid[0:NONGEO_HEIGHT, 0:NONGEO_WIDTH]
    data = np.full((6, NONGEO_HEIGHT, NONGEO_WIDTH), 7, dtype=np.uint16)
    data[0] = 20 + 100 * (cols // 256) + 50 * (rows // 256)
    data[1] = rows % 256
    data[2] = cols % 256
    return data


@pytest.fixture
def geo_scene(archive_root, tmp_path):
    bounds = WEB_MERCATOR.xy_bounds(X, Y, Z)
    transform = from_bounds(*bounds, GEO_SIZE, GEO_SIZE)
    source = write_tiff(
        tmp_path / "toulouse.tif", geo_bands(), crs="EPSG:3857", transform=transform, nodata=0
    )
    return scene_ingest(path=source, sensor_name=LANDSAT).scene


@pytest.fixture
def nongeo_scene(archive_root, tmp_path):
    source = write_tiff(tmp_path / "pixels.tif", nongeo_bands())
    return scene_ingest(path=source, sensor_name=LANDSAT).scene


def decode(response) -> np.ndarray:
    assert response.status_code == 200, response.content
    return np.asarray(Image.open(io.BytesIO(response.content)))


def expected_rgb(data: np.ndarray, rows: np.ndarray, cols: np.ndarray, stretch_max: float) -> np.ndarray:
    """The renderer's stretch: (value - 0) / max * 255, clipped and truncated to uint8; band order red, green, blue."""
    picked = data[[2, 1, 0]][:, rows, cols].astype(np.float64)
    return np.clip(picked / stretch_max * 255.0, 0, 255).astype(np.uint8).transpose(1, 2, 0)


def test_geo_tile_has_the_rescaled_values_and_nodata_is_transparent(api, geo_scene):
    # given a 64 x 64 scene aligned on tile 12/2064/1495: each scene pixel is 4 x 4 tile pixels
    # when the tile is asked with the sensor's true-colour preset (red, green, blue, 0..3000)
    pixels = decode(api.get(f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png?preset=true-colour"))

    # then RGB is the stretched band values and alpha is 0 exactly on the nodata columns
    assert pixels.shape == (256, 256, 4)
    rows, cols = np.mgrid[0:256, 0:256] // 4
    expected = expected_rgb(geo_bands(), rows, cols, 3000)
    valid = cols < NODATA_FROM_COL
    assert np.abs(pixels[..., :3].astype(int) - expected)[valid].max() <= 1
    assert (pixels[..., 3][valid] == 255).all()
    assert (pixels[..., 3][~valid] == 0).all()
    assert tuple(pixels[0, 0, :3]) == (8, 8, 255)  # red 100, green 100, blue 3000


def test_child_tile_covers_its_quadrant_of_the_scene(api, geo_scene):
    # the top-right child at zoom 13 holds scene columns 32..63, rows 0..31, each pixel 8 x 8
    pixels = decode(api.get(f"/tiles/{geo_scene.pk}/{Z + 1}/{2 * X + 1}/{2 * Y}.png"))

    rows, cols = np.mgrid[0:256, 0:256] // 8
    cols = cols + 32
    expected = expected_rgb(geo_bands(), rows, cols, 3000)
    valid = cols < NODATA_FROM_COL
    assert np.abs(pixels[..., :3].astype(int) - expected)[valid].max() <= 1
    assert (pixels[..., 3][~valid] == 0).all() and (pixels[..., 3][valid] == 255).all()


def test_preset_and_the_same_bands_give_identical_images(api, geo_scene):
    base = f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png"
    by_preset = api.get(f"{base}?preset=true-colour")
    by_default = api.get(base)
    by_bands = api.get(f"{base}?bands=red,green,blue&rescale=0,3000")
    by_bands_each = api.get(f"{base}?bands=red,green,blue&rescale=0,3000&rescale=0,3000&rescale=0,3000")

    assert by_preset.status_code == 200
    assert by_preset.content == by_default.content == by_bands.content == by_bands_each.content
    assert by_preset["ETag"] == by_bands["ETag"]
    other = api.get(f"{base}?bands=red,green,blue&rescale=0,6000")
    assert other.content != by_preset.content and other["ETag"] != by_preset["ETag"]


def test_one_band_renders_grey_with_alpha(api, geo_scene):
    pixels = decode(api.get(f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png?bands=nir&rescale=0,1000"))

    assert pixels.shape == (256, 256, 2)  # grey + alpha
    assert pixels[0, 0, 0] == 127  # 500 of 0..1000
    assert pixels[0, 255, 1] == 0


def test_webp_and_tilesize_512(api, geo_scene):
    response = api.get(f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.webp?tilesize=512")

    assert response["Content-Type"] == "image/webp"
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "WEBP" and image.size == (512, 512)
    pixels = np.asarray(image.convert("RGBA"))
    rows, cols = np.mgrid[0:512, 0:512] // 8
    expected = expected_rgb(geo_bands(), rows, cols, 3000)
    valid = cols < NODATA_FROM_COL
    assert np.abs(pixels[..., :3].astype(int) - expected)[valid].mean() < 4  # lossy
    assert (pixels[..., 3][~valid] == 0).all() and (pixels[..., 3][valid] == 255).all()


def test_tiles_outside_the_scene_or_the_grid_and_unknown_scenes_are_404(api, geo_scene):
    assert api.get(f"/tiles/{geo_scene.pk}/{Z}/{X + 3}/{Y}.png").status_code == 404
    outside_grid = api.get(f"/tiles/{geo_scene.pk}/1/5/0.png")
    assert outside_grid.status_code == 404 and "outside" in outside_grid.json()["detail"]
    unknown = api.get(f"/tiles/{geo_scene.pk + 1000}/{Z}/{X}/{Y}.png")
    assert unknown.status_code == 404 and unknown.json() == {
        "detail": f"scene {geo_scene.pk + 1000} does not exist"
    }


@pytest.mark.parametrize(
    ("path", "query", "parameter"),
    [
        ("12/2064/1495.png", "preset=nope", "preset"),
        ("12/2064/1495.png", "preset=true-colour&bands=red&rescale=0,1", "preset"),
        ("12/2064/1495.png", "bands=red,green&rescale=0,1", "bands"),
        ("12/2064/1495.png", "bands=red,green,B04&rescale=0,1", "bands"),
        ("12/2064/1495.png", "bands=red,green,blue", "rescale"),
        ("12/2064/1495.png", "bands=red,green,blue&rescale=0", "rescale"),
        ("12/2064/1495.png", "bands=red,green,blue&rescale=a,b", "rescale"),
        ("12/2064/1495.png", "bands=red,green,blue&rescale=3000,0", "rescale"),
        ("12/2064/1495.png", "bands=red,green,blue&rescale=0,1&rescale=0,1", "rescale"),
        ("12/2064/1495.png", "tilesize=300", "tilesize"),
        ("12/2064/1495.jpg", "", "format"),
        ("25/0/0.png", "", "z"),
    ],
)
def test_bad_parameters_are_400_naming_the_parameter(api, geo_scene, path, query, parameter):
    response = api.get(f"/tiles/{geo_scene.pk}/{path}?{query}")

    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{parameter}: ")


def test_matching_etag_is_304_without_reading_the_file(api, geo_scene, monkeypatch):
    url = f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png"
    first = api.get(url)
    assert first.status_code == 200
    assert first["Cache-Control"] == "private, max-age=3600"
    assert first["X-Content-Type-Options"] == "nosniff"
    assert first["Content-Type"] == "image/png"

    def no_read(**kwargs):
        raise AssertionError("the file was read")

    monkeypatch.setattr(render, "tile_render", no_read)
    again = api.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == first["ETag"]
    weak_in_list = api.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{first["ETag"]}')
    assert weak_in_list.status_code == 304
    with pytest.raises(AssertionError, match="the file was read"):
        api.get(url, HTTP_IF_NONE_MATCH='"stale"')


def test_etag_changes_with_tile_format_and_file(api, geo_scene):
    base = f"/tiles/{geo_scene.pk}"
    etags = {api.get(f"{base}/{Z}/{X}/{Y}.png")["ETag"], api.get(f"{base}/{Z}/{X}/{Y}.webp")["ETag"]}
    etags.add(api.get(f"{base}/{Z + 1}/{2 * X}/{2 * Y}.png")["ETag"])
    Scene.objects.filter(pk=geo_scene.pk).update(cog_checksum="f" * 64)
    etags.add(api.get(f"{base}/{Z}/{X}/{Y}.png")["ETag"])
    assert len(etags) == 4


def test_a_tile_request_queries_the_scene_once(api, geo_scene):
    api.get(f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png")  # warm the sensor cache
    with CaptureQueriesContext(connection) as queries:
        response = api.get(f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png")

    assert response.status_code == 200
    archive = [q["sql"] for q in queries.captured_queries if "archive_" in q["sql"]]
    assert len(archive) == 1 and "archive_sensor" in archive[0]  # one scene fetch with its sensor joined


def test_anonymous_users_are_refused_and_basic_auth_works(client, user, geo_scene):
    url = f"/tiles/{geo_scene.pk}/{Z}/{X}/{Y}.png"
    refused = client.get(url)
    assert refused.status_code == 403 and "detail" in refused.json()
    assert client.get(f"/tiles/{geo_scene.pk}/tilejson.json").status_code == 403

    token = base64.b64encode(b"ana:pw-ana-123456").decode()
    assert client.get(url, HTTP_AUTHORIZATION=f"Basic {token}").status_code == 200


def test_tilejson_of_a_georeferenced_scene(api, geo_scene):
    doc = api.get(
        f"/tiles/{geo_scene.pk}/tilejson.json?bands=red,green,blue&rescale=0,3000&tilesize=512"
    ).json()

    assert doc["tilejson"] == "3.0.0" and doc["crs"] == "EPSG:3857" and doc["tilesize"] == 512
    assert doc["tiles"] == [
        f"http://testserver/tiles/{geo_scene.pk}/{{z}}/{{x}}/{{y}}.png?bands=red,green,blue&rescale=0,3000&tilesize=512"
    ]
    west, south, east, north = WEB_MERCATOR.bounds(X, Y, Z)
    assert doc["bounds"] == pytest.approx([west, south, east, north], abs=1e-6)
    assert doc["maxzoom"] == Z - 2  # 64 px over one zoom-12 tile (256 px): the native resolution is zoom 10
    assert doc["minzoom"] <= doc["maxzoom"]
    assert doc["center"][:2] == pytest.approx([(west + east) / 2, (south + north) / 2], abs=1e-6)

    default = api.get(f"/tiles/{geo_scene.pk}/tilejson.json?format=webp").json()
    assert default["tiles"] == [
        f"http://testserver/tiles/{geo_scene.pk}/{{z}}/{{x}}/{{y}}.webp?preset=true-colour"
    ]
    bad = api.get(f"/tiles/{geo_scene.pk}/tilejson.json?preset=nope")
    assert bad.status_code == 400 and bad.json()["detail"].startswith("preset: ")


def test_tilejson_carries_cache_headers_and_answers_304(api, geo_scene):
    url = f"/tiles/{geo_scene.pk}/tilejson.json?preset=true-colour"
    first = api.get(url)
    etag = first["ETag"]

    assert first.status_code == 200 and first["Cache-Control"].startswith("private, max-age=")
    assert api.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    other = api.get(f"/tiles/{geo_scene.pk}/tilejson.json?preset=true-colour&format=webp")
    assert other["ETag"] != etag  # another document, another tag


def test_tilejson_of_an_image_without_georeference(api, nongeo_scene):
    doc = api.get(f"/tiles/{nongeo_scene.pk}/tilejson.json").json()

    assert doc["crs"] == "pixel"
    assert (doc["width"], doc["height"], doc["minzoom"], doc["maxzoom"]) == (320, 288, 0, 1)
    assert doc["bounds"] == [0, 288, 320, 0]
    assert doc["center"] == [160, 144, 0]


def test_nongeo_tiles_follow_the_pixel_contract(api, nongeo_scene):
    # docs/tiles.md: at z = maxzoom (1 here) one tile pixel is one image pixel, origin top-left, y down
    url = f"/tiles/{nongeo_scene.pk}/{{z}}/{{x}}/{{y}}.png?bands=red,green,blue&rescale=0,255"
    data = nongeo_bands()

    top_left = decode(api.get(url.format(z=1, x=0, y=0)))
    rows, cols = np.mgrid[0:256, 0:256]
    assert np.array_equal(top_left[..., :3], expected_rgb(data, rows, cols, 255))
    assert (top_left[..., 3] == 255).all()

    # the bottom-right tile holds columns 256..319 and rows 256..287; the rest is transparent
    corner = decode(api.get(url.format(z=1, x=1, y=1)))
    inside = (rows < NONGEO_HEIGHT - 256) & (cols < NONGEO_WIDTH - 256)
    expected = expected_rgb(data, np.minimum(rows + 256, 287), np.minimum(cols + 256, 319), 255)
    assert np.array_equal(corner[..., :3][inside], expected[inside])
    assert tuple(corner[0, 0, :3]) == (0, 0, 170)
    assert (corner[..., 3][inside] == 255).all() and (corner[..., 3][~inside] == 0).all()

    # at z = 0 one tile pixel covers 2 x 2 image pixels: the whole image fits in tile 0/0/0
    overview = decode(api.get(url.format(z=0, x=0, y=0)))
    small = (rows < NONGEO_HEIGHT // 2) & (cols < NONGEO_WIDTH // 2)
    assert (overview[..., 3][small] == 255).all() and (overview[..., 3][~small] == 0).all()
    near = expected_rgb(data, np.minimum(2 * rows, 287), np.minimum(2 * cols, 319), 255)
    assert np.abs(overview[..., :3].astype(int) - near)[small & (cols < 127) & (rows < 127)].max() <= 1

    assert api.get(url.format(z=1, x=2, y=0)).status_code == 404
    assert api.get(url.format(z=0, x=1, y=0)).status_code == 404


def test_shared_landsat_sample_without_georeference(api, archive_root, shared_data):
    # given the real 512 x 512 landsat-ukis image (no georeference)
    source = shared_data / "landsat-ukis" / "landsat5_toa_6band.tif"
    scene = scene_ingest(path=source, sensor_name=LANDSAT).scene
    assert not scene.georeferenced

    # when its bottom-right tile at maxzoom 1 is read with red, green, blue stretched 0..3000
    pixels = decode(api.get(f"/tiles/{scene.pk}/1/1/1.png?preset=true-colour"))

    # then it is the image's pixels 256..511 x 256..511, stretched
    with rasterio.open(source) as src:
        data = src.read()
    rows, cols = np.mgrid[256:512, 256:512]
    assert np.abs(pixels[..., :3].astype(int) - expected_rgb(data, rows, cols, 3000)).max() <= 1
