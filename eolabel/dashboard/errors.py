"""Dashboard errors. They subclass the labelling errors so the labelling API's HTTP mapping applies."""

from eolabel.labelling.errors import Conflict, InvalidInput, NotFound


class AreaInvalid(InvalidInput):
    """The area of interest is not a valid EPSG:4326 polygon, or its name is taken."""


class AreaNotFound(NotFound):
    """No area of interest with that id in the project."""


class NothingToCompare(NotFound):
    """No pre-label of that model version or no reference mask for that scene."""


class ReferenceMismatch(Conflict):
    """The reference mask's grid does not match its scene."""
