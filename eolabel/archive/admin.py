from django.contrib import admin

from eolabel.archive.models import Chip, ReferenceLayer, Scene, Sensor


@admin.register(Sensor)
class SensorAdmin(admin.ModelAdmin):
    list_display = ("name", "title", "resolution_m", "default_preset")
    search_fields = ("name", "title")


@admin.register(Scene)
class SceneAdmin(admin.ModelAdmin):
    list_display = ("id", "name", "sensor", "acquired", "width", "height", "georeferenced", "status")
    list_filter = ("sensor", "georeferenced", "status")
    search_fields = ("name", "source_name", "checksum")
    readonly_fields = [f.name for f in Scene._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False  # scenes come in through `manage.py ingest`, which validates and writes the COG


@admin.register(Chip)
class ChipAdmin(admin.ModelAdmin):
    list_display = ("id", "scene", "size", "col_off", "row_off", "width", "height")
    list_filter = ("size",)
    raw_id_fields = ("scene",)


@admin.register(ReferenceLayer)
class ReferenceLayerAdmin(admin.ModelAdmin):
    list_display = ("id", "scene", "name", "kind")
    raw_id_fields = ("scene",)
