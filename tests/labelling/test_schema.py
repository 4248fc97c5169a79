"""The labelling API is documented in the OpenAPI schema, error responses included."""

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_labelling_routes_are_in_the_schema(annotator_client):
    response = annotator_client.get("/api/schema/")
    assert response.status_code == 200
    paths = yaml.safe_load(response.content)["paths"]
    for route in (
        "/api/projects/",
        "/api/projects/{project_id}/",
        "/api/projects/{project_id}/members/",
        "/api/projects/{project_id}/tasks/next",
        "/api/tasks/{task_id}/annotations",
        "/api/tasks/{task_id}/skip",
        "/api/tasks/{task_id}/prelabel.png",
        "/api/annotations/{annotation_id}",
    ):
        assert route in paths, route
    submit = paths["/api/tasks/{task_id}/annotations"]["post"]
    assert {"200", "201", "400", "403", "404", "409"} <= set(submit["responses"])
    assert "multipart/form-data" in submit["requestBody"]["content"]
    assert "409" in paths["/api/annotations/{annotation_id}"]["patch"]["responses"]
    assert "image/png" in paths["/api/tasks/{task_id}/prelabel.png"]["get"]["responses"]["200"]["content"]
