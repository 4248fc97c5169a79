"""The labelling page in a real browser (Debian's chromium through Playwright): paint a mask, draw boxes,
submit and skip from the keyboard, survive a failed request; the server must hold exactly what was drawn."""

import io
import json
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from eolabel.archive.models import Sensor
from eolabel.archive.sensors import BUILTIN_SENSORS
from eolabel.archive.services import scene_ingest
from eolabel.labelling import services
from eolabel.labelling.codecs import mask_encode
from eolabel.labelling.models import Annotation, AnnotationRevision, Lease, Membership, ProjectChip
from eolabel.ranking.models import ChipScore, Prelabel
from tests.labelling.factories import CLOUD_CLASSES, VEHICLE_CLASSES, client_for, next_task, submit_mask
from tests.web.browser import chromium, screenshot
from tests.web.rasters import sentinel2_scene

PASSWORD = "pw-ana-123456"
CHIP = 64

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def project_of(settings, tmp_path: Path, django_user_model, monkeypatch):
    """A factory: a 128 px Sentinel-2 scene cut into 64 px chips, in a project of the given type where ana
    annotates. The ORM is used from the test after Playwright's loop started: allowed, the test is synchronous."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    root = tmp_path / "archive"
    root.mkdir()
    settings.ARCHIVE_ROOT = root
    source = sentinel2_scene(tmp_path / "S2A_MSIL1C_20240612T103631_label.tif", size=2 * CHIP)
    scene = scene_ingest(path=source, sensor_name="sentinel2-l1c").scene
    manager = django_user_model.objects.create_user(username="mona", password="pw-mona-123456", is_staff=True)
    ana = django_user_model.objects.create_user(username="ana", password=PASSWORD)

    def make(task_type: str, *, members: dict | None = None, chip_size: int = CHIP):
        chip_scene = scene
        if chip_size != CHIP:  # one chip of that size
            big = sentinel2_scene(tmp_path / "S2A_MSIL1C_20240612T103631_big.tif", size=chip_size, seed=5)
            chip_scene = scene_ingest(path=big, sensor_name="sentinel2-l1c").scene
        project = services.project_create(
            name="Clouds over Toulouse" if task_type == "cloud-segmentation" else "Vehicles in Toulouse",
            task_type=task_type,
            classes=CLOUD_CLASSES if task_type == "cloud-segmentation" else VEHICLE_CLASSES,
            sensor_names=["sentinel2-l1c"],
            scene_ids=[chip_scene.pk],
            created_by=manager,
            chip_size=chip_size,
            validation_fraction=0.0,
        )
        Membership.objects.create(project=project, user=ana, role="annotator")
        for username, role in (members or {}).items():
            user = django_user_model.objects.create_user(username=username, password=f"pw-{username}-123456")
            Membership.objects.create(project=project, user=user, role=role)
        return project

    return make


@pytest.fixture
def browser():
    """Requested last by each test: database work must be done before Playwright's event loop starts."""
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.problems = []
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"exception: {e}"))
    page.set_default_timeout(15_000)
    yield page
    page.wait_for_load_state("networkidle")
    context.close()


