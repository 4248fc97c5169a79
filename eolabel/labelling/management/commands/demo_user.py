"""Create (or keep) the demo login, give it the two demo projects, and print it on the console."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from eolabel.archive.models import Scene
from eolabel.labelling.classes import DEMO_CLOUD_CLASSES, DEMO_VEHICLE_CLASSES
from eolabel.labelling.models import Project
from eolabel.labelling.services import project_create

USERNAME = "demo"
DEMO_PROJECTS = (
    # name, task, classes, sensor, chip size: small enough chips that the first model comes after a few minutes
    ("Demo clouds (Sentinel-2)", "cloud-segmentation", DEMO_CLOUD_CLASSES, "sentinel2-l1c", 128),
    ("Demo vehicles (VHR)", "vehicle-detection", DEMO_VEHICLE_CLASSES, "vhr-rgbn", 128),
)


class Command(BaseCommand):
    help = (
        "Create the demo login (user 'demo', password kept in EOLABEL_DATA_DIR/demo-login.txt), make it the "
        "manager of a cloud and a vehicle project over the demo archive (when those scenes exist), print it."
    )

    def handle(self, *args, **opts) -> None:
        secret_file = settings.DATA_DIR / "demo-login.txt"
        password = secret_file.read_text().strip() if secret_file.exists() else secrets.token_urlsafe(12)
        user, _ = get_user_model().objects.get_or_create(username=USERNAME, defaults={"is_staff": True})
        user.is_staff = True
        user.is_superuser = True
        user.set_password(password)
        user.save()
        secret_file.write_text(password + "\n")
        secret_file.chmod(0o600)
        for name, task, classes, sensor, chip_size in DEMO_PROJECTS:
            if Project.objects.filter(name=name).exists():
                continue
            scenes = list(
                Scene.objects.filter(sensor__name=sensor).order_by("pk").values_list("pk", flat=True)
            )
            if not scenes:
                continue
            project = project_create(
                name=name, task_type=task, classes=classes, sensor_names=[sensor], scene_ids=scenes,
                created_by=user, chip_size=chip_size, retrain_every_n=8, retrain_min_interval_minutes=2,
                validation_fraction=0.2,
            )  # fmt: skip
            self.stdout.write(f"project {project.pk}: {name}, {project.project_chips.count()} chips")
        self.stdout.write(self.style.SUCCESS(f"Demo login: user {USERNAME!r}, password {password!r}"))
