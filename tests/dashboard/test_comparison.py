"""The comparison layer and its figures on a constructed 2 x 2-chip scene with known counts.

Prediction (project classes 0 clear, 1 cloud, 2 shadow), one pre-label per chip of model v1:
  top-left all cloud, top-right all clear, bottom-left all shadow, bottom-right none (nodata).
Reference (0 clear, 1 thick cloud, 2 cloud shadow, 3 thin cloud, 255 nodata):
  top-left: columns 0-15 thick cloud, 16-31 clear      -> 512 cloud agreed, 512 over-detection
  top-right: rows 0-7 thin cloud, rows 8-9 nodata      -> 256 omission, 64 nodata, 704 clear agreed
  bottom-left: cloud shadow (not cloud on either side)  -> 1024 clear agreed
  bottom-right: clear, but no prediction                -> 1024 nodata
So TP 512, FP 512, FN 256: F2 = 5*512 / (5*512 + 4*256 + 512) = 0.625, omission 1/3, over-detection 1/2.
"""

import io

import numpy as np
import pytest
from PIL import Image

from eolabel.dashboard.comparison import cloud_values, is_cloud_name, scene_comparison
from ml.metrics import COMPARISON_COLORMAP, binary_cloud_scores, comparison_raster
from tests.dashboard.world import chip_at, georeferenced_scene, prelabel_mask, reference_mask
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db
V1 = "v1-test"


@pytest.fixture
def world(archive_root):
    manager = make_user("mia")
    scene = georeferenced_scene()
    project = make_project(manager=manager, scenes=[scene], chip_size=32)
    full = np.full((32, 32), 0, dtype=np.uint8)
    prelabel_mask(project, chip_at(scene, 0, 0), full + 1, V1)
    prelabel_mask(project, chip_at(scene, 32, 0), full, V1)
    prelabel_mask(project, chip_at(scene, 0, 32), full + 2, V1)
    ref = np.zeros((64, 64), dtype=np.uint8)
    ref[0:32, 0:16] = 1
    ref[0:8, 32:64] = 3
    ref[8:10, 32:64] = 255
    ref[32:64, 0:32] = 2
    reference_mask(archive_root, scene, ref)
    return {"manager": manager, "scene": scene, "project": project, "ref": ref}


def test_cloud_mapping_is_by_name_cloud_but_not_shadow():
    # given class names from a reference and a project
    names = [
        (0, "clear"),
        (1, "thick cloud"),
        (2, "Cloud shadow"),
        (3, "thin cloud"),
        (4, "snow"),
        (5, "Cirrus CLOUD"),
    ]
    # then cloud means "cloud" in the name and no "shadow"
    assert cloud_values(names) == {1, 3, 5}
    assert not is_cloud_name("shadow") and is_cloud_name("cloud")


def test_scene_comparison_has_the_hand_counted_figures(world):
    # when the scene is compared with its reference
    result = scene_comparison(project=world["project"], scene=world["scene"], model_version=V1)
    # then the counts and figures are the ones worked out in the module docstring
    assert result.counts() == {
        "clear, agreed": 1024 + 704,
        "cloud, agreed": 512,
        "omission (reference cloud, model clear)": 256,
        "over-detection (model cloud, reference clear)": 512,
        "nodata": 1024 + 64,
    }
    figures = result.figures()
    assert figures["f2"] == pytest.approx(0.625)
    assert figures["omission"] == pytest.approx(1 / 3)
    assert figures["over_detection"] == pytest.approx(0.5)


def test_scene_comparison_equals_ml_metrics_on_the_same_arrays(world):
    # given the same prediction and reference built by hand, merged to cloud / not cloud
    pred = np.full((64, 64), 255, dtype=np.uint8)
    pred[0:32, 0:32], pred[0:32, 32:64], pred[32:64, 0:32] = 1, 0, 2
    ref = world["ref"]
    valid = (pred != 255) & (ref != 255)
    pred_cloud, ref_cloud = pred == 1, np.isin(ref, [1, 3])
    # when the dashboard computes the comparison
    result = scene_comparison(project=world["project"], scene=world["scene"], model_version=V1)
    # then its raster and scores are ml.metrics' own
    np.testing.assert_array_equal(result.raster, comparison_raster(pred_cloud, ref_cloud, valid=valid))
    expected = binary_cloud_scores(
        pred_cloud.astype(np.uint8), ref_cloud.astype(np.uint8), cloud_classes=(1,), valid=valid
    )
    assert result.scores == pytest.approx(expected, nan_ok=True)


def test_one_chip_window_is_compared_alone(world):
    # when only the top-left chip is compared
    result = scene_comparison(
        project=world["project"], scene=world["scene"], model_version=V1, chip=chip_at(world["scene"], 0, 0)
    )
    # then TP 512, FP 512, FN 0: F2 = 2560 / 3072
    assert result.raster.shape == (32, 32)
    assert result.figures()["f2"] == pytest.approx(2560 / 3072)
    assert result.figures()["omission"] == pytest.approx(0.0)


