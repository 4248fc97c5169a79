"""The model versions table and the learning curve, with the simulator's curves read from where a run for the
project is stored (the registry's project-<id>/simulation/simulation.csv) or, for cloud projects without
one, the repository's demo-archive run."""

import pytest

from eolabel.dashboard.learning import (
    demo_simulation_path,
    project_simulation_path,
    simulation_curves,
)
from ml.simulate.report import write_csv
from tests.dashboard.world import georeferenced_scene, model_version
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db

SIM_ROWS = [
    {"task": "cloud", "strategy": "random", "seed": 0, "round": 0, "n_labelled": 8, "f2": 0.4},
    {"task": "cloud", "strategy": "random", "seed": 1, "round": 0, "n_labelled": 8, "f2": 0.6},
    {"task": "cloud", "strategy": "random", "seed": 0, "round": 1, "n_labelled": 16, "f2": 0.7},
    {"task": "cloud", "strategy": "random", "seed": 1, "round": 1, "n_labelled": 16, "f2": 0.8},
    {"task": "cloud", "strategy": "entropy", "seed": 0, "round": 0, "n_labelled": 8, "f2": 0.7},
    {"task": "cloud", "strategy": "bald", "seed": 0, "round": 0, "n_labelled": 8, "f2": 0.1},
]


@pytest.fixture
def world(settings, tmp_path):
    settings.MODEL_REGISTRY_ROOT = tmp_path / "models"
    settings.EOLABEL_DASHBOARD_SIMULATION_CSV = tmp_path / "demo.csv"
    mia, ann = make_user("mia"), make_user("ann")
    project = make_project(manager=mia, scenes=[georeferenced_scene()], chip_size=32)
    add_member(project, ann, "annotator")
    return {"mia": mia, "ann": ann, "project": project, "tmp": tmp_path}


def models(user, project) -> dict:
    return client_for(user).get(f"/api/projects/{project.pk}/dashboard/models").json()


def test_version_table_and_curve(world):
    project = world["project"]
    model_version(project, 1, size=8, metric=0.5, promoted=True)
    model_version(project, 2, size=16, metric=0.7, promoted=True)
    model_version(project, 3, size=24, metric=0.6)
    project.current_model_version = f"project-{project.pk}/v2"
    project.save()
    body = models(world["ann"], project)
    assert [v["version"].rsplit("/", 1)[1] for v in body["versions"]] == ["v3", "v2", "v1"]
    assert [v["current"] for v in body["versions"]] == [False, True, False]
    assert [v["promoted"] for v in body["versions"]] == [False, True, True]
    assert [(v["parent"], v["training_size"]) for v in body["versions"]][0] == (
        f"project-{project.pk}/v2",
        24,
    )
    assert [(p["n_labels"], p["value"]) for p in body["curve"]] == [(8, 0.5), (16, 0.7), (24, 0.6)]
    assert body["simulation"] == {} and body["simulation_source"] is None  # no run anywhere


def test_the_projects_own_simulator_run_is_read_from_the_registry(world):
    # given a run written where the dashboard documents it, and a different demo run
    project = world["project"]
    path = project_simulation_path(project_id=project.pk)
    assert path.parts[-3:] == (f"project-{project.pk}", "simulation", "simulation.csv")
    path.parent.mkdir(parents=True)
    write_csv(SIM_ROWS, path)
    write_csv([{**SIM_ROWS[0], "f2": 0.01}], demo_simulation_path())
    model_version(project, 1, size=8, metric=0.5, promoted=True)
    # when the curve is read
    body = models(world["ann"], project)
    # then it is the project's run, averaged over seeds, random and the project's strategy (entropy) only
    assert body["simulation_source"] == {"scope": "project", "file": "simulation.csv"}
    assert body["simulation"] == {
        "entropy": [{"n_labels": 8, "value": pytest.approx(0.7)}],
        "random": [
            {"n_labels": 8, "value": pytest.approx(0.5)},
            {"n_labels": 16, "value": pytest.approx(0.75)},
        ],
    }


def test_without_a_project_run_a_cloud_project_shows_the_demo_run_marked_as_such(world):
    write_csv(SIM_ROWS, demo_simulation_path())
    body = models(world["ann"], world["project"])
    assert body["simulation_source"] == {"scope": "demo", "file": "demo.csv"}
    assert [p["value"] for p in body["simulation"]["random"]] == [pytest.approx(0.5), pytest.approx(0.75)]


def test_a_vehicle_project_never_shows_the_cloud_demo_run(world):
    write_csv(SIM_ROWS, demo_simulation_path())
    project = make_project(
        manager=world["mia"], scenes=[georeferenced_scene()], chip_size=32, task_type="vehicle-detection"
    )
    body = models(world["mia"], project)
    assert body["simulation"] == {} and body["simulation_source"] is None and body["metric_name"] == "ap50"
    # and its own vehicle run is read by its metric and task, cloud rows left out
    path = project_simulation_path(project_id=project.pk)
    path.parent.mkdir(parents=True)
    write_csv(SIM_ROWS + [{**SIM_ROWS[0], "task": "vehicles", "f2": "", "ap50": 0.3}], path)
    assert simulation_curves(path=path, metric="ap50", task="vehicles") == {
        "random": [{"n_labels": 8, "value": pytest.approx(0.3)}]
    }


def test_the_repositorys_demo_csv_gives_a_random_curve(settings):
    del settings.EOLABEL_DASHBOARD_SIMULATION_CSV
    path = demo_simulation_path()
    if not path.is_file():
        pytest.skip("docs/figures/al-cloud-binary.csv is not in this checkout")
    curves = simulation_curves(path=path, metric="f2", task="cloud")
    assert "random" in curves and all(0 <= p["value"] <= 1 for p in curves["random"])
    assert [p["n_labels"] for p in curves["random"]] == sorted(p["n_labels"] for p in curves["random"])
