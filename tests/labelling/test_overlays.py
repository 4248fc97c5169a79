"""Task overlays: the scene's reference cut to the chip and the current model's per-pixel uncertainty, as
chip-sized PNGs, seen only by those allowed; never part of an annotation."""

import io
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import yaml
from PIL import Image

from eolabel.archive.models import Chip, ReferenceLayer, Sensor
from eolabel.archive.sensors import BUILTIN_SENSORS
from eolabel.archive.services import ReferenceSpec, scene_ingest
from eolabel.labelling.models import Annotation, Project
from eolabel.labelling.services import overlays
from eolabel.training.services.pixels import chips_read, scenes_band_stats
from eolabel.training.services.registry import project_registry, registry_name
from ml import inference
from ml.data.normalization import BandStats
from ml.models.unet import UNet
from ml.strategies import entropy
from tests.labelling.factories import (
    add_member,
    client_for,
    make_project,
    make_user,
    next_task,
    submit_mask,
)
from tests.web.rasters import sentinel2_scene

pytestmark = pytest.mark.django_db
CHIP = 32
SCENE = 48  # chips of 32 x 32, 16 x 32, 32 x 16 and 16 x 16 px


@pytest.fixture(autouse=True)
def _fresh_cache():
    overlays.uncertainty_cache_clear()
    yield
    overlays.uncertainty_cache_clear()


