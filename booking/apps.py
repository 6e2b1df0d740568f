from django.apps import AppConfig


class BookingConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "booking"

    def ready(self) -> None:
        from practices.demo import DEMO_EXTENSIONS

        from .demo import seed_booking_demo

        if seed_booking_demo not in DEMO_EXTENSIONS:
            DEMO_EXTENSIONS.append(seed_booking_demo)
