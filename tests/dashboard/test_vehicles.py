"""Vehicle counts per area of interest and acquisition date, against a hand-computed case.

Two scenes on the same 10 m UTM grid (June 3 and June 9). The area is the square of scene pixels 0..20 x 0..20
(its corners transformed to lon/lat). Box centres, in scene pixels:
  June 3, model v1: (5, 5) in, (15, 18) in, (25, 5) out, (40, 40) out (in the bottom-right chip)  -> 2
  June 3, reference: (10, 10) in, (30, 30) out                                                   -> 1
  June 9, model v1: (45, 12) out in chip (32, 0), (12, 45) out, (3, 17) in                       -> 1; no reference
A second model version's boxes are ignored (only the current version counts)."""

import csv
import io

import pytest

from eolabel.dashboard.vehicles import vehicle_counts
from ml.metrics import count_errors
from tests.dashboard.world import (
    chip_at,
    georeferenced_scene,
    pixel_lonlat,
    prelabel_boxes,
    reference_boxes,
    utc,
)
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db
V1, V2 = "cars/v1", "cars/v2"


def box(cx: float, cy: float, half: float = 1.5) -> tuple[float, float, float, float]:
    return (cx - half, cy - half, cx + half, cy + half)


def chip_box(cx: float, cy: float, col: int, row: int):
    return box(cx - col, cy - row)


@pytest.fixture
def world(archive_root):
    manager = make_user("mia")
    june3, june9 = georeferenced_scene(acquired=utc(3)), georeferenced_scene(acquired=utc(9))
    project = make_project(
        manager=manager, scenes=[june3, june9], chip_size=32, task_type="vehicle-detection"
    )
    project.current_model_version = V1
    project.save()
    prelabel_boxes(
        project,
        chip_at(june3, 0, 0),
        [chip_box(5, 5, 0, 0), chip_box(15, 18, 0, 0), chip_box(25, 5, 0, 0)],
        V1,
    )
    prelabel_boxes(project, chip_at(june3, 32, 32), [chip_box(40, 40, 32, 32)], V1)
    prelabel_boxes(project, chip_at(june3, 0, 0), [chip_box(5, 5, 0, 0)] * 9, V2)
    reference_boxes(archive_root, june3, [box(10, 10), box(30, 30)])
    prelabel_boxes(project, chip_at(june9, 32, 0), [chip_box(45, 12, 32, 0)], V1)
    prelabel_boxes(project, chip_at(june9, 0, 32), [chip_box(12, 45, 0, 32)], V1)
    prelabel_boxes(project, chip_at(june9, 0, 0), [chip_box(3, 17, 0, 0)], V1)
    ring = [list(pixel_lonlat(c, r)) for c, r in ((0, 0), (20, 0), (20, 20), (0, 20), (0, 0))]
    return {"manager": manager, "project": project, "ring": ring, "scenes": (june3, june9)}


def create_area(client, project, ring, name="car park"):
    return client.post(
        f"/api/projects/{project.pk}/dashboard/areas",
        {"name": name, "geometry": {"type": "Polygon", "coordinates": [ring]}},
        content_type="application/json",
    )


def test_counts_per_area_and_date_match_the_hand_count(world):
    # given the area, saved by the manager through the API
    assert create_area(client_for(world["manager"]), world["project"], world["ring"]).status_code == 201
    # when the counts are computed
    rows = vehicle_counts(project=world["project"])
    # then June 3 has 2 predicted and 1 reference vehicle, June 9 one predicted and no reference layer
    assert [(r.area, r.date.isoformat(), r.predicted, r.reference) for r in rows] == [
        ("car park", "2024-06-03", 2, 1),
        ("car park", "2024-06-09", 1, None),
    ]


def test_counts_json_and_csv_endpoints(world):
    client = client_for(world["manager"])
    create_area(client, world["project"], world["ring"])
    base = f"/api/projects/{world['project'].pk}/dashboard/vehicle-counts"
    body = client.get(base).json()
    assert body["model_version"] == V1
    assert [(r["date"], r["predicted"], r["reference"]) for r in body["rows"]] == [
        ("2024-06-03", 2, 1),
        ("2024-06-09", 1, None),
    ]
    response = client.get(f"{base}.csv", HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["area", "date", "scene", "predicted", "reference"]
    assert [r[1] for r in rows[1:]] == ["2024-06-03", "2024-06-09"] and [r[3:] for r in rows[1:]] == [
        ["2", "1"],
        ["1", ""],
    ]


def test_a_far_away_area_has_no_rows(world):
    far = [[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.0]]
    assert (
        create_area(client_for(world["manager"]), world["project"], far, name="elsewhere").status_code == 201
    )
    assert vehicle_counts(project=world["project"]) == []


def test_area_validation(world):
    client = client_for(world["manager"])
    bad = [[0, 0], [1, 1], [0, 0]]
    assert create_area(client, world["project"], bad).status_code == 400
    assert (
        create_area(
            client,
            world["project"],
            [[500000, 4800000], [500100, 4800000], [500100, 4790000], [500000, 4800000]],
        ).status_code
        == 400
    )
    assert create_area(client, world["project"], world["ring"]).status_code == 201
    duplicate = create_area(client, world["project"], world["ring"])
    assert duplicate.status_code == 400 and "already exists" in str(duplicate.json())


def test_annotator_cannot_create_an_area_but_can_read_them(world):
    ann = make_user("ann")
    add_member(world["project"], ann, "annotator")
    client = client_for(ann)
    assert create_area(client, world["project"], world["ring"]).status_code == 403
    assert client.get(f"/api/projects/{world['project'].pk}/dashboard/areas").json()["features"] == []


def test_count_errors_per_area_are_ml_metrics_own(world):
    # given a second area holding the whole of both scenes' top-left chip (pixels 0..32)
    client = client_for(world["manager"])
    create_area(client, world["project"], world["ring"])
    whole = [list(pixel_lonlat(c, r)) for c, r in ((0, 0), (32, 0), (32, 32), (0, 32), (0, 0))]
    create_area(client, world["project"], whole, name="depot")
    rows = vehicle_counts(project=world["project"])
    # depot, June 3: model (5,5) (15,18) (25,5) in -> 3; reference (10,10) (30,30) in -> 2
    assert [(r.area, r.date.isoformat(), r.predicted, r.reference) for r in rows] == [
        ("car park", "2024-06-03", 2, 1),
        ("car park", "2024-06-09", 1, None),
        ("depot", "2024-06-03", 3, 2),
        ("depot", "2024-06-09", 1, None),
    ]
    # when the API reports the errors of the model's counts against the reference's
    errors = client.get(f"/api/projects/{world['project'].pk}/dashboard/vehicle-counts").json()["errors"]
    # then they are ml.metrics.count_errors over the dates with both (June 3 only)
    assert errors == [
        {"area": "car park", "dates": 1, "mae": 1.0, "mape": 100.0, "bias": 1.0},
        {"area": "depot", "dates": 1, "mae": 1.0, "mape": 50.0, "bias": 1.0},
    ]
    expected = count_errors([2, 3], [1, 2], groups=["car park", "depot"])
    assert expected.mae == 1.0 and expected.mape == pytest.approx(75.0)
    assert sum(e["mape"] for e in errors) / 2 == pytest.approx(expected.mape)
