"""Soak: N virtual annotators (locust, ``soak_locustfile.py``) against gunicorn on 127.0.0.1 over the demo
archive, then a check of the database: no submission lost, none duplicated, no chip leased twice at once.

Everything runs in the current (throwaway) database: the demo archive is written and ingested into it, a cloud
project is made over its Sentinel-2 scenes, one session per annotator is stored, then gunicorn (and optionally
a Celery worker) are started as subprocesses on the same database and archive, and ``locust --headless`` is run
as a subprocess too, so gevent never patches this process."""

import csv
import io
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psutil
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connections
from django.test import Client, override_settings

from eolabel.archive.models import Scene
from eolabel.benchmarks.queue import DEMO_CLASSES
from eolabel.labelling.models import Annotation, Lease, Membership, Project, Role
from eolabel.labelling.services import project_create

Say = Callable[[str], None]
LOCUSTFILE = Path(__file__).with_name("soak_locustfile.py")
BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class SoakPlan:
    users: int
    seconds: float
    small_archive: bool = False
    overlap: int = 3
    chip_size: int = 32
    web_workers: int = 2
    web_threads: int = 8
    worker: bool = False
    retry_share: float = 0.2
    skip_share: float = 0.05
    lease_seconds: int = 900


@dataclass(frozen=True)
class SoakResult:
    """What the soak measured; the three counts must be zero."""

    submissions: int
    answered: int
    lost: int
    duplicates: int
    double_leases: int
    lease_time_overlaps: int
    annotations: int
    requests: dict[str, dict[str, float]]
    rss_start_mb: float
    rss_end_mb: float
    errors: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicates or self.double_leases or self.errors)


def soak_run(*, plan: SoakPlan, say: Say = print) -> SoakResult:
    """Prepare the demo project in the current database, run the soak, check the database."""
    with (
        tempfile.TemporaryDirectory(prefix="eolabel-soak-") as tmp,
        override_settings(ARCHIVE_ROOT=Path(tmp) / "archive"),
    ):
        work = Path(tmp)
        say(f"  demo archive ({'small' if plan.small_archive else 'full'}) ...")
        project = soak_project(plan=plan, out=work / "demo")
        cookies = [_session_cookie(project, f"soak-{project.pk}-{i}") for i in range(plan.users)]
        say(f"  project {project.pk}: {project.project_chips.count()} chips, overlap {plan.overlap}")
        (work / "log").mkdir()
        plan_path = work / "plan.json"
        plan_path.write_text(json.dumps(_locust_plan(plan, project, cookies, work / "log")))
        connections.close_all()  # SQLite: let the server processes write
        env = _server_env(plan, work)
        with _gunicorn(plan, env, work) as (port, master):
            _warm_up(port)
            rss_start = _rss_mb(master)
            with _celery_worker(env, work, enabled=plan.worker):
                say(
                    f"  {plan.users} annotators for {plan.seconds:.0f} s against gunicorn on 127.0.0.1:{port}"
                )
                errors = _locust(plan, port, plan_path, work)
            rss_end = _rss_mb(master)
        requests = _stats(work / "stats_stats.csv")
        return _check(project, work / "log", requests, rss_start, rss_end, errors)


def soak_project(*, plan: SoakPlan, out: Path) -> Project:
    """The demo archive in the current database and a cloud project over its Sentinel-2 scenes."""
    call_command("make_demo_archive", out=out, small=plan.small_archive, stdout=io.StringIO())
    scenes = list(Scene.objects.filter(sensor__name="sentinel2-l1c").values_list("pk", flat=True))
    manager, _ = get_user_model().objects.get_or_create(username="soak-manager", defaults={"is_staff": True})
    return project_create(
        name=f"soak-{len(scenes)}-scenes",
        task_type="cloud-segmentation",
        classes=DEMO_CLASSES,
        sensor_names=["sentinel2-l1c"],
        scene_ids=scenes,
        created_by=manager,
        chip_size=plan.chip_size,
        validation_fraction=0.1,
        overlap=plan.overlap,
        retrain_every_n=1_000_000,  # the soak measures the API; retraining load is a separate bench
    )


