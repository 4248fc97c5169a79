"""Tile benchmark: the tile endpoint over real HTTP next to a direct rio-tiler read + render of the same tiles.

Everything lives in a throwaway place: a test database (Django's ``create_test_db``: in-memory for SQLite,
``test_<name>`` for PostgreSQL) and a temporary archive root. The server is Django's threaded WSGI server
(the one behind ``runserver`` and ``make run``) on a free 127.0.0.1 port, in a thread of this process, so it
sees the throwaway database without a second process to configure. It is a slower server than gunicorn,
so the ratio it gives is on the pessimistic side. Requests are sequential."""

import http.client
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import morecantile
import numpy as np
import rasterio
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connections
from django.test import Client
from django.test.utils import override_settings
from rasterio.transform import from_origin
from rio_tiler.io import Reader
from rio_tiler.profiles import img_profiles

from eolabel.archive.ingest.raster import gdal_env
from eolabel.archive.models import Scene
from eolabel.archive.paths import archive_resolve
from eolabel.archive.services import scene_ingest
from eolabel.labelling.models import Membership, Project, Role, TaskType
from eolabel.tiles import services
from eolabel.tiles.params import TileParams
from ml.sensors import SENTINEL2_BANDS

SENSOR = "sentinel2-l1c"
PRESET = "true-colour"
SCENE_SIZE = 2048
SCENE_CRS = "EPSG:32631"  # UTM 31N, 10 m pixels, south-west of Toulouse
SCENE_ORIGIN = (360_000.0, 4_840_000.0)
TARGET_RATIO = 1.3

Say = Callable[[str], None]


@dataclass(frozen=True)
class Timing:
    name: str
    seconds: tuple[float, ...]

    @property
    def p50_ms(self) -> float:
        return float(np.percentile(self.seconds, 50) * 1000)

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.seconds, 95) * 1000)

    @property
    def tiles_per_s(self) -> float:
        return len(self.seconds) / sum(self.seconds)


@dataclass(frozen=True)
class BenchScene:
    scene: Scene
    path: Path
    params: TileParams
    tiles: tuple[morecantile.Tile, ...]


