from django.apps import AppConfig


class DpoConfig(AppConfig):
    name = "confide.dpo"
    label = "dpo"
    verbose_name = "Data protection office: breaches and disclosure requests"
