"""Labelling: projects and roles, the chips of a project with their queue state, leases (the API's "tasks"),
annotations with every earlier version kept, and retraining requests.

Queue invariants, each backed by a database constraint where one can express it:
- a ProjectChip is ``leased`` exactly while one Lease on it is ``active`` (at most one: a partial unique index);
- a user holds at most one active lease per project (partial unique index), which makes "next" idempotent;
- a user annotates a chip at most once (unique project chip x author); edits are new versions of that row;
- a client's ``submission_id`` makes at most one annotation (unique), so retries never duplicate.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from eolabel.ranking.models import Strategy


class TaskType(models.TextChoices):
    CLOUD_SEGMENTATION = "cloud-segmentation", "cloud segmentation (class mask per pixel)"
    VEHICLE_DETECTION = "vehicle-detection", "vehicle detection (boxes)"


class Role(models.TextChoices):
    ANNOTATOR = "annotator", "annotator"
    REVIEWER = "reviewer", "reviewer"
    MANAGER = "manager", "manager"


class Project(models.Model):
    """A labelling campaign over some scenes. ``classes`` is ``[{"value", "name", "colour"}]`` (values 0..254,
    255 means unlabelled), validated by ``eolabel.labelling.classes.classes_validate``."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    task_type = models.CharField(max_length=32, choices=TaskType.choices)
    classes = models.JSONField()
    sensors = models.ManyToManyField("archive.Sensor", related_name="labelling_projects")
    scenes = models.ManyToManyField("archive.Scene", related_name="labelling_projects", blank=True)
    chip_size = models.PositiveIntegerField(
        default=256, validators=[MinValueValidator(16), MaxValueValidator(4096)]
    )
    strategy = models.CharField(max_length=32, choices=Strategy.choices, default=Strategy.ENTROPY)
    retrain_every_n = models.PositiveIntegerField(
        default=50,
        validators=[MinValueValidator(1)],
        help_text="retrain after this many new training annotations",
    )
    retrain_min_interval_minutes = models.PositiveIntegerField(
        default=10, help_text="and no sooner than this many minutes after the previous request"
    )
    validation_fraction = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="share of chips held out for evaluation (labelled, never trained on); fixed at creation",
    )
    overlap = models.PositiveSmallIntegerField(
        default=1, validators=[MinValueValidator(1), MaxValueValidator(10)], help_text="annotators per chip"
    )
    current_model_version = models.CharField(
        max_length=64,
        blank=True,
        help_text="the model version whose scores rank the queue (empty: cold start)",
    )
    show_reference_to_annotators = models.BooleanField(
        default=False,
        help_text="annotators may overlay the scenes' reference labels (reviewers and managers always may)",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(overlap__gte=1), name="project_overlap_positive"),
            models.CheckConstraint(condition=Q(chip_size__gte=16), name="project_chip_size_min"),
            models.CheckConstraint(
                condition=Q(retrain_every_n__gte=1), name="project_retrain_every_n_positive"
            ),
            models.CheckConstraint(
                condition=Q(validation_fraction__gte=0) & Q(validation_fraction__lte=0.5),
                name="project_validation_fraction_range",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def class_values(self) -> set[int]:
        return {int(c["value"]) for c in self.classes}


class Membership(models.Model):
    """One role of one user in one project."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labelling_roles"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "role", "user"]
        constraints = [models.UniqueConstraint(fields=["project", "user"], name="membership_one_role")]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.project_id}:{self.role}"


class ProjectChip(models.Model):
    """A chip in a project's queue. ``state``: available (can be leased), leased (one active lease), done
    (annotated ``project.overlap`` times). ``score``/``rank`` are the current model version's, copied in by
    ``project_ranking_activate``; null means not scored (served after scored chips, in ``cold_key`` order)."""

    class State(models.TextChoices):
        AVAILABLE = "available", "available"
        LEASED = "leased", "leased"
        DONE = "done", "done"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="project_chips")
    chip = models.ForeignKey("archive.Chip", on_delete=models.PROTECT, related_name="project_chips")
    state = models.CharField(max_length=16, choices=State.choices, default=State.AVAILABLE)
    done_count = models.PositiveIntegerField(default=0, help_text="submitted annotations")
    is_validation = models.BooleanField(default=False, help_text="held out: labelled but never trained on")
    cold_key = models.BigIntegerField(help_text="deterministic shuffle key for the cold-start order")
    score = models.FloatField(null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "chip"], name="projectchip_unique")]
        indexes = [models.Index(fields=["project", "state"])]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.chip_id} ({self.state})"


class Lease(models.Model):
    """A chip lent to one annotator for a limited time: the API calls it a task. It records what put the chip in
    front of the annotator (model version, strategy, score) and the pre-label offered; annotations copy both."""

    class State(models.TextChoices):
        ACTIVE = "active", "active"
        SUBMITTED = "submitted", "submitted"
        SKIPPED = "skipped", "skipped"
        EXPIRED = "expired", "expired"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="leases")
    project_chip = models.ForeignKey(ProjectChip, on_delete=models.CASCADE, related_name="leases")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="labelling_leases"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    leased_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    model_version = models.CharField(max_length=64, blank=True, help_text="empty: cold start")
    strategy = models.CharField(max_length=32, choices=Strategy.choices)
    score = models.FloatField(null=True, blank=True)
    prelabel_model_version = models.CharField(
        max_length=64, blank=True, help_text="empty: no pre-label offered"
    )
    skip_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-leased_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project_chip"], condition=Q(state="active"), name="lease_one_active_per_chip"
            ),
            models.UniqueConstraint(
                fields=["project", "user"], condition=Q(state="active"), name="lease_one_active_per_user"
            ),
        ]
        indexes = [models.Index(fields=["project", "state", "expires_at"])]

    def __str__(self) -> str:
        return f"lease {self.pk} ({self.state})"


class Annotation(models.Model):
    """One annotator's label of one chip: a class mask (PNG bytes in the database: why in services/annotations.py) or
    pixel boxes ``[{x0, y0, x1, y1, class}]`` relative to the chip. ``version`` starts at 1 and grows with each
    edit; earlier versions live in AnnotationRevision.

    Review (services/review.py): a reviewer accepts the current version or corrects it, which makes a new version
    (the annotator's stays a revision). ``reviewed_version`` says which version the decision was about: a later
    edit makes the annotation wait for review again."""

    class Kind(models.TextChoices):
        MASK = "mask", "class mask"
        BOXES = "boxes", "boxes"

    class ReviewState(models.TextChoices):
        PENDING = "pending", "waiting for review"
        ACCEPTED = "accepted", "accepted as is"
        CORRECTED = "corrected", "corrected by the reviewer (a new version)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="annotations")
    project_chip = models.ForeignKey(ProjectChip, on_delete=models.PROTECT, related_name="annotations")
    lease = models.OneToOneField(Lease, on_delete=models.PROTECT, related_name="annotation")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations")
    submission_id = models.UUIDField(
        unique=True, help_text="client-generated; a retry with it returns this row"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    mask_png = models.BinaryField(null=True, blank=True)
    boxes = models.JSONField(null=True, blank=True)
    seconds_spent = models.FloatField(default=0.0)
    # Provenance, copied from the lease: what ranked the chip, and the pre-label the annotator started from.
    model_version = models.CharField(max_length=64, blank=True)
    strategy = models.CharField(max_length=32, choices=Strategy.choices)
    score = models.FloatField(null=True, blank=True)
    prelabel_model_version = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations_updated"
    )
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField()
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.PENDING)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_version = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["project_chip", "author"], name="annotation_one_per_author"),
            models.CheckConstraint(
                condition=(
                    Q(review_state="pending")
                    & Q(reviewed_by__isnull=True)
                    & Q(reviewed_at__isnull=True)
                    & Q(reviewed_version__isnull=True)
                )
                | (
                    Q(review_state__in=["accepted", "corrected"])
                    & Q(reviewed_by__isnull=False)
                    & Q(reviewed_at__isnull=False)
                    & Q(reviewed_version__isnull=False)
                ),
                name="annotation_review_complete",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="annotation_version_positive"),
            models.CheckConstraint(
                condition=(Q(kind="mask") & Q(mask_png__isnull=False) & Q(boxes__isnull=True))
                | (Q(kind="boxes") & Q(boxes__isnull=False) & Q(mask_png__isnull=True)),
                name="annotation_content_matches_kind",
            ),
        ]
        indexes = [models.Index(fields=["project", "created"])]

    def __str__(self) -> str:
        return f"annotation {self.pk} v{self.version}"


class AnnotationRevision(models.Model):
    """An earlier version of an annotation, kept when an edit replaced it."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    mask_png = models.BinaryField(null=True, blank=True)
    boxes = models.JSONField(null=True, blank=True)
    seconds_spent = models.FloatField()
    made_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    made_at = models.DateTimeField(help_text="when this version was written")
    replaced_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["annotation", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["annotation", "version"], name="revision_unique_version")
        ]

    def __str__(self) -> str:
        return f"annotation {self.annotation_id} v{self.version}"


class RetrainRequest(models.Model):
    """A decision of the retraining policy that the project's model should be retrained. Training (the second
    half of the active-learning loop) moves it from pending to started, done or failed."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        STARTED = "started", "started"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="retrain_requests")
    requested_at = models.DateTimeField()
    reason = models.CharField(max_length=500)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    annotations_total = models.PositiveIntegerField(help_text="training annotations when requested")

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project"], condition=Q(state="pending"), name="retrainrequest_one_pending"
            )
        ]

    def __str__(self) -> str:
        return f"retrain {self.project_id} ({self.state})"
