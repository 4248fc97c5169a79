"""Settings shared by every environment. The environment is read here and nowhere else.

Environment variables:
- DATABASE_URL          default: SQLite file in EOLABEL_DATA_DIR
- CELERY_BROKER_URL     default: kombu's server-less filesystem transport in EOLABEL_DATA_DIR
- EOLABEL_DATA_DIR      where the embedded database, broker folders and model registry live (default: ./var)
- EOLABEL_ARCHIVE_ROOT  where scene files live (default: EOLABEL_DATA_DIR/archive)
- EOLABEL_SECRET_KEY, EOLABEL_DEBUG, EOLABEL_ALLOWED_HOSTS
"""

import os
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


DATA_DIR = Path(os.environ.get("EOLABEL_DATA_DIR", BASE_DIR / "var")).resolve()
ARCHIVE_ROOT = Path(os.environ.get("EOLABEL_ARCHIVE_ROOT", DATA_DIR / "archive")).resolve()
MODEL_REGISTRY_ROOT = Path(os.environ.get("EOLABEL_MODEL_REGISTRY", DATA_DIR / "models")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("EOLABEL_SECRET_KEY", "dev-only-insecure-key-change-me")
DEBUG = env_bool("EOLABEL_DEBUG", False)
ALLOWED_HOSTS = [
    h for h in os.environ.get("EOLABEL_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",") if h
]

INSTALLED_APPS = [
    "eolabel.admin_config.EolabelAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "leaflet",
    "eolabel.archive",
    "eolabel.tiles",
    "eolabel.web",
    "eolabel.labelling",
    "eolabel.ranking",
    "eolabel.training",
    "eolabel.exports",
    "eolabel.benchmarks",
    "eolabel.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "eolabel.security.ContentSecurityPolicyMiddleware",
]

# Headers on every response, in every environment: bytes are never sniffed into HTML (nosniff), pages are
# never framed, and eolabel.security adds an enforced Content-Security-Policy (EOLABEL_CSP overrides it).
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"

ROOT_URLCONF = "eolabel.urls"
WSGI_APPLICATION = "eolabel.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL",
        default=f"sqlite:///{DATA_DIR / 'eolabel.sqlite3'}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server and the worker read while the other writes.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"}
    )
    DATABASES["default"]["CONN_MAX_AGE"] = 0

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start when it is absent
STATICFILES_DIRS = [BASE_DIR / "frontend"]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.BasicAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.LimitOffsetPagination",
    "PAGE_SIZE": 100,
    "EXCEPTION_HANDLER": "eolabel.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "eolabel API",
    "DESCRIPTION": "Archive, tiles, labelling queue and models of eolabel.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs UI is served from local static files (drf-spectacular-sidecar), never a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Every operation documents the 400/403/404 error answers it can give (eolabel.openapi).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "eolabel.openapi.document_error_responses",
    ],
}

LEAFLET_CONFIG = {
    "DEFAULT_CENTER": (45.0, 5.0),
    "DEFAULT_ZOOM": 3,
    "MIN_ZOOM": 0,
    "MAX_ZOOM": 22,
    "RESET_VIEW": False,
    "NO_GLOBALS": False,
    "TILES": [
        # No basemap from the internet: machines here are offline. Scenes bring their own tiles.
    ],
}

