"""Submitting and editing annotations: pixel-exact masks, strict validation, idempotent retries, expiry, optimistic
concurrency with every old version kept, and rejected submissions that change nothing."""

import base64
import io
import uuid
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone
from PIL import Image

from eolabel.labelling.codecs import boxes_to_geojson, mask_decode
from eolabel.labelling.models import Annotation, AnnotationRevision, Lease, ProjectChip, RetrainRequest
from eolabel.labelling.services import chip_geo
from tests.labelling.factories import (
    add_member,
    make_project,
    make_scene,
    mask_for,
    next_task,
    png_b64,
    png_bytes,
    submit_mask,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(manager, annotator):
    project = make_project(manager=manager, scenes=[make_scene(width=64, height=64)])
    add_member(project, annotator, "annotator")
    return project


@pytest.fixture
def task(project, annotator_client) -> dict:
    return next_task(annotator_client, project).json()["task"]


def snapshot() -> tuple:
    """Everything a submission may change."""
    return (
        Annotation.objects.count(),
        AnnotationRevision.objects.count(),
        sorted(Lease.objects.values_list("pk", "state")),
        sorted(ProjectChip.objects.values_list("pk", "state", "done_count")),
        RetrainRequest.objects.count(),
    )


def post(client, task: dict, body: dict):
    return client.post(f"/api/tasks/{task['id']}/annotations", body, content_type="application/json")


def test_a_good_mask_is_stored_pixel_exact_with_provenance(task, annotator_client):
    array = mask_for(task, seed=3)

    response = submit_mask(annotator_client, task, array=array, seconds=41.5)

    assert response.status_code == 201, response.content
    body = response.json()
    stored = Annotation.objects.get(pk=body["id"])
    assert np.array_equal(mask_decode(bytes(stored.mask_png), width=32, height=32, allowed={0, 1, 2}), array)
    served = annotator_client.get(body["mask_url"])
    assert served["Content-Type"] == "image/png"
    assert np.array_equal(np.array(Image.open(io.BytesIO(served.content))), array)
    assert body["kind"] == "mask" and body["version"] == 1 and body["seconds_spent"] == 41.5
    assert body["provenance"] == {
        "model_version": None,
        "strategy": "random",
        "score": None,
        "prelabel_model_version": None,
    }
    assert Lease.objects.get(pk=task["id"]).state == "submitted"
    assert ProjectChip.objects.get(chip_id=task["chip"]["id"]).state == "done"


def test_a_mask_can_be_uploaded_as_a_file(task, annotator_client):
    array = mask_for(task, seed=4)
    upload = io.BytesIO(png_bytes(array, "P"))
    upload.name = "mask.png"
    response = annotator_client.post(
        f"/api/tasks/{task['id']}/annotations",
        {"submission_id": str(uuid.uuid4()), "seconds_spent": "3", "mask_png": upload},
    )
    assert response.status_code == 201, response.content
    stored = Annotation.objects.get(pk=response.json()["id"])
    assert np.array_equal(mask_decode(bytes(stored.mask_png), width=32, height=32, allowed={0, 1, 2}), array)


def big_png() -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (844, 844, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, format="PNG", compress_level=0)
    assert 2 * 1024 * 1024 < len(out.getvalue()) < 2 * 1024 * 1024 + 64 * 1024
    return out.getvalue()


@pytest.mark.parametrize(
    ("mask_png", "detail"),
    [
        (lambda: png_b64(np.zeros((32, 31), np.uint8)), "mask_png: is 31x32 px; the chip is 32x32 px"),
        (lambda: png_b64(np.zeros((32, 32), np.uint8), "RGB"), "mask_png: must be single-channel 8-bit"),
        (lambda: png_b64(np.zeros((32, 32), np.uint8), "LA"), "mask_png: must be single-channel 8-bit"),
        (lambda: png_b64(np.full((32, 32), 3, np.uint8)), "mask_png: value(s) 3 are not in the class list"),
        (lambda: base64.b64encode(b"GIF89a not a png").decode(), "mask_png: not a PNG file"),
        (lambda: "@@not base64@@", "mask_png: not valid base64"),
        (lambda: 12, "mask_png: send the PNG as base64 text"),
    ],
)
def test_bad_masks_are_400_naming_the_field_and_change_nothing(task, annotator_client, mask_png, detail):
    before = snapshot()
    response = post(
        annotator_client,
        task,
        {"submission_id": str(uuid.uuid4()), "seconds_spent": 1, "mask_png": mask_png()},
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert snapshot() == before


def test_huge_payloads_are_400_naming_the_field(task, annotator_client):
    before = snapshot()
    as_json = post(
        annotator_client,
        task,
        {
            "submission_id": str(uuid.uuid4()),
            "seconds_spent": 1,
            "mask_png": base64.b64encode(big_png()).decode(),
        },
    )
    upload = io.BytesIO(big_png())
    upload.name = "mask.png"
    as_file = annotator_client.post(
        f"/api/tasks/{task['id']}/annotations",
        {"submission_id": str(uuid.uuid4()), "seconds_spent": "1", "mask_png": upload},
    )
    assert as_json.status_code == 400 and as_json.json()["detail"].startswith("mask_png: request body of ")
    assert "multipart" in as_json.json()["detail"]
    assert as_file.status_code == 400 and as_file.json()["detail"] == "mask_png: larger than the 2 MB limit"
    assert snapshot() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"seconds_spent": 1, "mask_png": None}, "submission_id"),
        ({"submission_id": "not-a-uuid", "seconds_spent": 1}, "submission_id"),
        ({"submission_id": "u", "seconds_spent": -1}, "seconds_spent"),
        ({"submission_id": "u", "seconds_spent": 86401}, "seconds_spent"),
        ({"submission_id": "u", "seconds_spent": 1}, "mask_png"),
        ({"submission_id": "u", "seconds_spent": 1, "boxes": []}, "boxes"),
        ({"submission_id": "u", "seconds_spent": 1, "mask": "x"}, "mask"),
    ],
)
def test_malformed_submissions_are_400_naming_the_field(task, annotator_client, body, field):
    body = {k: (str(uuid.uuid4()) if v == "u" else v) for k, v in body.items() if v is not None}
    before = snapshot()
    response = post(annotator_client, task, body)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith(f"{field}:")
    assert snapshot() == before


