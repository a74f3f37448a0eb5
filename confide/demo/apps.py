from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "confide.demo"
    label = "demo"
