"""Import paths: GDAL never sees a user-supplied URL or /vsi path, STAC assets must be regular files beside their
item, symlinks are refused, stored paths resolve inside the archive root. A loopback canary HTTP server counts
every request: it must get none. (eolabel fetches nothing over the network: there is no URL import to harden.)"""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from eolabel.archive.errors import IngestRejected, PathOutsideArchive, StacError
from eolabel.archive.models import Scene
from eolabel.archive.paths import archive_resolve
from eolabel.archive.services import scene_ingest
from fixtures.tiny import make_geotiff
from tests.labelling.factories import make_user


class Canary(ThreadingHTTPServer):
    hits: list[str]


class CountingHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.server.hits.append(self.path)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"II*\x00")

    do_HEAD = do_GET

    def log_message(self, *args) -> None:
        pass


def serve(address: str, family: int) -> Canary | None:
    Canary.address_family = family
    try:
        server = Canary((address, 0), CountingHandler)
    except OSError:
        return None
    server.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def canaries():
    servers = [s for s in (serve("127.0.0.1", socket.AF_INET), serve("::1", socket.AF_INET6)) if s]
    yield servers
    for server in servers:
        server.shutdown()
        server.server_close()


def hostile_hrefs(port4: int, port6: int) -> list[str]:
    return [
        f"http://127.0.0.1:{port4}/scene.tif",
        f"https://127.0.0.1:{port4}/scene.tif",
        f"/vsicurl/http://127.0.0.1:{port4}/scene.tif",
        f"/vsicurl_streaming/http://127.0.0.1:{port4}/scene.tif",
        f"vsicurl/http://127.0.0.1:{port4}/scene.tif",
        f"http://[::1]:{port6}/scene.tif",
        "http://169.254.169.254/latest/meta-data/scene.tif",
        f"http://2130706433:{port4}/scene.tif",  # 127.0.0.1 as a decimal
        f"http://0177.0.0.1:{port4}/scene.tif",  # 127.0.0.1 in octal
        f"http://0x7f000001:{port4}/scene.tif",
        f"http://localhost:{port4}/scene.tif",
        f"file://127.0.0.1:{port4}/scene.tif",
        "file:///etc/hosts.tif",
        "/etc/scene.tif",
        "../outside.tif",
        "sub/../../outside.tif",
        "/vsizip/archive.zip/scene.tif",
        "s3://bucket/scene.tif",
        "ftp://127.0.0.1/scene.tif",
    ]


def stac_item(folder: Path, href: str, *, links: list[dict] | None = None) -> Path:
    item = {
        "type": "Feature",
        "stac_version": "1.0.0",
        "id": "item-1",
        "geometry": None,
        "properties": {"datetime": "2024-06-01T10:00:00Z"},
        "links": links or [],
        "assets": {"data": {"href": href, "type": "image/tiff; application=geotiff", "roles": ["data"]}},
    }
    path = folder / "item.json"
    path.write_text(json.dumps(item))
    return path


def test_no_stac_href_reaches_the_network_or_leaves_the_item_folder(db, archive_root, tmp_path, canaries):
    port4 = canaries[0].server_address[1]
    port6 = canaries[-1].server_address[1]
    (tmp_path / "items").mkdir()
    make_geotiff(tmp_path / "outside.tif", width=32, height=32, bands=3, dtype="uint8")
    accepted = []

    for href in hostile_hrefs(port4, port6):
        try:
            scene_ingest(path=stac_item(tmp_path / "items", href), new_sensor="stac-rgb")
            accepted.append(href)
        except StacError as exc:
            assert "\n" not in str(exc)

    assert accepted == []
    assert [hit for server in canaries for hit in server.hits] == []
    assert Scene.objects.count() == 0


