"""Training errors: each maps to one outcome (a failed job, an HTTP code, a command exit code)."""


class TrainingError(Exception):
    """Base class of every training-app error."""


class NothingToTrain(TrainingError):
    """The project has no usable annotation on a training chip."""


class NoModel(TrainingError):
    """Scoring was asked for but the project has no model version."""


class JobActive(TrainingError):
    """Another job of the project is queued or running (one at a time per project)."""


class JobLost(TrainingError):
    """This worker no longer owns the job (it was reaped or claimed by another worker)."""


class UnsupportedProject(TrainingError):
    """The project's task type or class list cannot be trained here."""