def soak_table(result: SoakResult) -> str:
    lines = [f"{'request':<13} {'n':>6} {'fail':>5} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'max ms':>7}"]
    for name in ("next", "tile", "submit", "submit-retry", "skip"):
        row = result.requests.get(name)
        if row:
            lines.append(
                f"{name:<13} {row['n']:>6.0f} {row['failures']:>5.0f} {row['p50']:>7.0f} {row['p95']:>7.0f} "
                f"{row['p99']:>7.0f} {row['max']:>7.0f}"
            )
    lines.append(
        f"submissions {result.submissions} (answered {result.answered}), annotations {result.annotations}: "
        f"lost {result.lost}, duplicates {result.duplicates}, double leases {result.double_leases} (chips two "
        f"clients held at once; lease rows with overlapping timestamps: {result.lease_time_overlaps})"
    )
    lines.append(
        f"gunicorn RSS (master + workers): {result.rss_start_mb:.0f} MB after warm-up -> "
        f"{result.rss_end_mb:.0f} MB at the end ({result.rss_end_mb - result.rss_start_mb:+.0f} MB)"
    )
    return "\n".join(lines)


# --- the check -------------------------------------------------------------------------------------------


def _check(
    project: Project, log_dir: Path, requests: dict, rss_start: float, rss_end: float, errors: list[str]
) -> SoakResult:
    """Lost: the server answered 200/201 for a submission id that has no row (or another row than it said).
    Duplicate: one submission id answered with two annotation ids, or more rows for a lease / chip and author
    than one. Double lease: two clients held one chip at the same time (from receiving its task to sending
    their submit or skip; one clock, the locust process's)."""
    told: dict[str, set[int]] = defaultdict(set)
    submissions = set()
    held: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for path in log_dir.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if "held" in record:
                held[record["chip"]].append((record["from"], record["to"]))
                continue
            submissions.add(record["submission"])
            if record["status"] in (200, 201):
                told[record["submission"]].add(record["annotation"])
    stored = {
        str(s): pk for s, pk in Annotation.objects.filter(project=project).values_list("submission_id", "pk")
    }
    lost = sum(1 for s, ids in told.items() if stored.get(s) not in ids)
    duplicates = sum(1 for ids in told.values() if len(ids) > 1)
    rows = Annotation.objects.filter(project=project)
    duplicates += rows.count() - len(set(rows.values_list("lease_id", flat=True)))
    duplicates += rows.count() - len(set(rows.values_list("project_chip_id", "author_id")))
    return SoakResult(
        submissions=len(submissions),
        answered=len(told),
        lost=lost,
        duplicates=duplicates,
        double_leases=_overlaps(held),
        lease_time_overlaps=_lease_time_overlaps(project),
        annotations=rows.count(),
        requests=requests,
        rss_start_mb=rss_start,
        rss_end_mb=rss_end,
        errors=tuple(errors),
    )


def _lease_time_overlaps(project: Project) -> int:
    """Leases of one chip whose recorded [leased_at, ended_at) overlap. Informative only: each service takes its
    timestamp when its transaction starts, before PostgreSQL's row locks order it, so a chip freed by a submit
    and claimed by a "next" that began a moment earlier shows an overlap of a few ms there without ever being
    held twice (SQLite serialises the writers, so there it must be 0). ``_overlaps`` of what the clients held
    is the real check."""
    spans: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for chip, start, ended, expires in Lease.objects.filter(project=project).values_list(
        "project_chip_id", "leased_at", "ended_at", "expires_at"
    ):
        spans[chip].append((start, ended or expires))
    return _overlaps(spans)


def _overlaps(spans: dict[int, list]) -> int:
    """Consecutive pairs of (start, end) intervals of one key that overlap (0 exactly when none do)."""
    overlapping = 0
    for intervals in spans.values():
        intervals.sort()
        for (_, end), (next_start, _) in zip(intervals, intervals[1:], strict=False):
            overlapping += next_start < end
    return overlapping


