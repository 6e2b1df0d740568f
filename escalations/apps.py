from django.apps import AppConfig


class EscalationsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "escalations"

    def ready(self) -> None:
        from practices.demo import DEMO_EXTENSIONS

        from .demo import seed_escalations_demo

        if seed_escalations_demo not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(seed_escalations_demo)
