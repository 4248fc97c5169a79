"""Progress figures, the uncertainty layer, the pages, and who sees what (the loop and models panels are in
test_loop.py and test_learning.py)."""

from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from eolabel.dashboard.selectors import dashboard_progress
from eolabel.labelling.models import Lease
from tests.dashboard.world import annotate, chip_at, georeferenced_scene, model_version, scores
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
    # chip (32,0): ann alone, accepted by the reviewer; chip (0,32): ann, 30 hours ago (outside the histogram)
    annotate(project, chip_at(scene, 32, 0), ann, array=zeros, seconds=20, created=now, reviewer=rev)
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
    assert summary.annotations == 4 and summary.queue_depth == 3 and summary.scope == "project"
    assert summary.per_hour == pytest.approx(3 / 24) and summary.last_hour == 1
    rows = {r.username: r for r in summary.annotators}
    assert set(rows) == {"ann", "bob", "mia"}  # the reviewer annotated nothing: no row
    assert rows["ann"].labels == 3 and rows["ann"].median_seconds == 20
    assert rows["ann"].reviewed == 1 and rows["ann"].last_24h == 2 and rows["bob"].reviewed == 0
    assert rows["ann"].agreement == pytest.approx(0.5) and rows["ann"].shared_chips == 1
    assert rows["bob"].agreement == pytest.approx(0.5) and rows["bob"].leases_held == 1
    assert rows["mia"].labels == 0 and rows["mia"].agreement is None
    counts = [b["count"] for b in summary.hourly]
    assert len(counts) == 24 and sum(counts) == 3 and counts[-1] == 1 and counts[-3] == 2


def test_a_review_decision_not_an_edit_makes_a_chip_reviewed(world):
    # given a correction-free edit by someone else (updated_by) on a chip nobody reviewed
    project = world["project"]
    annotation = project.annotations.get(project_chip__chip=chip_at(world["scene"], 0, 32))
    annotation.updated_by = world["rev"]
    annotation.save(update_fields=["updated_by"])
    # then it does not count as reviewed: only the accepted chip does
    summary = dashboard_progress(project=project, user=world["mia"], role="manager", now=world["now"])
    assert summary.reviewed == 1


def test_an_annotator_sees_only_their_own_row_and_histogram(world):
    body = client_for(world["bob"]).get(f"/api/projects/{world['project'].pk}/dashboard/progress").json()
    assert [r["username"] for r in body["annotators"]] == ["bob"]
    assert sum(b["count"] for b in body["hourly"]) == 1
    # and their own annotation count and rate, with the project's progress unchanged
    assert body["scope"] == "own" and body["annotations"] == 1 and body["per_hour"] == pytest.approx(1 / 24)
    assert (body["chips"], body["labelled"], body["reviewed"]) == (4, 3, 1)
    assert [r["user_id"] for r in body["annotators"]] == [world["bob"].pk]
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
                "uncertainty/scenes",
                "comparison",
                "areas",
                "vehicle-counts",
                "vehicle-counts.csv",
            )
        ),
    ):
        assert stranger.get(url).status_code == 404, url
    assert stranger.post(f"/api/projects/{pk}/training/retrain").status_code == 404


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


def test_uncertainty_scene_by_scene(world):
    # given a project of two scenes, the second one's chips scored higher on average
    first, other = georeferenced_scene(), georeferenced_scene()
    project = make_project(manager=world["mia"], scenes=[first, other], chip_size=32)
    add_member(project, world["ann"], "annotator")
    a = [chip_at(first, c, 0) for c in (0, 32)]
    b = [chip_at(other, c, 0) for c in (0, 32)]
    scores(project, "cur", {a[0].pk: 0.2, a[1].pk: 0.4, b[0].pk: 0.9, b[1].pk: 0.5})
    project.current_model_version = "cur"
    project.save()
    client = client_for(world["ann"])
    base = f"/api/projects/{project.pk}/dashboard/uncertainty"
    # when the scenes table and one scene's layer are asked for
    table = client.get(f"{base}/scenes").json()
    layer = client.get(f"{base}?scene={other.pk}").json()
    # then the most doubtful scene comes first, with its mean and max, and the layer is that scene's chips only
    assert [(r["id"], r["chips_scored"]) for r in table["scenes"]] == [(other.pk, 2), (first.pk, 2)]
    assert table["scenes"][0]["mean_score"] == pytest.approx(0.7) and table["scenes"][0]["max_score"] == 0.9
    assert table["scenes"][1]["mean_score"] == pytest.approx(0.3)
    assert sorted(f["properties"]["chip"] for f in layer["features"]) == sorted(c.pk for c in b)
    assert layer["scene"] == other.pk and layer["score_range"] == [0.5, 0.9]
    # and a scene outside the project is a 404, a malformed id a 400
    outside = georeferenced_scene()
    assert client.get(f"{base}?scene={outside.pk}").status_code == 404
    assert client.get(f"{base}?scene=abc").status_code == 400
    assert client.get(f"{base}?scene={2**70}").status_code == 400
    assert client.get(f"{base}?scene=-1").status_code == 400


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


def test_the_site_nav_links_to_the_dashboards(world):
    page = client_for(world["ann"]).get("/dashboard/").content.decode()
    assert 'href="/dashboard/" aria-current="page">Dashboards</a>' in page


def test_a_vehicle_project_page_has_the_counts_panel_and_managers_draw(world):
    project = make_project(
        manager=world["mia"], scenes=[georeferenced_scene()], chip_size=32, task_type="vehicle-detection"
    )
    add_member(project, world["ann"], "annotator")
    manager = client_for(world["mia"]).get(f"/dashboard/{project.pk}/").content.decode()
    annotator = client_for(world["ann"]).get(f"/dashboard/{project.pk}/").content.decode()
    for page in (manager, annotator):
        assert 'data-testid="counts-chart"' in page and 'id="count-errors"' in page
        assert f"/api/projects/{project.pk}/dashboard/vehicle-counts.csv" in page
        assert 'id="cmp-version"' not in page  # comparison maps are for cloud projects
    assert 'id="draw-area"' in manager and 'id="draw-area"' not in annotator


def test_pages_need_a_login(client, world):
    response = client.get(f"/dashboard/{world['project'].pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
