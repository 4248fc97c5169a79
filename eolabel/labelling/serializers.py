"""Input and output serializers of the labelling API. Inputs are strict: an unknown or read-only field is a 400
naming it, never silently ignored."""

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from eolabel.labelling.codecs import MASK_MAX_BYTES, Box, boxes_to_geojson
from eolabel.labelling.models import (
    Annotation,
    AnnotationRevision,
    Lease,
    Membership,
    Project,
    Role,
    TaskType,
)
from eolabel.labelling.services import chip_geo
from eolabel.ranking.models import Strategy
from eolabel.ranking.selectors import prelabel_get

B64_MAX_CHARS = 4 * ((MASK_MAX_BYTES + 2) // 3)


class StrictInput(serializers.Serializer):
    """Refuses keys it does not declare; ``read_only_names`` get "read-only" rather than "unknown field"."""

    read_only_names: tuple[str, ...] = ()

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            extra = {
                key: ["read-only field" if key in self.read_only_names else "unknown field"]
                for key in data
                if key not in self.fields
            }
            if extra:
                raise serializers.ValidationError(extra)
        return super().to_internal_value(data)


class ErrorOutput(serializers.Serializer):
    detail = serializers.CharField(help_text='one line naming the problem, e.g. "mask_png: not a PNG file"')
    errors = serializers.DictField(required=False, help_text="field -> messages, for validation errors")


# --- projects --------------------------------------------------------------------------------------------


class ProjectCreateInput(StrictInput):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    task_type = serializers.ChoiceField(choices=TaskType.choices)
    classes = serializers.JSONField(
        help_text='[{"value": 0..254, "name": "cloud", "colour": "#rrggbb"}], 1-32'
    )
    sensors = serializers.ListField(child=serializers.SlugField(), min_length=1, help_text="sensor names")
    scenes = serializers.ListField(child=serializers.IntegerField(min_value=1), required=False, default=list)
    chip_size = serializers.IntegerField(min_value=16, max_value=4096, required=False)
    strategy = serializers.ChoiceField(choices=Strategy.choices, default=Strategy.ENTROPY)
    retrain_every_n = serializers.IntegerField(min_value=1, max_value=10**6, default=50)
    retrain_min_interval_minutes = serializers.IntegerField(min_value=0, max_value=10**6, default=10)
    validation_fraction = serializers.FloatField(min_value=0.0, max_value=0.5, default=0.1)
    overlap = serializers.IntegerField(min_value=1, max_value=10, default=1)


class ProjectUpdateInput(StrictInput):
    read_only_names = (
        "id", "task_type", "chip_size", "validation_fraction", "current_model_version", "created", "my_role",
        "progress",
    )  # fmt: skip

    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    classes = serializers.JSONField(
        required=False, help_text="values may be added, renamed, recoloured; not removed"
    )
    sensors = serializers.ListField(child=serializers.SlugField(), required=False, help_text="add-only")
    scenes = serializers.ListField(
        child=serializers.IntegerField(min_value=1), required=False, help_text="add-only"
    )
    strategy = serializers.ChoiceField(choices=Strategy.choices, required=False)
    retrain_every_n = serializers.IntegerField(min_value=1, max_value=10**6, required=False)
    retrain_min_interval_minutes = serializers.IntegerField(min_value=0, max_value=10**6, required=False)
    overlap = serializers.IntegerField(min_value=1, max_value=10, required=False)
    show_reference_to_annotators = serializers.BooleanField(
        required=False,
        help_text="annotators may toggle the reference overlay (reviewers and managers always can)",
    )

    def validate(self, attrs: dict) -> dict:
        if not attrs:
            raise serializers.ValidationError("nothing to change")
        return attrs


class ProgressOutput(serializers.Serializer):
    chips = serializers.IntegerField()
    available = serializers.IntegerField()
    leased = serializers.IntegerField()
    done = serializers.IntegerField()
    validation_chips = serializers.IntegerField()
    annotations = serializers.IntegerField()


class ProjectOutput(serializers.ModelSerializer):
    sensors = serializers.SlugRelatedField(slug_field="name", many=True, read_only=True)
    scenes = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    my_role = serializers.CharField(read_only=True)

    class Meta:
        model = Project
        fields = [
            "id", "name", "description", "task_type", "classes", "sensors", "scenes", "chip_size", "strategy",
            "retrain_every_n", "retrain_min_interval_minutes", "validation_fraction", "overlap",
            "show_reference_to_annotators", "current_model_version", "my_role", "created",
        ]  # fmt: skip


class ProjectDetailOutput(ProjectOutput):
    progress = ProgressOutput(read_only=True)

    class Meta(ProjectOutput.Meta):
        fields = ProjectOutput.Meta.fields + ["progress"]


class MemberInput(StrictInput):
    user = serializers.CharField(max_length=150, help_text="username")
    role = serializers.ChoiceField(choices=Role.choices)

    def validate_user(self, value: str) -> Any:
        user = get_user_model().objects.filter(username=value).first()
        if user is None:
            raise serializers.ValidationError(f"no user named {value!r}")
        return user


class MemberDeleteInput(MemberInput):
    role = None


class MemberOutput(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username")

    class Meta:
        model = Membership
        fields = ["user", "role", "created"]


# --- tasks -----------------------------------------------------------------------------------------------


class TaskChipOutput(serializers.Serializer):
    id = serializers.IntegerField(source="chip.id")
    size = serializers.IntegerField(source="chip.size")
    col_off = serializers.IntegerField(source="chip.col_off")
    row_off = serializers.IntegerField(source="chip.row_off")
    width = serializers.IntegerField(source="chip.width")
    height = serializers.IntegerField(source="chip.height")
    window = serializers.SerializerMethodField(help_text="[col_off, row_off, width, height] in scene pixels")
    bounds = serializers.SerializerMethodField(help_text="[west, south, east, north] in EPSG:4326, or null")

    def get_window(self, project_chip: Any) -> list[int]:
        return list(project_chip.chip.window)

    def get_bounds(self, project_chip: Any) -> list[float] | None:
        chip = project_chip.chip
        return None if chip.west is None else [chip.west, chip.south, chip.east, chip.north]


class RankingOutput(serializers.Serializer):
    model_version = serializers.CharField(allow_null=True, help_text="null: cold start (no model yet)")
    strategy = serializers.CharField()
    score = serializers.FloatField(allow_null=True)


class PrelabelOutput(serializers.Serializer):
    model_version = serializers.CharField()
    kind = serializers.ChoiceField(choices=["mask", "boxes"])
    mask_url = serializers.CharField(allow_null=True, help_text="class-index PNG, for segmentation")
    boxes = serializers.ListField(child=serializers.DictField(), allow_null=True, help_text="chip pixels")
    geojson = serializers.DictField(
        allow_null=True, help_text="the boxes in EPSG:4326 (georeferenced scenes)"
    )


class TaskOutput(serializers.ModelSerializer):
    project = serializers.IntegerField(source="project_id")
    scene = serializers.IntegerField(source="project_chip.chip.scene_id")
    chip = TaskChipOutput(source="project_chip")
    tile_url = serializers.SerializerMethodField(help_text="XYZ template with the sensor's default preset")
    ranking = serializers.SerializerMethodField()
    prelabel = serializers.SerializerMethodField()
    prelabel_note = serializers.SerializerMethodField()

    class Meta:
        model = Lease
        fields = [
            "id", "project", "state", "leased_at", "expires_at", "scene", "chip", "tile_url", "ranking", "prelabel",
            "prelabel_note", "skip_reason",
        ]  # fmt: skip

    def get_tile_url(self, lease: Lease) -> str:
        scene = lease.project_chip.chip.scene
        preset = scene.sensor.default_preset
        return f"/tiles/{scene.pk}/{{z}}/{{x}}/{{y}}.png" + (f"?preset={preset}" if preset else "")

    @extend_schema_field(RankingOutput)
    def get_ranking(self, lease: Lease) -> dict[str, Any]:
        return {
            "model_version": lease.model_version or None,
            "strategy": lease.strategy,
            "score": lease.score,
        }

    @extend_schema_field(PrelabelOutput(allow_null=True))
    def get_prelabel(self, lease: Lease) -> dict[str, Any] | None:
        if not lease.prelabel_model_version:
            return None
        chip = lease.project_chip.chip
        if lease.project.task_type == TaskType.CLOUD_SEGMENTATION:
            mask_url = f"/api/tasks/{lease.pk}/prelabel.png"
            return {"model_version": lease.prelabel_model_version, "kind": "mask", "mask_url": mask_url,
                    "boxes": None, "geojson": None}  # fmt: skip
        row = prelabel_get(
            project_id=lease.project_id, chip_id=chip.pk, model_version=lease.prelabel_model_version
        )
        boxes = list(row.boxes or []) if row else []
        geo = chip_geo(chip)
        geojson = None
        if geo is not None:
            geojson = boxes_to_geojson(
                [Box(b["x0"], b["y0"], b["x1"], b["y1"], b["class"]) for b in boxes], geo=geo
            )
        return {"model_version": lease.prelabel_model_version, "kind": "boxes", "mask_url": None, "boxes": boxes,
                "geojson": geojson}  # fmt: skip

    def get_prelabel_note(self, lease: Lease) -> str | None:
        if lease.prelabel_model_version:
            return None
        if not lease.project.current_model_version:
            return "no model has been trained for this project yet: start from an empty label"
        return f"model {lease.project.current_model_version} made no pre-label for this chip: start from an empty label"


class NextOutput(serializers.Serializer):
    task = TaskOutput(allow_null=True)
    resumed = serializers.BooleanField(help_text="true: the caller already held this task (idempotent next)")
    reason = serializers.CharField(allow_null=True, help_text="why no task was given, when task is null")


# --- annotations ---------------------------------------------------------------------------------------


@extend_schema_field(OpenApiTypes.BYTE)
class PngField(serializers.Field):
    """PNG bytes from base64 text (a ``data:image/png;base64,`` prefix is allowed) or an uploaded file."""

    default_error_messages = {
        "too_large": f"larger than the {MASK_MAX_BYTES // (1024 * 1024)} MB limit",
        "base64": "not valid base64",
        "type": "send the PNG as base64 text (JSON) or as a file (multipart)",
    }

    def to_internal_value(self, data: Any) -> bytes:
        if isinstance(data, UploadedFile):
            if data.size is not None and data.size > MASK_MAX_BYTES:
                self.fail("too_large")
            return data.read(MASK_MAX_BYTES + 1)
        if not isinstance(data, str):
            self.fail("type")
        text = data.strip()
        if text.startswith("data:"):
            text = text.partition(",")[2]
        if len(text) > B64_MAX_CHARS:
            self.fail("too_large")
        try:
            return base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            self.fail("base64")

    def to_representation(self, value: bytes) -> str:
        return base64.b64encode(bytes(value)).decode()


class LabelInput(StrictInput):
    mask_png = PngField(required=False, help_text="segmentation: chip-sized 8-bit single-channel PNG")
    boxes = serializers.JSONField(
        required=False, help_text="detection: [{x0, y0, x1, y1, class}] in chip pixels"
    )
    geojson = serializers.JSONField(
        required=False, help_text="detection: FeatureCollection of Polygons, EPSG:4326"
    )


class SubmitInput(LabelInput):
    submission_id = serializers.UUIDField(help_text="client-generated; retrying with it never duplicates")
    seconds_spent = serializers.FloatField(min_value=0, max_value=86400)
    started_from_prelabel = serializers.BooleanField(
        default=True, help_text="false when the annotator discarded the offered pre-label"
    )


class EditInput(LabelInput):
    version = serializers.IntegerField(
        min_value=1, help_text="the version being edited (optimistic concurrency)"
    )
    seconds_spent = serializers.FloatField(min_value=0, max_value=86400, default=0.0)


class SkipInput(StrictInput):
    reason = serializers.CharField(max_length=500)


class ProvenanceOutput(serializers.Serializer):
    model_version = serializers.CharField(allow_null=True)
    strategy = serializers.CharField()
    score = serializers.FloatField(allow_null=True)
    prelabel_model_version = serializers.CharField(allow_null=True)


class ReviewOutput(serializers.Serializer):
    state = serializers.ChoiceField(
        choices=Annotation.ReviewState.choices,
        help_text="of the current version: pending until a reviewer accepts or corrects it (again after an edit)",
    )
    reviewed_by = serializers.CharField(allow_null=True)
    reviewed_at = serializers.DateTimeField(allow_null=True)
    reviewed_version = serializers.IntegerField(allow_null=True)


class AnnotationOutput(serializers.ModelSerializer):
    task = serializers.IntegerField(source="lease_id")
    chip = serializers.IntegerField(source="project_chip.chip_id")
    author = serializers.CharField(source="author.username")
    updated_by = serializers.CharField(source="updated_by.username")
    mask_url = serializers.SerializerMethodField()
    provenance = serializers.SerializerMethodField()
    is_validation = serializers.BooleanField(source="project_chip.is_validation")
    review = serializers.SerializerMethodField()

    class Meta:
        model = Annotation
        fields = [
            "id", "project", "task", "chip", "author", "kind", "mask_url", "boxes", "seconds_spent", "submission_id",
            "version", "provenance", "is_validation", "created", "updated", "updated_by", "review",
        ]  # fmt: skip

    def get_mask_url(self, annotation: Annotation) -> str | None:
        return (
            f"/api/annotations/{annotation.pk}/mask.png" if annotation.kind == Annotation.Kind.MASK else None
        )

    @extend_schema_field(ReviewOutput)
    def get_review(self, annotation: Annotation) -> dict[str, Any]:
        if annotation.reviewed_version is None:
            return {"state": "pending", "reviewed_by": None, "reviewed_at": None, "reviewed_version": None}
        current = annotation.reviewed_version == annotation.version
        return {
            "state": annotation.review_state if current else Annotation.ReviewState.PENDING,
            "reviewed_by": annotation.reviewed_by.username,
            "reviewed_at": annotation.reviewed_at,
            "reviewed_version": annotation.reviewed_version,
        }

    @extend_schema_field(ProvenanceOutput)
    def get_provenance(self, annotation: Annotation) -> dict[str, Any]:
        return {
            "model_version": annotation.model_version or None,
            "strategy": annotation.strategy,
            "score": annotation.score,
            "prelabel_model_version": annotation.prelabel_model_version or None,
        }


class RevisionOutput(serializers.ModelSerializer):
    made_by = serializers.CharField(source="made_by.username")
    mask_png = PngField(read_only=True, help_text="base64 PNG of that version (masks)")

    class Meta:
        model = AnnotationRevision
        fields = ["version", "mask_png", "boxes", "seconds_spent", "made_by", "made_at", "replaced_at"]
