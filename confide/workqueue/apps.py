from django.apps import AppConfig


class WorkqueueConfig(AppConfig):
    name = "confide.workqueue"
    label = "workqueue"
    verbose_name = "Work queues: one item, one tracer"
