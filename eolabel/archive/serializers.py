"""Input and output serializers of the archive API."""

from django.urls import reverse
from rest_framework import serializers

from eolabel.archive.models import Chip, ReferenceLayer, Scene, Sensor


class SceneFilterInput(serializers.Serializer):
    sensor = serializers.SlugField(required=False)
    acquired_after = serializers.DateTimeField(required=False)
    acquired_before = serializers.DateTimeField(required=False)
    bbox = serializers.CharField(required=False, help_text="west,south,east,north in EPSG:4326")
    georeferenced = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_bbox(self, value: str) -> tuple[float, float, float, float]:
        parts = value.split(",")
        try:
            west, south, east, north = (float(p) for p in parts)
        except ValueError as exc:
            raise serializers.ValidationError("expected four numbers: west,south,east,north") from exc
        if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south < north <= 90):
            raise serializers.ValidationError("out of range: -180<=west,east<=180 and -90<=south<north<=90")
        return (west, south, east, north)

    def validate(self, attrs: dict) -> dict:
        after, before = attrs.get("acquired_after"), attrs.get("acquired_before")
        if after and before and after > before:
            raise serializers.ValidationError({"acquired_after": "must not be later than acquired_before"})
        return attrs


class ChipFilterInput(serializers.Serializer):
    size = serializers.IntegerField(required=False, min_value=16, max_value=4096)


class SensorOutput(serializers.ModelSerializer):
    presets = serializers.SerializerMethodField()

    class Meta:
        model = Sensor
        fields = ["name", "title", "bands", "presets", "default_preset", "resolution_m"]

    def get_presets(self, sensor: Sensor) -> dict:
        return sensor.ordered_presets()


class ReferenceOutput(serializers.ModelSerializer):
    class Meta:
        model = ReferenceLayer
        fields = ["id", "name", "kind", "classes", "created"]


class SceneOutput(serializers.ModelSerializer):
    sensor = serializers.SlugRelatedField(slug_field="name", read_only=True)
    bounds = serializers.SerializerMethodField()
    chip_count = serializers.IntegerField(read_only=True)
    tilejson_url = serializers.SerializerMethodField()
    tile_url = serializers.SerializerMethodField()

    class Meta:
        model = Scene
        fields = [
            "id",
            "name",
            "sensor",
            "acquired",
            "georeferenced",
            "bounds",
            "footprint",
            "width",
            "height",
            "band_count",
            "dtype",
            "chip_count",
            "status",
            "tilejson_url",
            "tile_url",
        ]

    def get_bounds(self, scene: Scene) -> list[float] | None:
        return list(scene.bounds) if scene.bounds else None

    def get_tilejson_url(self, scene: Scene) -> str:
        return reverse("tiles:tilejson", kwargs={"scene_id": scene.pk})

    def get_tile_url(self, scene: Scene) -> str:
        return f"/tiles/{scene.pk}/{{z}}/{{x}}/{{y}}.png"


class SceneDetailOutput(SceneOutput):
    references = ReferenceOutput(many=True, read_only=True)
    presets = serializers.SerializerMethodField()
    chip_sizes = serializers.SerializerMethodField()

    class Meta(SceneOutput.Meta):
        fields = SceneOutput.Meta.fields + [
            "crs",
            "transform",
            "nodata",
            "source_name",
            "checksum",
            "properties",
            "references",
            "presets",
            "chip_sizes",
            "created",
        ]

    def get_presets(self, scene: Scene) -> dict:
        return {"default": scene.sensor.default_preset, "presets": scene.sensor.ordered_presets()}

    def get_chip_sizes(self, scene: Scene) -> list[int]:
        return sorted(set(scene.chips.values_list("size", flat=True)))


class ChipOutput(serializers.ModelSerializer):
    bounds = serializers.SerializerMethodField()

    class Meta:
        model = Chip
        fields = ["id", "scene", "size", "col_off", "row_off", "width", "height", "bounds"]

    def get_bounds(self, chip: Chip) -> list[float] | None:
        return None if chip.west is None else [chip.west, chip.south, chip.east, chip.north]
