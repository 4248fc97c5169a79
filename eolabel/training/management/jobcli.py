"""What the retrain and score commands share: queue a job for a worker, or run it here with --inline."""

from django.core.management.base import BaseCommand, CommandError

from eolabel.labelling.models import Project
from eolabel.training.errors import JobActive
from eolabel.training.services.jobs import training_job_enqueue
from eolabel.training.services.runner import training_job_run


def job_queue_or_run(command: BaseCommand, *, project: Project, kind: str, reason: str, inline: bool) -> None:
    """Queue a ``kind`` job for the project (a worker runs it), or run it in this process when ``inline``;
    CommandError (a one-line reason, exit 1) when the project already has an active job or the run fails."""
    try:
        job = training_job_enqueue(project=project, kind=kind, reason=reason, send=not inline)
    except JobActive as exc:
        raise CommandError(str(exc)) from exc
    if not inline:
        command.stdout.write(f"job {job.pk} queued for project {project.pk}")
        return
    outcome = training_job_run(job_id=job.pk)
    job.refresh_from_db()
    command.stdout.write(f"job {job.pk} {outcome}: {job.message}")
    if job.state != job.State.SUCCEEDED:
        raise CommandError(job.message or outcome)
