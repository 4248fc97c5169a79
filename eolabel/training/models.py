"""Training: background jobs (retrain or re-score a project), the model versions they produce, and the
bookkeeping of distributed scoring passes.

Invariants backed by the database:
- at most one queued or running job per project (a partial unique index), whatever its kind;
- a model version id appears once (unique), and a scoring chunk is counted once (unique pass x index).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

ACTIVE_STATES = ("queued", "running")


class TrainingJob(models.Model):
    """One background run for a project: ``retrain`` (train, evaluate, register, maybe promote and re-score) or
    ``score`` (re-score the pool with the current model). Claimed atomically by the worker that runs it; the
    heartbeat tells the reaper whether that worker is still alive."""

    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    class Kind(models.TextChoices):
        RETRAIN = "retrain", "retrain"
        SCORE = "score", "score"

    project = models.ForeignKey("labelling.Project", on_delete=models.CASCADE, related_name="training_jobs")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.RETRAIN)
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    retrain_request = models.ForeignKey(
        "labelling.RetrainRequest",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_jobs",
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True)
    progress = models.FloatField(default=0.0, help_text="0..1")
    message = models.CharField(max_length=500, blank=True)
    log = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True, help_text="the current run's owner")
    heartbeat = models.DateTimeField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True, help_text="the version this job registered")
    promoted = models.BooleanField(default=False)
    error = models.TextField(blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True, blank=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"],
                condition=Q(state__in=ACTIVE_STATES),
                name="trainingjob_one_active_per_project",
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0) & Q(progress__lte=1), name="trainingjob_progress"
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat"])]

    def __str__(self) -> str:
        return f"{self.kind} job {self.pk} ({self.state})"


class ModelVersion(models.Model):
    """A registered model version of a project (the weights live in ``ml.registry`` under ``version``).
    ``metric`` is the project's promotion metric on the evaluation set of its job; ``promoted`` means it became
    the project's current model."""

    project = models.ForeignKey("labelling.Project", on_delete=models.CASCADE, related_name="model_versions")
    version = models.CharField(max_length=64, unique=True)
    parent = models.CharField(max_length=64, blank=True)
    job = models.ForeignKey(
        TrainingJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="versions"
    )
    task = models.CharField(max_length=16)
    training_size = models.PositiveIntegerField()
    training_fingerprint = models.CharField(max_length=64)
    metric_name = models.CharField(max_length=32)
    metric = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict)
    promoted = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return self.version


class ScoringPass(models.Model):
    """A distributed scoring pass: chunk tasks tick off their ScoringChunk; whoever ticks the last one
    activates the pass (no chord, so a single worker cannot deadlock waiting for itself)."""

    project = models.ForeignKey("labelling.Project", on_delete=models.CASCADE, related_name="scoring_passes")
    model_version = models.CharField(max_length=64)
    chunks_total = models.PositiveIntegerField()
    activated = models.BooleanField(default=False)
    created = models.DateTimeField(auto_now_add=True)
    finished = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self) -> str:
        return f"scoring pass {self.pk} of {self.model_version}"


class ScoringChunk(models.Model):
    scoring_pass = models.ForeignKey(ScoringPass, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    chip_ids = models.JSONField()
    done = models.BooleanField(default=False)

    class Meta:
        ordering = ["scoring_pass", "index"]
        constraints = [models.UniqueConstraint(fields=["scoring_pass", "index"], name="scoringchunk_unique")]

    def __str__(self) -> str:
        return f"chunk {self.index} of pass {self.scoring_pass_id}"
