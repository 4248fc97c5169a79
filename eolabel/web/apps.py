from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "eolabel.web"
    label = "web"
