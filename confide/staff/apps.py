from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "confide.staff"
    label = "staff"