def log_in(page, base_url: str, username: str = "ana") -> None:
    page.goto(f"{base_url}/projects/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD if username == "ana" else f"pw-{username}-123456")
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/projects/")


def open_project(page, base_url: str, project) -> int:
    """Log in through the form, pick the project in the list; the id of the task the page leased."""
    log_in(page, base_url)
    page.click(f"a[href='/projects/{project.pk}/label/']")
    page.wait_for_selector("#label-map[data-task]")
    page.wait_for_function("() => document.querySelectorAll('#label-map .scene-tiles img').length > 0")
    return int(page.locator("#label-map").get_attribute("data-task"))


class Chip:
    """Chip pixel coordinates -> page coordinates, read from the chip layer's box on screen."""

    def __init__(self, page):
        self.page = page
        box = page.locator(".chip-layer").bounding_box()
        self.left, self.top = box["x"], box["y"]
        self.scale = box["width"] / CHIP
        assert abs(box["height"] / CHIP - self.scale) < 0.05 * self.scale  # square chip pixels
        assert self.scale >= 4  # zoomed to the chip: one chip pixel is several screen pixels

    def at(self, x: float, y: float) -> tuple[float, float]:
        return self.left + x * self.scale, self.top + y * self.scale

    def drag(self, start: tuple[float, float], end: tuple[float, float], steps: int = 12) -> None:
        self.page.mouse.move(*self.at(*start))
        self.page.mouse.down()
        self.page.mouse.move(*self.at(*end), steps=steps)
        self.page.mouse.up()

    def click(self, x: float, y: float) -> None:
        self.page.mouse.click(*self.at(x, y))


def brush_row(mask: np.ndarray, *, row: int, x0: int, x1: int, size: int, value: int) -> None:
    """What a round brush of `size` px leaves when dragged along `row` from pixel x0 to x1."""
    radius = size / 2
    reach = int(np.floor(radius))
    for x in range(x0, x1 + 1):
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                if dx * dx + dy * dy <= radius * radius:
                    py, px = row + dy, x + dx
                    if 0 <= py < mask.shape[0] and 0 <= px < mask.shape[1]:
                        mask[py, px] = value


def stored_mask(task_id: int) -> np.ndarray:
    annotation = Annotation.objects.get(lease_id=task_id)
    return np.array(Image.open(io.BytesIO(bytes(annotation.mask_png))))


def record_statuses(page) -> None:
    """From now on keep every text the status line shows in ``window.statuses``. A MutationObserver sees each
    text however briefly it shows: polling from the test can miss one that lasts a second (the retry notice)
    when the machine is busy, which made the retry tests flaky."""
    page.evaluate(
        "() => { window.statuses = []; const status = document.getElementById('status');"
        " new MutationObserver((records) => { for (const r of records) for (const n of r.addedNodes)"
        " window.statuses.push(n.textContent); }).observe(status, { childList: true, subtree: true }); }"
    )


def statuses(page) -> list[str]:
    return page.evaluate("() => window.statuses")


def wait_for_next_task(page, previous: int) -> int:
    page.wait_for_function(
        "(id) => { const t = document.querySelector('#label-map').dataset.task; return t && t !== String(id); }",
        arg=previous,
    )
    return int(page.locator("#label-map").get_attribute("data-task"))


def test_a_mask_painted_with_two_classes_and_erased_is_stored_pixel_for_pixel(
    project_of, tmp_path, live_server, browser, page
):
    # given a cloud project with ana as annotator, and her on its labelling page
    project = project_of("cloud-segmentation")
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)
    assert page.locator("#project-name").inner_text() == project.name
    assert page.locator("#palette .swatch").count() == 3
    expected = np.full((CHIP, CHIP), 255, dtype=np.uint8)

    # when she paints "clear" (key 1) along row 10 and "cloud" (key 2) along row 30 with the 5 px brush
    page.keyboard.press("1")
    chip.drag((5.5, 10.5), (40.5, 10.5))
    brush_row(expected, row=10, x0=5, x1=40, size=5, value=0)
    page.keyboard.press("2")
    assert page.locator(".swatch[aria-checked=true]").inner_text().startswith("cloud")
    chip.drag((10.5, 30.5), (50.5, 30.5))
    brush_row(expected, row=30, x0=10, x1=50, size=5, value=1)
    # and erases part of the cloud stroke with a 3 px eraser
    page.keyboard.press("e")
    page.fill("#brush-size", "3")
    chip.drag((20.5, 30.5), (30.5, 30.5))
    brush_row(expected, row=30, x0=20, x1=30, size=3, value=255)
    # and fills a polygon of "shadow" (key 3) whose vertices sit on pixel corners
    page.keyboard.press("3")
    page.keyboard.press("l")
    for corner in [(40, 40), (60, 40), (60, 56), (40, 56), (40, 40)]:
        chip.click(*corner)
    expected[40:56, 40:60] = 2
    # and drags a freehand lasso of "cloud" (key 2) around a square, released where it started
    page.keyboard.press("2")
    page.mouse.move(*chip.at(4, 44))
    page.mouse.down()
    for corner in [(20, 44), (20, 60), (4, 60), (4, 44.2)]:
        page.mouse.move(*chip.at(*corner), steps=6)
    page.mouse.up()
    expected[44:60, 4:20] = 1
    screenshot(page, "label-mask.png", folder=tmp_path)

    # and submits with Enter
    started = time.perf_counter()
    page.keyboard.press("Enter")
    next_id = wait_for_next_task(page, task_id)
    # (the issue asks for the next task within a second on the demo project; loosely here, a busy CI machine)
    assert time.perf_counter() - started < 5.0

    # then the server holds exactly what was drawn, and the next task is on the page
    assert next_id != task_id
    mask = stored_mask(task_id)
    assert mask.shape == (CHIP, CHIP)
    assert np.array_equal(mask, expected), f"{int((mask != expected).sum())} pixels differ"
    page.wait_for_function(
        "() => document.getElementById('progress').textContent.startsWith('Today: 1 by you')"
    )
    assert page.problems == []