def bench_cog_write(path: Path, *, size: int = SCENE_SIZE, seed: int = 0) -> Path:
    """A Sentinel-2-like 13-band uint16 COG: smooth fields plus pixel noise, so it compresses like imagery."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[0:size, 0:size].astype(np.float32) / size
    data = np.empty((len(SENTINEL2_BANDS), size, size), dtype=np.uint16)
    for band in range(len(data)):
        field = np.zeros((size, size), dtype=np.float32)
        for _ in range(4):
            fx, fy, phase = rng.uniform(1, 12), rng.uniform(1, 12), rng.uniform(0, 2 * np.pi)
            field += np.sin(2 * np.pi * (fx * cols + fy * rows) + phase)
        noise = rng.normal(0, 60, (size, size)).astype(np.float32)
        data[band] = np.clip(1500 + 350 * field + noise, 1, 10_000).astype(np.uint16)
    profile = {
        "driver": "COG",
        "width": size,
        "height": size,
        "count": len(data),
        "dtype": "uint16",
        "crs": SCENE_CRS,
        "transform": from_origin(*SCENE_ORIGIN, 10.0, 10.0),
        "compress": "deflate",
        "predictor": 2,
        "blocksize": 256,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        dst.descriptions = tuple(band["name"] for band in SENTINEL2_BANDS)
    return path


def bench_tiles_pick(*, path: Path, per_zoom: int) -> tuple[morecantile.Tile, ...]:
    """Up to ``per_zoom`` tiles per zoom from the scene's minzoom to maxzoom, spread evenly over the
    tiles that touch the scene (edge tiles with transparent parts included)."""
    picked: list[morecantile.Tile] = []
    with gdal_env(), Reader(str(path)) as src:
        west, south, east, north = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        for zoom in range(src.minzoom, src.maxzoom + 1):
            candidates = [t for t in src.tms.tiles(west, south, east, north, [zoom]) if src.tile_exists(*t)]
            step = max(1, len(candidates) // per_zoom)
            picked.extend(candidates[::step][:per_zoom])
    return tuple(picked)


def direct_tile(*, path: Path, tile: morecantile.Tile, params: TileParams) -> bytes:
    """The floor: open, read the tile, stretch, encode PNG — what rio-tiler needs and nothing else.
    The caller holds the GDAL environment open for the whole run."""
    with Reader(str(path)) as src:
        image = src.tile(tile.x, tile.y, tile.z, tilesize=params.tilesize, indexes=params.display.indexes)
    image.rescale(in_range=params.display.rescale)
    return image.render(img_format="PNG", **img_profiles.get("png"))


class EndpointClient:
    """Sequential GETs over one keep-alive HTTP connection with a session cookie."""

    def __init__(self, *, port: int, scene_id: int, params: TileParams, cookie: str) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.prefix = f"/tiles/{scene_id}"
        self.query = params.query_string()
        self.cookie = cookie

    def get(self, tile: morecantile.Tile, *, etag: str | None = None) -> tuple[bytes, str]:
        url = f"{self.prefix}/{tile.z}/{tile.x}/{tile.y}.png?{self.query}"
        headers = {"Cookie": self.cookie} | ({"If-None-Match": etag} if etag else {})
        self.connection.request("GET", url, headers=headers)
        response = self.connection.getresponse()
        body = response.read()
        if response.status != (304 if etag else 200):
            raise RuntimeError(f"GET {url}: HTTP {response.status} {body[:200]!r}")
        return body, response.getheader("ETag", "")

    def close(self) -> None:
        self.connection.close()


def timed(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = call()
    return time.perf_counter() - start, result


@contextmanager
def bench_database() -> Iterator[None]:
    """A throwaway database with the migrations (and so the built-in sensors) applied."""
    connection = connections["default"]
    old_name = connection.settings_dict["NAME"]
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    try:
        yield
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


class _QuietHandler(WSGIRequestHandler):
    # Without TCP_NODELAY, wsgiref's several small writes per response meet the client's delayed ACK on a
    # keep-alive connection: ~40 ms per response that no production server adds.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the stdlib's name
        pass


@contextmanager
def bench_server() -> Iterator[int]:
    """Django's threaded WSGI server on a free loopback port; yields the port."""
    shared = {c.alias: c for c in connections.all() if c.vendor == "sqlite" and c.is_in_memory_db()}
    for conn in shared.values():
        conn.inc_thread_sharing()
    server = ThreadedWSGIServer(
        ("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False, connections_override=shared
    )
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, name="bench-tile-server", daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
        for conn in shared.values():
            conn.dec_thread_sharing()


def bench_scene(*, workdir: Path, per_zoom: int, say: Say) -> BenchScene:
    say(f"writing a {SCENE_SIZE} x {SCENE_SIZE} x 13 uint16 COG and ingesting it ({SENSOR}) ...")
    incoming = workdir / "incoming"
    incoming.mkdir()
    source = bench_cog_write(incoming / "S2A_MSIL1C_20240612T103631_bench.tif")
    scene = scene_ingest(path=source, sensor_name=SENSOR).scene
    path = archive_resolve(scene.asset_path)
    params = services.tile_params_for(scene=scene, query={"preset": [PRESET]})
    return BenchScene(
        scene=scene, path=path, params=params, tiles=bench_tiles_pick(path=path, per_zoom=per_zoom)
    )


def bench_run(*, per_zoom: int = 6, rounds: int = 3, say: Say = print) -> tuple[Timing, Timing, Timing]:
    """Build the bench scene, then time ``rounds`` passes over its tiles. Each tile is read directly and
    then through the endpoint, one after the other, so that load from elsewhere hits both alike."""
    with tempfile.TemporaryDirectory(prefix="eolabel-bench-") as tmp, bench_database():
        workdir = Path(tmp)
        (workdir / "archive").mkdir()
        overrides = {"ARCHIVE_ROOT": workdir / "archive", "DEBUG": False, "ALLOWED_HOSTS": ["127.0.0.1"]}
        with override_settings(**overrides), gdal_env():
            bench = bench_scene(workdir=workdir, per_zoom=per_zoom, say=say)
            with bench_server() as port:
                say(_describe(bench, port, rounds))
                client = EndpointClient(
                    port=port, scene_id=bench.scene.pk, params=bench.params, cookie=_cookie(scene=bench.scene)
                )
                try:
                    return _measure(bench, client, rounds=rounds, say=say)
                finally:
                    client.close()


def _measure(
    bench: BenchScene, client: EndpointClient, *, rounds: int, say: Say
) -> tuple[Timing, Timing, Timing]:
    # warm-up pass (OS page cache, imports, the server's first connection), also checking both give the same bytes
    same, etags = 0, []
    for tile in bench.tiles:
        body, etag = client.get(tile)
        same += body == direct_tile(path=bench.path, tile=tile, params=bench.params)
        etags.append(etag)
    say(f"same PNG bytes from both paths: {same}/{len(bench.tiles)}")
    direct, endpoint, revalidated = [], [], []
    for _ in range(rounds):
        for tile in bench.tiles:
            direct.append(timed(lambda t=tile: direct_tile(path=bench.path, tile=t, params=bench.params))[0])
            endpoint.append(timed(lambda t=tile: client.get(t))[0])
    for tile, etag in zip(bench.tiles, etags, strict=True):
        revalidated.append(timed(lambda t=tile, e=etag: client.get(t, etag=e))[0])
    return (
        Timing("direct rio-tiler read+render", tuple(direct)),
        Timing("endpoint over HTTP", tuple(endpoint)),
        Timing("endpoint, If-None-Match -> 304", tuple(revalidated)),
    )


def _cookie(*, scene: Scene) -> str:
    """A session of a plain (not staff) annotator of a project holding the scene: the visibility check the
    endpoint pays is the members' ``EXISTS``, the realistic and slower path."""
    user, _ = get_user_model().objects.get_or_create(username="tile-bench")
    project = Project.objects.create(name="tile bench", task_type=TaskType.CLOUD_SEGMENTATION, classes=[])
    project.scenes.add(scene)
    Membership.objects.create(project=project, user=user, role=Role.ANNOTATOR)
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def bench_table(direct: Timing, endpoint: Timing, cached: Timing) -> str:
    lines = [f"{'':34}{'p50 ms':>9}{'p95 ms':>9}{'tiles/s':>10}{'n':>6}"]
    for timing in (direct, endpoint, cached):
        lines.append(
            f"{timing.name:34}{timing.p50_ms:9.2f}{timing.p95_ms:9.2f}{timing.tiles_per_s:10.1f}{len(timing.seconds):6d}"
        )
    p50 = endpoint.p50_ms / direct.p50_ms
    p95 = endpoint.p95_ms / direct.p95_ms
    throughput = direct.tiles_per_s / endpoint.tiles_per_s
    lines.append(f"{'ratio endpoint / direct':34}{p50:9.2f}{p95:9.2f}{throughput:10.2f}")
    verdict = "within" if max(p50, throughput) <= TARGET_RATIO else "ABOVE"
    lines.append(f"target: endpoint within {TARGET_RATIO}x of direct (p50 and mean) -> {verdict} target")
    return "\n".join(lines)


def _describe(bench: BenchScene, port: int, rounds: int) -> str:
    zooms = sorted({t.z for t in bench.tiles})
    display = bench.params.display
    return (
        f"scene {bench.scene.pk}: {bench.scene.width} x {bench.scene.height} x {bench.scene.band_count} "
        f"{bench.scene.dtype}, preset {PRESET} (band indexes {display.indexes}, rescale {display.rescale[0]}), "
        f"{bench.params.tilesize} px PNG\n"
        f"{len(bench.tiles)} tiles over zooms {zooms[0]}..{zooms[-1]}, {rounds} timed round(s) after one warm-up, "
        "each tile direct then endpoint; "
        f"server: Django ThreadedWSGIServer on 127.0.0.1:{port}, sequential keep-alive requests, session cookie"
    )
