"""Production: refuses to start with the development secret key; HTTPS-only cookies and HSTS."""

import os

from django.core.exceptions import ImproperlyConfigured

from eolabel.security import secret_key_problem

from .base import *  # noqa: F401,F403
from .base import SECRET_KEY, env_bool

DEBUG = False
_problem = secret_key_problem(os.environ.get("EOLABEL_SECRET_KEY") and SECRET_KEY)
if _problem:
    raise ImproperlyConfigured(
        f"EOLABEL_SECRET_KEY {_problem}: set a random string of at least 50 characters"
    )

SECURE_SSL_REDIRECT = env_bool("EOLABEL_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = 31536000
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
