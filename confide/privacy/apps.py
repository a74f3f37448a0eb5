from django.apps import AppConfig


class PrivacyConfig(AppConfig):
    name = "confide.privacy"
    label = "privacy"
    verbose_name = "Privacy: keys, encryption, blind indexes"

    def ready(self) -> None:
        from confide.privacy import checks  # noqa: F401  (registers the system checks)
