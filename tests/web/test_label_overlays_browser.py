"""The labelling page's view-only overlays in a real browser: the scene's reference labels (R) and the model's
uncertainty (U) come and go on their own canvases, and what is submitted is exactly what was painted."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from eolabel.archive.models import Sensor
from eolabel.archive.sensors import BUILTIN_SENSORS
from eolabel.archive.services import ReferenceSpec, scene_ingest
from eolabel.labelling import services
from eolabel.labelling.models import Lease, Membership, Project
from eolabel.labelling.services.overlays import uncertainty_cache_clear
from eolabel.training.services.pixels import scenes_band_stats
from eolabel.training.services.registry import project_registry, registry_name
from ml.models.unet import UNet
from tests.labelling.factories import CLOUD_CLASSES, client_for
from tests.web.browser import chromium, screenshot
from tests.web.rasters import sentinel2_scene
from tests.web.test_label_browser import (
    CHIP,
    PASSWORD,
    Chip,
    brush_row,
    open_project,
    stored_mask,
    wait_for_next_task,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
SCENE = 2 * CHIP


def reference_truth() -> np.ndarray:
    """Stripes of clear / cloud / shadow every 16 rows, no reference (255) in the top-left 8 x 8."""
    rows = np.mgrid[0:SCENE, 0:SCENE][0]
    truth = ((rows // 16) % 3).astype(np.uint8)
    truth[:8, :8] = 255
    return truth


@pytest.fixture
def project(settings, tmp_path: Path, django_user_model, monkeypatch):
    """A 128 px Sentinel-2 scene with a ground-truth reference, cut into 64 px chips, in a cloud project with a
    tiny current model where ana annotates and may see references."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    settings.ARCHIVE_ROOT = tmp_path / "archive"
    settings.ARCHIVE_ROOT.mkdir()
    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    uncertainty_cache_clear()
    source = sentinel2_scene(tmp_path / "S2A_MSIL1C_20240612T103631_overlays.tif", size=SCENE)
    with rasterio.open(source) as src:
        profile = {**src.profile, "count": 1, "dtype": "uint8", "nodata": 255}
    reference = tmp_path / "S2A_MSIL1C_20240612T103631_overlays_mask.tif"
    with rasterio.open(reference, "w", **profile) as dst:
        dst.write(reference_truth(), 1)
    spec = ReferenceSpec(path=reference, name="ground-truth", classes={"0": "clear", "1": "cloud"})
    scene = scene_ingest(path=source, sensor_name="sentinel2-l1c", references=[spec]).scene
    manager = django_user_model.objects.create_user(username="mona", password="pw-mona-123456", is_staff=True)
    ana = django_user_model.objects.create_user(username="ana", password=PASSWORD)
    project = services.project_create(
        name="Clouds with a reference", task_type="cloud-segmentation", classes=CLOUD_CLASSES,
        sensor_names=["sentinel2-l1c"], scene_ids=[scene.pk], created_by=manager, chip_size=CHIP,
        validation_fraction=0.0,
    )  # fmt: skip
    Membership.objects.create(project=project, user=ana, role="annotator")
    torch.manual_seed(3)
    version = project_registry().register(
        UNet(13, 3, depth=2, width=8).eval(),
        task="cloud",
        name=registry_name(project_id=project.pk),
        band_stats=scenes_band_stats(scenes=[scene]).to_dict(),
    )
    Project.objects.filter(pk=project.pk).update(
        current_model_version=version.id, show_reference_to_annotators=True
    )
    yield Project.objects.get(pk=project.pk)
    uncertainty_cache_clear()


@pytest.fixture
def page(project):
    """Requested after the project: database work is done before Playwright's event loop starts."""
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        page = context.new_page()
        page.problems = []
        page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
        page.on("pageerror", lambda e: page.problems.append(f"exception: {e}"))
        page.set_default_timeout(15_000)
        yield page
        page.wait_for_load_state("networkidle")
        context.close()


def canvas_pixel(page, selector: str, x: int, y: int) -> list[int]:
    return page.locator(selector).evaluate(
        "(canvas, [x, y]) => [...canvas.getContext('2d').getImageData(x, y, 1, 1).data]", [x, y]
    )


