"""Labelling-page benchmark: how soon the next task is on screen after Enter, and what a brush stroke costs.

Runs in the current database (``bench_label_page`` wraps it in a throwaway one): the demo archive is written and
ingested (``soak_project``), a cloud project of ``chip_size`` px chips ("the demo project") and one of
``stroke_chip_size`` px chips are made over its Sentinel-2 scenes, and Django's threaded server on 127.0.0.1
serves the page to Debian's chromium driven by Playwright. All times are taken inside the page with
``performance.now()``:

- next task: from the Enter keydown (submit) to the page setting ``#label-map[data-task]`` to the new task's id,
  which ``showTask`` does last, once the chip layer and editor are mounted (ready to paint); and to every scene
  tile of the new view having finished loading (imagery shown; a tile outside the scene ends as an error;
  polled once per animation frame).
- stroke: 50 pointer moves of the widest brush across a chip; per move, from the page receiving the move to the
  animation frame that has copied the mask into the canvas (a ``requestAnimationFrame`` queued after the
  editor's own); the interval between those frames; long tasks (> 50 ms busy main thread) while stroking.
"""

import logging
import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client, override_settings

from eolabel.benchmarks.queue import DEMO_CLASSES
from eolabel.benchmarks.server import loopback_server
from eolabel.benchmarks.soak import SoakPlan, soak_project
from eolabel.labelling.models import Membership, Project, Role
from eolabel.labelling.services import project_create
from eolabel.web.bench_screenshots import Shot, shots_prepare, shots_take

Say = Callable[[str], None]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
STROKE_MOVES = 50
BRUSH = 31

# Installed once per page: the Enter keydown and each data-task change, with the page's clock.
_WATCH_TASKS = """() => {
  const map = document.getElementById('label-map');
  const b = (window.benchNext = { pressed: [], shown: [] });
  document.addEventListener('keydown', (e) => { if (e.key === 'Enter') b.pressed.push(performance.now()); },
    { capture: true });
  new MutationObserver(() => b.shown.push([map.dataset.task, performance.now()]))
    .observe(map, { attributes: true, attributeFilter: ['data-task'] });
}"""
_TILES_LOADED = """() => {
  const tiles = [...document.querySelectorAll('#label-map .scene-tiles img')];
  return tiles.length > 0 && tiles.every((t) => t.complete)
    ? performance.now() : false;
}"""
_WATCH_STROKE = """() => {
  const map = document.getElementById('label-map');
  const layer = document.querySelector('.chip-layer');
  const b = (window.benchStroke = { down: 0, moves: [], painted: [], longTasks: [] });
  new PerformanceObserver((list) => b.longTasks.push(...list.getEntries().map((e) => e.duration)))
    .observe({ type: 'longtask' });
  map.addEventListener('pointerdown', () => { b.down = performance.now(); }, { capture: true });
  map.addEventListener('pointermove', (e) => { if (e.buttons) b.moves.push(performance.now()); },
    { capture: true });
  // After the editor's listener: this frame callback runs after the one that copies the mask to the canvas.
  layer.addEventListener('pointermove', (e) => {
    if (!e.buttons) return;
    const i = b.moves.length - 1;
    requestAnimationFrame(() => { b.painted[i] = performance.now(); });
  });
}"""
_TWO_FRAMES = "() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))"


@dataclass(frozen=True)
class LabelPagePlan:
    tasks: int = 15
    chip_size: int = 256  # the default chip size (EOLABEL_CHIP_SIZE)
    stroke_chip_size: int = 512
    small_archive: bool = False
    timing: bool = True  # False: only the screenshots
    screenshots: Path | None = None  # where bench_screenshots' PNGs go; None: none


