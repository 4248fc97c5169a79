"""rio-tiler read -> render. Gets an already resolved archive path; never sees a request or a URL."""

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from morecantile import TileMatrixSet
from rasterio.errors import NotGeoreferencedWarning, RasterioError
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import ImageReader, Reader
from rio_tiler.profiles import img_profiles

from eolabel.archive.errors import ArchiveError
from eolabel.archive.ingest.raster import gdal_env, open_gtiff
from eolabel.tiles.errors import SceneNotFound, SceneUnreadable, TileOutsideScene
from eolabel.tiles.params import TileAddress, TileParams


@dataclass(frozen=True)
class SceneGrid:
    """What a map needs to place a scene: zoom range and bounds (EPSG:4326 degrees, or image pixels
    as rio-tiler's ``(0, height, width, 0)`` for images without georeference)."""

    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float]
    width: int
    height: int


@contextmanager
def scene_reader(*, path: Path, georeferenced: bool) -> Iterator[Reader]:
    """A rio-tiler reader inside the configured GDAL environment: WebMercatorQuad for georeferenced
    scenes, rio-tiler's pixel grid (``ImageReader``) otherwise. The file is opened by the GTiff driver
    only, after its TIFF magic bytes are checked."""
    if not path.is_file():
        raise SceneNotFound(f"{path.name}: the scene's file is missing from the archive")
    with gdal_env(), warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        try:
            dataset = open_gtiff(path)
        except ArchiveError as exc:
            raise SceneUnreadable(str(exc)) from exc
        reader_class = Reader if georeferenced else ImageReader
        with dataset, reader_class(str(path), dataset=dataset) as src:
            try:
                yield src
            except RasterioError as exc:
                raise SceneUnreadable(f"{path.name}: GDAL could not read it ({exc})") from exc


def tile_render(*, path: Path, georeferenced: bool, address: TileAddress, params: TileParams) -> bytes:
    """Read one z/x/y tile of the chosen bands, stretch it to 0..255 and encode it; the mask (nodata,
    outside the footprint or the image) becomes the alpha band."""
    with scene_reader(path=path, georeferenced=georeferenced) as src:
        if georeferenced and not _in_matrix(src.tms, address):
            raise TileOutsideScene(f"tile {address.z}/{address.x}/{address.y} is outside the tile grid")
        try:
            image = src.tile(
                address.x, address.y, address.z, tilesize=params.tilesize, indexes=params.display.indexes
            )
        except TileOutsideBounds as exc:
            raise TileOutsideScene(f"tile {address.z}/{address.x}/{address.y} is outside the scene") from exc
        image.rescale(in_range=params.display.rescale)
        return image.render(img_format=address.driver, **img_profiles.get(address.fmt))


def scene_grid(*, path: Path, georeferenced: bool) -> SceneGrid:
    with scene_reader(path=path, georeferenced=georeferenced) as src:
        if georeferenced:
            bounds = src.get_geographic_bounds(src.tms.rasterio_geographic_crs)
        else:
            bounds = src.bounds
        return SceneGrid(
            minzoom=int(src.minzoom),
            maxzoom=int(src.maxzoom),
            bounds=tuple(float(v) for v in bounds),
            width=int(src.width),
            height=int(src.height),
        )


def _in_matrix(tms: TileMatrixSet, address: TileAddress) -> bool:
    matrix = tms.matrix(address.z)
    return 0 <= address.x < matrix.matrixWidth and 0 <= address.y < matrix.matrixHeight
