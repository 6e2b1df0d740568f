"""The front desk's queues: each a fixed number of queries, however long the list."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Case, Count, OuterRef, Q, Subquery, Value, When
from django.utils import timezone

from booking.models import Appointment, CalendarConflict, FollowUpTask, SeriesEnrollment, WaitlistEntry
from booking.selectors import appointments_on_day
from calls.models import BY_ACTIVITY, Conversation, Message, Outreach
from escalations.models import Escalation
from practices.models import Location, Practice, Provider

ACTIVE_ESCALATION = [Escalation.Status.OPEN, Escalation.Status.CLAIMED]
CALLBACK_KINDS = [FollowUpTask.Kind.CALLBACK, FollowUpTask.Kind.CANCELLATION_RECOVERY, FollowUpTask.Kind.NOT_READY]


@dataclass(frozen=True)
class Counts:
    escalations: int
    emergencies: int
    callbacks: int
    conversations: int
    series: int
    problems: int = 0
    calendar_conflicts: int = 0  # clashes with the practice's own calendars, waiting for staff


def queue_counts(practice: Practice) -> Counts:
    escalations = Escalation.objects.filter(practice=practice, status__in=ACTIVE_ESCALATION).aggregate(
        total=Count("pk"), emergencies=Count("pk", filter=Q(category=Escalation.Category.EMERGENCY))
    )
    return Counts(
        escalations=escalations["total"],
        emergencies=escalations["emergencies"],
        callbacks=FollowUpTask.objects.filter(
            practice=practice, status=FollowUpTask.Status.OPEN, kind__in=CALLBACK_KINDS
        ).count(),
        conversations=Conversation.objects.filter(practice=practice, state=Conversation.State.HANDED_OFF).count(),
        series=SeriesEnrollment.objects.filter(
            practice=practice, status__in=[SeriesEnrollment.Status.DUE, SeriesEnrollment.Status.LATE]
        ).count(),
        problems=problem_count(practice),
        calendar_conflicts=CalendarConflict.objects.filter(
            practice=practice, status=CalendarConflict.Status.OPEN
        ).count(),
    )


PROBLEM_DAYS = 7


def problem_count(practice: Practice) -> int:
    since = timezone.now() - timedelta(days=PROBLEM_DAYS)
    from django_q.models import Failure

    return (
        Outreach.objects.filter(practice=practice, state=Outreach.State.FAILED, created_at__gte=since).count()
        + Message.objects.filter(practice=practice, dead_lettered_at__gte=since).count()
        + Failure.objects.filter(func__in=list(HOUSEKEEPING_JOBS), stopped__gte=since).count()
    )


# Background jobs whose failures a practice's staff should hear of. Their arguments are ids only and are
# never shown; jobs that act on one message or outreach row show up above through that row instead.
HOUSEKEEPING_JOBS = {
    "calls.tasks.outreach_sweep": "Sending due messages",
    "calls.tasks.series_prompts_all": "Series rebooking prompts",
    "booking.tasks.series_sweep_all": "Series cadence update",
    "analytics.tasks.rollups_nightly": "Analytics rollups",
    "calls.tasks.retention_purge_all": "Retention purge",
    "booking.tasks.calendar_sync_all": "Calendar sync",
    "booking.tasks.calendar_sync": "Calendar sync",
}


def failed_jobs(since):
    """django-q tasks that failed after their retries (its dead letters), newest first."""
    from django_q.models import Failure

    return [
        {"what": HOUSEKEEPING_JOBS[row.func], "when": row.stopped, "tries": row.attempt_count, "error": row.result}
        for row in Failure.objects.filter(func__in=list(HOUSEKEEPING_JOBS), stopped__gte=since).order_by("-stopped")[
            :PAGE
        ]
    ]


def problems(practice: Practice) -> dict:
    """The dead letters of the last week: messages we could not send, texts we could not handle, and
    texts still being retried."""
    since = timezone.now() - timedelta(days=PROBLEM_DAYS)
    return {
        "failed_outreach": Outreach.objects.filter(
            practice=practice, state=Outreach.State.FAILED, created_at__gte=since
        )
        .select_related("patient")
        .order_by("-created_at")[:PAGE],
        "dead_letters": Message.objects.filter(practice=practice, dead_lettered_at__gte=since)
        .select_related("conversation__patient")
        .order_by("-dead_lettered_at")[:PAGE],
        "retrying": Message.objects.filter(
            practice=practice,
            direction=Message.Direction.INBOUND,
            processed_at__isnull=True,
            dead_lettered_at__isnull=True,
            process_attempts__gt=0,
        )
        .select_related("conversation__patient")
        .order_by("created_at")[:PAGE],
        "failed_jobs": failed_jobs(since),
    }


def escalation_queue(practice: Practice):
    """Open and claimed escalations, emergencies first, then by due time (slice it: a page shows PAGE)."""
    return (
        Escalation.objects.filter(practice=practice, status__in=ACTIVE_ESCALATION)
        .select_related("patient", "claimed_by", "conversation")
        .prefetch_related("media")
        .order_by("priority", "sla_due_at")
    )


def _last_message(direction: str):
    return Subquery(
        Message.objects.filter(conversation__patient=OuterRef("patient"), direction=direction)
        .order_by("-created_at")
        .values("body")[:1]
    )


def callback_queue(practice: Practice):
    """Open callbacks, oldest due first (slice it: a page shows PAGE of them)."""
    return (
        FollowUpTask.objects.filter(practice=practice, status=FollowUpTask.Status.OPEN, kind__in=CALLBACK_KINDS)
        .select_related("patient", "enrollment__template", "appointment__service")
        .annotate(last_inbound=_last_message("inbound"), last_outbound=_last_message("outbound"))
        .order_by("due_on", "created_at", "pk")
    )


def conversation_list(practice: Practice, *, limit: int = 100):
    last_body = Subquery(Message.objects.filter(conversation=OuterRef("pk")).order_by("-created_at").values("body")[:1])
    return (
        Conversation.objects.filter(practice=practice)
        .select_related("patient", "taken_over_by")
        .annotate(last_body=last_body)
        .order_by(*BY_ACTIVITY)[:limit]
    )


def schedule_for(practice: Practice, *, day: date, location: Location):
    """Today's visits at one location, by provider column (providers who work there or have a visit)."""
    visits = list(
        appointments_on_day(practice=practice, day=day, location=location)
        .exclude(status="cancelled")
        .select_related("intake")
    )
    providers = list(
        Provider.objects.filter(Q(locations=location) | Q(pk__in=[v.provider_id for v in visits]), practice=practice)
        .distinct()
        .order_by("last_name")
    )
    columns = {provider.pk: [] for provider in providers}
    for visit in visits:
        columns.setdefault(visit.provider_id, []).append(visit)
    return [(provider, columns[provider.pk]) for provider in providers]


