from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "confide.people"
    label = "people"
