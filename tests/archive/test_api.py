"""Archive REST API: authentication, filters (sensor, dates, bbox), detail, chips, schema and docs."""

from datetime import UTC, datetime

import pytest

from eolabel.archive.models import Chip, Scene, Sensor

pytestmark = pytest.mark.django_db


def make_scene(
    name: str, *, sensor: str = "sentinel2-l1c", acquired=None, bounds=(1.0, 43.0, 1.2, 43.2), **kw
) -> Scene:
    west, south, east, north = bounds if bounds else (None,) * 4
    scene = Scene.objects.create(
        sensor=Sensor.objects.get(name=sensor),
        name=name,
        acquired=acquired,
        georeferenced=bounds is not None,
        crs="EPSG:32631" if bounds else "",
        west=west,
        south=south,
        east=east,
        north=north,
        asset_path=f"scenes/{name}.tif",
        width=512,
        height=512,
        band_count=13,
        dtype="uint16",
        checksum=name.ljust(64, "0"),
        cog_checksum=name.ljust(64, "1"),
        **kw,
    )
    Chip.objects.create(scene=scene, size=256, col_off=0, row_off=0, width=256, height=256)
    return scene


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(s["name"] for s in response.json()["results"])


def test_anonymous_users_are_refused(client):
    assert client.get("/api/scenes/").status_code == 403


def test_list_and_filters(api):
    make_scene("toulouse", acquired=datetime(2024, 6, 1, tzinfo=UTC))
    make_scene("alps", acquired=datetime(2024, 8, 1, tzinfo=UTC), bounds=(6.0, 45.0, 6.5, 45.5))
    make_scene("fiji", acquired=datetime(2024, 7, 1, tzinfo=UTC), bounds=(179.5, -17.0, -179.5, -16.0))
    make_scene(
        "vhr", sensor="vhr-rgbn", acquired=datetime(2024, 7, 1, tzinfo=UTC), bounds=(1.1, 43.1, 1.11, 43.11)
    )
    make_scene("pixels", sensor="landsat-tm-etm-6band", bounds=None)

    assert names(api.get("/api/scenes/")) == ["alps", "fiji", "pixels", "toulouse", "vhr"]
    assert names(api.get("/api/scenes/?sensor=vhr-rgbn")) == ["vhr"]
    assert names(api.get("/api/scenes/?acquired_after=2024-06-15T00:00:00Z")) == ["alps", "fiji", "vhr"]
    assert names(
        api.get("/api/scenes/?acquired_after=2024-06-15T00:00:00Z&acquired_before=2024-07-15T00:00:00Z")
    ) == [
        "fiji",
        "vhr",
    ]
    assert names(api.get("/api/scenes/?bbox=1.05,43.05,1.5,43.5")) == ["toulouse", "vhr"]
    assert names(api.get("/api/scenes/?bbox=-179.9,-16.5,-179.8,-16.4")) == ["fiji"]
    assert names(api.get("/api/scenes/?bbox=179.6,-16.5,179.7,-16.4")) == ["fiji"]
    assert names(api.get("/api/scenes/?bbox=10,10,11,11")) == []
    assert names(api.get("/api/scenes/?georeferenced=false")) == ["pixels"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("bbox=1,2,3", "bbox"),
        ("bbox=a,b,c,d", "bbox"),
        ("bbox=0,50,1,40", "bbox"),
        ("acquired_after=yesterday", "acquired_after"),
        ("acquired_after=2024-02-01T00:00:00Z&acquired_before=2024-01-01T00:00:00Z", "acquired_after"),
        ("sensor=not a slug", "sensor"),
    ],
)
def test_bad_filters_are_400_naming_the_field(api, query, field):
    response = api.get(f"/api/scenes/?{query}")
    assert response.status_code == 400
    assert response.json()["detail"].startswith(f"{field}:")


def test_detail_and_chips(api):
    scene = make_scene("toulouse", acquired=datetime(2024, 6, 1, tzinfo=UTC))
    body = api.get(f"/api/scenes/{scene.pk}/").json()
    assert body["sensor"] == "sentinel2-l1c" and body["chip_count"] == 1 and body["chip_sizes"] == [256]
    assert body["presets"]["default"] == "true-colour"
    assert body["presets"]["presets"]["true-colour"]["bands"] == ["B04", "B03", "B02"]
    assert list(body["presets"]["presets"]) == ["true-colour", "cirrus", "false-colour", "snow-cloud", "swir"]
    assert body["tilejson_url"] == f"/tiles/{scene.pk}/tilejson.json"
    chips = api.get(f"/api/scenes/{scene.pk}/chips/?size=256").json()
    assert chips["count"] == 1 and chips["results"][0]["width"] == 256
    assert api.get(f"/api/scenes/{scene.pk}/chips/?size=3").status_code == 400
    assert api.get("/api/scenes/999999/").status_code == 404


def test_sensors_are_listed(api):
    body = api.get("/api/sensors/").json()
    s2 = next(s for s in body if s["name"] == "sentinel2-l1c")
    assert [b["name"] for b in s2["bands"]][:3] == ["B01", "B02", "B03"] and len(s2["bands"]) == 13


def test_schema_and_local_docs(api):
    schema = api.get("/api/schema/")
    assert schema.status_code == 200 and b"/api/scenes/" in schema.content
    docs = api.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "cdn" not in docs.lower() and "unpkg" not in docs