def test_undo_redo_and_the_superpixel_fill(project_of, live_server, browser, page):
    # given a cloud task with one brush stroke
    project = project_of("cloud-segmentation")
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)
    chip.drag((5.5, 5.5), (20.5, 5.5))

    # when she undoes it, redoes it, undoes it again
    page.keyboard.press("Control+z")
    page.keyboard.press("Control+Shift+z")
    page.keyboard.press("Control+z")
    # and fills the superpixel under (32, 32) with "cloud"
    page.keyboard.press("2")
    page.keyboard.press("f")
    with page.expect_response(f"**/api/tasks/{task_id}/superpixels.png") as response:
        chip.click(32.5, 32.5)
    assert response.value.status == 200
    page.wait_for_timeout(300)
    page.keyboard.press("Enter")
    wait_for_next_task(page, task_id)

    # then the stored mask is that one superpixel, the undone stroke gone
    mask = stored_mask(task_id)
    assert set(np.unique(mask).tolist()) == {1, 255}
    assert mask[32, 32] == 1 and mask[5, 10] == 255
    assert 10 <= int((mask == 1).sum()) <= 400
    assert page.problems == []


def test_boxes_drawn_moved_resized_and_deleted_are_stored_within_a_pixel(
    project_of, tmp_path, live_server, browser, page
):
    # given a vehicle project
    project = project_of("vehicle-detection")
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)

    # when she draws a car, then (after clicking off it) a truck, resizes the truck by its corner
    page.keyboard.press("1")
    chip.drag((4, 4), (20, 12))
    chip.click(60.3, 2.3)  # a click on empty chip draws nothing and selects nothing
    page.keyboard.press("2")
    chip.drag((30, 30), (50, 44))
    chip.drag((50, 44), (54, 48))
    # and moves the truck by (-4, +2), dragging it from inside
    chip.drag((40, 38), (36, 40))
    assert page.locator("#box-count").inner_text() == "2"
    screenshot(page, "label-boxes.png", folder=tmp_path)
    # and the display preset and the overlay opacity follow the controls
    assert page.locator("#preset option").all_inner_texts()[0] == "true-colour"
    page.select_option("#preset", "false-colour")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#label-map .scene-tiles img')]"
        ".some((img) => img.src.includes('preset=false-colour'))"
    )
    page.fill("#overlay-opacity", "30")
    assert page.locator(".chip-layer").evaluate("(el) => el.style.opacity") == "0.3"

    # and deletes the car: click inside it, Delete
    chip.click(10, 8)
    page.keyboard.press("Delete")
    assert page.locator("#box-count").inner_text() == "1"
    page.keyboard.press("Enter")
    next_id = wait_for_next_task(page, task_id)

    # then one truck box is stored, within a pixel of what was drawn
    boxes = Annotation.objects.get(lease_id=task_id).boxes
    assert len(boxes) == 1 and boxes[0]["class"] == 2
    for key, value in {"x0": 26, "y0": 32, "x1": 50, "y1": 50}.items():
        assert abs(boxes[0][key] - value) <= 1, (key, boxes[0])

    # when she skips the next chip with S and a reason
    page.keyboard.press("s")
    page.fill("#skip-reason", "too blurry")
    page.keyboard.press("Enter")
    wait_for_next_task(page, next_id)

    # then the task is given back with the reason
    skipped = Lease.objects.get(pk=next_id)
    assert skipped.state == Lease.State.SKIPPED and skipped.skip_reason == "too blurry"
    assert page.problems == []


