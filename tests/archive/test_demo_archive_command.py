"""make_demo_archive: the synthetic archive goes in with its ground truth attached, once."""

import pytest
from django.core.management import call_command

from eolabel.archive.models import ReferenceLayer, Scene

pytestmark = pytest.mark.django_db


def test_small_demo_archive_is_ingested_with_ground_truth(archive_root, tmp_path, capsys):
    call_command("make_demo_archive", "--small", "--out", str(tmp_path / "demo"))

    assert "demo archive ready: 4 scenes" in capsys.readouterr().out
    assert Scene.objects.filter(sensor__name="sentinel2-l1c").count() == 2
    assert Scene.objects.filter(sensor__name="vhr-rgbn").count() == 2
    masks = ReferenceLayer.objects.filter(kind="mask", name="ground-truth")
    assert masks.count() == 2
    assert masks.first().classes["1"] == "thick cloud" and masks.first().classes["4"] == "snow"
    boxes = ReferenceLayer.objects.filter(kind="boxes")
    assert boxes.count() == 2 and set(boxes.first().classes.values()) <= {"car", "truck"}

    call_command("make_demo_archive", "--small", "--out", str(tmp_path / "demo"), "--if-missing")
    assert "already ingested (4 scenes)" in capsys.readouterr().out
    assert Scene.objects.count() == 4