# --- processes -------------------------------------------------------------------------------------------


def _server_env(plan: SoakPlan, work: Path) -> dict[str, str]:
    """The subprocesses' environment: this process's database and archive, their own data dir (broker
    folders, model registry), debug off."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "eolabel.settings.dev",
        "EOLABEL_DEBUG": "0",
        "DATABASE_URL": _database_url(),
        "EOLABEL_DATA_DIR": str(work / "data"),
        "EOLABEL_ARCHIVE_ROOT": str(settings.ARCHIVE_ROOT),
        "EOLABEL_LEASE_SECONDS": str(plan.lease_seconds),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    return env


def _database_url() -> str:
    db = connections["default"].settings_dict
    if connections["default"].vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def _gunicorn(plan: SoakPlan, env: dict[str, str], work: Path) -> Iterator[tuple[int, psutil.Process]]:
    port = _free_port()
    command = [
        str(BIN / "gunicorn"), "eolabel.wsgi:application", "--bind", f"127.0.0.1:{port}",
        "--workers", str(plan.web_workers), "--threads", str(plan.web_threads), "--worker-class", "gthread",
        "--timeout", "60", "--log-level", "warning", "--error-logfile", str(work / "gunicorn.log"),
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)
    try:
        _wait_for_port(port, process)
        yield port, psutil.Process(process.pid)
    finally:
        _stop(process)


@contextmanager
def _celery_worker(env: dict[str, str], work: Path, *, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    command = [
        str(BIN / "celery"), "-A", "eolabel", "worker", "--concurrency", "1", "--loglevel", "WARNING",
        "--logfile", str(work / "celery.log"), "--hostname", f"soak-{os.getpid()}@%h",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=settings.BASE_DIR, start_new_session=True)
    try:
        yield
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def _warm_up(port: int) -> None:
    """One request per worker, so that the start RSS is of imported, serving processes."""
    for _ in range(4):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(b"GET /accounts/login/ HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            while sock.recv(65536):
                pass


def _rss_mb(master: psutil.Process) -> float:
    processes = [master, *master.children(recursive=True)]
    return sum(p.memory_info().rss for p in processes if p.is_running()) / 2**20


def _locust(plan: SoakPlan, port: int, plan_path: Path, work: Path) -> list[str]:
    command = [
        str(BIN / "locust"), "-f", str(LOCUSTFILE), "--headless", "--host", f"http://127.0.0.1:{port}",
        "--users", str(plan.users), "--spawn-rate", str(max(1, plan.users)), "--run-time", f"{plan.seconds:.0f}s",
        "--stop-timeout", "30", "--csv", str(work / "stats"), "--only-summary", "--loglevel", "WARNING",
        "--soak-plan", str(plan_path),
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=settings.BASE_DIR, capture_output=True, text=True, timeout=plan.seconds + 180
    )
    # locust exits 1 when any request failed; the failures are in the stats and the check below
    if done.returncode not in (0, 1):
        return [f"locust exited {done.returncode}: {done.stderr[-500:]}"]
    return []


def _stats(path: Path) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    with path.open() as handle:
        for row in csv.DictReader(handle):
            if row["Name"] == "Aggregated":
                continue
            out[row["Name"]] = {
                "n": float(row["Request Count"]),
                "failures": float(row["Failure Count"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
                "max": float(row["Max Response Time"] or 0),
            }
    return out


def _locust_plan(plan: SoakPlan, project: Project, cookies: list[str], log_dir: Path) -> dict:
    return {
        "project": project.pk,
        "cookies": cookies,
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "csrf_cookie": settings.CSRF_COOKIE_NAME,
        "class_values": sorted(project.class_values),
        "retry_share": plan.retry_share,
        "skip_share": plan.skip_share,
        "log_dir": str(log_dir),
    }


def _session_cookie(project: Project, username: str) -> str:
    user, _ = get_user_model().objects.get_or_create(username=username)
    Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value
