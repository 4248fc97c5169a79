"""Raster bombs: a header claiming 10^6 x 10^6 pixels, a deflate bomb (200 kB inflating to 1.5 GiB), truncated
and fuzzed TIFFs. Each is a one-line import error from the ingest service and the ingest command (exit 1),
nothing is stored, and the ingesting process stays small (peak RSS measured in a subprocess)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from eolabel.archive.errors import IngestRejected
from eolabel.archive.models import Scene, Sensor
from eolabel.archive.services import scene_ingest
from fixtures.tiny import make_geotiff
from tests.security.tiffs import hostile_tiff

REPO = Path(__file__).resolve().parents[2]
GIANT = {"width": 10**6, "height": 10**6}
BOMB = {"width": 40_000, "height": 40_000, "tile": 256}


@pytest.fixture
def good_tiff(tmp_path) -> bytes:
    return make_geotiff(
        tmp_path / "good.tif", width=32, height=32, bands=3, dtype="uint8", seed=5
    ).read_bytes()


def stored(root: Path) -> tuple[int, int, list[Path]]:
    """Scenes, sensors and files under the archive root: what a rejected file must leave unchanged."""
    files = sorted(p for p in root.rglob("*") if p.is_file())
    return Scene.objects.count(), Sensor.objects.count(), files


def refused(path: Path, archive_root: Path, **kwargs) -> str:
    """The one-line reason scene_ingest gives, checking that nothing was stored."""
    before = stored(archive_root)
    with pytest.raises(IngestRejected) as caught:
        scene_ingest(path=path, **kwargs)
    assert stored(archive_root) == before
    reason = str(caught.value)
    assert reason and "\n" not in reason and len(reason) < 300, reason
    return reason


def test_a_header_claiming_a_trillion_pixels_is_refused(db, archive_root, tmp_path):
    path = hostile_tiff(tmp_path / "giant.tif", **GIANT)

    reason = refused(path, archive_root, new_sensor="giant")

    assert "1000000 x 1000000 pixels is above the cap" in reason


def test_a_deflate_bomb_is_refused_before_any_pixel_is_inflated(db, archive_root, tmp_path):
    path = hostile_tiff(tmp_path / "bomb.tif", **BOMB)
    assert path.stat().st_size < 300_000

    reason = refused(path, archive_root, new_sensor="bomb")

    assert "decompression bomb" in reason


def test_the_bomb_check_leaves_ordinary_compression_alone(db, archive_root, tmp_path):
    path = hostile_tiff(tmp_path / "zeros.tif", width=1024, height=1024, tile=256)  # 1 MiB of zeros, 2000:1

    outcome = scene_ingest(path=path, new_sensor="zeros")

    assert outcome.created and outcome.scene.width == 1024


@pytest.mark.parametrize("fraction", [0.0, 0.02, 0.1, 0.5, 0.9, 0.99])
def test_truncated_tiffs_are_refused_with_one_line(db, archive_root, tmp_path, good_tiff, fraction):
    path = tmp_path / "truncated.tif"
    path.write_bytes(good_tiff[: int(len(good_tiff) * fraction)])

    refused(path, archive_root, new_sensor="cut")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_tiffs_are_ingested_or_refused_cleanly(db, archive_root, tmp_path, good_tiff, data):
    damaged = bytearray(good_tiff)
    for _ in range(data.draw(st.integers(1, 12), label="flips")):
        where = data.draw(st.integers(0, len(damaged) - 1), label="offset")
        damaged[where] = data.draw(st.integers(0, 255), label="byte")
    cut = data.draw(st.integers(8, len(damaged)), label="length")
    path = tmp_path / "fuzzed.tif"
    path.write_bytes(bytes(damaged[:cut]))
    before = stored(archive_root)

    try:
        outcome = scene_ingest(path=path, new_sensor="fuzz")
    except IngestRejected as exc:
        assert "\n" not in str(exc)
        assert stored(archive_root) == before
    else:
        assert outcome.scene.width * outcome.scene.height <= 32 * 32 * 4 or not outcome.created


def test_the_ingest_command_prints_one_line_per_rejected_file_and_exits_1(db, archive_root, tmp_path):
    files = [hostile_tiff(tmp_path / "giant.tif", **GIANT), hostile_tiff(tmp_path / "bomb.tif", **BOMB)]
    err = tmp_path / "stderr.txt"

    with open(err, "w") as stderr, pytest.raises(CommandError) as caught:
        call_command("ingest", *map(str, files), "--new-sensor", "cmd", stderr=stderr)

    lines = [line for line in err.read_text().splitlines() if line.startswith("rejected")]
    assert caught.value.returncode == 1 and "rejected 2" in str(caught.value)
    assert len(lines) == 2 and "above the cap" in lines[0] and "decompression bomb" in lines[1]
    assert Scene.objects.count() == 0


def database_url() -> str:
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return (
        f"postgres://{s['USER']}:{s['PASSWORD']}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"
    )


MEASURE = """
import resource, sys, django
django.setup()
from django.core.management import CommandError, call_command
def ingest(paths):
    try:
        call_command("ingest", *paths, "--new-sensor", "rss")
        return 0
    except CommandError as exc:
        return exc.returncode
ingest([sys.argv[1]])  # a non-TIFF: every import and query of an ingest, no raster read
baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
code = ingest(sys.argv[2:])
print(code, baseline, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def peak_rss_mb(baseline_file: Path, files: list[Path], tmp_path: Path) -> tuple[int, float, float, str]:
    """Peak RSS of an ingest process after a warm-up ingest (the baseline), then after ingesting ``files``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EOLABEL_")}
    env.update(
        DJANGO_SETTINGS_MODULE="eolabel.settings.test",
        DATABASE_URL=database_url(),
        EOLABEL_DATA_DIR=str(tmp_path / "data"),
        EOLABEL_ARCHIVE_ROOT=str(tmp_path / "archive"),
    )
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, str(baseline_file), *map(str, files)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    code, baseline, peak = result.stdout.strip().splitlines()[-1].split()
    return int(code), float(baseline), float(peak), result.stderr


def test_bombs_keep_the_ingesting_process_small(django_db_setup, tmp_path):
    files = [hostile_tiff(tmp_path / "giant.tif", **GIANT), hostile_tiff(tmp_path / "bomb.tif", **BOMB)]
    (tmp_path / "not-a-tiff.tif").write_bytes(b"GIF89a")

    code, baseline, peak, stderr = peak_rss_mb(tmp_path / "not-a-tiff.tif", files, tmp_path)

    assert code == 1
    assert sum(line.startswith("rejected /") for line in stderr.splitlines()) == 3
    print(f"peak RSS: after a non-TIFF {baseline:.0f} MB, after the bombs {peak:.0f} MB")
    assert peak < baseline + 150, (peak, baseline)  # the bomb alone would inflate to 1.5 GiB
    assert not any((tmp_path / "archive").rglob("*.tif"))
