"""Projects are managed in the Django admin too: the same class-list and scene checks, chips made on save."""

import json

import pytest
from django.contrib.auth import get_user_model

from eolabel.labelling.models import Membership, Project, ProjectChip
from tests.labelling.factories import CLOUD_CLASSES, make_project, make_scene, make_sensor

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = get_user_model().objects.create_superuser(username="root", password="pw-root-123456")
    client.force_login(admin)
    return client, admin


def form(scene, **overrides) -> dict:
    data = {
        "name": "admin project",
        "description": "",
        "task_type": "cloud-segmentation",
        "classes": json.dumps(CLOUD_CLASSES),
        "sensors": [scene.sensor.pk],
        "scenes": [scene.pk],
        "chip_size": 32,
        "strategy": "entropy",
        "retrain_every_n": 10,
        "retrain_min_interval_minutes": 5,
        "validation_fraction": 0.1,
        "overlap": 1,
        "memberships-TOTAL_FORMS": 0,
        "memberships-INITIAL_FORMS": 0,
        "memberships-MIN_NUM_FORMS": 0,
        "memberships-MAX_NUM_FORMS": 1000,
    }
    return {**data, **overrides}


def test_admin_creates_a_project_with_its_chips_and_manager(admin_client):
    client, admin = admin_client
    scene = make_scene(width=64, height=64)
    response = client.post("/admin/labelling/project/add/", form(scene))
    assert response.status_code == 302, response.content.decode()[:3000]
    project = Project.objects.get(name="admin project")
    assert ProjectChip.objects.filter(project=project).count() == 4
    assert Membership.objects.get(project=project).user == admin
    assert client.get(f"/admin/labelling/project/{project.pk}/change/").status_code == 200


def test_admin_refuses_bad_classes_and_foreign_scenes(admin_client):
    client, _ = admin_client
    scene = make_scene()
    foreign = make_scene(sensor=make_sensor("elsewhere"))
    bad_classes = client.post("/admin/labelling/project/add/", form(scene, classes='[{"value": 300}]'))
    bad_scene = client.post("/admin/labelling/project/add/", form(scene, scenes=[scene.pk, foreign.pk]))
    assert bad_classes.status_code == 200 and "needs exactly the keys" in bad_classes.content.decode()
    assert bad_scene.status_code == 200 and "not of the project&#x27;s sensors" in bad_scene.content.decode()
    assert Project.objects.count() == 0


def test_admin_pages_for_the_queue_render(admin_client):
    client, admin = admin_client
    make_project(manager=admin)
    for model in ("projectchip", "lease", "annotation", "retrainrequest", "project"):
        assert client.get(f"/admin/labelling/{model}/").status_code == 200, model
