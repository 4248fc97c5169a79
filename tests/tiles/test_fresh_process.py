"""A tile rendered in a brand-new process with the app's GDAL settings: a setting that stops GDAL from registering
a driver rio-tiler needs (GDAL_SKIP=VRT did) only shows in a process whose first GDAL use is a tile."""

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import rasterio
from rasterio.transform import from_origin

REPO = Path(__file__).resolve().parents[2]


def test_reprojected_tile_in_a_fresh_process(tmp_path):
    cog = tmp_path / "scene.tif"
    profile = dict(
        driver="GTiff",
        width=256,
        height=256,
        count=3,
        dtype="uint16",
        crs="EPSG:32631",
        transform=from_origin(370000, 4830000, 10, 10),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    )
    with rasterio.open(cog, "w", **profile) as dst:
        dst.write(np.full((3, 256, 256), 1500, dtype="uint16"))
    script = textwrap.dedent(f"""
        import django, os
        os.environ["DJANGO_SETTINGS_MODULE"] = "eolabel.settings.test"
        django.setup()
        from pathlib import Path
        from eolabel.tiles.render import scene_reader
        with scene_reader(path=Path({str(cog)!r}), georeferenced=True) as src:
            from rasterio.crs import CRS
            west, south, east, north = src.get_geographic_bounds(CRS.from_epsg(4326))
            lon, lat = (west + east) / 2, (south + north) / 2
            t = src.tms.tile(lon, lat, src.maxzoom)
            img = src.tile(t.x, t.y, t.z)
        print("OK", int(img.data.max()))
    """)
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("OK 1500")
