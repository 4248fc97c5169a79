"""Local development and `make run`: the embedded default (SQLite, filesystem broker)."""

from .base import *  # noqa: F401,F403
from .base import env_bool

DEBUG = env_bool("EOLABEL_DEBUG", True)