DUE_SOON = 14  # days ahead: on cadence, but their window opens soon


# A page shows this many rows of a long queue, most urgent first, with the total beside it.
PAGE = 100


def series_queue(practice: Practice, *, limit: int = PAGE) -> tuple[list[SeriesEnrollment], int]:
    """Late first (most days overdue), then due now, then due within two weeks; and how many in all."""
    today = timezone.localdate(timezone=practice.zone)
    queue = SeriesEnrollment.objects.filter(practice=practice).filter(
        Q(status__in=[SeriesEnrollment.Status.DUE, SeriesEnrollment.Status.LATE])
        | Q(
            status=SeriesEnrollment.Status.ON_CADENCE,
            next_due_from__lte=today + timedelta(days=DUE_SOON),
            next_due_from__gt=today,
        )
    )
    soon_last = Case(When(status=SeriesEnrollment.Status.ON_CADENCE, then=Value(1)), default=Value(0))
    rows = list(
        queue.select_related("patient", "template", "template__service")
        .annotate(soon_last=soon_last)
        .order_by("soon_last", "next_due_until", "pk")[:limit]
    )
    for row in rows:
        row.overdue = row.days_overdue(today)
        row.soon = row.status == SeriesEnrollment.Status.ON_CADENCE
    return rows, queue.count()


def waitlist(practice: Practice):
    return (
        WaitlistEntry.objects.filter(practice=practice, status=WaitlistEntry.Status.WAITING)
        .select_related("patient", "service", "location", "provider")
        .order_by("created_at")
    )


def recent_cancellations(practice: Practice):
    return (
        Appointment.objects.filter(
            practice=practice, status=Appointment.Status.CANCELLED, starts_at__gte=timezone.now()
        )
        .select_related("patient", "service", "location")
        .order_by("starts_at")[:20]
    )
