"""Write a Cloud-Optimized GeoTIFF into the archive: copy when the input already is one, else translate.
The file appears under its final name only once complete (temporary name + atomic rename)."""

import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path

from rasterio.errors import NotGeoreferencedWarning
from rio_cogeo.cogeo import cog_translate, cog_validate
from rio_cogeo.profiles import cog_profiles

from eolabel.archive.ingest.raster import gdal_env

logger = logging.getLogger(__name__)


def is_cog(path: Path) -> bool:
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        valid, _errors, _warnings = cog_validate(str(path), quiet=True)
    return bool(valid)


def cog_write(source: Path, dest: Path) -> bool:
    """Write ``dest`` from ``source``; returns True when it had to translate (the input was no COG)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp_name = tempfile.mkstemp(prefix=".ingest-", suffix=".tif", dir=dest.parent)
    os.close(handle)
    tmp = Path(tmp_name)
    try:
        translated = not is_cog(source)
        if translated:
            profile = cog_profiles.get("deflate")
            profile.update({"blockxsize": 256, "blockysize": 256, "predictor": 2})
            with gdal_env(), warnings.catch_warnings():
                warnings.simplefilter("ignore", NotGeoreferencedWarning)
                cog_translate(
                    str(source),
                    str(tmp),
                    profile,
                    in_memory=False,
                    quiet=True,
                    overview_resampling="average",
                    use_cog_driver=False,
                )
        else:
            shutil.copyfile(source, tmp)
        os.replace(tmp, dest)
        return translated
    finally:
        tmp.unlink(missing_ok=True)
