"""Project-wide scheduled tasks, and the list of schedules every deployment must have."""

from django_q.models import Schedule

SCHEDULES = [
    # Follow-ups, messages deferred by quiet hours, and anything a restart dropped.
    {"func": "calls.tasks.outreach_sweep", "name": "outreach-sweep", "schedule_type": Schedule.MINUTES, "minutes": 1},
    # Hourly, so that each practice's patients move on cadence/due/late soon after their local midnight.
    {"func": "booking.tasks.series_sweep_all", "name": "series-sweep", "schedule_type": Schedule.HOURLY},
    {"func": "calls.tasks.series_prompts_all", "name": "series-prompts", "schedule_type": Schedule.HOURLY},
    # Connected calendars (CalDAV): read what changed, write our visits. One task per connection.
    {
        "func": "booking.tasks.calendar_sync_all",
        "name": "calendar-sync",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    # Each practice's analytics rollups, once a day soon after its local midnight.
    {"func": "analytics.tasks.rollups_nightly", "name": "analytics-rollups", "schedule_type": Schedule.HOURLY},
    # Erase conversations older than each practice's retention period.
    {"func": "calls.tasks.retention_purge_all", "name": "retention-purge", "schedule_type": Schedule.DAILY},
    # The heartbeat proves the scheduler runs: /healthz reports any schedule left far overdue.
    {
        "func": "medspa_receptionist.tasks.heartbeat",
        "name": "heartbeat",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
]


def heartbeat() -> str:
    return "ok"


def ensure_schedules(**_kwargs) -> None:
    """Create or update the schedules by name; safe to run on every migrate."""
    for spec in SCHEDULES:
        spec = dict(spec)
        name = spec.pop("name")
        Schedule.objects.update_or_create(name=name, defaults={**spec, "repeats": -1})
