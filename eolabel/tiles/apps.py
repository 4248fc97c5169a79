from django.apps import AppConfig


class TilesConfig(AppConfig):
    name = "eolabel.tiles"
    label = "tiles"
