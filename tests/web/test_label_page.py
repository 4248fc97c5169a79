"""The project list and the labelling page (Django client), and the two small endpoints they read:
a task's superpixels and a project's progress."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from django.contrib.staticfiles import finders
from PIL import Image

from eolabel.archive.services import scene_ingest
from eolabel.labelling.services.superpixels import superpixels_of, superpixels_png
from tests.labelling.factories import (
    add_member,
    client_for,
    make_project,
    make_user,
    next_task,
    submit_mask,
)
from tests.web.rasters import sentinel2_scene

pytestmark = pytest.mark.django_db

LABEL_JS = Path(__file__).resolve().parents[2] / "frontend" / "eolabel" / "label"
ASSET_URL = re.compile(r'(?:src|href)="(/static/[^"]+)"')
ANY_URL = re.compile(r"https?://[^\s\"'<>)]+")
SVG_NAMESPACE = "http://www.w3.org/2000/svg"  # a name, not an address


@pytest.fixture
def world():
    manager = make_user("mona", staff=True)
    ana = make_user("ana")
    project = make_project(manager=manager)
    project.name = "Clouds <script>alert(1)</script>"
    project.save(update_fields=["name"])
    add_member(project, ana, "annotator")
    return {"manager": manager, "ana": ana, "project": project}


def test_anonymous_visitors_are_sent_to_the_login_page(client, world):
    for url in ("/projects/", f"/projects/{world['project'].pk}/label/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=")


def test_the_project_list_shows_the_users_projects_only_with_names_as_text(world):
    # given a second project ana has no role in
    other = make_project(manager=world["manager"])
    # when she opens the list
    page = client_for(world["ana"]).get("/projects/").content.decode()
    # then her project is linked to its labelling page, its name escaped, the other one absent
    assert f'href="/projects/{world["project"].pk}/label/"' in page
    assert "Clouds &lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert other.name not in page and f"/projects/{other.pk}/label/" not in page
    assert "your role: annotator" in page


def test_a_user_without_projects_is_told_what_to_do(world):
    page = client_for(make_user("ben")).get("/projects/").content.decode()
    assert 'id="no-projects"' in page and "ask a project manager" in page


def test_the_label_page_is_for_members_only(world):
    assert client_for(make_user("ben")).get(f"/projects/{world['project'].pk}/label/").status_code == 404
    assert client_for(world["ana"]).get("/projects/999999/label/").status_code == 404


def test_the_label_page_carries_the_project_and_local_assets_only(world):
    response = client_for(world["ana"]).get(f"/projects/{world['project'].pk}/label/")
    page = response.content.decode()
    assert response.status_code == 200
    assert f'data-project="{world["project"].pk}"' in page
    assert 'data-task-type="cloud-segmentation"' in page and 'data-can-annotate="true"' in page
    assert '"name": "cloud"' in page  # the class list, as JSON for the palette
    assert 'id="brush-size"' in page and 'id="box-count"' not in page
    assets = ASSET_URL.findall(page)
    assert "/static/leaflet/leaflet.js" in assets and "/static/eolabel/label/label.css" in assets
    assert '<script type="module" src="/static/eolabel/label/main.js">' in page
    for url in assets:
        assert finders.find(url.removeprefix("/static/")), f"{url} is not a static file"
    assert ANY_URL.findall(page) == []


def test_a_vehicle_project_gets_the_box_tools_and_a_reviewer_cannot_label(world):
    vehicles = make_project(manager=world["manager"], task_type="vehicle-detection")
    reviewer = make_user("rita")
    add_member(vehicles, reviewer, "reviewer")
    page = client_for(reviewer).get(f"/projects/{vehicles.pk}/label/").content.decode()
    assert 'id="box-count"' in page and 'id="brush-size"' not in page
    assert 'data-can-annotate="false"' in page


def test_the_label_modules_import_only_existing_files_and_never_parse_html():
    sources = list(LABEL_JS.glob("*.js"))
    assert {"main.js", "mask.js", "boxes.js", "png.js", "chiplayer.js", "review.js"} <= {
        p.name for p in sources
    }
    for module in sources:
        text = module.read_text()
        for target in re.findall(r'from "(\.\.?/[^"]+)"', text):
            assert (module.parent / target).resolve().is_file(), f"{module.name} imports missing {target}"
        assert "innerHTML" not in text and "insertAdjacentHTML" not in text, module.name
        assert "style:" not in text and 'setAttribute("style"' not in text, (
            module.name
        )  # the CSP refuses them
        assert [u for u in ANY_URL.findall(text) if u != SVG_NAMESPACE] == [], module.name


# --- progress --------------------------------------------------------------------------------------------


def test_progress_counts_my_annotations_today_and_the_projects(world):
    ana = client_for(world["ana"])
    task = next_task(ana, world["project"]).json()["task"]
    assert submit_mask(ana, task).status_code == 201

    body = ana.get(f"/api/projects/{world['project'].pk}/progress").json()
    assert body["mine_today"] == 1 and body["mine_total"] == 1
    assert body["project"]["done"] == 1 and body["project"]["annotations"] == 1
    assert body["project"]["chips"] == 4  # 64 px scene, 32 px chips
    manager_view = client_for(world["manager"]).get(f"/api/projects/{world['project'].pk}/progress").json()
    assert manager_view["mine_today"] == 0 and manager_view["project"]["done"] == 1
    outsider = client_for(make_user("ben")).get(f"/api/projects/{world['project'].pk}/progress")
    assert outsider.status_code == 404


# --- superpixels -----------------------------------------------------------------------------------------


def test_superpixels_follow_an_edge_and_pack_into_rgb():
    # given two flat halves of very different brightness
    image = np.zeros((3, 32, 32), dtype=np.uint16)
    image[:, :, 16:] = 5000
    labels = superpixels_of(image=image, pixels_per_segment=64)
    # then no superpixel straddles the edge, and there are several
    left, right = set(np.unique(labels[:, :16]).tolist()), set(np.unique(labels[:, 16:]).tolist())
    assert left.isdisjoint(right) and len(left | right) >= 4
    # and the PNG holds each label as r << 16 | g << 8 | b
    labels[0, 0] = 70_000
    rgb = np.array(Image.open(io.BytesIO(superpixels_png(labels)))).astype(np.int64)
    assert rgb.shape == (32, 32, 3)
    assert np.array_equal((rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2], labels)


def test_the_task_superpixels_endpoint_serves_a_chip_sized_png(archive_root, tmp_path):
    # given a real 64 px Sentinel-2 scene in a project with 32 px chips, and ana holding a task
    source = sentinel2_scene(tmp_path / "S2A_MSIL1C_20240612T103631_sp.tif", size=64)
    scene = scene_ingest(path=source, sensor_name="sentinel2-l1c").scene
    manager, ana_user = make_user("mona", staff=True), make_user("ana")
    project = make_project(manager=manager, scenes=[scene])
    add_member(project, ana_user, "annotator")
    ana = client_for(ana_user)
    task = next_task(ana, project).json()["task"]

    # when she asks for its superpixels
    response = ana.get(f"/api/tasks/{task['id']}/superpixels.png")

    # then they are a 32 x 32 RGB PNG with several regions
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    rgb = np.array(Image.open(io.BytesIO(response.content))).astype(np.int64)
    assert rgb.shape == (32, 32, 3)
    labels = (rgb[..., 0] << 16) | (rgb[..., 1] << 8) | rgb[..., 2]
    assert 4 <= len(np.unique(labels)) <= 64
    # and someone without a role in the project gets a 404
    assert client_for(make_user("ben")).get(f"/api/tasks/{task['id']}/superpixels.png").status_code == 404


# --- review mode -----------------------------------------------------------------------------------------


def test_review_mode_is_offered_to_reviewers_and_managers_only(world):
    project = world["project"]
    rita = make_user("rita")
    add_member(project, rita, "reviewer")
    # a reviewer gets the review link in the list and the review page with accept, no skip
    listing = client_for(rita).get("/projects/").content.decode()
    assert f'href="/projects/{project.pk}/review/"' in listing
    page = client_for(rita).get(f"/projects/{project.pk}/review/").content.decode()
    assert 'data-mode="review"' in page and 'data-can-review="true"' in page
    assert 'id="accept"' in page and 'id="pass"' in page and 'id="skip"' not in page
    assert "Original <kbd>P</kbd>" in page
    # an annotator gets neither the link nor the review controls' permission
    listing = client_for(world["ana"]).get("/projects/").content.decode()
    assert "/review/" not in listing
    label = client_for(world["ana"]).get(f"/projects/{project.pk}/label/").content.decode()
    assert 'data-mode="label"' in label and 'id="mode-other"' not in label and 'id="skip"' in label
    assert (
        'data-can-review="false"'
        in client_for(world["ana"]).get(f"/projects/{project.pk}/review/").content.decode()
    )
    # and outsiders get a 404
    assert client_for(make_user("ben")).get(f"/projects/{project.pk}/review/").status_code == 404