# --- Celery: server-less filesystem broker by default, Redis (or any kombu URL) from the environment.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A request that sends a message while the broker is down fails fast (about a second) instead of hanging; the
# job row stays queued and the periodic reaper below sends it again once the broker is back.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.3,
    "interval_max": 0.6,
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 3, "socket_timeout": 10}
EOLABEL_REAP_EVERY_S = float(os.environ.get("EOLABEL_REAP_EVERY_S", 60))
CELERY_BEAT_SCHEDULE = {
    "reap-training-jobs": {"task": "training.reap", "schedule": EOLABEL_REAP_EVERY_S},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(DATA_DIR / "celerybeat-schedule")

# --- Archive limits and tile serving
EOLABEL_MAX_PIXELS = int(os.environ.get("EOLABEL_MAX_PIXELS", 40_000 * 40_000))
EOLABEL_MAX_BANDS = int(os.environ.get("EOLABEL_MAX_BANDS", 32))
EOLABEL_MAX_SAMPLES = int(os.environ.get("EOLABEL_MAX_SAMPLES", 40_000 * 40_000 * 4))
# A file whose pixels would decompress to more than EOLABEL_BOMB_MIN_BYTES at more than this many times its size
# on disk is refused as a decompression bomb (Sentinel-2 compresses about 3:1, a cloud mask rarely past 100:1).
EOLABEL_MAX_COMPRESSION_RATIO = float(os.environ.get("EOLABEL_MAX_COMPRESSION_RATIO", 1000))
EOLABEL_BOMB_MIN_BYTES = int(os.environ.get("EOLABEL_BOMB_MIN_BYTES", 256 * 1024 * 1024))
EOLABEL_CHIP_SIZE = int(os.environ.get("EOLABEL_CHIP_SIZE", 256))
EOLABEL_TILE_CACHE_SECONDS = int(os.environ.get("EOLABEL_TILE_CACHE_SECONDS", 3600))

# --- Labelling queue: how long an annotator holds a leased chip before it returns to the pool
EOLABEL_LEASE_SECONDS = int(os.environ.get("EOLABEL_LEASE_SECONDS", 900))

# GDAL configured for tile serving: no directory listing on open, no network retries. Files are opened with the
# GTiff driver only (eolabel.archive.ingest.raster.open_gtiff), which refuses VRTs and every other format;
# GDAL_SKIP=VRT is not set because rio-tiler reprojects through a WarpedVRT, and a process whose first GDAL use
# ran with GDAL_SKIP=VRT never registers that driver (every reprojected tile then fails).
GDAL_ENV = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff",
    "GDAL_HTTP_MAX_RETRY": 0,
    "VSI_CACHE": "TRUE",
    "GDAL_CACHEMAX": 256,
}

# --- Training (eolabel.training): tiny CPU-friendly nets, a step/epoch and time budget per job
EOLABEL_TRAIN_EPOCHS = int(os.environ.get("EOLABEL_TRAIN_EPOCHS", 0))  # 0: derived from EOLABEL_TRAIN_STEPS
EOLABEL_TRAIN_STEPS = int(os.environ.get("EOLABEL_TRAIN_STEPS", 150))
EOLABEL_TRAIN_TIME_BUDGET_S = float(os.environ.get("EOLABEL_TRAIN_TIME_BUDGET_S", 120))
EOLABEL_TRAIN_THREADS = int(
    os.environ.get("EOLABEL_TRAIN_THREADS", 1)
)  # 2 threads collapse on a busy 2-core box
EOLABEL_TRAIN_WIDTH = int(os.environ.get("EOLABEL_TRAIN_WIDTH", 8))
EOLABEL_TRAIN_DEPTH = int(os.environ.get("EOLABEL_TRAIN_DEPTH", 3))
EOLABEL_TRAIN_BATCH = int(os.environ.get("EOLABEL_TRAIN_BATCH", 8))
EOLABEL_TRAIN_LR = float(os.environ.get("EOLABEL_TRAIN_LR", 3e-3))
EOLABEL_TRAIN_SEED = int(os.environ.get("EOLABEL_TRAIN_SEED", 0))
EOLABEL_TRAIN_STALE_AFTER_S = float(os.environ.get("EOLABEL_TRAIN_STALE_AFTER_S", 120))
EOLABEL_TRAIN_MAX_ATTEMPTS = int(os.environ.get("EOLABEL_TRAIN_MAX_ATTEMPTS", 2))
EOLABEL_SCORE_CHUNK = int(os.environ.get("EOLABEL_SCORE_CHUNK", 64))
EOLABEL_MC_SAMPLES = int(os.environ.get("EOLABEL_MC_SAMPLES", 6))
EOLABEL_RANKED_BATCH_K = int(os.environ.get("EOLABEL_RANKED_BATCH_K", 64))
EOLABEL_EVAL_REFERENCE = os.environ.get("EOLABEL_EVAL_REFERENCE", "ground-truth")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EOLABEL_LOG_LEVEL", "INFO")},
    "loggers": {
        "rasterio": {"level": "WARNING"},
        "rio_tiler": {"level": "WARNING"},
        "numexpr": {"level": "WARNING"},
    },
}
