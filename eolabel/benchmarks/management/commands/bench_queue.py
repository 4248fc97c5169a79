"""python manage.py bench_queue [--annotators 1,20] [--tasks N]"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.benchmarks.queue import bench_queue, bench_table
from eolabel.benchmarks.server import loopback_server, throwaway_database

MAX_ANNOTATORS = 64


class Command(BaseCommand):
    help = (
        "Latency of tasks/next (and of submitting a mask) with 1 and 20 concurrent virtual annotators against "
        "Django's threaded server on 127.0.0.1, in a throwaway database of the configured engine (SQLite unless "
        "DATABASE_URL says otherwise). Bounded by --max-seconds; exits 1 if any request failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--annotators", default="1,20", help="comma-separated concurrency levels (default 1,20)"
        )
        parser.add_argument(
            "--tasks", type=int, default=10, help="tasks each annotator leases and submits (10)"
        )
        parser.add_argument(
            "--queue-chips", type=int, default=1024, help="chips in each level's queue (1024)"
        )
        parser.add_argument("--max-seconds", type=float, default=90.0, help="stop requesting after this (90)")

    def handle(self, *args, **opts) -> None:
        levels = _levels(opts["annotators"])
        tasks: int = opts["tasks"]
        if not 1 <= tasks <= 1000:
            raise CommandError("--tasks: 1 to 1000", returncode=1)
        if not 16 <= opts["queue_chips"] <= 100_000:
            raise CommandError("--queue-chips: 16 to 100000", returncode=1)
        started = time.perf_counter()
        with throwaway_database() as database, loopback_server() as port:
            self.stdout.write(f"bench_queue: database {database}")
            self.stdout.write(
                f"server: Django threaded WSGI server on 127.0.0.1:{port} (in-process, loopback only)"
            )
            results = bench_queue(
                port=port,
                annotators=levels,
                tasks=tasks,
                deadline_s=opts["max_seconds"],
                say=self.stdout.write,
            )
        self.stdout.write(bench_table(results))
        problems = [f"{r.annotators} annotator(s): {e}" for r in results for e in r.errors]
        duplicated = [r.annotators for r in results if r.distinct_chips != r.chips_annotated]
        self.stdout.write(f"total {time.perf_counter() - started:.1f} s")
        if duplicated:
            problems.append(f"a chip was annotated twice at {duplicated} annotators (overlap is 1)")
        if problems:
            raise CommandError(f"{len(problems)} problem(s); first: {problems[0]}", returncode=1)


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise CommandError(f"--annotators {text!r}: comma-separated integers", returncode=1) from exc
    if not levels or any(not 1 <= n <= MAX_ANNOTATORS for n in levels):
        raise CommandError(f"--annotators: integers from 1 to {MAX_ANNOTATORS}", returncode=1)
    return levels
