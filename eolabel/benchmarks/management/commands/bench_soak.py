"""python manage.py bench_soak [--users 50] [--minutes 10] [--worker]"""

import time

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.benchmarks.server import throwaway_database
from eolabel.benchmarks.soak import SoakPlan, soak_run, soak_table


class Command(BaseCommand):
    help = (
        "Soak: N locust annotators doing next-task, tile fetches and submits (with retries of the same submission "
        "id) against gunicorn on 127.0.0.1 over the demo archive, in a throwaway database of the configured "
        "engine; then the database is checked. Prints p50/p95 per request and gunicorn's memory; exits 1 on any "
        "lost or duplicated submission or double lease."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--users", type=int, default=50, help="concurrent annotators (50)")
        parser.add_argument("--minutes", type=float, default=10.0, help="how long they work (10)")
        parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes (2)")
        parser.add_argument("--worker", action="store_true", help="also run a Celery worker")
        parser.add_argument("--small", action="store_true", help="the small demo archive (quick runs)")
        parser.add_argument("--overlap", type=int, default=3, help="annotators per chip (3)")

    def handle(self, *args, **opts) -> None:
        if not 1 <= opts["users"] <= 500:
            raise CommandError("--users: 1 to 500", returncode=1)
        if not 0.05 <= opts["minutes"] <= 120:
            raise CommandError("--minutes: 0.05 to 120", returncode=1)
        plan = SoakPlan(
            users=opts["users"],
            seconds=opts["minutes"] * 60,
            small_archive=opts["small"],
            overlap=opts["overlap"],
            web_workers=opts["web_workers"],
            worker=opts["worker"],
        )
        started = time.perf_counter()
        with throwaway_database() as database:
            self.stdout.write(f"bench_soak: database {database}")
            result = soak_run(plan=plan, say=self.stdout.write)
            self.stdout.write(soak_table(result))
        self.stdout.write(f"total {time.perf_counter() - started:.0f} s")
        if not result.clean:
            raise CommandError(
                f"lost {result.lost}, duplicates {result.duplicates}, double leases {result.double_leases}, "
                f"errors {list(result.errors)[:1]}",
                returncode=1,
            )
