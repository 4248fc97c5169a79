"""Test settings: an isolated data dir per run; DATABASE_URL / CELERY_BROKER_URL still honoured."""

import os
import tempfile
from pathlib import Path

_tmp = Path(tempfile.mkdtemp(prefix="eolabel-test-"))
os.environ.setdefault("EOLABEL_DATA_DIR", str(_tmp))

from .base import *  # noqa: E402,F401,F403
from .base import DATABASES  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(_tmp / "test.sqlite3")}
CELERY_TASK_ALWAYS_EAGER = False
