from django.utils import timezone

from .tenancy import practice_for_user


class PracticeTimezoneMiddleware:
    """Show times in the signed-in staff member's practice zone (admin and pages alike)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        practice = practice_for_user(getattr(request, "user", None))
        if practice is not None:
            timezone.activate(practice.zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
