"""The dashboard in a real browser (Debian's chromium through Playwright): a manager's view of a cloud project
with labels, jobs, model versions, chip scores and a comparison; and a manager drawing an area of interest on a
vehicle project by clicking vertices, then renaming and deleting it in the areas table.

Without chromium or Playwright these tests skip, unless EOLABEL_REQUIRE_BROWSER=1 (CI): then they fail. The
screenshot is always taken and checked in a temporary folder; EOLABEL_SCREENSHOTS=1 also copies it to
docs/screenshots/dashboard.png (the committed one). Same rules as tests/web/browser.py."""

import io
import os
import shutil
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image, ImageStat

from eolabel.archive.models import Chip, Sensor
from eolabel.archive.sensors import BUILTIN_SENSORS
from eolabel.archive.services import scene_ingest
from eolabel.labelling.models import Lease, ProjectChip
from tests.dashboard.world import annotate, job, model_version, prelabel_mask, reference_mask, scores
from tests.labelling.factories import add_member, make_project, make_user
from tests.web.rasters import sentinel2_scene

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "dashboard.png"
SIZE = 128


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes"}


def browser_missing(chromium: Path = CHROMIUM) -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not chromium.exists():
        return f"Debian's chromium is not installed at {chromium} (`make browser`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def browser_required_or_skip(chromium: Path = CHROMIUM) -> None:
    """Skip without a browser; fail instead under EOLABEL_REQUIRE_BROWSER=1."""
    why = browser_missing(chromium)
    if why is None:
        return
    if _flag("EOLABEL_REQUIRE_BROWSER"):
        pytest.fail(f"EOLABEL_REQUIRE_BROWSER=1 but {why}", pytrace=False)
    pytest.skip(why)


pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def scene(archive_root):
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    path = sentinel2_scene(archive_root / "S2A_MSIL1C_20240612T103631_toulouse.tif", size=SIZE)
    return scene_ingest(path=path, sensor_name="sentinel2-l1c").scene


def disc(cy: float, cx: float, r: float) -> np.ndarray:
    rows, cols = np.mgrid[0:SIZE, 0:SIZE]
    return (rows - cy) ** 2 + (cols - cx) ** 2 < r * r


@pytest.fixture
def cloud_world(scene, archive_root):
    mia, ann, bob, rev = make_user("mia"), make_user("ann"), make_user("bob"), make_user("rev")
    project = make_project(manager=mia, scenes=[scene], chip_size=32, overlap=2)
    project.name = "Pyrenees clouds 2024"
    add_member(project, ann, "annotator")
    add_member(project, bob, "annotator")
    add_member(project, rev, "reviewer")
    chips = list(Chip.objects.filter(scene=scene, size=32).order_by("row_off", "col_off"))
    now = timezone.now()
    rng = np.random.default_rng(4)
    truth = np.zeros((SIZE, SIZE), dtype=np.uint8)
    truth[disc(40, 44, 26) | disc(96, 100, 14)] = 1
    truth[disc(70, 20, 10)] = 3  # thin cloud
    truth[disc(60, 70, 8) & (truth == 0)] = 2  # cloud shadow: not cloud
    pred = np.zeros((SIZE, SIZE), dtype=np.uint8)
    pred[disc(44, 50, 27) | disc(92, 96, 9)] = 1
    for i, chip in enumerate(chips[:10]):
        window = truth[chip.row_off : chip.row_off + 32, chip.col_off : chip.col_off + 32].copy()
        window[window == 3] = 1
        for user, noise in ((ann, 0.0), (bob, 0.08)):
            if user is bob and i % 3:
                continue
            flip = rng.random(window.shape) < noise
            label = np.where(flip, 1 - np.minimum(window, 1), window).astype(np.uint8)
            created = now - timedelta(hours=int(rng.integers(0, 20)), minutes=int(rng.integers(0, 50)))
            reviewer = rev if i in (1, 4) and user is ann else None
            annotate(
                project,
                chip,
                user,
                array=label,
                seconds=float(rng.uniform(8, 40)),
                created=created,
                reviewer=reviewer,
            )
    for pc in ProjectChip.objects.filter(project=project):
        pc.done_count = pc.annotations.count()
        pc.state = "done" if pc.done_count >= 2 else "available"
        pc.save()
    pc = ProjectChip.objects.filter(project=project, state="available").order_by("id").last()
    Lease.objects.create(
        project=project,
        project_chip=pc,
        user=bob,
        leased_at=now,
        expires_at=now + timedelta(minutes=9),
        strategy="random",
    )
    ProjectChip.objects.filter(pk=pc.pk).update(state="leased")
    for chip in chips:
        window = pred[chip.row_off : chip.row_off + 32, chip.col_off : chip.col_off + 32]
        prelabel_mask(project, chip, window, f"project-{project.pk}/v4")
    reference_mask(archive_root, scene, truth, name="maja")
    for n, (size, metric) in enumerate([(8, 0.58), (24, 0.71), (40, 0.69), (56, 0.83)], start=1):
        model_version(project, n, size=size, metric=metric, promoted=n != 3)
    job(project, state="succeeded", log="epoch 1/3 loss 0.61\nepoch 3/3 loss 0.32\nregistered v4, promoted")
    job(project, state="running", progress=0.62, log="epoch 2/3 loss 0.41", kind="score")
    project.current_model_version = f"project-{project.pk}/v4"
    project.save()
    scores(project, project.current_model_version, {c.pk: float(rng.uniform(0.05, 0.95)) for c in chips})
    return {"project": project, "manager": mia}


