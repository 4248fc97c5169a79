"""The background worker: a real Celery worker process picks up archive checks from the broker."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.archive import services
from eolabel.archive.models import Scene
from eolabel.archive.paths import archive_resolve
from eolabel.archive.tasks import scene_verify_task
from fixtures.tiny import make_geotiff
from tests.worker import wait_for, worker_process


@pytest.mark.django_db
def test_verify_finds_changed_and_missing_files(archive_root, tmp_path):
    scenes = [
        services.scene_ingest(
            path=make_geotiff(tmp_path / f"{i}.tif", width=32, height=32, bands=4, dtype="uint16", seed=i),
            sensor_name="vhr-rgbn",
        ).scene
        for i in range(3)
    ]
    call_command("verify_archive")
    archive_resolve(scenes[1].asset_path).write_bytes(b"II*\x00tampered")
    archive_resolve(scenes[2].asset_path).unlink()

    with pytest.raises(CommandError, match="2 of 3 scene"):
        call_command("verify_archive")
    statuses = dict(Scene.objects.values_list("pk", "status"))
    assert statuses == {scenes[0].pk: "ready", scenes[1].pk: "corrupt", scenes[2].pk: "missing"}


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_queued_checks(archive_root, builtin_sensors, tmp_path):
    scene = services.scene_ingest(
        path=make_geotiff(tmp_path / "w.tif", width=32, height=32, bands=4, dtype="uint16"),
        sensor_name="vhr-rgbn",
    ).scene
    Scene.objects.filter(pk=scene.pk).update(status=Scene.Status.MISSING)

    with worker_process():
        scene_verify_task.delay(scene.pk)
        wait_for(lambda: Scene.objects.get(pk=scene.pk).status == Scene.Status.READY, timeout=60)
