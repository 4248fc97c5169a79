"""Training tasks: each takes ids, calls one service and is safe to deliver twice (acks_late: a message is
acknowledged only after the task returns, and re-delivered if the worker dies; the job claim makes the
repeat a no-op)."""

from celery import shared_task

from eolabel.training.services.jobs import training_jobs_reap
from eolabel.training.services.runner import training_job_run
from eolabel.training.services.scoring import score_chunk


@shared_task(name="training.job_run", acks_late=True, reject_on_worker_lost=True)
def training_job_run_task(job_id: int) -> str:
    """Run (or skip, when it is not claimable) one TrainingJob."""
    return training_job_run(job_id=job_id)


@shared_task(name="training.score_chunk", acks_late=True, reject_on_worker_lost=True)
def score_chunk_task(
    project_id: int, model_version: str, chip_ids: list[int], chunk_id: int | None = None
) -> bool:
    """Score one chunk of a project's pool with a model version (upserts); True if it completed its pass."""
    return score_chunk(
        project_id=project_id, model_version=model_version, chip_ids=chip_ids, chunk_id=chunk_id
    )


@shared_task(name="training.reap", ignore_result=True)
def training_jobs_reap_task() -> dict[str, int]:
    """The periodic sweep (Celery beat, see CELERY_BEAT_SCHEDULE): re-queue or fail jobs whose worker died, and
    re-send queued jobs whose message never reached a worker (the broker was down when they were created)."""
    return training_jobs_reap()
