"""Regressions the API fuzzing found, pinned as plain tests."""

import pytest

from tests.labelling.factories import client_for, make_project, make_user


@pytest.mark.django_db
def test_an_unmatched_api_url_is_a_json_404_and_a_page_url_stays_html(api):
    # given a malformed id where the URL wants an integer
    api_answer = api.get("/api/tasks/undefined")
    tile_answer = api.get("/tiles/null/tilejson.json")
    page_answer = api.get("/no-such-page/")

    assert api_answer.status_code == tile_answer.status_code == 404
    assert api_answer["Content-Type"] == "application/json"
    assert api_answer.json() == {"detail": "Not found."} == tile_answer.json()
    assert page_answer.status_code == 404 and page_answer["Content-Type"].startswith("text/html")


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/api/projects/{big}/",
        "/api/projects/{big}/export?format=coco",
        "/api/projects/{big}/models/v1",
        "/api/projects/{big}/reviews/next",
        "/api/projects/{big}/training/jobs",
    ],
)
def test_a_project_id_past_bigint_is_404_not_500(path):
    manager = make_user("mo", staff=True)
    make_project(manager=manager)

    answer = client_for(manager).get(path.format(big=2**70))

    assert answer.status_code == 404
    assert answer.json()["detail"]


def test_every_operation_documents_its_error_answers():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = [(p, op) for p, item in schema["paths"].items() for op in item.values()]

    assert len(operations) > 30
    for path, operation in operations:
        codes = set(operation["responses"])
        assert "403" in codes, path
        if "{" in path:
            assert "404" in codes, path
        if any(p["in"] == "query" for p in operation.get("parameters", [])):
            assert "400" in codes, path
    listed = schema["paths"]["/api/projects/"]["get"]["responses"]["200"]["content"]["application/json"]
    assert listed["schema"]["$ref"].endswith("/PaginatedProjectOutputList")
