"""The admin, autodiscovering every app's admin module except django-leaflet's: that one imports
GeoDjango widgets, which need the system GDAL library that eolabel does not use (rasterio bundles its own)."""

from importlib import import_module

from django.apps import apps
from django.contrib.admin.apps import SimpleAdminConfig
from django.utils.module_loading import module_has_submodule

SKIPPED = {"leaflet"}


class EolabelAdminConfig(SimpleAdminConfig):
    def ready(self) -> None:
        super().ready()
        for app in apps.get_app_configs():
            if app.label not in SKIPPED and module_has_submodule(app.module, "admin"):
                import_module(f"{app.name}.admin")
