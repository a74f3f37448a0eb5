from django.apps import AppConfig


class IngestConfig(AppConfig):
    name = "confide.ingest"
    label = "ingest"
