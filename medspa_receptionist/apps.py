from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProjectConfig(AppConfig):
    """The project package as an app, so that it can register the schedules after migrations."""

    name = "medspa_receptionist"
    verbose_name = "Receptionist"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in

        from .sessions import mark_sign_in
        from .tasks import ensure_schedules

        user_logged_in.connect(mark_sign_in, dispatch_uid="medspa_receptionist.mark_sign_in")
        post_migrate.connect(ensure_schedules, sender=self, dispatch_uid="medspa_receptionist.ensure_schedules")
