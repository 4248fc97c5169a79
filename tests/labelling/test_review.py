"""Review: reviewers accept or correct annotations; corrections are new versions, the annotator's is kept."""

import io

import numpy as np
import pytest
import yaml
from PIL import Image

from eolabel.labelling.models import Annotation, AnnotationRevision
from tests.labelling.factories import (
    add_member,
    client_for,
    make_project,
    make_scene,
    make_user,
    next_task,
    png_b64,
    submit_mask,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(manager, annotator):
    """A 64 px scene in 32 px chips; anna submitted two masks, rita reviews."""
    project = make_project(manager=manager, scenes=[make_scene()])
    add_member(project, annotator, "annotator")
    rita = make_user("rita")
    add_member(project, rita, "reviewer")
    anna = client_for(annotator)
    ids = []
    for seed in (1, 2):
        task = next_task(anna, project).json()["task"]
        array = np.full((32, 32), seed - 1, dtype=np.uint8)
        assert submit_mask(anna, task, array=array).status_code == 201
        ids.append(Annotation.objects.get(lease_id=task["id"]).pk)
    return {"project": project, "rita": rita, "anna": anna, "reviewer": client_for(rita), "ids": ids}


def accept(client, annotation_id: int, version: int = 1):
    return client.post(
        f"/api/annotations/{annotation_id}/accept", {"version": version}, content_type="application/json"
    )


def correct(client, annotation_id: int, array: np.ndarray, version: int = 1):
    body = {"version": version, "mask_png": png_b64(array), "seconds_spent": 4.0}
    return client.post(f"/api/annotations/{annotation_id}/correct", body, content_type="application/json")


def stored(annotation: Annotation) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(bytes(annotation.mask_png))))


def test_the_reviewer_gets_the_oldest_waiting_annotation_with_its_task(world):
    # when rita asks for the next annotation to review
    body = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next").json()
    # then she gets anna's first one, with the chip and tiles to show it, and the count waiting
    first, second = world["ids"]
    assert body["annotation"]["id"] == first and body["annotation"]["author"] == "anna"
    assert body["annotation"]["review"]["state"] == "pending"
    assert body["task"]["id"] == body["annotation"]["task"] and body["task"]["chip"]["width"] == 32
    assert body["waiting"] == 2 and body["reviewed_today"] == 0 and body["reason"] is None
    # and passing over it gives the second, then nothing with a reason
    after = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next?after={first}").json()
    assert after["annotation"]["id"] == second
    done = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next?after={second}").json()
    assert done["annotation"] is None and done["task"] is None and "waiting" in done["reason"]
    bad = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next?after=x")
    assert bad.status_code == 400 and "after" in bad.json()["errors"]


def test_accepting_marks_the_version_and_a_repeat_changes_nothing(world):
    first = world["ids"][0]
    # when rita accepts version 1
    response = accept(world["reviewer"], first)
    # then it is accepted by her, still version 1, with no revision
    assert response.status_code == 200
    review = response.json()["review"]
    assert (
        review["state"] == "accepted" and review["reviewed_by"] == "rita" and review["reviewed_version"] == 1
    )
    annotation = Annotation.objects.get(pk=first)
    assert annotation.version == 1 and annotation.updated_by.username == "anna"
    assert not AnnotationRevision.objects.filter(annotation=annotation).exists()
    # and accepting it again (a retry) is a 200 that changes nothing
    again = accept(world["reviewer"], first)
    assert again.status_code == 200
    assert Annotation.objects.get(pk=first).reviewed_at == annotation.reviewed_at
    # and it no longer waits for review
    body = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next").json()
    assert (
        body["annotation"]["id"] == world["ids"][1] and body["waiting"] == 1 and body["reviewed_today"] == 1
    )


def test_a_correction_is_a_new_version_and_the_annotators_is_kept(world):
    first = world["ids"][0]
    original = stored(Annotation.objects.get(pk=first))
    fixed = original.copy()
    fixed[:8, :8] = 2
    # when rita corrects version 1
    response = correct(world["reviewer"], first, fixed)
    # then the annotation is at version 2 with her mask, corrected by her
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["version"] == 2 and body["updated_by"] == "rita" and body["author"] == "anna"
    assert body["review"] == {
        **body["review"],
        "state": "corrected",
        "reviewed_by": "rita",
        "reviewed_version": 2,
    }
    annotation = Annotation.objects.get(pk=first)
    assert np.array_equal(stored(annotation), fixed)
    # and anna's version 1 is kept as a revision, pixel for pixel
    revision = AnnotationRevision.objects.get(annotation=annotation)
    assert revision.version == 1 and revision.made_by.username == "anna"
    assert np.array_equal(np.array(Image.open(io.BytesIO(bytes(revision.mask_png)))), original)
    revisions = world["reviewer"].get(f"/api/annotations/{first}/revisions").json()
    assert [r["version"] for r in revisions] == [1]
    # and sending the same correction again (its answer lost) makes no third version
    retry = correct(world["reviewer"], first, fixed)
    assert retry.status_code == 200 and retry.json()["version"] == 2
    assert AnnotationRevision.objects.filter(annotation=annotation).count() == 1


