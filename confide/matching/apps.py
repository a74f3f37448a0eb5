from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "confide.matching"
    label = "matching"
