"""Labelling errors. Each carries a one-line message and, where one input is at fault, the field it names;
the API maps the four families to 400, 403, 404 and 409."""


class LabellingError(Exception):
    """Base class of every labelling error."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(LabellingError):
    """The request's content is invalid; nothing was changed (400)."""


class ClassListInvalid(InvalidInput):
    """A project's class list is malformed."""


class ProjectInvalid(InvalidInput):
    """A project setting (sensors, scenes, chip size...) does not hold together."""


class MaskInvalid(InvalidInput):
    """A class mask PNG is not chip-sized, not 8-bit single-channel, or holds values outside the class list."""


class BoxesInvalid(InvalidInput):
    """Boxes (pixel or GeoJSON) are malformed, not finite, inverted or outside the chip."""


class NotFound(LabellingError):
    """The object does not exist, or the caller has no role in its project (404)."""


class Forbidden(LabellingError):
    """The caller's role in the project does not allow the action (403)."""


class Conflict(LabellingError):
    """The action does not fit the object's current state (409)."""


class LeaseExpired(Conflict):
    """The task's lease ran out before the submission; the chip went back to the pool."""


class LeaseNotActive(Conflict):
    """The task was already submitted or skipped."""


class SubmissionReused(Conflict):
    """A submission_id that already belongs to another task."""


class StaleVersion(Conflict):
    """An edit was based on an older version of the annotation."""


class LastManager(Conflict):
    """The change would leave the project without a manager."""
