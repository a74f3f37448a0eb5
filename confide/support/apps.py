from django.apps import AppConfig


class SupportConfig(AppConfig):
    name = "confide.support"
    label = "support"
    verbose_name = "Isolation support"
