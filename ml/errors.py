"""Errors raised by ``ml``: one hierarchy that callers (web app, CLI, notebooks) can map to codes."""


class MLError(Exception):
    """Base class of every error raised by ``ml``."""


class ConfigError(MLError, ValueError):
    """A model, loss or training configuration is invalid or cannot be rebuilt."""


class ShapeError(MLError, ValueError):
    """An array or tensor has a shape the operation cannot take."""


class DataError(MLError, ValueError):
    """Input data (images, masks, boxes, rasters) is inconsistent or unreadable."""


class TrainingError(MLError):
    """Training cannot start or resume (bad arguments, incompatible checkpoint)."""


class CheckpointError(TrainingError):
    """A training checkpoint is missing, corrupt or belongs to another run."""


class RegistryError(MLError):
    """Base class of model-registry errors."""


class InvalidVersionId(RegistryError, ValueError):
    """A version id or model name does not match the registry's strict scheme."""


class VersionNotFound(RegistryError, LookupError):
    """No complete version with this id exists in the registry."""


class UnsafePath(RegistryError):
    """A path resolves outside the registry root or goes through a symlink."""


class IntegrityError(RegistryError):
    """Stored weights or metadata do not match their recorded hash or schema."""