def test_a_retry_with_the_same_submission_id_returns_the_first_annotation(task, annotator_client):
    sid = uuid.uuid4()
    first = submit_mask(annotator_client, task, submission_id=sid, array=mask_for(task, seed=1))
    retry = submit_mask(annotator_client, task, submission_id=sid, array=mask_for(task, seed=2))

    assert (first.status_code, retry.status_code) == (201, 200)
    assert retry.json()["id"] == first.json()["id"] and retry.json()["version"] == 1
    assert Annotation.objects.count() == 1
    stored = Annotation.objects.get()
    assert np.array_equal(
        mask_decode(bytes(stored.mask_png), width=32, height=32, allowed={0, 1, 2}), mask_for(task, seed=1)
    )

    Lease.objects.filter(pk=task["id"]).update(expires_at=timezone.now() - timedelta(hours=1))
    late = submit_mask(annotator_client, task, submission_id=sid)
    assert late.status_code == 200 and late.json()["id"] == first.json()["id"]


def test_a_submission_id_cannot_be_reused_for_another_task(project, task, annotator_client):
    sid = uuid.uuid4()
    assert submit_mask(annotator_client, task, submission_id=sid).status_code == 201
    second = next_task(annotator_client, project).json()["task"]
    before = snapshot()
    response = submit_mask(annotator_client, second, submission_id=sid)
    assert response.status_code == 409 and "already used for another task" in response.json()["detail"]
    assert snapshot() == before


def test_a_second_submission_with_a_new_id_is_409(task, annotator_client):
    first = submit_mask(annotator_client, task)
    again = submit_mask(annotator_client, task)
    assert again.status_code == 409
    assert (
        again.json()["detail"]
        == f"task already submitted (annotation {first.json()['id']}); edit that annotation instead"
    )
    assert Annotation.objects.count() == 1


