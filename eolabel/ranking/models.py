"""What a scoring pass writes: one score per (project, chip, model version), and the model's pre-label.

The labelling queue does not read these rows directly on every request: ``project_ranking_activate``
(eolabel.labelling.services) copies a finished pass's scores into the project's chips in one transaction,
so annotators never see a half-written pass."""

from django.db import models
from django.db.models import Q


class Strategy(models.TextChoices):
    """Acquisition strategies: the names ``ml.strategies`` and ``ml.simulate`` use. ``random`` is also the
    cold-start baseline (a deterministic shuffle) served before any model has scored a project."""

    RANDOM = "random", "random"
    ENTROPY = "entropy", "entropy"
    MARGIN = "margin", "margin"
    LEAST_CONFIDENCE = "least-confidence", "least confidence"
    BALD = "bald", "BALD (MC dropout mutual information)"
    RANKED_BATCH = "ranked-batch", "ranked batch (uncertainty + diversity)"


class ChipScore(models.Model):
    """How much labelling one chip is expected to help, according to one model version and strategy.
    Higher is more useful; ``rank`` (1 = first) is set by batch strategies whose order is not a score order."""

    project = models.ForeignKey("labelling.Project", on_delete=models.CASCADE, related_name="chip_scores")
    chip = models.ForeignKey("archive.Chip", on_delete=models.CASCADE, related_name="scores")
    model_version = models.CharField(max_length=64)
    strategy = models.CharField(max_length=32, choices=Strategy.choices)
    score = models.FloatField()
    rank = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "model_version", "-score"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "chip", "model_version"], name="chipscore_unique_version"
            ),
            models.CheckConstraint(condition=~Q(model_version=""), name="chipscore_model_version_set"),
        ]
        indexes = [models.Index(fields=["project", "model_version", "chip"])]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.chip_id}@{self.model_version}={self.score:.4g}"


class Prelabel(models.Model):
    """A model version's prediction for one chip, offered to the annotator as a starting point: a class mask
    (PNG, 8-bit single channel, chip-sized, see eolabel.labelling.codecs.mask_encode) for segmentation
    projects, or pixel boxes ``[{x0, y0, x1, y1, class}]`` (chip-relative) for detection projects."""

    project = models.ForeignKey("labelling.Project", on_delete=models.CASCADE, related_name="prelabels")
    chip = models.ForeignKey("archive.Chip", on_delete=models.CASCADE, related_name="prelabels")
    model_version = models.CharField(max_length=64)
    mask_png = models.BinaryField(null=True, blank=True)
    boxes = models.JSONField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["project", "chip", "model_version"], name="prelabel_unique_version"
            ),
            models.CheckConstraint(
                condition=Q(mask_png__isnull=False) | Q(boxes__isnull=False), name="prelabel_not_empty"
            ),
        ]

    def __str__(self) -> str:
        return f"prelabel {self.project_id}:{self.chip_id}@{self.model_version}"
