"""python manage.py register_sensor DEFINITION.json — a new band layout (bands, wavelengths, presets)."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.archive.errors import SensorDefinitionError
from eolabel.archive.services import sensor_register

EXAMPLE = """{
  "name": "spot7-ms",
  "title": "SPOT 7 multispectral",
  "resolution_m": 6.0,
  "bands": [{"name": "B0", "common_name": "blue", "wavelength_nm": 485, "resolution_m": 6.0}, ...],
  "presets": {"true-colour": {"bands": ["B2", "B1", "B0"], "rescale": [[0, 2000], [0, 2000], [0, 2000]]}},
  "default_preset": "true-colour",
  "match": {"platforms": ["spot-7"], "dtypes": ["uint16"]}
}"""


class Command(BaseCommand):
    help = "Register a sensor from a JSON definition. Example:\n" + EXAMPLE

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("definition", type=Path)

    def handle(self, *args, **opts) -> None:
        path: Path = opts["definition"]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise CommandError(f"{path}: not a readable JSON file ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("bands"), list):
            raise CommandError(f"{path}: expected an object with a 'bands' list")
        known = {"name", "title", "bands", "presets", "default_preset", "resolution_m", "match"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise CommandError(f"{path}: unknown field(s) {', '.join(unknown)}")
        try:
            sensor = sensor_register(
                name=str(data.get("name", "")),
                bands=data["bands"],
                presets=data.get("presets"),
                default_preset=str(data.get("default_preset", "")),
                title=str(data.get("title", "")),
                resolution_m=data.get("resolution_m"),
                match=data.get("match"),
            )
        except (SensorDefinitionError, TypeError, ValueError) as exc:
            raise CommandError(f"{path}: {exc}") from exc
        self.stdout.write(
            f"sensor {sensor.name}: {len(sensor.bands)} bands, presets {', '.join(sensor.presets)}"
        )
