"""The training API (read jobs and versions; managers start retraining / scoring) and the commands."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.labelling.models import Project
from eolabel.labelling.services.projects import membership_set
from eolabel.training.models import ModelVersion, TrainingJob
from tests.training.conftest import annotate_n

pytestmark = pytest.mark.django_db


def test_managers_start_jobs_others_cannot(cloud_project, user, client, django_user_model, sent):
    annotator = django_user_model.objects.create_user(username="ann", password="pw-ann-123456")
    membership_set(project=cloud_project, user=annotator, role="annotator")
    base = f"/api/projects/{cloud_project.pk}/training"

    client.force_login(annotator)
    assert client.post(f"{base}/retrain").status_code == 403
    assert client.get(f"{base}/jobs").json()["count"] == 0
    client.force_login(user)
    assert client.post(f"{base}/score").status_code == 409  # no model yet
    started = client.post(f"{base}/retrain")
    again = client.post(f"{base}/retrain")

    assert (
        started.status_code == 202
        and started.json()["state"] == "queued"
        and started.json()["kind"] == "retrain"
    )
    assert again.status_code == 409 and "still active" in again.json()["detail"]
    detail = client.get(f"{base}/jobs/{started.json()['id']}").json()
    assert (detail["id"], detail["state"], detail["progress"]) == (started.json()["id"], "queued", 0.0)
    stranger = django_user_model.objects.create_user(username="x", password="pw-x-12345678")
    client.force_login(stranger)
    assert client.get(f"{base}/jobs").status_code == 404


def test_retrain_inline_then_score_inline_then_read_versions(
    cloud_project, user, client, fast_training, capsys
):
    annotate_n(cloud_project, user, training=2, validation=1)

    call_command("retrain", str(cloud_project.pk), "--inline")
    call_command("score", str(cloud_project.pk), "--inline")

    out = capsys.readouterr().out
    version = f"project-{cloud_project.pk}/v1"
    assert f"{version} promoted" in out and "scored 5 chips" in out
    assert list(TrainingJob.objects.values_list("kind", "state").order_by("pk")) == [
        ("retrain", "succeeded"),
        ("score", "succeeded"),
    ]
    client.force_login(user)
    versions = client.get(f"/api/projects/{cloud_project.pk}/models").json()["results"]
    assert [(v["version"], v["promoted"], v["is_current"]) for v in versions] == [(version, True, True)]
    one = client.get(f"/api/projects/{cloud_project.pk}/models/v1").json()
    assert one["metric_name"] == "validation.f2" and one["metric"] == ModelVersion.objects.get().metric
    assert client.get(f"/api/projects/{cloud_project.pk}/models/v9").status_code == 404


def test_commands_refuse_what_they_cannot_do(cloud_project, fast_training, sent, capsys):
    with pytest.raises(CommandError, match="no model yet"):
        call_command("score", str(cloud_project.pk))
    with pytest.raises(CommandError, match="no annotation on a training chip"):
        call_command("retrain", str(cloud_project.pk), "--inline")
    assert Project.objects.get(pk=cloud_project.pk).current_model_version == ""

    call_command("retrain", "--reap")
    assert "reaped: 0 re-queued, 0 failed, 0 re-sent" in capsys.readouterr().out
