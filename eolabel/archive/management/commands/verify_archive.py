"""python manage.py verify_archive [--background] — check every scene's COG against its checksum."""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.archive.models import Scene
from eolabel.archive.services import scene_verify
from eolabel.archive.tasks import scene_verify_task


class Command(BaseCommand):
    help = "Re-hash each scene's stored COG; exits 1 if any is missing or changed. --background queues it instead."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--background", action="store_true", help="queue one task per scene for the worker"
        )

    def handle(self, *args, **opts) -> None:
        ids = list(Scene.objects.values_list("pk", flat=True))
        if opts["background"]:
            for scene_id in ids:
                scene_verify_task.delay(scene_id)
            self.stdout.write(f"queued {len(ids)} scene check(s)")
            return
        bad = [(i, s) for i in ids if (s := scene_verify(scene_id=i)) != Scene.Status.READY]
        for scene_id, status in bad:
            self.stderr.write(f"scene {scene_id}: {status}")
        if bad:
            raise CommandError(f"{len(bad)} of {len(ids)} scene(s) are not intact", returncode=1)
        self.stdout.write(f"{len(ids)} scene(s) intact")