@pytest.fixture
def vehicle_world(scene):
    mia = make_user("mia")
    project = make_project(manager=mia, scenes=[scene], chip_size=32, task_type="vehicle-detection")
    return {"project": project, "manager": mia}


@pytest.fixture
def browser():
    """Requested last by each test: database work must be done before Playwright's event loop starts."""
    browser_required_or_skip()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"exception: {e}"))
    page.on("response", lambda r: r.status >= 400 and page.problems.append(f"{r.status}: {r.url}"))
    page.on(
        "request", lambda r: r.url.startswith(live_server.url) or page.problems.append(f"offsite: {r.url}")
    )
    page.set_default_timeout(15_000)
    yield page
    page.wait_for_load_state("networkidle")
    context.close()


def log_in(page, base_url: str, username: str, next_url: str) -> None:
    page.goto(f"{base_url}{next_url}")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", f"pw-{username}-123456")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}{next_url}")


def test_a_missing_browser_fails_under_require_browser(monkeypatch, tmp_path):
    # given no chromium where the tests look for it
    absent = tmp_path / "no-chromium"
    # then the browser tests skip by default, and fail (not skip) when CI requires the browser
    monkeypatch.delenv("EOLABEL_REQUIRE_BROWSER", raising=False)
    with pytest.raises(pytest.skip.Exception):
        browser_required_or_skip(absent)
    monkeypatch.setenv("EOLABEL_REQUIRE_BROWSER", "1")
    with pytest.raises(pytest.fail.Exception, match="EOLABEL_REQUIRE_BROWSER=1"):
        browser_required_or_skip(absent)


def test_manager_dashboard_draws_server_figures(cloud_world, live_server, tmp_path, browser, page):
    project = cloud_world["project"]
    # when the manager opens the project's dashboard
    log_in(page, live_server.url, "mia", f"/dashboard/{project.pk}/")
    # then the panels fill from the API: progress, the running job, versions, the curve, the comparison
    page.wait_for_selector("#stats .stat >> nth=6")
    page.wait_for_selector("#annotators tbody tr >> nth=2")
    assert page.locator("#annotators tbody tr").count() == 3  # the reviewer labelled nothing: no row
    assert page.locator("#stats .stat >> nth=1").inner_text().startswith("2")  # chips a reviewer accepted
    page.wait_for_selector("#job-status .progress-bar.live")
    assert page.locator("#job-status .progress").get_attribute("aria-valuenow") == "62"
    assert page.locator("#job-status .progress-bar").evaluate("(e) => e.style.width") == "62%"
    assert "heartbeat" in page.locator("[data-testid=worker-status]").inner_text()
    assert page.locator("#versions tbody tr").count() == 4
    assert page.locator("#curve svg circle").count() == 4
    assert page.locator("#hourly svg rect.bar").count() == 24
    figures = page.locator("[data-testid=comparison-figures]")
    figures.wait_for()
    assert "F2" in figures.inner_text() and "Over-detection" in figures.inner_text()
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.comparison-overlay')].some((i) => i.complete && i.naturalWidth === 128)"
    )
    page.wait_for_function(
        "() => [...document.querySelectorAll('#dash-map .scene-tiles img.leaflet-tile')].some((i) => i.complete && i.naturalWidth > 0)"
    )
    assert page.locator("#dash-map path.leaflet-interactive").count() == 16  # one rectangle per scored chip
    assert page.locator("[data-testid=uncertainty-scenes] tbody tr").count() == 1
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # Leaflet's tile fade-in
    shot = Image.open(io.BytesIO(page.locator("#dash-map").screenshot())).convert("RGB")
    assert max(ImageStat.Stat(shot).stddev) > 20
    page.evaluate("() => window.scrollTo(0, 0)")  # the element screenshot above scrolled the map into view
    screenshot = tmp_path / "dashboard.png"
    page.screenshot(path=str(screenshot))
    assert Image.open(screenshot).size == (1280, 800) and screenshot.stat().st_size < 300_000
    if _flag("EOLABEL_SCREENSHOTS"):
        DOCS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(screenshot, DOCS_SCREENSHOT)
    assert page.problems == []


