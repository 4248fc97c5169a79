"""GET /api/projects/<id>/export: reviewers and managers get an attachment; annotators 403; no role 404."""

import io
import json
import zipfile

import numpy as np
import pytest

from tests.exports.helpers import lease, submit
from tests.labelling.factories import add_member, client_for, make_project, make_scene, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(manager):
    project = make_project(manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32)
    submit(lease(project, manager), manager, mask=np.ones((32, 32), np.uint8))
    return project


def url(project, fmt: str = "geotiff") -> str:
    return f"/api/projects/{project.pk}/export?format={fmt}"


def body(response) -> bytes:
    return b"".join(response.streaming_content)


def test_a_manager_gets_the_zip_as_an_attachment(manager_client, project):
    response = manager_client.get(url(project))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"] == f'attachment; filename="project-{project.pk}-geotiff.zip"'
    assert response["X-Content-Type-Options"] == "nosniff"
    with zipfile.ZipFile(io.BytesIO(body(response))) as archive:
        assert len([n for n in archive.namelist() if n.endswith(".tif")]) == 1


def test_a_reviewer_may_export(project):
    reviewer = make_user("rita")
    add_member(project, reviewer, "reviewer")

    response = client_for(reviewer).get(url(project))

    assert response.status_code == 200
    assert body(response)[:2] == b"PK"


def test_an_annotator_gets_403(project):
    annotator = make_user("anna")
    add_member(project, annotator, "annotator")

    response = client_for(annotator).get(url(project))

    assert response.status_code == 403
    assert "reviewers and managers" in response.json()["detail"]


def test_no_role_gets_404_and_anonymous_is_refused(project, client):
    response = client_for(make_user("stranger")).get(url(project))

    assert response.status_code == 404
    assert client.get(url(project)).status_code in (401, 403)


def test_a_format_that_does_not_fit_the_task_is_400(manager_client, project):
    response = manager_client.get(url(project, "coco"))

    assert response.status_code == 400
    assert "use geotiff" in response.json()["detail"]
    assert manager_client.get(url(project, "shapefile")).status_code == 400


def test_boxes_export_as_geojson_attachment(manager, manager_client):
    project = make_project(
        manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32, task_type="vehicle-detection"
    )
    submit(lease(project, manager), manager, boxes=[{"x0": 1, "y0": 1, "x1": 3, "y1": 3, "class": 2}])

    response = manager_client.get(url(project, "geojson"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/geo+json"
    assert response["Content-Disposition"].startswith("attachment;")
    assert json.loads(body(response))["features"][0]["properties"]["class_name"] == "truck"