def test_a_submission_after_the_lease_expired_is_409(task, annotator_client):
    Lease.objects.filter(pk=task["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    before = snapshot()
    response = submit_mask(annotator_client, task)
    assert response.status_code == 409
    assert response.json()["detail"].startswith("lease expired at ")
    assert snapshot() == before
    skip = annotator_client.post(
        f"/api/tasks/{task['id']}/skip", {"reason": "late"}, content_type="application/json"
    )
    assert skip.status_code == 409 and "lease expired" in skip.json()["detail"]


def test_after_skipping_a_submission_is_409(task, annotator_client):
    annotator_client.post(
        f"/api/tasks/{task['id']}/skip", {"reason": "haze"}, content_type="application/json"
    )
    response = submit_mask(annotator_client, task)
    assert response.status_code == 409 and response.json()["detail"] == "task was skipped"


def test_edits_need_the_current_version_and_keep_every_old_one(task, annotator_client):
    first_mask, second_mask, third_mask = (mask_for(task, seed=s) for s in (10, 11, 12))
    created = submit_mask(annotator_client, task, array=first_mask, seconds=10).json()
    url = f"/api/annotations/{created['id']}"

    edited = annotator_client.patch(
        url,
        {"version": 1, "mask_png": png_b64(second_mask), "seconds_spent": 5},
        content_type="application/json",
    )
    stale = annotator_client.patch(
        url, {"version": 1, "mask_png": png_b64(third_mask)}, content_type="application/json"
    )

    assert (
        edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["seconds_spent"] == 15
    )
    assert stale.status_code == 409
    assert (
        stale.json()["detail"]
        == "version 1 is stale: the annotation is at version 2; reload it and edit again"
    )
    current = Annotation.objects.get(pk=created["id"])
    assert current.version == 2
    assert np.array_equal(
        mask_decode(bytes(current.mask_png), width=32, height=32, allowed={0, 1, 2}), second_mask
    )
    revisions = annotator_client.get(f"{url}/revisions").json()
    assert [r["version"] for r in revisions] == [1]
    old = mask_decode(base64.b64decode(revisions[0]["mask_png"]), width=32, height=32, allowed={0, 1, 2})
    assert (
        np.array_equal(old, first_mask)
        and revisions[0]["seconds_spent"] == 10
        and revisions[0]["made_by"] == "anna"
    )


def test_an_invalid_edit_changes_nothing(task, annotator_client):
    created = submit_mask(annotator_client, task).json()
    before = snapshot()
    response = annotator_client.patch(
        f"/api/annotations/{created['id']}",
        {"version": 1, "mask_png": png_b64(np.full((32, 32), 9, np.uint8))},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["detail"].startswith("mask_png: value(s) 9")
    assert snapshot() == before


# --- boxes ---------------------------------------------------------------------------------------------


@pytest.fixture
def detection(manager, annotator, annotator_client):
    project = make_project(
        manager=manager, task_type="vehicle-detection", scenes=[make_scene(width=64, height=32)]
    )
    add_member(project, annotator, "annotator")
    return project, next_task(annotator_client, project).json()["task"]


def test_boxes_are_stored(detection, annotator_client):
    _, task = detection
    boxes = [{"x0": 0, "y0": 0.5, "x1": 32, "y1": 9.25, "class": 2}]
    response = post(
        annotator_client, task, {"submission_id": str(uuid.uuid4()), "seconds_spent": 2, "boxes": boxes}
    )
    assert response.status_code == 201, response.content
    assert response.json()["boxes"] == boxes and response.json()["mask_url"] is None


def test_geojson_boxes_are_converted_to_chip_pixels(detection, annotator_client):
    _, task = detection
    from eolabel.archive.models import Chip
    from eolabel.labelling.codecs import Box

    fc = boxes_to_geojson([Box(4, 5, 20.5, 30, 1)], geo=chip_geo(Chip.objects.get(pk=task["chip"]["id"])))
    response = post(
        annotator_client, task, {"submission_id": str(uuid.uuid4()), "seconds_spent": 2, "geojson": fc}
    )
    assert response.status_code == 201, response.content
    (box,) = response.json()["boxes"]
    assert box["class"] == 1
    assert [box["x0"], box["y0"], box["x1"], box["y1"]] == pytest.approx([4, 5, 20.5, 30], abs=1e-6)


@pytest.mark.parametrize(
    ("raw_boxes", "detail"),
    [
        ('[{"x0": 0, "y0": 0, "x1": 33, "y1": 4, "class": 1}]', "boxes: [0]: outside the chip"),
        ('[{"x0": 0, "y0": 0, "x1": 3, "y1": 40, "class": 1}]', "boxes: [0]: outside the chip"),
        ('[{"x0": 5, "y0": 0, "x1": 3, "y1": 4, "class": 1}]', "boxes: [0]: needs x0 < x1"),
        (
            '[{"x0": 0, "y0": 0, "x1": 1e999, "y1": 4, "class": 1}]',
            "boxes: Value must be valid JSON",
        ),  # DRF refuses inf
        ('[{"x0": NaN, "y0": 0, "x1": 3, "y1": 4, "class": 1}]', "JSON parse error"),
        ('[{"x0": 0, "y0": 0, "x1": 3, "y1": 4, "class": 7}]', "boxes: [0]: class must be one of"),
        ('{"x0": 0}', "boxes: expected a list"),
    ],
)
def test_bad_boxes_are_400_and_change_nothing(detection, annotator_client, raw_boxes, detail):
    _, task = detection
    before = snapshot()
    body = f'{{"submission_id": "{uuid.uuid4()}", "seconds_spent": 2, "boxes": {raw_boxes}}}'
    response = annotator_client.post(
        f"/api/tasks/{task['id']}/annotations", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(detail)
    assert snapshot() == before


def test_a_mask_for_a_detection_project_is_refused(detection, annotator_client):
    _, task = detection
    response = post(
        annotator_client,
        task,
        {
            "submission_id": str(uuid.uuid4()),
            "seconds_spent": 2,
            "mask_png": png_b64(np.zeros((32, 32), np.uint8)),
        },
    )
    assert response.status_code == 400 and response.json()["detail"].startswith(
        "mask_png: a detection project"
    )


# --- the retraining hook -------------------------------------------------------------------------------


def test_the_policy_runs_after_commit(
    manager, annotator, annotator_client, django_capture_on_commit_callbacks
):
    project = make_project(manager=manager, scenes=[make_scene(width=64, height=64)], retrain_every_n=2)
    add_member(project, annotator, "annotator")
    for expected in (0, 1):
        task = next_task(annotator_client, project).json()["task"]
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            assert submit_mask(annotator_client, task).status_code == 201
        assert len(callbacks) >= 1
        assert RetrainRequest.objects.filter(project=project).count() == expected
    request = RetrainRequest.objects.get(project=project)
    assert (
        request.state == "pending"
        and request.annotations_total == 2
        and "2 new training annotations" in request.reason
    )
