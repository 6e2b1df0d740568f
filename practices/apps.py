from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PracticesConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "practices"

    def ready(self) -> None:
        from .roles import ensure_role_groups

        # After the last app has migrated, so every app's permissions exist.
        post_migrate.connect(ensure_role_groups, dispatch_uid="practices.ensure_role_groups")
