from django.apps import AppConfig


class CallsConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "calls"

    def ready(self) -> None:
        from practices.demo import DEMO_EXTENSIONS

        from .demo import seed_calls_demo

        # After the booking demo (booking is listed before calls in INSTALLED_APPS): the history books
        # around the calendar it made.
        if seed_calls_demo not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(seed_calls_demo)
