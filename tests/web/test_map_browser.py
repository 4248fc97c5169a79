"""The map page in a real browser (Debian's chromium through Playwright): log in, pick a scene, see its tiles."""

import io
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from eolabel.archive.models import Scene, Sensor
from eolabel.archive.sensors import BUILTIN_SENSORS
from eolabel.archive.services import scene_ingest
from tests.web.browser import chromium, screenshot
from tests.web.rasters import landsat_pixel_image, sentinel2_scene

PASSWORD = "pw-ana-123456"

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Pixel statistics of every loaded tile image of the scene layer, read back through a canvas (same origin).
TILE_STATS_JS = """(selector) => [...document.querySelectorAll(selector)]
  .filter((img) => img.complete && img.naturalWidth > 0)
  .map((img) => {
    const canvas = document.createElement("canvas");
    canvas.width = img.naturalWidth;
    canvas.height = img.naturalHeight;
    const context = canvas.getContext("2d");
    context.drawImage(img, 0, 0);
    const data = context.getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    let opaque = 0, green = 0, white = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i + 3] === 0) continue;
      const [r, g, b] = [data[i], data[i + 1], data[i + 2]];
      opaque += 1;
      colours.add((r << 16) | (g << 8) | b);
      if (g > r + 20 && g > b + 20) green += 1;
      if (r > 240 && g > 240 && b > 240) white += 1;
    }
    return { src: img.src, pixels: data.length / 4, opaque, colours: colours.size, green, white };
  })"""


@pytest.fixture
def archive(settings, tmp_path: Path) -> Path:
    """An empty archive with the built-in sensors: a transactional test starts after another one's flush,
    which removes the rows the data migration made."""
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    root = tmp_path / "archive"
    root.mkdir()
    settings.ARCHIVE_ROOT = root
    return tmp_path


@pytest.fixture
def toulouse(archive: Path) -> Scene:
    source = sentinel2_scene(archive / "S2A_MSIL1C_20240612T103631_toulouse.tif")
    return scene_ingest(path=source, sensor_name="sentinel2-l1c").scene


@pytest.fixture
def neighbours(archive: Path) -> list[Scene]:
    """A small earlier scene east of Toulouse and a small pixel image: company in the list and the screenshot."""
    east = sentinel2_scene(
        archive / "S2B_MSIL1C_20240528T104619_east.tif", size=64, seed=2, origin=(375_600, 4_833_000)
    )
    pixels = landsat_pixel_image(archive / "LT05_toa_sample_6band.tif", size=64)
    return [
        scene_ingest(path=east, sensor_name="sentinel2-l1c").scene,
        scene_ingest(path=pixels, sensor_name="landsat-tm-etm-6band").scene,
    ]


@pytest.fixture
def pixel_image(archive: Path) -> Scene:
    source = landsat_pixel_image(archive / "landsat5_toa_6band.tif")
    return scene_ingest(path=source, sensor_name="landsat-tm-etm-6band").scene


HOSTILE = "S2B_MSIL1C_20240801T103631_<img src=x onerror=alert(1)>"


@pytest.fixture
def june_and_august(archive: Path) -> list[Scene]:
    june = sentinel2_scene(archive / "S2A_MSIL1C_20240612T103631_june.tif", size=64)
    august = sentinel2_scene(archive / f"{HOSTILE}.tif", size=64, seed=8)
    return [scene_ingest(path=p, sensor_name="sentinel2-l1c").scene for p in (june, august)]


@pytest.fixture
def ana(django_user_model):
    """An archive curator (staff), like the demo login: the map shows them every scene of the archive."""
    return django_user_model.objects.create_user(username="ana", password=PASSWORD, is_staff=True)


