"""python manage.py bench_loop — active-learning loop latency on the demo project (`make bench`)."""

from django.core.management.base import BaseCommand

from eolabel.training.bench import bench_loop_run, bench_loop_table


class Command(BaseCommand):
    help = (
        "Time the loop: last annotation of a batch -> new model promoted -> ranking updated, on the small demo "
        "archive in a throwaway database (a cold-start round and a fine-tune round). Not a test."
    )

    def handle(self, *args, **opts) -> None:
        rounds = bench_loop_run(say=self.stdout.write)
        self.stdout.write(bench_loop_table(rounds))
