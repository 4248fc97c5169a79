"""Tile parameters: presets and bands resolved to band indexes and stretches, normalised query, errors."""

import pytest

from eolabel.tiles.errors import InvalidParameter, SensorMisconfigured
from eolabel.tiles.params import (
    Display,
    sensor_display,
    sensor_display_parse,
    tile_address_parse,
    tile_params_parse,
)

BANDS = ["B02", "B03", "B04", "B08"]
PRESETS = {
    "true-colour": {"bands": ["B04", "B03", "B02"], "rescale": [[0, 3000]] * 3},
    "nir": {"bands": ["B08"], "rescale": [[0, 5000]]},
    "broken": {"bands": ["B04", "B99", "B02"], "rescale": [[0, 1]] * 3},
}


@pytest.fixture
def sensor():
    return sensor_display_parse(name="s2", bands=BANDS, presets=PRESETS, default_preset="true-colour")


def parse(sensor, band_count: int = 4, **query: str | list[str]):
    lists = {key: value if isinstance(value, list) else [value] for key, value in query.items()}
    return tile_params_parse(query=lists, sensor=sensor, band_count=band_count)


def test_default_preset_is_resolved_to_indexes_and_stretch(sensor):
    params = parse(sensor)

    assert params.display == Display(indexes=(3, 2, 1), rescale=((0.0, 3000.0),) * 3)
    assert params.tilesize == 256
    assert params.query_string() == "preset=true-colour"


def test_bands_with_one_rescale_equal_the_preset(sensor):
    by_bands = parse(sensor, bands="B04, B03,B02", rescale="0,3000")

    assert by_bands.display == parse(sensor, preset="true-colour").display
    assert by_bands.cache_key() == parse(sensor, preset="true-colour").cache_key()
    assert by_bands.query_string() == "bands=B04,B03,B02&rescale=0,3000"


def test_rescale_per_band_and_preset_override(sensor):
    per_band = parse(sensor, bands="B08,B04,B03", rescale=["0,5000", "0,3000", "10.5,2000"], tilesize="512")
    assert per_band.display.rescale == ((0, 5000), (0, 3000), (10.5, 2000))
    assert (
        per_band.query_string()
        == "bands=B08,B04,B03&rescale=0,5000&rescale=0,3000&rescale=10.5,2000&tilesize=512"
    )

    override = parse(sensor, preset="nir", rescale="100,900")
    assert override.display == Display(indexes=(4,), rescale=((100.0, 900.0),))
    assert override.query_string() == "preset=nir&rescale=100,900"


@pytest.mark.parametrize(
    ("query", "parameter", "fragment"),
    [
        ({"preset": "nope"}, "preset", "'nope' is not a preset of sensor s2"),
        ({"preset": ["nir", "nir"]}, "preset", "more than once"),
        ({"preset": "nir", "bands": "B08", "rescale": "0,1"}, "preset", "either preset or bands"),
        ({"bands": "B04,B03", "rescale": "0,1"}, "bands", "1 or 3 band names, not 2"),
        ({"bands": "B04,B03,B05", "rescale": "0,1"}, "bands", "'B05' is not a band of sensor s2"),
        ({"bands": "B04,,B02", "rescale": "0,1"}, "bands", "'' is not a band"),
        ({"bands": "B04"}, "rescale", "required with bands"),
        ({"bands": "B04", "rescale": "1,2,3"}, "rescale", "not 'min,max'"),
        ({"bands": "B04", "rescale": "1,x"}, "rescale", "two numbers"),
        ({"bands": "B04", "rescale": "nan,3"}, "rescale", "finite"),
        ({"bands": "B04", "rescale": "5,5"}, "rescale", "below max"),
        ({"bands": "B04,B03,B02", "rescale": ["0,1", "0,1"]}, "rescale", "not 2 times"),
        ({"preset": "nir", "rescale": ["0,1", "0,1"]}, "rescale", "once per band (1)"),
        ({"tilesize": "1024"}, "tilesize", "256, 512"),
    ],
)
def test_bad_parameters_name_themselves(sensor, query, parameter, fragment):
    with pytest.raises(InvalidParameter) as caught:
        parse(sensor, **query)

    assert caught.value.parameter == parameter
    assert str(caught.value).startswith(f"{parameter}: ")
    assert fragment in str(caught.value)


def test_band_beyond_the_scene_is_refused(sensor):
    with pytest.raises(InvalidParameter, match="^bands: needs band 4 but the scene has 3 band"):
        parse(sensor, band_count=3, bands="B08", rescale="0,1")
    with pytest.raises(InvalidParameter, match="^preset: needs band 4"):
        parse(sensor, band_count=3, preset="nir")


def test_broken_stored_preset_is_a_server_error_not_a_client_one(sensor):
    with pytest.raises(SensorMisconfigured, match="preset 'broken' is invalid"):
        parse(sensor, preset="broken")


def test_sensor_without_default_preset_needs_preset_or_bands():
    bare = sensor_display_parse(name="raw", bands=BANDS, presets={}, default_preset="")

    with pytest.raises(InvalidParameter, match="^preset: sensor raw has no default preset"):
        parse(bare)
    assert parse(bare, bands="B08", rescale="0,9").display.indexes == (4,)


def test_sensor_display_is_cached_until_the_sensor_changes():
    first = sensor_display(sensor_id=1, name="s2", bands=BANDS, presets=PRESETS, default_preset="true-colour")
    again = sensor_display(
        sensor_id=1, name="s2", bands=BANDS, presets=dict(PRESETS), default_preset="true-colour"
    )
    edited = {**PRESETS, "nir": {"bands": ["B08"], "rescale": [[0, 100]]}}
    changed = sensor_display(
        sensor_id=1, name="s2", bands=BANDS, presets=edited, default_preset="true-colour"
    )

    assert again is first
    assert changed is not first and changed.presets["nir"] == Display(indexes=(4,), rescale=((0.0, 100.0),))


@pytest.mark.parametrize(
    ("z", "fmt", "parameter"), [(25, "png", "z"), (3, "jpg", "format"), (3, "PNG", "format")]
)
def test_tile_address_is_checked(z, fmt, parameter):
    with pytest.raises(InvalidParameter) as caught:
        tile_address_parse(z=z, x=0, y=0, fmt=fmt)
    assert caught.value.parameter == parameter
    assert tile_address_parse(z=24, x=1, y=2, fmt="webp").media_type == "image/webp"
