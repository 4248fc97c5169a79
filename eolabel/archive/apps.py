from django.apps import AppConfig


class ArchiveConfig(AppConfig):
    name = "eolabel.archive"
    label = "archive"