def test_reference_and_uncertainty_overlays_toggle_and_never_reach_the_submitted_mask(
    project, live_server, page, tmp_path
):
    # given ana on a task of a project with a reference and a model
    task_id = open_project(page, live_server.url, project)
    chip = Chip(page)
    assert page.locator(".overlay-reference").count() == 0
    assert (
        "Uncertainty: clear where the current model is sure" in page.locator("#overlay-legend").inner_text()
    )

    # when she turns the reference on (R)
    with page.expect_response(f"**/api/tasks/{task_id}/reference.png") as response:
        page.keyboard.press("r")
    assert response.value.status == 200
    page.locator("#label-map .overlay-reference").wait_for(state="visible")
    # then it is drawn in the class colours of the reference under the chip, transparent where there is none
    assert page.locator("#toggle-reference").get_attribute("aria-pressed") == "true"
    where = Lease.objects.select_related("project_chip__chip").get(pk=task_id).project_chip.chip
    value = int(reference_truth()[where.row_off + 20, where.col_off + 20])
    colour = {0: [27, 158, 119], 1: [255, 255, 255], 2: [68, 68, 68]}[value]
    assert canvas_pixel(page, ".overlay-reference", 20, 20) == [*colour, 170]
    if (where.row_off, where.col_off) == (0, 0):
        assert canvas_pixel(page, ".overlay-reference", 2, 2)[3] == 0

    # when she turns the uncertainty on (U) and sets the overlay opacity to 40 %
    with page.expect_response(f"**/api/tasks/{task_id}/uncertainty.png") as response:
        page.keyboard.press("u")
    assert response.value.status == 200
    page.locator("#label-map .overlay-uncertainty").wait_for(state="visible")
    assert page.locator("#toggle-uncertainty").get_attribute("aria-pressed") == "true"
    page.fill("#overlay-opacity", "40")
    assert page.locator(".chip-layer").evaluate("(el) => el.style.opacity") == "0.4"
    screenshot(page, "label-overlays.png", folder=tmp_path)

    # and paints "cloud" (key 2) along row 40 through both overlays, and a polygon of "shadow" (key 3)
    expected = np.full((CHIP, CHIP), 255, dtype=np.uint8)
    page.keyboard.press("2")
    chip.drag((5.5, 40.5), (50.5, 40.5))
    brush_row(expected, row=40, x0=5, x1=50, size=5, value=1)
    page.keyboard.press("3")
    page.keyboard.press("l")
    for corner in [(8, 8), (24, 8), (24, 20), (8, 20), (8, 8)]:
        chip.click(*corner)
    expected[8:20, 8:24] = 2
    page.keyboard.press("b")

    # and turns the reference off and on again (no second request), the uncertainty staying on
    page.keyboard.press("r")
    page.locator("#label-map .overlay-reference").wait_for(state="hidden")
    assert page.locator("#toggle-reference").get_attribute("aria-pressed") == "false"
    page.keyboard.press("r")
    page.locator("#label-map .overlay-reference").wait_for(state="visible")
    page.keyboard.press("r")
    page.locator("#label-map .overlay-reference").wait_for(state="hidden")

    # and submits with Enter
    page.keyboard.press("Enter")
    next_id = wait_for_next_task(page, task_id)

    # then the server holds exactly what she painted: nothing of the overlays
    mask = stored_mask(task_id)
    assert np.array_equal(mask, expected), f"{int((mask != expected).sum())} pixels differ"
    # and on the next task the uncertainty she left on comes back by itself, the reference stays off
    page.wait_for_function(
        "(id) => document.querySelector('#label-map').dataset.task === String(id)"
        " && document.querySelector('.overlay-uncertainty') && !document.querySelector('.overlay-uncertainty').hidden",
        arg=next_id,
    )
    assert page.locator("#toggle-uncertainty").get_attribute("aria-pressed") == "true"
    assert page.locator(".overlay-reference").count() == 0
    assert page.problems == []


def test_an_annotator_is_not_offered_the_reference_unless_the_project_allows(project, django_user_model):
    ana = django_user_model.objects.get(username="ana")
    Project.objects.filter(pk=project.pk).update(show_reference_to_annotators=False)

    hidden = client_for(ana).get(f"/projects/{project.pk}/label/").content.decode()
    Project.objects.filter(pk=project.pk).update(show_reference_to_annotators=True)
    shown = client_for(ana).get(f"/projects/{project.pk}/label/").content.decode()

    assert 'id="toggle-reference"' in hidden and "disabled hidden>" in hidden
    assert "disabled hidden>" not in shown and "Reference: the scene" in shown
    assert 'id="toggle-uncertainty"' in hidden
