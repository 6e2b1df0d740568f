"""django-q2 entry points for the calendar: thin, id-only, safe to run twice."""

from django.utils import timezone

from practices.models import Practice

from .services import series_sweep


def series_sweep_all() -> dict[str, dict[str, int]]:
    """Daily: move every practice's series patients between on cadence, due and late (their local day)."""
    results = {}
    for practice in Practice.objects.filter(is_active=True):
        today = timezone.localdate(timezone=practice.zone)
        results[str(practice.pk)] = series_sweep(practice=practice, today=today)
    return results
