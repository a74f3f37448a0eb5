from django.apps import AppConfig


class WorkspaceConfig(AppConfig):
    """The tracer's workspace: their queue, the item they hold, and the supervisor's dashboard.

    No models: pages here call the services and selectors of workqueue, cases, tracing and
    people, and every one declares its permission (confide/staff/permissions.py).
    """

    name = "confide.workspace"
    label = "workspace"
    verbose_name = "Tracer workspace"
