from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "eolabel.exports"
    label = "exports"
