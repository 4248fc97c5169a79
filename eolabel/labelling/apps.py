from django.apps import AppConfig


class LabellingConfig(AppConfig):
    name = "eolabel.labelling"
    label = "labelling"
