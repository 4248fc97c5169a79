"""`manage.py demo_user` (what `make run` calls): the demo login, managing a cloud and a vehicle project over the
demo archive, idempotent."""

import io

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command

from eolabel.labelling.models import Membership, Project


@pytest.mark.django_db
def test_demo_user_gets_a_login_and_the_two_demo_projects_once(
    archive_root, builtin_sensors, settings, tmp_path
):
    # given the small demo archive
    call_command("make_demo_archive", "--small", "--out", str(tmp_path / "demo"), stdout=io.StringIO())

    # when the command runs twice
    first, second = io.StringIO(), io.StringIO()
    call_command("demo_user", stdout=first)
    call_command("demo_user", stdout=second)

    # then the printed password logs in, and the demo user manages one cloud and one vehicle project
    password = first.getvalue().split("password '")[1].split("'")[0]
    assert second.getvalue().split("password '")[1].split("'")[0] == password  # kept between runs
    user = authenticate(username="demo", password=password)
    assert user is not None and user.is_staff
    projects = {p.task_type: p for p in Project.objects.all()}
    assert set(projects) == {"cloud-segmentation", "vehicle-detection"} and Project.objects.count() == 2
    for project in projects.values():
        assert Membership.objects.get(project=project, user=user).role == "manager"
        assert project.project_chips.count() > 0
    cloud = projects["cloud-segmentation"]
    assert set(cloud.scenes.values_list("sensor__name", flat=True)) == {"sentinel2-l1c"}
    assert "Demo clouds" in first.getvalue() and "Demo clouds" not in second.getvalue()
