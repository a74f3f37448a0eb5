from django.apps import AppConfig


class PublicConfig(AppConfig):
    name = "confide.public"
    label = "public"
    verbose_name = "Public self-service"
