from django.db import migrations

from eolabel.archive.sensors import BUILTIN_SENSORS


def add_builtin(apps, schema_editor):
    Sensor = apps.get_model("archive", "Sensor")
    for definition in BUILTIN_SENSORS:
        Sensor.objects.update_or_create(name=definition["name"], defaults=definition)


def remove_builtin(apps, schema_editor):
    Sensor = apps.get_model("archive", "Sensor")
    Sensor.objects.filter(name__in=[d["name"] for d in BUILTIN_SENSORS], scenes__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("archive", "0001_initial")]
    operations = [migrations.RunPython(add_builtin, remove_builtin)]
