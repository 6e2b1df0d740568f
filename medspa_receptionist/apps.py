from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProjectConfig(AppConfig):
    """The project package as an app, so that it can register the schedules after migrations."""

    name = "medspa_receptionist"
    verbose_name = "Receptionist"

    def ready(self) -> None:
        from .tasks import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="medspa_receptionist.ensure_schedules")