def test_a_stale_version_is_a_409_and_changes_nothing(world):
    first = world["ids"][0]
    fixed = np.full((32, 32), 1, dtype=np.uint8)
    assert correct(world["reviewer"], first, fixed).status_code == 200
    # when a second reviewer, who loaded version 1, accepts or corrects it
    ruth = make_user("ruth")
    add_member(world["project"], ruth, "manager")
    late = client_for(ruth)
    accepted = accept(late, first, version=1)
    corrected = correct(late, first, np.zeros((32, 32), dtype=np.uint8), version=1)
    # then both are refused with a message naming the current version, and nothing changed
    for response in (accepted, corrected):
        assert response.status_code == 409
        assert "version 1 is stale" in response.json()["detail"] and "version 2" in response.json()["detail"]
    annotation = Annotation.objects.get(pk=first)
    assert annotation.version == 2 and annotation.reviewed_by.username == "rita"
    assert np.array_equal(stored(annotation), fixed)
    # and with the current version the manager may accept the correction
    assert accept(late, first, version=2).json()["review"]["state"] == "accepted"


def test_an_edit_by_the_author_after_review_makes_it_wait_again(world):
    first = world["ids"][0]
    assert accept(world["reviewer"], first).status_code == 200
    body = {"version": 1, "mask_png": png_b64(np.full((32, 32), 2, dtype=np.uint8))}
    edit = world["anna"].patch(f"/api/annotations/{first}", body, content_type="application/json")
    assert edit.status_code == 200 and edit.json()["review"]["state"] == "pending"
    queue = world["reviewer"].get(f"/api/projects/{world['project'].pk}/reviews/next").json()
    assert queue["annotation"]["id"] == first and queue["waiting"] == 2


def test_only_reviewers_and_managers_review_and_never_their_own_work(world, manager):
    first = world["ids"][0]
    project = world["project"]
    # annotators are refused with a clear message, outsiders do not see the project
    refused = accept(world["anna"], first)
    assert refused.status_code == 403 and "reviewers and managers" in refused.json()["detail"]
    assert world["anna"].get(f"/api/projects/{project.pk}/reviews/next").status_code == 403
    outsider = client_for(make_user("ben"))
    assert accept(outsider, first).status_code == 404
    assert outsider.get(f"/api/projects/{project.pk}/reviews/next").status_code == 404
    # a manager who annotated cannot review their own annotation, and does not get it to review
    boss = client_for(manager)
    task = next_task(boss, project).json()["task"]
    assert submit_mask(boss, task).status_code == 201
    own = Annotation.objects.get(lease_id=task["id"]).pk
    response = accept(boss, own)
    assert response.status_code == 403 and "your own annotation" in response.json()["detail"]
    listed = boss.get(f"/api/projects/{project.pk}/reviews/next?after={world['ids'][1]}").json()
    assert listed["annotation"] is None
    assert Annotation.objects.get(pk=own).review_state == "pending"


def test_review_inputs_are_validated(world):
    first = world["ids"][0]
    url = f"/api/annotations/{first}"
    # a label sent with an accept, a missing version, a wrong-size mask, boxes on a mask project
    extra = world["reviewer"].post(
        f"{url}/accept", {"version": 1, "mask_png": "x"}, content_type="application/json"
    )
    assert extra.status_code == 400 and extra.json()["errors"]["mask_png"] == ["unknown field"]
    missing = world["reviewer"].post(f"{url}/accept", {}, content_type="application/json")
    assert missing.status_code == 400 and "version" in missing.json()["errors"]
    small = correct(world["reviewer"], first, np.zeros((16, 16), dtype=np.uint8))
    assert small.status_code == 400 and "mask_png" in small.json()["errors"]
    boxes = world["reviewer"].post(
        f"{url}/correct", {"version": 1, "boxes": []}, content_type="application/json"
    )
    assert boxes.status_code == 400
    # then nothing changed
    annotation = Annotation.objects.get(pk=first)
    assert annotation.version == 1 and annotation.review_state == "pending"


def test_box_annotations_are_corrected_as_boxes(manager, annotator):
    project = make_project(manager=manager, task_type="vehicle-detection")
    add_member(project, annotator, "annotator")
    rita = make_user("rita")
    add_member(project, rita, "reviewer")
    anna = client_for(annotator)
    task = next_task(anna, project).json()["task"]
    body = {"submission_id": "6f1c1f3e-1111-4e2a-9a55-0a0b0c0d0e0f", "seconds_spent": 3.0}
    body["boxes"] = [{"x0": 1, "y0": 2, "x1": 10, "y1": 12, "class": 1}]
    assert (
        anna.post(f"/api/tasks/{task['id']}/annotations", body, content_type="application/json").status_code
        == 201
    )
    annotation = Annotation.objects.get(lease_id=task["id"])
    fixed = [
        {"x0": 1, "y0": 2, "x1": 11, "y1": 12, "class": 2},
        {"x0": 20, "y0": 20, "x1": 30, "y1": 31, "class": 1},
    ]
    response = client_for(rita).post(
        f"/api/annotations/{annotation.pk}/correct",
        {"version": 1, "boxes": fixed},
        content_type="application/json",
    )
    assert response.status_code == 200 and response.json()["boxes"] == fixed
    assert AnnotationRevision.objects.get(annotation=annotation).boxes == body["boxes"]


def test_the_review_routes_are_in_the_schema(annotator_client):
    paths = yaml.safe_load(annotator_client.get("/api/schema/").content)["paths"]
    assert "/api/projects/{project_id}/reviews/next" in paths
    for action in ("accept", "correct"):
        responses = paths[f"/api/annotations/{{annotation_id}}/{action}"]["post"]["responses"]
        assert {"200", "400", "403", "404", "409"} <= set(responses), action
    correct_body = paths["/api/annotations/{annotation_id}/correct"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in correct_body
