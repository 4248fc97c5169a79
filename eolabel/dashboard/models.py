"""Dashboard rows: the areas of interest that vehicle counts are summed over."""

from django.conf import settings
from django.db import models


class AreaOfInterest(models.Model):
    """A named polygon of a project, GeoJSON ``Polygon`` geometry in EPSG:4326 (drawn on the map by a manager)."""

    project = models.ForeignKey(
        "labelling.Project", on_delete=models.CASCADE, related_name="areas_of_interest"
    )
    name = models.CharField(max_length=200)
    geometry = models.JSONField(help_text="GeoJSON Polygon in EPSG:4326")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project", "name", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "name"], name="areaofinterest_unique_name")]

    def __str__(self) -> str:
        return f"{self.project_id}:{self.name}"
