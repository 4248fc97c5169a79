from django.apps import AppConfig


class TrainingConfig(AppConfig):
    name = "eolabel.training"
    label = "training"
    verbose_name = "training"