@dataclass(frozen=True)
class LabelPageResult:
    next_ready_ms: tuple[float, ...]  # Enter -> next task mounted, ready to paint
    next_imagery_ms: tuple[float, ...]  # Enter -> next task's scene tiles all loaded
    move_to_canvas_ms: tuple[float, ...]  # per pointer move: received -> canvas updated
    frame_ms: tuple[float, ...]  # intervals between the frames that updated the canvas during the stroke
    stroke_ms: float  # first pointerdown -> canvas updated after the last move
    long_task_max_ms: float  # 0 when none
    chip_size: int
    stroke_chip_size: int


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (linear interpolation, as numpy's default); NaN for no values."""
    return float(np.percentile(values, q)) if len(values) else math.nan


def browser_missing() -> str | None:
    """Why chromium cannot be driven here, or None."""
    if not CHROMIUM.exists():
        return f"Debian's chromium is not installed at {CHROMIUM} (`make browser`)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed"
    return None


def label_page_table(result: LabelPageResult) -> str:
    def row(name: str, values: Sequence[float]) -> str:
        return f"{name:<44} {len(values):>4} {percentile(values, 50):>8.1f} {percentile(values, 95):>8.1f}"

    return "\n".join(
        [
            f"{'labelling page (chromium, headless)':<44} {'n':>4} {'p50 ms':>8} {'p95 ms':>8}",
            row(f"Enter -> next task ready to paint ({result.chip_size} px)", result.next_ready_ms),
            row(f"Enter -> next task imagery loaded ({result.chip_size} px)", result.next_imagery_ms),
            row(f"stroke: pointer move -> canvas ({result.stroke_chip_size} px)", result.move_to_canvas_ms),
            row(f"stroke: frame interval ({result.stroke_chip_size} px)", result.frame_ms),
            f"stroke of {STROKE_MOVES} moves, brush {BRUSH} px: {result.stroke_ms:.0f} ms from pointerdown to the "
            f"last canvas update; longest task {result.long_task_max_ms:.0f} ms (0: none over 50 ms)",
        ]
    )


def bench_label_page_run(*, plan: LabelPagePlan, say: Say = print) -> LabelPageResult | None:
    """Prepare both projects in the current database, then time the page in chromium (None when
    ``plan.timing`` is off); then, with ``plan.screenshots``, save the demo screenshots there."""
    with (
        tempfile.TemporaryDirectory(prefix="eolabel-bench-label-") as tmp,
        override_settings(ARCHIVE_ROOT=Path(tmp) / "archive", WHITENOISE_USE_FINDERS=True),
    ):
        (Path(tmp) / "archive").mkdir()
        say(f"  demo archive ({'small' if plan.small_archive else 'full'}) and two cloud projects ...")
        demo = soak_project(
            plan=SoakPlan(
                users=1, seconds=0, small_archive=plan.small_archive, chip_size=plan.chip_size, overlap=1
            ),
            out=Path(tmp) / "demo",
        )
        stroke = project_create(
            name=f"bench-stroke-{plan.stroke_chip_size}", task_type="cloud-segmentation", classes=DEMO_CLASSES,
            sensor_names=["sentinel2-l1c"], scene_ids=list(demo.scenes.values_list("pk", flat=True)),
            created_by=demo.created_by, chip_size=plan.stroke_chip_size, retrain_every_n=1_000_000,
        )  # fmt: skip
        chips = demo.project_chips.count()
        if plan.timing and chips < plan.tasks + 1:
            raise RuntimeError(
                f"the demo project has {chips} chips: {plan.tasks} submits need {plan.tasks + 1}"
            )
        shots = shots_prepare(created_by=demo.created_by) if plan.screenshots else []
        projects = [demo, stroke, *Project.objects.filter(pk__in=[shot.project_id for shot in shots])]
        cookie = _session_cookie(projects)
        connections.close_all()  # SQLite: let the server threads write
        with loopback_server() as port, _quiet_request_log():
            if plan.timing:
                say(
                    f"  {plan.tasks} tasks and a {STROKE_MOVES}-move stroke in chromium against 127.0.0.1:{port}"
                )
            if shots:
                say(f"  {len(shots)} screenshots into {plan.screenshots}")
            return _drive(f"http://127.0.0.1:{port}", cookie, demo.pk, stroke.pk, plan, shots, say)


@contextmanager
def _quiet_request_log() -> Iterator[None]:
    """The map asks for edge tiles outside the scene (404s, expected): keep them out of the figures' output.
    Set after the server's ``get_wsgi_application``, whose ``django.setup`` configures logging afresh."""
    log = logging.getLogger("django.request")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _session_cookie(projects: list[Project]) -> str:
    user, _ = get_user_model().objects.get_or_create(username="bench-annotator")
    for project in projects:
        Membership.objects.get_or_create(project=project, user=user, defaults={"role": Role.ANNOTATOR})
    client = Client()
    client.force_login(user)
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def _drive(
    base: str, cookie: str, demo_id: int, stroke_id: int, plan: LabelPagePlan, shots: list[Shot], say: Say
) -> LabelPageResult | None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base}])
            page = context.new_page()
            page.set_default_timeout(30_000)
            if plan.timing:
                ready, imagery = _next_tasks(page, f"{base}/projects/{demo_id}/label/", plan.tasks)
                stroke = _stroke(page, f"{base}/projects/{stroke_id}/label/")
            for path in shots_take(page, base=base, shots=shots, out_dir=plan.screenshots or Path(".")):
                say(f"  saved {path}")
        finally:
            browser.close()
    if not plan.timing:
        return None
    moves, painted = stroke["moves"], stroke["painted"]
    frames = sorted(set(painted))
    return LabelPageResult(
        next_ready_ms=tuple(ready),
        next_imagery_ms=tuple(imagery),
        move_to_canvas_ms=tuple(p - m for m, p in zip(moves, painted, strict=True)),
        frame_ms=tuple(b - a for a, b in zip(frames, frames[1:], strict=False)),
        stroke_ms=max(painted) - stroke["down"],
        long_task_max_ms=max(stroke["longTasks"], default=0.0),
        chip_size=plan.chip_size,
        stroke_chip_size=plan.stroke_chip_size,
    )