@pytest.fixture
def browser():
    """Requested last by each test: database work must be done before Playwright's event loop starts."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    """A 1280 x 800 page that records console errors, uncaught exceptions and requests to other hosts."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"exception: {e}"))
    page.on("dialog", lambda d: (page.problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.set_default_timeout(15_000)
    yield page
    # no request left for the live server while the database is flushed
    page.wait_for_load_state("networkidle")
    context.close()


def log_in(page, base_url: str) -> None:
    page.goto(f"{base_url}/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", "ana")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/")


def loaded_tiles(page, map_id: str) -> list[dict]:
    selector = f"#{map_id} .scene-tiles img.leaflet-tile"
    page.wait_for_function(
        "(s) => [...document.querySelectorAll(s)].some((img) => img.complete && img.naturalWidth > 0)",
        arg=selector,
    )
    page.wait_for_load_state("networkidle")
    # Leaflet fades new tiles in: wait until they are fully opaque, for the screenshot
    page.wait_for_function(
        "(s) => [...document.querySelectorAll(s)].every((img) => getComputedStyle(img).opacity === '1')",
        arg=selector,
    )
    return page.evaluate(TILE_STATS_JS, selector)


def test_a_scene_picked_in_the_list_shows_its_tiles_on_the_map(
    toulouse, neighbours, ana, tmp_path, live_server, browser, page
):
    # given a georeferenced Sentinel-2 scene in the archive, among others
    scene = toulouse

    # when ana logs in through the form and picks the scene in the list
    log_in(page, live_server.url)
    page.wait_for_selector(".scene-item >> nth=2")
    assert page.locator("#scene-count").inner_text() == "3 scenes"
    assert page.locator("#geo-map path.footprint").count() == 2  # the pixel image has no footprint
    item = page.locator(".scene-item", has_text=scene.name)
    assert "sentinel2-l1c · 2024-06-12 10:36 UTC" in item.inner_text()
    item.click()

    # then the scene's tiles are drawn: loaded, opaque over at least the scene's area, and in true colour
    # the synthetic landscape's green meadows and white cloud
    tiles = loaded_tiles(page, "geo-map")
    assert all(f"/tiles/{scene.pk}/" in t["src"] and "preset=true-colour" in t["src"] for t in tiles)
    assert sum(t["opaque"] for t in tiles) > 0.5 * 512 * 512
    assert max(t["colours"] for t in tiles) >= 8
    assert sum(t["green"] for t in tiles) > 0.1 * 512 * 512
    assert sum(t["white"] for t in tiles) > 1000
    assert page.locator("#scene-title").inner_text() == scene.name
    # default preset first, then by name, whatever the database (jsonb does not keep key order)
    assert page.locator("#scene-preset option").all_inner_texts() == [
        "true-colour",
        "cirrus",
        "false-colour",
        "snow-cloud",
        "swir",
    ]

    # and the screenshot of the map shows them (the map background alone is one flat colour)
    map_shot = Image.open(io.BytesIO(page.locator("#geo-map").screenshot())).convert("RGB")
    assert max(ImageStat.Stat(map_shot).stddev) > 20
    screenshot(page, "map.png", folder=tmp_path)

    # when she switches the preset, the tile layer's address follows
    page.select_option("#scene-preset", "false-colour")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#geo-map .scene-tiles img.leaflet-tile')]"
        ".some((img) => img.src.includes('preset=false-colour') && img.complete && img.naturalWidth > 0)"
    )
    page.fill("#scene-opacity", "40")
    assert page.locator("#geo-map .scene-tiles").evaluate("(el) => el.style.opacity") == "0.4"
    assert page.problems == []


def test_an_image_without_georeference_opens_in_the_pixel_viewer(
    pixel_image, ana, live_server, browser, page
):
    # given a 6-band Landsat image with no CRS
    scene = pixel_image
    assert not scene.georeferenced

    # when ana picks it in the list, where it is marked as a pixel image
    log_in(page, live_server.url)
    item = page.locator(".scene-item", has_text=scene.name)
    assert "pixel image" in item.inner_text()
    item.click()

    # then the pixel viewer replaces the map and draws the image's tiles
    tiles = loaded_tiles(page, "pixel-map")
    assert page.locator("#geo-map").is_hidden()
    assert "512 × 512 px" in page.locator("#viewer-caption").inner_text()
    assert sum(t["opaque"] for t in tiles) >= 256 * 256
    assert max(t["colours"] for t in tiles) >= 3
    assert sum(t["green"] for t in tiles) > 0 and sum(t["white"] for t in tiles) > 0

    # and closing it brings the map back
    page.click("#scene-close")
    assert page.locator("#pixel-map").is_hidden() and page.locator("#geo-map").is_visible()
    assert page.problems == []


def test_filters_refetch_the_list_and_names_stay_text(june_and_august, ana, live_server, browser, page):
    # given two scenes, one of them named with markup (names come from file names)
    assert june_and_august[1].name == HOSTILE

    log_in(page, live_server.url)
    page.wait_for_selector(".scene-item >> nth=1")
    # then the markup is shown as text, never parsed
    assert page.locator(".scene-item", has_text="<img src=x onerror=alert(1)>").count() == 1
    assert page.locator("#scene-list img").count() == 0
    assert page.locator("#geo-map path.footprint").count() == 2

    # when she keeps July onwards, only the August scene is left
    page.fill("#filter-from", "2024-07-01")
    page.click("#filters button[type=submit]")
    page.wait_for_function("() => document.querySelectorAll('.scene-item').length === 1")
    assert "20240801" in page.locator(".scene-item").inner_text()
    assert "from=2024-07-01" in page.url

    # when she clicks its footprint on the map, it is selected; tooltip and title show the name as text
    page.locator("#geo-map path.footprint").click()
    assert page.locator(".leaflet-tooltip").inner_text() == HOSTILE
    page.wait_for_function(
        "(name) => document.getElementById('scene-title').textContent === name", arg=HOSTILE
    )
    assert page.locator("#scene-panel img, .leaflet-tooltip img").count() == 0
    page.wait_for_url("**/?*scene=*")

    # when the range is impossible, the API's refusal is shown in the banner
    page.fill("#filter-to", "2024-06-01")
    page.click("#filters button[type=submit]")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "acquired_after" in banner.inner_text()
    page.problems = [p for p in page.problems if "400 (Bad Request)" not in p]
    assert page.problems == []
