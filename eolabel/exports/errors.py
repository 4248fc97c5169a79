"""Export and reference-import errors: each carries a one-line reason that the CLI prints (exit 1) and the API
returns as a 4xx."""


class ExportError(Exception):
    """Base class of every export error."""


class FormatNotForTask(ExportError):
    """The format does not fit the project's task type (masks vs boxes)."""


class UnknownFormat(ExportError):
    """The format is none of geotiff, geojson, coco."""


class CorruptAnnotation(ExportError):
    """A stored annotation cannot be decoded or does not fit its chip."""


class ImportRefused(ExportError):
    """A reference file, its scene or its options were refused; nothing was stored or changed."""
