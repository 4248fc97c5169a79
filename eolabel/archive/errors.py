"""Archive errors: each carries a one-line reason that the CLI prints and the API returns as a 4xx."""


class ArchiveError(Exception):
    """Base class of every archive error."""


class IngestRejected(ArchiveError):
    """A file was refused; nothing was stored."""


class NotATiff(IngestRejected):
    """The file is not a TIFF (checked on its first bytes, before GDAL sees it)."""


class DriverRefused(IngestRejected):
    """GDAL would need a driver other than GTiff to read the file."""


class UnreadableRaster(IngestRejected):
    """GDAL's GTiff driver could not read the file (truncated or corrupt)."""


class RasterTooLarge(IngestRejected):
    """Width x height x bands is above the configured caps."""


class GeoreferenceError(IngestRejected):
    """The georeference is ambiguous or unsupported (a transform without a CRS, GCPs only)."""


class SensorError(IngestRejected):
    """No sensor, or more than one, fits the file; or the named sensor's band count differs."""


class StacError(IngestRejected):
    """A STAC Item could not be read or points at an asset it must not."""


class ReferenceError_(IngestRejected):
    """A reference mask or box file does not fit its scene."""


class SensorDefinitionError(ArchiveError):
    """A sensor definition (bands, presets) is invalid."""


class PathOutsideArchive(ArchiveError):
    """A stored path resolves outside the archive root."""
