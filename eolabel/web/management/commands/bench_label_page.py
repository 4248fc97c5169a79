"""python manage.py bench_label_page [--tasks N] [--chip-size PX] [--stroke-chip-size PX] [--small]
[--screenshots DIR [--screenshots-only]]"""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.benchmarks.server import throwaway_database
from eolabel.web.bench import LabelPagePlan, bench_label_page_run, browser_missing, label_page_table


class Command(BaseCommand):
    help = (
        "The labelling page in Debian's chromium (headless, Playwright) against Django's threaded server on "
        "127.0.0.1, over the demo archive in a throwaway database: Enter -> next task shown (p50/p95), and a "
        "50-move brush stroke on a 512 px chip (pointer move -> canvas update, frame interval). Exits 1 with "
        "the reason when chromium or Playwright is missing. With --screenshots DIR, then saves the labelling page "
        "of a cloud and a vehicle project on the demo chips with the most ground truth, drawn on with the "
        "page's tools (label-demo-clouds.png, label-demo-vehicles.png)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--tasks", type=int, default=15, help="tasks submitted with Enter and timed (15)")
        parser.add_argument("--chip-size", type=int, default=256, help="the demo project's chip size (256)")
        parser.add_argument("--stroke-chip-size", type=int, default=512, help="the stroked chip's size (512)")
        parser.add_argument("--small", action="store_true", help="the small demo archive (128 px scenes)")
        parser.add_argument(
            "--screenshots",
            type=Path,
            metavar="DIR",
            help="after the timing, save the demo screenshots in DIR",
        )
        parser.add_argument(
            "--screenshots-only", action="store_true", help="with --screenshots: skip the timing run"
        )

    def handle(self, *args, **opts) -> None:
        if opts["screenshots_only"] and not opts["screenshots"]:
            raise CommandError("--screenshots-only needs --screenshots DIR", returncode=1)
        why = browser_missing()
        if why:
            raise CommandError(f"bench_label_page: {why}", returncode=1)
        if not 1 <= opts["tasks"] <= 200:
            raise CommandError("--tasks: 1 to 200", returncode=1)
        plan = LabelPagePlan(
            tasks=opts["tasks"],
            chip_size=opts["chip_size"],
            stroke_chip_size=opts["stroke_chip_size"],
            small_archive=opts["small"],
            timing=not opts["screenshots_only"],
            screenshots=opts["screenshots"],
        )
        started = time.perf_counter()
        with throwaway_database() as database:
            self.stdout.write(f"bench_label_page: database {database}")
            try:
                result = bench_label_page_run(plan=plan, say=self.stdout.write)
            except RuntimeError as exc:
                raise CommandError(f"bench_label_page: {exc}", returncode=1) from exc
        if result is not None:
            self.stdout.write(label_page_table(result))
        self.stdout.write(f"total {time.perf_counter() - started:.1f} s")
