"""python manage.py make_demo_archive — write the seeded synthetic archive and ingest it with its ground truth."""

import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from eolabel.archive.errors import ArchiveError
from eolabel.archive.models import Scene
from eolabel.archive.services import ReferenceSpec, scene_ingest


class Command(BaseCommand):
    help = (
        "Write the deterministic synthetic demo archive (Sentinel-2 L1C-like scenes with cloud/shadow/snow masks, "
        "VHR scenes with vehicle boxes) and ingest it, ground truth attached as reference layers."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--out", type=Path, help="where the source files go (default: EOLABEL_DATA_DIR/demo)"
        )
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument(
            "--if-missing", action="store_true", help="do nothing when the demo is already ingested"
        )
        parser.add_argument("--small", action="store_true", help="a tiny archive (tests, quick looks)")

    def handle(self, *args, **opts) -> None:
        from fixtures.demo_archive import load_manifest, write_demo_archive

        out: Path = opts["out"] or (settings.DATA_DIR / "demo")
        manifest_path = out / "manifest.json"
        if opts["if_missing"] and manifest_path.exists():
            manifest = load_manifest(out)
            names = {Path(s.path).stem for s in manifest.scenes}
            if names and Scene.objects.filter(name__in=names).count() == len(names):
                self.stdout.write(f"demo archive already ingested ({len(names)} scenes)")
                return
        sizes = (
            {"s2_size": 128, "vhr_size": 256, "s2_scenes": 2, "vhr_sites": 1, "vhr_dates": 2}
            if opts["small"]
            else {}
        )
        self.stdout.write(f"writing the demo archive to {out} ...")
        manifest = write_demo_archive(out, seed=opts["seed"], **sizes)
        rejected = 0
        for entry in tqdm(manifest.scenes, desc="ingest demo", unit="scene", disable=None, file=sys.stderr):
            rejected += not self._ingest(out, entry)
        if rejected:
            raise CommandError(f"{rejected} demo scene(s) were rejected", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"demo archive ready: {len(manifest.scenes)} scenes"))

    def _ingest(self, out: Path, entry) -> bool:
        if entry.kind == "sentinel2":
            sensor, refs = (
                "sentinel2-l1c",
                [ReferenceSpec(path=out / entry.mask, kind="mask", name="ground-truth")],
            )
        else:
            sensor, refs = (
                "vhr-rgbn",
                [ReferenceSpec(path=out / entry.vehicles, kind="boxes", name="ground-truth")],
            )
        try:
            outcome = scene_ingest(path=out / entry.path, sensor_name=sensor, references=refs)
        except ArchiveError as exc:
            self.stderr.write(f"rejected {entry.path}: {exc}")
            return False
        self.stdout.write(f"scene {outcome.scene.pk}: {entry.name} ({sensor})")
        return True
