from django.apps import AppConfig


class TracingConfig(AppConfig):
    name = "confide.tracing"
    label = "tracing"

    def ready(self) -> None:
        from confide.tracing import notifications  # noqa: F401  (connects the signal receiver)