def test_a_failed_submit_keeps_the_work_and_the_retry_stores_it_once(project_of, live_server, browser, page):
    # given a cloud task, and a network that drops the first submission
    project = project_of("cloud-segmentation")
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)
    bodies = []

    def flaky(route):
        bodies.append(json.loads(route.request.post_data))
        if len(bodies) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/tasks/*/annotations", flaky)

    # when she fills a rectangle of cloud and submits
    page.keyboard.press("2")
    page.keyboard.press("l")
    for corner in [(8, 8), (24, 8), (24, 20), (8, 20), (8, 8)]:
        chip.click(*corner)
    record_statuses(page)
    page.keyboard.press("Enter")

    # then the page retries by itself, having told her the network failed and her work is kept
    next_id = wait_for_next_task(page, task_id)
    assert any("work is kept" in text for text in statuses(page)), statuses(page)

    # and the retry carried the same submission id and stored one annotation with the whole drawing
    assert len(bodies) == 2
    assert bodies[0]["submission_id"] == bodies[1]["submission_id"]
    assert bodies[0]["mask_png"] == bodies[1]["mask_png"]
    assert Annotation.objects.filter(project=project).count() == 1
    expected = np.full((CHIP, CHIP), 255, dtype=np.uint8)
    expected[8:20, 8:24] = 1
    assert np.array_equal(stored_mask(task_id), expected)
    assert next_id != task_id
    page.problems = [
        p for p in page.problems if "ERR_CONNECTION_RESET" not in p and "Failed to fetch" not in p
    ]
    assert page.problems == []


def test_the_prelabel_is_the_starting_point_and_an_expired_lease_is_said_plainly(
    project_of, live_server, browser, page
):
    # given a model version v2 that ranks one chip first and pre-labels it: cloud on the top half
    project = project_of("cloud-segmentation")
    chips = list(ProjectChip.objects.filter(project=project).order_by("pk").values_list("chip_id", flat=True))
    for score, chip_id in enumerate(chips):
        ChipScore.objects.create(
            project=project, chip_id=chip_id, model_version="v2", strategy="margin", score=score
        )
    prelabel = np.zeros((CHIP, CHIP), dtype=np.uint8)
    prelabel[: CHIP // 2] = 1
    Prelabel.objects.create(
        project=project, chip_id=chips[-1], model_version="v2", mask_png=mask_encode(prelabel)
    )
    services.project_ranking_activate(project=project, model_version="v2")
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)

    # when ana's page shows it, the pre-label can be toggled as a reference
    page.wait_for_function("() => !document.getElementById('toggle-prelabel').disabled")
    assert "v2" in page.locator("#status").inner_text()
    page.keyboard.press("p")
    assert page.locator("#toggle-prelabel").get_attribute("aria-pressed") == "true"
    page.keyboard.press("p")
    # and she corrects a corner to "shadow" (key 3) with the polygon, then submits
    page.keyboard.press("3")
    page.keyboard.press("l")
    for corner in [(0.3, 0.3), (8, 0.3), (8, 8), (0.3, 8), (0.3, 0.3)]:  # inside the chip: snap to (0, 0)
        chip.click(*corner)
    page.keyboard.press("Enter")
    next_id = wait_for_next_task(page, task_id)

    # then what is stored is the pre-label with her correction
    expected = prelabel.copy()
    expected[:8, :8] = 2
    assert np.array_equal(stored_mask(task_id), expected)
    assert Annotation.objects.get(lease_id=task_id).prelabel_model_version == "v2"

    # when the next task's lease runs out before she submits
    Lease.objects.filter(pk=next_id).update(expires_at=timezone.now() - timedelta(seconds=1))
    chip = Chip(page)
    page.keyboard.press("2")
    chip.drag((5.5, 5.5), (20.5, 5.5))
    page.keyboard.press("Enter")

    # then she is told plainly, nothing is stored, and she can go on to a new task
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "lease expired" in banner.inner_text() and "cannot be saved" in banner.inner_text()
    assert page.locator("#submit").is_disabled()
    assert not Annotation.objects.filter(lease_id=next_id).exists()
    page.click("#next-task")
    assert wait_for_next_task(page, next_id) != next_id
    page.problems = [p for p in page.problems if "409 (Conflict)" not in p]
    assert page.problems == []


def test_review_mode_accepts_one_annotation_and_corrects_another_as_a_new_version(
    project_of, tmp_path, live_server, browser, page
):
    # given two masks submitted by ana, and rita reviewing the project
    project = project_of("cloud-segmentation", members={"rita": "reviewer"})
    ana = client_for(Membership.objects.get(project=project, role="annotator").user)
    originals = []
    for value in (0, 1):
        task = next_task(ana, project).json()["task"]
        array = np.full((CHIP, CHIP), value, dtype=np.uint8)
        array[CHIP // 2 :, :] = 2
        assert submit_mask(ana, task, array=array).status_code == 201
        originals.append((Annotation.objects.get(lease_id=task["id"]).pk, array))
    (first, _), (second, second_mask) = originals
    bodies = []

    def flaky(route):
        bodies.append(json.loads(route.request.post_data))
        if len(bodies) == 1:
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/annotations/*/correct", flaky)

    # when rita opens the project's review mode from her project list
    log_in(page, live_server.url, "rita")
    page.click(f"a[href='/projects/{project.pk}/review/']")
    page.wait_for_selector(f"#label-map[data-annotation='{first}']")
    assert page.locator("#mode-name").inner_text().lower() == "review mode"
    assert "2 waiting for review" in page.locator("#progress").inner_text()
    # and accepts the first one with A
    page.keyboard.press("a")
    page.wait_for_selector(f"#label-map[data-annotation='{second}']")
    # and on the second paints a corner "shadow" (key 3) with the polygon, which Accept now refuses
    page.wait_for_function("() => !document.getElementById('toggle-prelabel').disabled")
    chip = Chip(page)
    page.keyboard.press("3")
    page.keyboard.press("l")
    for corner in [(0.3, 0.3), (8, 0.3), (8, 8), (0.3, 8), (0.3, 0.3)]:  # inside the chip: snap to (0, 0)
        chip.click(*corner)
    page.keyboard.press("a")
    assert "save it as a correction" in page.locator("#status").inner_text()
    screenshot(page, "label-review.png", folder=tmp_path)
    # and saves the correction with Enter through a network that drops the first try
    record_statuses(page)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('no annotation by others')",
        timeout=20_000,
    )
    # (told that her work was kept while the page retried: the notice shows for a second only)
    assert any("work is kept" in text for text in statuses(page)), statuses(page)

    # then the first is accepted at version 1, unchanged
    accepted = Annotation.objects.get(pk=first)
    assert (accepted.review_state, accepted.version, accepted.reviewed_by.username) == ("accepted", 1, "rita")
    # and the second is at version 2 with exactly her correction, ana's version kept as revision 1
    corrected = Annotation.objects.get(pk=second)
    assert (corrected.review_state, corrected.version, corrected.updated_by.username) == (
        "corrected",
        2,
        "rita",
    )
    expected = second_mask.copy()
    expected[:8, :8] = 2
    assert np.array_equal(stored_mask(corrected.lease_id), expected)
    revision = AnnotationRevision.objects.get(annotation=corrected)
    assert revision.version == 1
    assert np.array_equal(np.array(Image.open(io.BytesIO(bytes(revision.mask_png)))), second_mask)
    # and the retry sent the same version and label, making no third version
    assert len(bodies) == 2 and bodies[0] == bodies[1] and bodies[0]["version"] == 1
    page.problems = [
        p for p in page.problems if "ERR_CONNECTION_RESET" not in p and "Failed to fetch" not in p
    ]
    assert page.problems == []


