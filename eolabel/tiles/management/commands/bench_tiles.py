"""python manage.py bench_tiles — tile endpoint latency next to a direct rio-tiler read + render (`make bench`)."""

from django.core.management.base import BaseCommand, CommandParser

from eolabel.tiles.bench import bench_run, bench_table


class Command(BaseCommand):
    help = (
        "Time the tile endpoint over HTTP (Django's threaded server on 127.0.0.1, throwaway database and archive) "
        "against a direct rio-tiler read + render of the same tiles of a 2048 x 2048 x 13 band COG. Not a test."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--per-zoom", type=int, default=6, help="tiles per zoom level (default 6)")
        parser.add_argument("--rounds", type=int, default=3, help="timed passes over the tiles (default 3)")

    def handle(self, *args, **opts) -> None:
        direct, endpoint, cached = bench_run(
            per_zoom=opts["per_zoom"], rounds=opts["rounds"], say=self.stdout.write
        )
        self.stdout.write(bench_table(direct, endpoint, cached))
