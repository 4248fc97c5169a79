from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "eolabel.benchmarks"
    label = "benchmarks"
