"""The export command: files written; unknown project, wrong format, unwritable --out exit 1 with one line."""

import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.exports.helpers import lease, submit
from tests.labelling.factories import make_project, make_scene
from tests.worker import child_database_url

REPO = Path(__file__).resolve().parents[2]


def run_export(*args: str) -> str:
    out = io.StringIO()
    call_command("export", *args, stdout=out)
    return out.getvalue()


def refusal(*args: str) -> str:
    with pytest.raises(CommandError) as caught:
        run_export(*args)
    assert caught.value.returncode == 1
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.mark.django_db
def test_export_writes_the_zip_to_out(manager, tmp_path):
    project = make_project(manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32)
    submit(lease(project, manager), manager, mask=np.ones((32, 32), np.uint8))
    out = tmp_path / "masks.zip"

    printed = run_export(str(project.pk), "--format", "geotiff", "--out", str(out))

    assert "1 scenes, 1 chips" in printed
    with zipfile.ZipFile(out) as archive:
        assert sorted(archive.namelist())[0] == "export.json"
    assert [p.name for p in tmp_path.iterdir()] == ["masks.zip"]  # no temporary file left behind


@pytest.mark.django_db
def test_export_finds_a_project_by_name_and_writes_coco(manager, tmp_path):
    project = make_project(
        manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32, task_type="vehicle-detection"
    )
    submit(lease(project, manager), manager, boxes=[{"x0": 0, "y0": 0, "x1": 1, "y1": 1, "class": 1}])

    run_export(project.name, "--format", "coco", "--out", str(tmp_path / "c.json"))

    assert len(json.loads((tmp_path / "c.json").read_text())["annotations"]) == 1


@pytest.mark.django_db
def test_export_errors_are_one_line(manager, tmp_path):
    project = make_project(manager=manager, scenes=[make_scene(width=32, height=32)], chip_size=32)

    assert "no project '9999'" in refusal("9999", "--format", "geotiff")
    assert "use geotiff" in refusal(str(project.pk), "--format", "coco", "--out", str(tmp_path / "x.json"))
    assert "does not exist" in refusal(
        str(project.pk), "--format", "geotiff", "--out", str(tmp_path / "no/x.zip")
    )
    assert "is a directory" in refusal(str(project.pk), "--format", "geotiff", "--out", str(tmp_path))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.django_db(transaction=True)
def test_the_real_process_exits_non_zero_with_one_line_on_stderr():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eolabel.settings.test",
        "DATABASE_URL": child_database_url(),  # this test's database, SQLite file or PostgreSQL
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "export", "424242", "--format", "geojson"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "CommandError: no project '424242' (give an id or an exact name)"
    ]
