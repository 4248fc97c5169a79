"""Tile services: one scene fetch, parameter validation, ETag, then the rio-tiler read and render.

The request gives a scene id, never a path: the file is always ``archive_resolve(scene.asset_path)``, and the
scene is only ever read through ``scenes_visible_to``: a scene the caller may not see is "not found"."""

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser

from eolabel.archive.errors import PathOutsideArchive
from eolabel.archive.models import Scene
from eolabel.archive.paths import archive_resolve
from eolabel.archive.selectors import scenes_visible_to
from eolabel.tiles import render
from eolabel.tiles.errors import SceneNotFound
from eolabel.tiles.params import (
    SensorDisplay,
    TileAddress,
    TileParams,
    sensor_display,
    tile_address_parse,
    tile_params_parse,
)

# Bump when the rendering changes (stretch, encoder options) so that browsers drop cached tiles.
RENDER_VERSION = "1"
TILEJSON_VERSION = "3.0.0"


@dataclass(frozen=True)
class PreparedTile:
    """A validated tile request, ready to be answered from cache (ETag) or rendered."""

    scene: Scene
    address: TileAddress
    params: TileParams
    etag: str


def scene_for_tiles(*, scene_id: int, user: AbstractBaseUser | AnonymousUser) -> Scene:
    """The one database query of a tile request: the scene, if ``user`` may see it (for non-staff users an
    indexed ``EXISTS`` on their memberships in the same query), with its sensor."""
    scene = scenes_visible_to(user=user).select_related("sensor").filter(pk=scene_id).first()
    if scene is None:
        raise SceneNotFound(f"scene {scene_id} does not exist")
    if scene.status != Scene.Status.READY:
        raise SceneNotFound(f"scene {scene_id} is not available ({scene.status})")
    return scene


def scene_display(*, scene: Scene) -> SensorDisplay:
    sensor = scene.sensor
    return sensor_display(
        sensor_id=sensor.pk,
        name=sensor.name,
        bands=sensor.band_names,
        presets=sensor.presets,
        default_preset=sensor.default_preset,
    )


def tile_params_for(*, scene: Scene, query: Mapping[str, Sequence[str]]) -> TileParams:
    return tile_params_parse(query=query, sensor=scene_display(scene=scene), band_count=scene.band_count)


def tile_prepare(
    *,
    scene_id: int,
    user: AbstractBaseUser | AnonymousUser,
    z: int,
    x: int,
    y: int,
    fmt: str,
    query: Mapping[str, Sequence[str]],
) -> PreparedTile:
    scene = scene_for_tiles(scene_id=scene_id, user=user)
    address = tile_address_parse(z=z, x=x, y=y, fmt=fmt)
    params = tile_params_for(scene=scene, query=query)
    return PreparedTile(
        scene=scene,
        address=address,
        params=params,
        etag=tile_etag(scene=scene, address=address, params=params),
    )


def tile_etag(*, scene: Scene, address: TileAddress, params: TileParams) -> str:
    """A strong ETag from the stored file's checksum, the resolved display, the tile and the format."""
    key = "|".join(
        (
            RENDER_VERSION,
            scene.cog_checksum,
            params.cache_key(),
            f"{address.z}/{address.x}/{address.y}",
            address.fmt,
        )
    )
    return '"' + hashlib.blake2b(key.encode(), digest_size=16).hexdigest() + '"'


def tile_image(*, tile: PreparedTile) -> bytes:
    return render.tile_render(
        path=_scene_path(tile.scene),
        georeferenced=tile.scene.georeferenced,
        address=tile.address,
        params=tile.params,
    )


def tilejson_build(*, scene: Scene, params: TileParams, tile_url_template: str) -> dict[str, Any]:
    """TileJSON 3.0.0 for a scene, plus ``crs`` ("EPSG:3857" or "pixel"), ``scheme`` and ``tilesize``;
    images without georeference also get ``width`` and ``height`` (see docs/tiles.md)."""
    grid = render.scene_grid(path=_scene_path(scene), georeferenced=scene.georeferenced)
    query = params.query_string()
    doc: dict[str, Any] = {
        "tilejson": TILEJSON_VERSION,
        "name": scene.name,
        "tiles": [f"{tile_url_template}?{query}" if query else tile_url_template],
        "minzoom": grid.minzoom,
        "maxzoom": grid.maxzoom,
        "bounds": list(grid.bounds),
        "scheme": "xyz",
        "tilesize": params.tilesize,
    }
    left, bottom, right, top = grid.bounds
    if scene.georeferenced:
        doc["center"] = [(left + right) / 2, (bottom + top) / 2, grid.minzoom]
        doc["crs"] = "EPSG:3857"
    else:
        doc["center"] = [grid.width / 2, grid.height / 2, grid.minzoom]
        doc["crs"] = "pixel"
        doc["width"] = grid.width
        doc["height"] = grid.height
    return doc


def _scene_path(scene: Scene) -> Path:
    try:
        return archive_resolve(scene.asset_path)
    except PathOutsideArchive as exc:
        raise SceneNotFound(f"scene {scene.pk}: {exc}") from exc
