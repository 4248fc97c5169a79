"""Training API shapes: jobs and model versions (output only; the POSTs take no body)."""

from rest_framework import serializers

from eolabel.training.models import ModelVersion, TrainingJob


class TrainingJobOutput(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    retrain_request = serializers.IntegerField(source="retrain_request_id", allow_null=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id", "project", "kind", "state", "reason", "retrain_request", "progress", "message", "attempts",
            "heartbeat", "model_version", "promoted", "error", "log", "created", "started", "finished",
        ]  # fmt: skip


class ModelVersionOutput(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    job = serializers.IntegerField(source="job_id", allow_null=True)
    is_current = serializers.SerializerMethodField()

    class Meta:
        model = ModelVersion
        fields = [
            "version", "project", "parent", "job", "task", "training_size", "training_fingerprint", "metric_name",
            "metric", "metrics", "promoted", "is_current", "created",
        ]  # fmt: skip

    def get_is_current(self, version: ModelVersion) -> bool:
        return version.project.current_model_version == version.version
