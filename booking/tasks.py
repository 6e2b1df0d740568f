"""django-q2 entry points for the calendar: thin, id-only, safe to run twice."""

from django.utils import timezone
from django_q.tasks import async_task

from practices.models import Practice

from .caldav_sync import appointment_push, connection_sync
from .models import CalendarConnection
from .services import series_sweep


def series_sweep_all() -> dict[str, dict[str, int]]:
    """Daily: move every practice's series patients between on cadence, due and late (their local day)."""
    results = {}
    for practice in Practice.objects.filter(is_active=True):
        today = timezone.localdate(timezone=practice.zone)
        results[str(practice.pk)] = series_sweep(practice=practice, today=today)
    return results


def calendar_sync_all() -> int:
    """Every minute: one sync task per active calendar connection, so a slow server delays only its own."""
    ids = list(CalendarConnection.objects.filter(is_active=True, practice__is_active=True).values_list("pk", flat=True))
    for connection_id in ids:
        async_task("booking.tasks.calendar_sync", connection_id, task_name=f"calendar-sync-{connection_id}")
    return len(ids)


def calendar_sync(connection_id: int) -> dict:
    outcome = connection_sync(connection_id=connection_id)
    return {"ok": outcome.ok, "skipped": outcome.skipped, "fetched": outcome.fetched, "written": outcome.written}


def calendar_appointment_push(appointment_id: int) -> None:
    appointment_push(appointment_id=appointment_id)
