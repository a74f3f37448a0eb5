from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "confide.cases"
    label = "cases"