def _open(page, url: str) -> str:
    page.goto(url)
    page.wait_for_selector("#label-map[data-task]")
    page.wait_for_function(_TILES_LOADED, polling="raf")
    return page.locator("#label-map").get_attribute("data-task")


def _next_tasks(page, url: str, tasks: int) -> tuple[list[float], list[float]]:
    task = _open(page, url)
    page.evaluate(_WATCH_TASKS)
    ready, imagery = [], []
    for _ in range(tasks):
        box = page.locator(
            ".chip-layer"
        ).bounding_box()  # a short stroke, so that there is something to submit
        page.mouse.move(box["x"] + 0.3 * box["width"], box["y"] + 0.5 * box["height"])
        page.mouse.down()
        page.mouse.move(box["x"] + 0.7 * box["width"], box["y"] + 0.5 * box["height"], steps=5)
        page.mouse.up()
        page.keyboard.press("Enter")
        page.wait_for_function(
            "(id) => { const t = document.getElementById('label-map').dataset.task; return t && t !== id; }",
            arg=task,
        )
        loaded = page.wait_for_function(_TILES_LOADED, polling="raf").json_value()
        watch = page.evaluate("() => window.benchNext")
        pressed = watch["pressed"][-1]
        task, shown = watch["shown"][-1]
        ready.append(shown - pressed)
        imagery.append(loaded - pressed)
    return ready, imagery


def _stroke(page, url: str) -> dict:
    _open(page, url)
    page.fill("#brush-size", str(BRUSH))
    page.evaluate(_WATCH_STROKE)
    box = page.locator(".chip-layer").bounding_box()
    page.mouse.move(box["x"] + 4, box["y"] + 4)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] - 4, box["y"] + box["height"] - 4, steps=STROKE_MOVES)
    page.evaluate(_TWO_FRAMES)
    page.mouse.up()
    page.evaluate(_TWO_FRAMES)
    watch = page.evaluate("() => window.benchStroke")
    if not watch["moves"] or len(watch["painted"]) != len(watch["moves"]) or None in watch["painted"]:
        raise RuntimeError(
            f"the stroke was not seen: {len(watch['moves'])} moves, {len(watch['painted'])} frames"
        )
    return watch
