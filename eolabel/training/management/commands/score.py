"""python manage.py score <project> [--inline | --distributed]"""

from django.core.management.base import BaseCommand, CommandError, CommandParser

from eolabel.labelling.models import Project
from eolabel.training.management.jobcli import job_queue_or_run
from eolabel.training.models import TrainingJob
from eolabel.training.services.scoring import scoring_pass_start


class Command(BaseCommand):
    help = (
        "Re-score a project's pool with its current model and re-rank its queue: a job on a worker (default), "
        "in this process (--inline), or fanned out as one training.score_chunk task per chunk (--distributed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("project", type=int)
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--inline", action="store_true")
        mode.add_argument("--distributed", action="store_true")
        parser.add_argument("--chunk-size", type=int, default=None)

    def handle(self, *args, **opts) -> None:
        project = Project.objects.filter(pk=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project {opts['project']}")
        if not project.current_model_version:
            raise CommandError(f"project {project.pk} has no model yet: run retrain first")
        if opts["distributed"]:
            scoring_pass = scoring_pass_start(
                project=project, model_version=project.current_model_version, chunk_size=opts["chunk_size"]
            )
            self.stdout.write(
                f"scoring pass {scoring_pass.pk}: {scoring_pass.chunks_total} chunk task(s) sent"
            )
            return
        job_queue_or_run(
            self,
            project=project,
            kind=TrainingJob.Kind.SCORE,
            reason="manage.py score",
            inline=opts["inline"],
        )