def test_png_and_figures_endpoints(world):
    client = client_for(world["manager"])
    base = f"/api/projects/{world['project'].pk}/dashboard/comparison/scenes/{world['scene'].pk}"
    # when the layer is fetched as a browser would (Accept image/*)
    png = client.get(f"{base}.png?model_version={V1}", HTTP_ACCEPT="image/avif,image/*")
    # then it is a 64 x 64 RGBA PNG in the comparison colours, pixel for pixel
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    image = np.array(Image.open(io.BytesIO(png.content)))
    assert image.shape == (64, 64, 4)
    assert tuple(image[0, 0]) == COMPARISON_COLORMAP[1]  # cloud agreed
    assert tuple(image[0, 20]) == COMPARISON_COLORMAP[3]  # over-detection
    assert tuple(image[0, 40]) == COMPARISON_COLORMAP[2]  # omission
    assert tuple(image[50, 50]) == COMPARISON_COLORMAP[255]  # nodata
    # and the figures endpoint says the same as the selector
    body = client.get(f"{base}?model_version={V1}").json()
    assert body["f2"] == pytest.approx(0.625) and body["over_detection"] == pytest.approx(0.5)
    assert body["bounds"] == pytest.approx(list(world["scene"].bounds))


def test_missing_prelabels_or_reference_are_404(world, archive_root):
    client = client_for(world["manager"])
    base = f"/api/projects/{world['project'].pk}/dashboard/comparison/scenes/{world['scene'].pk}"
    assert client.get(f"{base}?model_version=nope").status_code == 404
    other = georeferenced_scene()
    assert (
        client.get(f"/api/projects/{world['project'].pk}/dashboard/comparison/scenes/{other.pk}").status_code
        == 404
    )


def test_comparison_options_list_versions_and_reference_scenes(world):
    reader = make_user("rea")
    add_member(world["project"], reader, "annotator")
    body = client_for(reader).get(f"/api/projects/{world['project'].pk}/dashboard/comparison").json()
    assert body["model_versions"] == [V1]
    assert [s["id"] for s in body["scenes"]] == [world["scene"].pk]
    assert body["scenes"][0]["references"] == ["ground-truth"]
    assert body["cloud_classes"] == ["cloud"]


def test_one_version_against_another(world):
    # given a second version's pre-labels (project classes): top-left cloud in columns 0-7 only, top-right all
    # cloud, bottom-right all cloud, bottom-left none
    project, scene = world["project"], world["scene"]
    top_left = np.zeros((32, 32), dtype=np.uint8)
    top_left[:, 0:8] = 1
    prelabel_mask(project, chip_at(scene, 0, 0), top_left, "v2-test")
    prelabel_mask(project, chip_at(scene, 32, 0), np.ones((32, 32), dtype=np.uint8), "v2-test")
    prelabel_mask(project, chip_at(scene, 32, 32), np.ones((32, 32), dtype=np.uint8), "v2-test")
    # when v1 is compared against v2 (only the top chips are covered by both)
    result = scene_comparison(project=project, scene=scene, model_version=V1, against_version="v2-test")
    # then TP 256, FP 768, FN 1024: F2 = 1280 / 6144, omission 0.8, over-detection 0.75
    counts = result.counts()
    assert counts["cloud, agreed"] == 256 and counts["nodata"] == 2048
    assert counts["omission (reference cloud, model clear)"] == 1024
    assert counts["over-detection (model cloud, reference clear)"] == 768
    figures = result.figures()
    assert figures["f2"] == pytest.approx(1280 / 6144)
    assert (figures["omission"], figures["over_detection"]) == (pytest.approx(0.8), pytest.approx(0.75))
    # and they are ml.metrics' own on the hand-built arrays
    pred = np.full((64, 64), 255, dtype=np.uint8)
    pred[0:32, 0:32], pred[0:32, 32:64], pred[32:64, 0:32] = 1, 0, 2
    other = np.full((64, 64), 255, dtype=np.uint8)
    other[0:32, 0:32], other[0:32, 32:64], other[32:64, 32:64] = top_left, 1, 1
    valid = (pred != 255) & (other != 255)
    expected = binary_cloud_scores(
        (pred == 1).astype(np.uint8), (other == 1).astype(np.uint8), cloud_classes=(1,), valid=valid
    )
    assert result.scores == pytest.approx(expected, nan_ok=True)
    np.testing.assert_array_equal(result.raster, comparison_raster(pred == 1, other == 1, valid=valid))
    # and the API gives the same through ?against=
    base = f"/api/projects/{project.pk}/dashboard/comparison/scenes/{scene.pk}"
    body = client_for(world["manager"]).get(f"{base}?model_version={V1}&against=v2-test").json()
    assert body["f2"] == pytest.approx(1280 / 6144) and body["over_detection"] == pytest.approx(0.75)
    assert client_for(world["manager"]).get(f"{base}?model_version={V1}&against=nope").status_code == 404


def test_a_scene_with_two_versions_and_no_reference_can_be_compared(world):
    bare = georeferenced_scene()
    project2 = make_project(manager=world["manager"], scenes=[bare], chip_size=32)
    for version in ("a", "b"):
        prelabel_mask(project2, chip_at(bare, 0, 0), np.zeros((32, 32), dtype=np.uint8), version)
    body = client_for(world["manager"]).get(f"/api/projects/{project2.pk}/dashboard/comparison").json()
    assert [(s["id"], s["references"]) for s in body["scenes"]] == [(bare.pk, [])]
    assert body["model_versions"] == ["a", "b"]
