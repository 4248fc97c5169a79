"""python manage.py retrain <project> [--inline] | retrain --reap [--stale-after S]"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.labelling.models import Project
from eolabel.training.management.jobcli import job_queue_or_run
from eolabel.training.models import TrainingJob
from eolabel.training.services.jobs import training_jobs_reap


class Command(BaseCommand):
    help = "Queue a retraining job for a project (a worker runs it), run it here with --inline, or --reap stale jobs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", nargs="?", type=int, help="project id")
        parser.add_argument(
            "--inline", action="store_true", help="run the job in this process, not on a worker"
        )
        parser.add_argument(
            "--reap", action="store_true", help="re-queue or fail jobs whose worker stopped beating"
        )
        parser.add_argument(
            "--stale-after", type=float, default=None, help="seconds without heartbeat (--reap)"
        )

    def handle(self, *args, **opts) -> None:
        if opts["reap"]:
            stale = (
                opts["stale_after"]
                if opts["stale_after"] is not None
                else settings.EOLABEL_TRAIN_STALE_AFTER_S
            )
            counts = training_jobs_reap(stale_after_s=stale)
            self.stdout.write(
                f"reaped: {counts['requeued']} re-queued, {counts['failed']} failed, {counts['resent']} re-sent"
            )
            if opts["project"] is None:
                return
        if opts["project"] is None:
            raise CommandError("give a project id (or --reap)")
        project = Project.objects.filter(pk=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project']}")
        job_queue_or_run(
            self,
            project=project,
            kind=TrainingJob.Kind.RETRAIN,
            reason="manage.py retrain",
            inline=opts["inline"],
        )