def test_manager_draws_an_area_by_clicking_vertices(vehicle_world, live_server, browser, page):
    project = vehicle_world["project"]
    log_in(page, live_server.url, "mia", f"/dashboard/{project.pk}/")
    page.wait_for_selector("#draw-area")
    page.wait_for_load_state("networkidle")
    page.click("#draw-area")
    page.fill("#area-name", "ring road")
    box = page.locator("#dash-map").bounding_box()
    for dx, dy in ((0.3, 0.3), (0.6, 0.3), (0.6, 0.6), (0.3, 0.6)):
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
    page.click(".area-form button[type=submit]")
    page.wait_for_selector(".area-label")
    # (the database cannot be read while Playwright's event loop runs: ask the API, as the page does)
    areas = page.evaluate(f"async () => (await fetch('/api/projects/{project.pk}/dashboard/areas')).json()")
    [area] = areas["features"]
    assert area["properties"]["name"] == "ring road" and len(area["geometry"]["coordinates"][0]) == 5
    # when the manager renames it in the areas table, to a name that is markup
    page.click("#areas .area-rename")
    page.fill("#areas .area-rename-form input", "<b>bypass</b>")
    page.click("#areas .area-rename-form button[type=submit]")
    page.wait_for_selector("#areas tbody td:has-text('<b>bypass</b>')")
    # then the name is shown as text, in the table and on the map (once Leaflet's 200 ms tooltip fade-out is over)
    page.wait_for_function("() => document.querySelectorAll('.area-label').length === 1")
    assert page.locator("#areas tbody b, .area-label b").count() == 0
    assert page.locator(".area-label").inner_text() == "<b>bypass</b>"
    # when the manager deletes it (asked again in the row)
    page.click("#areas .area-delete")
    page.click("#areas .area-delete-confirm")
    page.wait_for_selector("#areas tbody td.muted")
    areas = page.evaluate(f"async () => (await fetch('/api/projects/{project.pk}/dashboard/areas')).json()")
    assert areas["features"] == []
    page.wait_for_function("() => document.querySelectorAll('.area-label').length === 0")
    assert page.problems == []


def test_the_retrain_button_queues_a_job_the_loop_panel_shows(vehicle_world, live_server, browser, page):
    project = vehicle_world["project"]
    log_in(page, live_server.url, "mia", f"/dashboard/{project.pk}/")
    page.wait_for_selector("#job-status p")
    assert "No training job yet" in page.locator("#job-status").inner_text()
    # when the manager presses "Retrain now"
    page.click("#retrain-now")
    # then the panel polls and shows the queued job, waiting for a worker (none runs in this test)
    page.wait_for_selector("#job-status .state-queued")
    assert "retrain job #" in page.locator("#job-status").inner_text()
    assert "no worker has taken" in page.locator("[data-testid=worker-status]").inner_text()
    jobs = page.evaluate(f"async () => (await fetch('/api/projects/{project.pk}/training/jobs')).json()")
    assert [(j["kind"], j["state"]) for j in jobs["results"]] == [("retrain", "queued")]
    # and a second press is refused (409, one active job per project) and says so in the banner
    page.click("#retrain-now")
    page.wait_for_selector("#banner:not([hidden])")
    page.problems = [p for p in page.problems if not p.startswith(("409", "console: Failed to load"))]
    assert page.problems == []