def test_links_to_the_network_in_an_item_are_never_followed(db, archive_root, tmp_path, canaries):
    url = f"http://127.0.0.1:{canaries[0].server_address[1]}"
    make_geotiff(tmp_path / "scene.tif", width=32, height=32, bands=3, dtype="uint8")
    links = [{"rel": rel, "href": f"{url}/{rel}.json"} for rel in ("self", "root", "parent", "collection")]

    outcome = scene_ingest(path=stac_item(tmp_path, "scene.tif", links=links), new_sensor="stac-rgb")

    assert outcome.created
    assert canaries[0].hits == []


def test_the_ingest_command_takes_no_url(db, archive_root, canaries):
    port = canaries[0].server_address[1]

    for arg in (
        f"http://127.0.0.1:{port}/x.tif",
        f"/vsicurl/http://127.0.0.1:{port}/x.tif",
        "file:///etc/x.tif",
    ):
        with pytest.raises(CommandError, match="no such file"):
            call_command("ingest", arg)

    assert canaries[0].hits == []


def test_symlinks_are_refused_as_inputs_and_as_stac_assets(db, archive_root, tmp_path):
    real = make_geotiff(tmp_path / "real.tif", width=32, height=32, bands=3, dtype="uint8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "link.tif").symlink_to(real)
    (tmp_path / "in" / "asset.tif").symlink_to(real)

    with pytest.raises(IngestRejected, match="symbolic link"):
        scene_ingest(path=tmp_path / "in" / "link.tif", new_sensor="link-rgb")
    with pytest.raises(StacError, match="symbolic link"):
        scene_ingest(path=stac_item(tmp_path / "in", "asset.tif"), new_sensor="link-rgb")

    assert Scene.objects.count() == 0


def test_a_folder_ingest_reports_symlinked_files_and_exits_1(db, archive_root, tmp_path):
    real = make_geotiff(tmp_path / "real.tif", width=32, height=32, bands=3, dtype="uint8")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "etc-passwd.tif").symlink_to("/etc/passwd")
    (tmp_path / "in" / "link.tif").symlink_to(real)

    with pytest.raises(CommandError) as caught:
        call_command("ingest", str(tmp_path / "in"), "--new-sensor", "walk-rgb")

    assert caught.value.returncode == 1 and "rejected 2" in str(caught.value)
    assert Scene.objects.count() == 0


@pytest.mark.parametrize(
    "stored", ["../secret.tif", "/etc/passwd", "scenes/../../secret.tif", "", ".", "scenes/escape/x.tif"]
)
def test_stored_paths_resolve_inside_the_archive_root(archive_root, tmp_path, stored):
    (tmp_path / "secret.tif").write_bytes(b"II*\x00secret")
    (archive_root / "scenes").mkdir()
    (archive_root / "scenes" / "escape").symlink_to(tmp_path)
    (tmp_path / "x.tif").write_bytes(b"II*\x00secret")

    with pytest.raises(PathOutsideArchive):
        archive_resolve(stored)


def test_a_scene_row_pointing_outside_the_archive_serves_nothing(db, archive_root, tmp_path):
    from tests.labelling.factories import make_scene

    scene = make_scene()
    Scene.objects.filter(pk=scene.pk).update(asset_path="../../../../etc/passwd")
    client = Client()
    client.force_login(make_user("ana"))

    tile = client.get(f"/tiles/{scene.pk}/0/0/0.png")
    tilejson = client.get(f"/tiles/{scene.pk}/tilejson.json")

    assert tile.status_code == 404 and b"root:" not in tile.content
    assert tilejson.status_code in (200, 404) and b"root:" not in tilejson.content


def test_gdal_is_never_given_a_network_driver(settings):
    """Belt and braces: GDAL lists no sibling files on open and never retries an HTTP read."""
    assert settings.GDAL_ENV["GDAL_HTTP_MAX_RETRY"] == 0
    assert settings.GDAL_ENV["GDAL_DISABLE_READDIR_ON_OPEN"] == "EMPTY_DIR"


def test_the_canary_counts_what_reaches_it(canaries):
    import urllib.request

    port = canaries[0].server_address[1]
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/probe", timeout=5) as response:
        response.read()

    assert canaries[0].hits == ["/probe"]
