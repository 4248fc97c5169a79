"""Progress figures, the loop and models panels, the uncertainty layer, and who sees what."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from eolabel.dashboard.selectors import dashboard_progress, simulation_curves
from eolabel.labelling.models import Lease
from tests.dashboard.world import annotate, chip_at, georeferenced_scene, job, model_version, scores
from tests.labelling.factories import add_member, client_for, make_project, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    mia, ann, bob, rev = (make_user(n) for n in ("mia", "ann", "bob", "rev"))
    scene = georeferenced_scene()
    project = make_project(manager=mia, scenes=[scene], chip_size=32, overlap=2)
    add_member(project, ann, "annotator")
    add_member(project, bob, "annotator")
    add_member(project, rev, "reviewer")
    now = timezone.now()
    zeros = np.zeros((32, 32), dtype=np.uint8)
    half = zeros.copy()
    half[:, 16:] = 1
    # chip (0,0): ann all clear, bob half cloud -> 50 % pixel agreement for both
    annotate(project, chip_at(scene, 0, 0), ann, array=zeros, seconds=10, created=now - timedelta(hours=2))
    annotate(project, chip_at(scene, 0, 0), bob, array=half, seconds=30, created=now - timedelta(hours=2))
    # chip (32,0): ann alone, edited by the reviewer; chip (0,32): ann, 30 hours ago (outside the histogram)
    annotate(project, chip_at(scene, 32, 0), ann, array=zeros, seconds=20, created=now, editor=rev)
    annotate(project, chip_at(scene, 0, 32), ann, array=zeros, seconds=50, created=now - timedelta(hours=30))
    pc = project.project_chips.get(chip=chip_at(scene, 32, 32))
    Lease.objects.create(
        project=project,
        project_chip=pc,
        user=bob,
        leased_at=now,
        expires_at=now + timedelta(minutes=9),
        strategy="random",
    )
    pc.state = "leased"
    pc.save()
    return {"mia": mia, "ann": ann, "bob": bob, "rev": rev, "project": project, "scene": scene, "now": now}


def test_progress_figures_for_a_manager(world):
    summary = dashboard_progress(
        project=world["project"], user=world["mia"], role="manager", now=world["now"]
    )
    assert (summary.chips, summary.labelled, summary.reviewed, summary.leases_held) == (4, 3, 1, 1)
    assert summary.annotations == 4 and summary.queue_depth == 3
    rows = {r.username: r for r in summary.annotators}
    assert set(rows) == {"ann", "bob", "mia"}  # the reviewer annotated nothing: no row
    assert rows["ann"].labels == 3 and rows["ann"].median_seconds == 20
    assert rows["ann"].agreement == pytest.approx(0.5) and rows["ann"].shared_chips == 1
    assert rows["bob"].agreement == pytest.approx(0.5) and rows["bob"].leases_held == 1
    assert rows["mia"].labels == 0 and rows["mia"].agreement is None
    counts = [b["count"] for b in summary.hourly]
    assert len(counts) == 24 and sum(counts) == 3 and counts[-1] == 1 and counts[-3] == 2


def test_an_annotator_sees_only_their_own_row_and_histogram(world):
    body = client_for(world["bob"]).get(f"/api/projects/{world['project'].pk}/dashboard/progress").json()
    assert [r["username"] for r in body["annotators"]] == ["bob"]
    assert sum(b["count"] for b in body["hourly"]) == 1
    reviewer = client_for(world["rev"]).get(f"/api/projects/{world['project'].pk}/dashboard/progress").json()
    assert {r["username"] for r in reviewer["annotators"]} == {"ann", "bob", "mia"}


def test_no_role_is_404_everywhere(world):
    stranger = client_for(make_user("eve"))
    pk = world["project"].pk
    for url in (
        f"/dashboard/{pk}/",
        *(
            f"/api/projects/{pk}/dashboard/{part}"
            for part in (
                "progress",
                "loop",
                "models",
                "uncertainty",
                "comparison",
                "areas",
                "vehicle-counts",
                "vehicle-counts.csv",
            )
        ),
    ):
        assert stranger.get(url).status_code == 404, url
    assert stranger.post(f"/api/projects/{pk}/training/retrain").status_code == 404


def test_annotator_cannot_retrain_or_rescore(world):
    client = client_for(world["ann"])
    pk = world["project"].pk
    assert client.post(f"/api/projects/{pk}/training/retrain").status_code == 403
    assert client.post(f"/api/projects/{pk}/training/score").status_code == 403


def test_loop_reports_the_active_job_history_and_policy(world):
    project = world["project"]
    job(project, state="failed", progress=0.4, log="epoch 1\nboom")
    running = job(project, state="running", progress=0.35, log="epoch 1 loss 0.7")
    body = client_for(world["ann"]).get(f"/api/projects/{project.pk}/dashboard/loop").json()
    assert body["active"]["id"] == running.pk and body["active"]["progress"] == pytest.approx(0.35)
    assert [j["state"] for j in body["jobs"]] == ["running", "failed"] and body["jobs"][1]["log"].endswith(
        "boom"
    )
    assert body["policy"]["retrain_every_n"] == project.retrain_every_n
    assert body["policy"]["training_annotations"] == 4


def test_models_table_curve_and_simulation(world, tmp_path, settings):
    project = world["project"]
    model_version(project, 1, size=8, metric=0.5, promoted=True)
    model_version(project, 2, size=16, metric=0.7, promoted=True)
    model_version(project, 3, size=24, metric=0.6)
    project.current_model_version = f"project-{project.pk}/v2"
    project.save()
    sim = tmp_path / "sim.csv"
    sim.write_text(
        "task,strategy,seed,round,n_labelled,f2\ncloud,random,0,0,8,0.4\ncloud,random,1,0,8,0.6\ncloud,entropy,0,0,8,0.7\n"
    )
    settings.EOLABEL_DASHBOARD_SIMULATION_CSV = sim
    body = client_for(world["ann"]).get(f"/api/projects/{project.pk}/dashboard/models").json()
    assert [v["version"].rsplit("/", 1)[1] for v in body["versions"]] == ["v3", "v2", "v1"]
    assert [v["current"] for v in body["versions"]] == [False, True, False]
    assert [(p["n_labels"], p["value"]) for p in body["curve"]] == [(8, 0.5), (16, 0.7), (24, 0.6)]
    assert body["simulation"] == {
        "entropy": [{"n_labels": 8, "value": 0.7}],
        "random": [{"n_labels": 8, "value": 0.5}],
    }


def test_the_repository_simulation_csv_gives_a_random_curve():
    curves = simulation_curves(metric="f2")
    if not curves:
        pytest.skip("docs/figures/al-cloud-binary.csv is not in this checkout")
    assert "random" in curves and all(0 <= p["value"] <= 1 for p in curves["random"])
    assert [p["n_labels"] for p in curves["random"]] == sorted(p["n_labels"] for p in curves["random"])


def test_uncertainty_layer_is_the_current_versions_scores(world):
    project = world["project"]
    chips = [chip_at(world["scene"], c, r) for c, r in ((0, 0), (32, 0), (0, 32))]
    scores(project, "old", {chips[0].pk: 0.9})
    scores(project, "cur", {chips[0].pk: 0.2, chips[1].pk: 0.8})
    project.current_model_version = "cur"
    project.save()
    body = client_for(world["bob"]).get(f"/api/projects/{project.pk}/dashboard/uncertainty").json()
    assert body["model_version"] == "cur" and body["score_range"] == [0.2, 0.8]
    assert {f["properties"]["chip"]: f["properties"]["score"] for f in body["features"]} == {
        chips[0].pk: 0.2,
        chips[1].pk: 0.8,
    }
    ring = body["features"][0]["geometry"]["coordinates"][0]
    assert ring[0] == [chips[0].west, chips[0].south]


def test_pages_render_with_data(world):
    project = world["project"]
    model_version(project, 1, size=8, metric=0.5, promoted=True)
    index = client_for(world["ann"]).get("/dashboard/")
    assert index.status_code == 200 and project.name in index.content.decode()
    manager_page = client_for(world["mia"]).get(f"/dashboard/{project.pk}/").content.decode()
    assert 'id="retrain-now"' in manager_page and 'data-manager="true"' in manager_page
    assert f"/api/projects/{project.pk}/training/retrain" in manager_page
    annotator_page = client_for(world["ann"]).get(f"/dashboard/{project.pk}/").content.decode()
    assert 'id="retrain-now"' not in annotator_page and "Your labelling" in annotator_page
    assert "cdn" not in annotator_page.lower() and "unpkg" not in annotator_page


def test_pages_need_a_login(client, world):
    response = client.get(f"/dashboard/{world['project'].pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
