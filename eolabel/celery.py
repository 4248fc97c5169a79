"""The Celery application: broker and settings come from Django settings (CELERY_ namespace)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "eolabel.settings.dev")

app = Celery("eolabel")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
