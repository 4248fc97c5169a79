"""The archive: sensors (band layouts), scenes (one COG each) and the chips they are cut into."""

from django.db import models
from django.db.models import Q


class Sensor(models.Model):
    """A band layout with display presets. ``bands`` is a list of
    ``{"name", "common_name", "wavelength_nm", "resolution_m"}`` in file order."""

    name = models.SlugField(max_length=64, unique=True)
    title = models.CharField(max_length=200, blank=True)
    bands = models.JSONField()
    presets = models.JSONField(default=dict, blank=True)
    default_preset = models.CharField(max_length=64, blank=True)
    match = models.JSONField(
        default=dict,
        blank=True,
        help_text='recognition hints: {"platforms": [...], "dtypes": [...], "min_res_m": x, "max_res_m": y}',
    )
    resolution_m = models.FloatField(null=True, blank=True, help_text="nominal ground sampling distance")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def band_names(self) -> list[str]:
        return [band["name"] for band in self.bands]

    def ordered_presets(self) -> dict:
        """Presets in display order: the default first, then by name. (PostgreSQL's jsonb does not keep the
        order in which keys were written, so the order is defined here rather than by storage.)"""
        names = sorted(self.presets, key=lambda name: (name != self.default_preset, name))
        return {name: self.presets[name] for name in names}


class Scene(models.Model):
    class Status(models.TextChoices):
        READY = "ready", "ready"
        CORRUPT = "corrupt", "corrupt (checksum mismatch)"
        MISSING = "missing", "missing file"

    sensor = models.ForeignKey(Sensor, on_delete=models.PROTECT, related_name="scenes")
    name = models.CharField(max_length=255)
    acquired = models.DateTimeField(null=True, blank=True, db_index=True)
    georeferenced = models.BooleanField(default=True)
    crs = models.CharField(
        max_length=512, blank=True, help_text="EPSG:xxxx or WKT; empty when not georeferenced"
    )
    transform = models.JSONField(null=True, blank=True, help_text="affine a,b,c,d,e,f in the scene CRS")
    # Bounds in EPSG:4326, indexed for bbox filters; null for images without a georeference.
    west = models.FloatField(null=True, blank=True, db_index=True)
    south = models.FloatField(null=True, blank=True, db_index=True)
    east = models.FloatField(null=True, blank=True, db_index=True)
    north = models.FloatField(null=True, blank=True, db_index=True)
    footprint = models.JSONField(null=True, blank=True, help_text="GeoJSON geometry in EPSG:4326")
    asset_path = models.CharField(
        max_length=1024, unique=True, help_text="COG path relative to the archive root"
    )
    source_name = models.CharField(max_length=1024, blank=True, help_text="file name it was ingested from")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    band_count = models.PositiveSmallIntegerField()
    dtype = models.CharField(max_length=16)
    nodata = models.FloatField(null=True, blank=True)
    checksum = models.CharField(max_length=64, unique=True, help_text="sha256 of the ingested source file")
    cog_checksum = models.CharField(max_length=64, help_text="sha256 of the stored COG")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    properties = models.JSONField(default=dict, blank=True, help_text="STAC properties and file tags")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-acquired", "id"]
        indexes = [models.Index(fields=["sensor", "acquired"])]

    def __str__(self) -> str:
        return self.name

    @property
    def bounds(self) -> tuple[float, float, float, float] | None:
        if self.west is None:
            return None
        return (self.west, self.south, self.east, self.north)


class Chip(models.Model):
    """A fixed-size pixel window of a scene: the unit that is ranked and labelled.
    Edge chips are clipped to the scene, so ``width``/``height`` may be below ``size``."""

    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="chips")
    size = models.PositiveIntegerField()
    col_off = models.PositiveIntegerField()
    row_off = models.PositiveIntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    west = models.FloatField(null=True, blank=True)
    south = models.FloatField(null=True, blank=True)
    east = models.FloatField(null=True, blank=True)
    north = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["scene", "size", "row_off", "col_off"]
        constraints = [
            models.UniqueConstraint(
                fields=["scene", "size", "row_off", "col_off"], name="chip_unique_window"
            ),
            models.CheckConstraint(condition=Q(width__gt=0) & Q(height__gt=0), name="chip_not_empty"),
        ]

    def __str__(self) -> str:
        return f"{self.scene_id}:{self.size}@{self.col_off},{self.row_off}"

    @property
    def window(self) -> tuple[int, int, int, int]:
        """(col_off, row_off, width, height)"""
        return (self.col_off, self.row_off, self.width, self.height)


class ReferenceLayer(models.Model):
    """Labels made elsewhere and attached to a scene (e.g. a MAJA, s2cloudless or human cloud mask).
    Evaluation uses them; annotators never see them as their own work."""

    class Kind(models.TextChoices):
        MASK = "mask", "class mask (GeoTIFF, same grid as the scene)"
        BOXES = "boxes", "boxes (GeoJSON)"

    scene = models.ForeignKey(Scene, on_delete=models.CASCADE, related_name="references")
    name = models.SlugField(max_length=64, help_text="e.g. s2cloudless, maja, ground-truth")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    asset_path = models.CharField(max_length=1024, help_text="path relative to the archive root")
    classes = models.JSONField(default=dict, blank=True, help_text='{"value": "class name"}')
    checksum = models.CharField(max_length=64)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["scene", "name"]
        constraints = [models.UniqueConstraint(fields=["scene", "name"], name="reference_unique_name")]

    def __str__(self) -> str:
        return f"{self.scene_id}:{self.name}"
