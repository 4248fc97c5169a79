from django.apps import AppConfig


class RankingConfig(AppConfig):
    name = "eolabel.ranking"
    label = "ranking"
