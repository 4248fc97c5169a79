"""eolabel: active-learning labelling of Earth-observation archives."""

from eolabel.celery import app as celery_app

__all__ = ["celery_app"]
