"""The manager's view of the practice's connected calendars: when each last synced, what went wrong in
plain words, how many events were read and written, and the clashes waiting for staff."""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django_q.tasks import async_task

from booking.caldav_sync import conflict_handle
from booking.models import BookingState, CalendarConflict, CalendarConnection, ExternalEvent, SyncedAppointment
from practices.audit import audited
from practices.tenancy import user_manages

from .views import _page, staff_view


def manager_view(view):
    """A console page for the practice's managers and owners only (403 for the front desk)."""

    @staff_view
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not user_manages(request.user):
            raise PermissionDenied("Calendar sync is for the practice's managers.")
        return view(request, *args, **kwargs)

    return wrapper


def _counts(model, practice) -> dict[int, int]:
    rows = model.objects.filter(practice=practice).values("connection_id").annotate(n=Count("pk")).order_by()
    return {row["connection_id"]: row["n"] for row in rows}


def _state(connection: CalendarConnection, now) -> tuple[str, str]:
    """(css class, words) for what the connection means for booking right now."""
    if not connection.is_active:
        return "muted", "Turned off"
    state = connection.booking_state(now)
    zone = connection.zone
    if state.kind == BookingState.FRESH:
        return "sync-ok", "Up to date"
    if state.kind == BookingState.REFUSING:
        return "sync-alert", f"Bookings for it are refused until {timezone.localtime(state.until, zone):%-I:%M %p}"
    if state.kind == BookingState.BYPASSED:
        return "sync-alert", (
            f"Not checked since {timezone.localtime(state.since, zone):%-I:%M %p}: bookings go ahead on our own "
            "calendar and may clash with it"
        )
    if connection.last_success_at is None:
        return "muted", "Not synced yet"
    return "sync-alert", "Behind: the sync has not run lately"


@require_GET
@manager_view
@audited("calendar sync status")
def calendar_sync(request):
    practice = request.practice
    now = timezone.now()
    imported, written = _counts(ExternalEvent, practice), _counts(SyncedAppointment, practice)
    waiting = {
        row["connection_id"]: row["n"]
        for row in CalendarConflict.objects.filter(practice=practice, status=CalendarConflict.Status.OPEN)
        .values("connection_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    connections = []
    for connection in CalendarConnection.objects.filter(practice=practice).select_related(
        "practice", "provider", "location", "resource__location"
    ):
        css, words = _state(connection, now)
        connections.append(
            {
                "connection": connection,
                "state_class": css,
                "state": words,
                "imported": imported.get(connection.pk, 0),
                "written": written.get(connection.pk, 0),
                "waiting": waiting.get(connection.pk, 0),
            }
        )
    conflicts = CalendarConflict.objects.filter(practice=practice).select_related(
        "connection", "appointment__patient", "appointment__service", "appointment__provider", "appointment__location"
    )
    return _page(
        request,
        "console/calendar_sync.html",
        {
            "connections": connections,
            "open_conflicts": conflicts.filter(status=CalendarConflict.Status.OPEN).order_by("detected_at"),
            "closed_conflicts": conflicts.exclude(status=CalendarConflict.Status.OPEN).order_by("-closed_at")[:20],
        },
    )


@require_POST
@manager_view
def calendar_sync_now(request, pk: int):
    connection = get_object_or_404(CalendarConnection, practice=request.practice, pk=pk)
    async_task("booking.tasks.calendar_sync", connection.pk, task_name=f"calendar-sync-{connection.pk}-now")
    messages.success(request, f"Syncing {connection.name} now. Reload in a moment to see the result.")
    return redirect(reverse("console-calendar-sync"))


@require_POST
@manager_view
def calendar_conflict_handled(request, pk: int):
    conflict = get_object_or_404(CalendarConflict, practice=request.practice, pk=pk)
    conflict_handle(conflict=conflict, user=request.user, note=request.POST.get("note", ""))
    messages.success(request, "Marked as handled.")
    return redirect(reverse("console-calendar-sync"))
