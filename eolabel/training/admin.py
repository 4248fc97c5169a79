from django.contrib import admin

from eolabel.training.models import ModelVersion, ScoringPass, TrainingJob


@admin.register(TrainingJob)
class TrainingJobAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "project",
        "kind",
        "state",
        "progress",
        "message",
        "attempts",
        "heartbeat",
        "model_version",
    ]
    list_filter = ["state", "kind"]
    readonly_fields = [f.name for f in TrainingJob._meta.fields]


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = [
        "version",
        "project",
        "parent",
        "metric_name",
        "metric",
        "training_size",
        "promoted",
        "created",
    ]
    list_filter = ["promoted"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]


@admin.register(ScoringPass)
class ScoringPassAdmin(admin.ModelAdmin):
    list_display = ["id", "project", "model_version", "chunks_total", "activated", "created", "finished"]