def test_an_annotator_opening_review_mode_is_told_plainly(project_of, live_server, browser, page):
    project = project_of("vehicle-detection")
    log_in(page, live_server.url)
    page.goto(f"{live_server.url}/projects/{project.pk}/review/")
    page.wait_for_function("() => document.getElementById('status').textContent.includes('only reviewers')")
    assert page.locator("#accept").is_disabled() and page.locator("a#mode-other").inner_text() == "Label"
    assert page.problems == []


def test_a_brush_stroke_across_a_512_px_chip_blocks_the_page_for_no_long_task(
    project_of, live_server, browser, page
):
    # given a cloud project of one 512 px chip, on the page, long tasks (> 50 ms of busy main thread) recorded
    project = project_of("cloud-segmentation", chip_size=512)
    task_id = open_project(page, live_server.url, project)
    page.evaluate(
        "() => { window.longTasks = []; new PerformanceObserver((list) => "
        "window.longTasks.push(...list.getEntries().map((e) => e.duration))).observe({ type: 'longtask' }); }"
    )
    box = page.locator(".chip-layer").bounding_box()
    assert box["width"] >= 256  # several hundred screen pixels to cross

    # when she drags the widest brush diagonally across the chip in 60 pointer moves
    page.fill("#brush-size", "31")
    page.mouse.move(box["x"] + 4, box["y"] + 4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4, steps=60)
    page.mouse.up()
    page.wait_for_timeout(300)

    # then no task kept the page busy long enough to show (loosely: shared CI cores), and the stroke is stored
    long_tasks = page.evaluate("() => window.longTasks")
    assert max(long_tasks, default=0) < 200, long_tasks
    page.keyboard.press("Enter")
    page.wait_for_selector("#status.done")  # the only chip is done: nothing left to label
    mask = stored_mask(task_id)
    assert mask.shape == (512, 512)
    assert mask[256, 256] == 0 and mask[8, 500] == 255 and 10_000 < int((mask == 0).sum()) < 40_000
    assert page.problems == []