@pytest.fixture
def world(settings, tmp_path: Path, manager):
    """A 48 px Sentinel-2 scene with a ground-truth reference (value = (row // 8 + col // 8) % 3, 255 in the
    top-left 4 x 4), in a 32 px cloud project where anna annotates and rita reviews."""
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)
    settings.ARCHIVE_ROOT = tmp_path / "archive"
    settings.ARCHIVE_ROOT.mkdir()
    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    source = sentinel2_scene(tmp_path / "S2A_MSIL1C_20240612T103631_overlay.tif", size=SCENE)
    rows, cols = np.mgrid[0:SCENE, 0:SCENE]
    truth = ((rows // 8 + cols // 8) % 3).astype(np.uint8)
    truth[:4, :4] = 255
    with rasterio.open(source) as src:
        profile = {**src.profile, "count": 1, "dtype": "uint8", "nodata": 255}
    reference = tmp_path / "S2A_MSIL1C_20240612T103631_overlay_mask.tif"
    with rasterio.open(reference, "w", **profile) as dst:
        dst.write(truth, 1)
    spec = ReferenceSpec(
        path=reference, name="ground-truth", classes={"0": "clear", "1": "cloud", "2": "shadow"}
    )
    scene = scene_ingest(path=source, sensor_name="sentinel2-l1c", references=[spec]).scene
    project = make_project(manager=manager, scenes=[scene], chip_size=CHIP)
    users = {"mona": manager, "anna": make_user("anna"), "rita": make_user("rita"), "otto": make_user("otto")}
    add_member(project, users["anna"], "annotator")
    add_member(project, users["rita"], "reviewer")
    return {"project": project, "scene": scene, "truth": truth, "users": users}


def _png(response) -> np.ndarray:
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "image/png"
    image = Image.open(io.BytesIO(response.content))
    assert image.mode == "L"
    return np.array(image)


def _lease(world, username: str = "anna") -> dict:
    task = next_task(client_for(world["users"][username]), world["project"]).json()["task"]
    assert task is not None
    return task


def _trained(project: Project, scene) -> str:
    """A tiny seeded U-Net registered as the project's current model version."""
    torch.manual_seed(3)
    model = UNet(13, 3, depth=2, width=8).eval()
    stats = scenes_band_stats(scenes=[scene])
    version = project_registry().register(
        model, task="cloud", name=registry_name(project_id=project.pk), band_stats=stats.to_dict()
    )
    Project.objects.filter(pk=project.pk).update(current_model_version=version.id)
    return version.id


# --- reference ---------------------------------------------------------------------------------------------


def test_reference_png_is_the_reference_cut_to_each_chip_at_its_size(world):
    # given rita reviewing, and every chip of the scene (edge chips are smaller) leased in turn by mona
    rita = client_for(world["users"]["rita"])
    mona = client_for(world["users"]["mona"])
    seen = set()
    for _ in range(4):
        task = _lease(world, "mona")
        chip = task["chip"]
        # when rita asks for the task's reference
        response = rita.get(f"/api/tasks/{task['id']}/reference.png")
        # then it is the reference under the chip, chip-sized, named
        values = _png(response)
        assert values.shape == (chip["height"], chip["width"])
        row = Chip.objects.get(pk=chip["id"])
        expected = world["truth"][
            row.row_off : row.row_off + row.height, row.col_off : row.col_off + row.width
        ]
        assert np.array_equal(values, expected)
        assert response["X-Reference-Name"] == "ground-truth"
        assert "no-store" in response["Cache-Control"]
        seen.add((chip["width"], chip["height"]))
        mona.post(f"/api/tasks/{task['id']}/skip", {"reason": "next"}, content_type="application/json")
    assert seen == {(32, 32), (16, 32), (32, 16), (16, 16)}


def test_reference_is_for_reviewers_and_managers_and_for_annotators_only_when_the_project_allows(world):
    # given anna's task
    task = _lease(world)
    url = f"/api/tasks/{task['id']}/reference.png"
    users = world["users"]

    # then managers and reviewers see the reference; anna (the holder) is refused; no role: 404
    assert client_for(users["mona"]).get(url).status_code == 200
    assert client_for(users["rita"]).get(url).status_code == 200
    refused = client_for(users["anna"]).get(url)
    assert refused.status_code == 403 and "reviewers and managers" in refused.json()["detail"]
    assert client_for(users["otto"]).get(url).status_code == 404
    # and a second annotator does not see anna's task at all
    bob = make_user("bob")
    add_member(world["project"], bob, "annotator")
    assert client_for(bob).get(url).status_code == 403

    # when the project's manager lets annotators see references (an annotator may not)
    project_url = f"/api/projects/{world['project'].pk}/"
    body = {"show_reference_to_annotators": True}
    assert (
        client_for(users["anna"]).patch(project_url, body, content_type="application/json").status_code == 403
    )
    switched = client_for(users["mona"]).patch(project_url, body, content_type="application/json")
    assert switched.status_code == 200 and switched.json()["show_reference_to_annotators"] is True

    # then anna sees it; the other annotator still does not see anna's task; no role still 404
    assert client_for(users["anna"]).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 403
    assert client_for(users["otto"]).get(url).status_code == 404
    assert client_for(users["otto"]).get("/api/tasks/999999/reference.png").status_code == 404


def test_reference_is_404_when_the_scene_has_none_and_the_setting_defaults_off(world):
    task = _lease(world)
    assert world["project"].show_reference_to_annotators is False
    ReferenceLayer.objects.filter(scene=world["scene"]).delete()

    response = client_for(world["users"]["rita"]).get(f"/api/tasks/{task['id']}/reference.png")

    assert response.status_code == 404 and "no reference" in response.json()["detail"]


def test_the_evaluation_reference_is_preferred_over_others(world, settings, tmp_path):
    # given a second mask reference "aaa" (first by name) of all 7s
    ReferenceLayer.objects.create(
        scene=world["scene"],
        name="aaa",
        kind="mask",
        asset_path=ReferenceLayer.objects.get(name="ground-truth").asset_path.replace("ground-truth", "x"),
        checksum="0" * 64,
    )
    task = _lease(world)
    # then the reference served is the evaluation one (ground-truth), not the first by name
    response = client_for(world["users"]["rita"]).get(f"/api/tasks/{task['id']}/reference.png")
    assert response["X-Reference-Name"] == settings.EOLABEL_EVAL_REFERENCE == "ground-truth"


def test_viewing_the_reference_changes_nothing_that_is_submitted(world):
    # given anna allowed to see the reference, and looking at it
    Project.objects.filter(pk=world["project"].pk).update(show_reference_to_annotators=True)
    anna = client_for(world["users"]["anna"])
    task = _lease(world)
    assert anna.get(f"/api/tasks/{task['id']}/reference.png").status_code == 200
    assert anna.get(f"/api/tasks/{task['id']}/uncertainty.png").status_code == 404  # no model yet

    # when she submits her own mask
    mine = np.full((task["chip"]["height"], task["chip"]["width"]), 2, dtype=np.uint8)
    assert submit_mask(anna, task, array=mine).status_code == 201

    # then exactly her mask is stored
    stored = np.array(Image.open(io.BytesIO(bytes(Annotation.objects.get(lease_id=task["id"]).mask_png))))
    assert np.array_equal(stored, mine)


# --- uncertainty -------------------------------------------------------------------------------------------


def test_uncertainty_is_404_with_a_reason_before_any_model(world):
    task = _lease(world)

    response = client_for(world["users"]["anna"]).get(f"/api/tasks/{task['id']}/uncertainty.png")

    assert response.status_code == 404 and "no model yet" in response.json()["detail"]


def test_uncertainty_png_is_the_models_normalised_entropy_on_the_chip(world):
    # given a current model version, and anna's task
    version = _trained(world["project"], world["scene"])
    task = _lease(world)

    # when she asks for the uncertainty of her chip
    response = client_for(world["users"]["anna"]).get(f"/api/tasks/{task['id']}/uncertainty.png")

    # then it is chip-sized, names the version and the measure, and is the model's entropy / ln 3 x 255
    values = _png(response)
    chip = task["chip"]
    assert values.shape == (chip["height"], chip["width"])
    assert response["X-Model-Version"] == version and response["X-Uncertainty-Measure"] == "entropy"
    model, meta = project_registry().load(version)
    stats = BandStats.from_dict(meta.band_stats)
    pixels = next(chips_read(chips=[Chip.objects.get(pk=chip["id"])], size=CHIP, stats=stats))
    probs = inference.predict_proba(model, stats.normalize(pixels.image[None]))
    expected = np.round(entropy(probs, normalise=True)[0] * 255)[: chip["height"], : chip["width"]]
    assert np.abs(values.astype(int) - expected.astype(int)).max() <= 1
    assert values.max() > values.min()  # a real map, not a constant


def test_uncertainty_is_cached_per_version_and_chip(world, monkeypatch):
    # given a model, a task, and a count of how often the model is run
    _trained(world["project"], world["scene"])
    task = _lease(world)
    runs = []
    real = overlays.pixel_uncertainty
    monkeypatch.setattr(overlays, "pixel_uncertainty", lambda **kw: runs.append(1) or real(**kw))
    rita = client_for(world["users"]["rita"])
    url = f"/api/tasks/{task['id']}/uncertainty.png"

    # when the map is asked for twice, then after a new model version once more
    first = rita.get(url).content
    second = rita.get(url).content
    assert len(runs) == 1 and first == second
    _trained(world["project"], world["scene"])
    assert rita.get(url).status_code == 200

    # then the model ran once per version
    assert len(runs) == 2


def test_uncertainty_follows_the_task_permissions(world):
    _trained(world["project"], world["scene"])
    task = _lease(world)
    url = f"/api/tasks/{task['id']}/uncertainty.png"
    users = world["users"]
    bob = make_user("bob")
    add_member(world["project"], bob, "annotator")

    assert client_for(users["anna"]).get(url).status_code == 200
    assert client_for(users["rita"]).get(url).status_code == 200
    assert client_for(bob).get(url).status_code == 403
    assert client_for(users["otto"]).get(url).status_code == 404


def test_bald_uncertainty_with_mc_dropout_is_mutual_information_over_ln_k(world, settings):
    settings.EOLABEL_MC_SAMPLES = 3
    Project.objects.filter(pk=world["project"].pk).update(strategy="bald")
    _trained(world["project"], world["scene"])
    task = _lease(world)

    response = client_for(world["users"]["anna"]).get(f"/api/tasks/{task['id']}/uncertainty.png")

    values = _png(response)
    assert response["X-Uncertainty-Measure"] == "bald"
    assert values.shape == (task["chip"]["height"], task["chip"]["width"])
    assert values.max() <= 255 and values.mean() < 128  # BALD <= predictive entropy, well below ln K here


def test_pixel_uncertainty_is_one_for_a_uniform_model_and_zero_for_a_sure_one():
    class Constant(torch.nn.Module):
        size_multiple = 1

        def __init__(self, logits):
            super().__init__()
            self.logits = torch.tensor(logits, dtype=torch.float32)

        def forward(self, x):
            n, _, h, w = x.shape
            return self.logits[None, :, None, None].expand(n, -1, h, w)

    images = np.zeros((1, 2, 8, 8), dtype=np.float32)

    uniform = overlays.pixel_uncertainty(model=Constant([0.0, 0.0, 0.0]), images=images, task="cloud")
    sure = overlays.pixel_uncertainty(model=Constant([50.0, 0.0, 0.0]), images=images, task="cloud")

    assert uniform.shape == (1, 8, 8) and np.allclose(uniform, 1.0)
    assert np.allclose(sure, 0.0, atol=1e-6)


def test_both_overlays_are_in_the_api_schema(manager_client):
    paths = yaml.safe_load(manager_client.get("/api/schema/").content)["paths"]

    for name in ("reference", "uncertainty"):
        operation = paths[f"/api/tasks/{{task_id}}/{name}.png"]["get"]
        assert "image/png" in operation["responses"]["200"]["content"]
        assert {"403", "404"} <= set(operation["responses"])


def test_vehicle_uncertainty_is_the_heatmaps_binary_entropy_spread_over_its_stride():
    class Heat(torch.nn.Module):
        """Centre logits on a stride-4 grid: 0 (p = 0.5, most unsure) in the top-left cell, 40 elsewhere."""

        stride = 4
        size_multiple = 4

        def forward(self, x):
            n, _, h, w = x.shape
            logits = torch.full((n, 2, h // 4, w // 4), 40.0)
            logits[:, :, 0, 0] = 0.0
            return {"heatmap": logits}

    images = np.zeros((1, 3, 8, 8), dtype=np.float32)

    unit = overlays.pixel_uncertainty(model=Heat(), images=images, task="vehicles")

    assert unit.shape == (1, 8, 8)
    assert np.allclose(unit[0, :4, :4], 1.0) and np.allclose(unit[0, 4:, :], 0.0, atol=1e-6)
