from django.apps import AppConfig


class StatisticsConfig(AppConfig):
    name = "confide.statistics"
    label = "statistics"
    verbose_name = "Public statistics"
