"""register_sensor: a JSON band layout becomes a sensor that ingest recognises; bad definitions change nothing."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from eolabel.archive import services
from eolabel.archive.models import Sensor
from fixtures.tiny import make_geotiff

pytestmark = pytest.mark.django_db

SPOT = {
    "name": "spot7-ms",
    "title": "SPOT 7 multispectral",
    "resolution_m": 6.0,
    "bands": [
        {"name": "B0", "common_name": "blue", "wavelength_nm": 485, "resolution_m": 6.0},
        {"name": "B1", "common_name": "green", "wavelength_nm": 560, "resolution_m": 6.0},
        {"name": "B2", "common_name": "red", "wavelength_nm": 660, "resolution_m": 6.0},
        {"name": "B3", "common_name": "nir", "wavelength_nm": 825, "resolution_m": 6.0},
        {"name": "PAN", "common_name": "pan", "wavelength_nm": 620, "resolution_m": 6.0},
    ],
    "presets": {"true-colour": {"bands": ["B2", "B1", "B0"], "rescale": [[0, 2000]] * 3}},
    "default_preset": "true-colour",
    "match": {"platforms": ["spot-7"], "dtypes": ["uint16"]},
}


def test_registered_sensor_is_recognised_at_ingest(archive_root, tmp_path, capsys):
    definition = tmp_path / "spot.json"
    definition.write_text(json.dumps(SPOT))
    call_command("register_sensor", str(definition))
    assert "sensor spot7-ms: 5 bands" in capsys.readouterr().out

    image = make_geotiff(
        tmp_path / "spot.tif",
        width=32,
        height=32,
        bands=5,
        dtype="uint16",
        descriptions=["B0", "B1", "B2", "B3", "PAN"],
    )
    assert services.scene_ingest(path=image).scene.sensor.name == "spot7-ms"
    assert Sensor.objects.get(name="spot7-ms").bands[4]["wavelength_nm"] == 620.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"name": "Bad Name"}, "sensor name"),
        ({"name": "sentinel2-l1c"}, "already exists"),
        ({"bands": [{"name": "B0"}, {"name": "B0"}]}, "unique band names"),
        ({"bands": [{"name": "B0", "wavelength_nm": -3}]}, "wavelength_nm must be a positive number"),
        ({"presets": {"x": {"bands": ["B9", "B1", "B0"]}}}, "preset 'x'"),
        ({"presets": {"x": {"bands": ["B2", "B1", "B0"], "rescale": [[5, 1]] * 3}}}, "rescale"),
        ({"default_preset": "nope"}, "default preset"),
        ({"colour": "red"}, "unknown field"),
    ],
)
def test_bad_definitions_are_refused_and_change_nothing(tmp_path, change, message):
    definition = tmp_path / "bad.json"
    definition.write_text(json.dumps({**SPOT, **change}))
    before = list(Sensor.objects.values_list("name", "bands"))
    with pytest.raises(CommandError, match=message):
        call_command("register_sensor", str(definition))
    assert list(Sensor.objects.values_list("name", "bands")) == before
