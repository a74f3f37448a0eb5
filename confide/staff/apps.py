from django.apps import AppConfig


class StaffConfig(AppConfig):
    name = "confide.staff"
    label = "staff"

    def ready(self) -> None:
        from confide.staff import permissions  # noqa: F401  (registers every rule)
