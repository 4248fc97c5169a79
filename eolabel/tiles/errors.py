"""Tile errors: one-line reasons that the views map to HTTP codes (see ``views.ERROR_STATUS``)."""


class TileError(Exception):
    """Base class of every tile error."""


class InvalidParameter(TileError):
    """A query or path parameter is invalid (400); the message starts with the parameter's name."""

    def __init__(self, parameter: str, reason: str) -> None:
        super().__init__(f"{parameter}: {reason}")
        self.parameter = parameter


class SceneNotFound(TileError):
    """No scene with that id, or its file is not available (404)."""


class TileOutsideScene(TileError):
    """The requested tile does not intersect the scene (404)."""


class SensorMisconfigured(TileError):
    """The sensor's stored preset cannot be used as it is (500; an admin must fix the sensor)."""


class SceneUnreadable(TileError):
    """GDAL could not read the scene's file (500)."""
