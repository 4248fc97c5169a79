"""A real Celery worker process for tests, pointed at the test database and the configured broker
(kombu's filesystem transport by default, Redis when CELERY_BROKER_URL says so)."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[1]


def child_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


_purged = False


def _purge_once() -> None:
    """Messages left in a real broker by an earlier run (Redis keeps them) name job ids this run's database may
    reuse: drop them before the first worker of the run starts."""
    global _purged
    if not _purged and not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        from eolabel.celery import app

        app.control.purge()
    _purged = True


@contextmanager
def worker_process(*, concurrency: int = 1, ready_timeout: float = 60.0) -> Iterator[subprocess.Popen]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eolabel.settings.dev",
        "DATABASE_URL": child_database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "EOLABEL_DATA_DIR": str(settings.DATA_DIR),
        "EOLABEL_ARCHIVE_ROOT": str(settings.ARCHIVE_ROOT),
        "EOLABEL_MODEL_REGISTRY": str(settings.MODEL_REGISTRY_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    _purge_once()
    log = Path(settings.DATA_DIR) / f"worker-{time.monotonic_ns()}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "eolabel",
                "worker",
                "--loglevel",
                "INFO",
                "--concurrency",
                str(concurrency),
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--hostname",
                f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: worker_kill() takes the pool children too
        )
    try:
        deadline = time.monotonic() + ready_timeout
        while b" ready." not in log.read_bytes():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        # whatever is left of the group (a pool child still training) must not outlive the test and write into
        # the next test's database
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def worker_kill(proc: subprocess.Popen) -> None:
    """SIGKILL the worker and its pool processes at once: a machine that lost power, an OOM kill."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")
