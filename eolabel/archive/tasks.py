"""Background work on the archive. Tasks take ids, load rows and call one service; safe to run twice."""

from celery import shared_task

from eolabel.archive.services import scene_verify


@shared_task(name="archive.scene_verify", acks_late=True)
def scene_verify_task(scene_id: int) -> str:
    """Re-hash a scene's COG and record whether it is intact; returns the resulting status."""
    return scene_verify(scene_id=scene_id)
