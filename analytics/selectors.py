"""The figures a practice sees: the dashboard, the series review, the ROI model and a desk's own queue.

Closed days come from the stored rollups where they exist; today, and any day not rolled up yet, is
computed live from the records by the same code (analytics/facts.py), so both give the same numbers.
"""

import math
import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.utils import timezone

from booking.models import Appointment, SeriesEnrollment, SeriesTemplate
from calls.models import Call, Message
from escalations.models import Escalation
from practices.models import Campaign, Practice

from . import facts as daily
from .filters import Filters
from .models import DailyRollup, RollupDay

FUNNEL = [
    ("missed", "Missed calls"),
    ("texted", "Texted back"),
    ("replied", "Replied"),
    ("qualified", "Qualified"),
    ("booked", "Booked"),
    ("showed", "Showed"),
]
WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def practice_today(practice: Practice) -> date:
    return timezone.localdate(timezone=practice.zone)


# Reading facts: stored rollups for closed days, live for the rest.


def _matches(key: daily.Key, filters: Filters) -> bool:
    """Location and service filters keep only facts known to have that value (facts without the
    dimension drop out). The source filter is applied by the caller, since the campaign table needs
    every source."""
    if filters.location_id and key.location_id != filters.location_id:
        return False
    if filters.service_id and key.service_id != filters.service_id:
        return False
    return True


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days as (first, last) runs."""
    runs = []
    for day in days:
        if runs and runs[-1][1] + timedelta(days=1) == day:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


def facts_rows(practice: Practice, filters: Filters, *, rollups: bool = True):
    """(key, facts) for every day in the range, from rollups where stored (closed days only) and live
    otherwise, filtered by location and service."""
    live_days = [filters.start + timedelta(days=offset) for offset in range(filters.days)]
    if rollups:
        yesterday = practice_today(practice) - timedelta(days=1)
        stored = set(
            RollupDay.objects.filter(
                practice=practice, day__gte=filters.start, day__lte=min(filters.end, yesterday)
            ).values_list("day", flat=True)
        )
        if stored:
            rows = DailyRollup.objects.filter(practice=practice, day__gte=filters.start, day__lte=filters.end)
            if filters.location_id:
                rows = rows.filter(location_id=filters.location_id)
            if filters.service_id:
                rows = rows.filter(service_id=filters.service_id)
            fields = ("day", "location_id", "source", "service_id", "facts")
            for day, location_id, source, service_id, facts in rows.values_list(*fields).iterator(chunk_size=5000):
                if day in stored:
                    yield daily.Key(day, location_id, source, service_id), facts
        live_days = [day for day in live_days if day not in stored]
    for first, last in _runs(live_days):
        for key, facts in daily.compute(practice, first, last).items():
            if _matches(key, filters):
                yield key, facts


def facts_by_day(practice: Practice, filters: Filters, *, rollups: bool = True) -> dict[date, dict]:
    """The merged facts of each day in the range, after all the filters."""
    by_day: dict[date, dict] = defaultdict(dict)
    for key, facts in facts_rows(practice, filters, rollups=rollups):
        if not filters.source or key.source == filters.source:
            daily.merge(by_day[key.day], facts)
    return dict(by_day)


def facts_total(practice: Practice, filters: Filters, *, rollups: bool = True) -> dict:
    total: dict = {}
    for facts in facts_by_day(practice, filters, rollups=rollups).values():
        daily.merge(total, facts)
    return total


# Turning facts into figures.


def rate(part: int, whole: int) -> float | None:
    """A share in percent with one decimal, or None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


def percentile(values: list[int], share: float) -> int | None:
    """Nearest-rank percentile: the smallest value with at least `share` of the values at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def median(values: list[int]) -> float | None:
    return statistics.median(values) if values else None


def dollars(cents: int) -> Decimal:
    return (Decimal(cents) / 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Dashboard:
    filters: Filters
    figures: dict

    def as_dict(self) -> dict:
        return {"filters": self.filters.as_query(), **self.figures}


def dashboard(practice: Practice, filters: Filters, *, rollups: bool = True) -> Dashboard:
    by_day: dict[date, dict] = defaultdict(dict)
    by_source: dict[str, dict] = defaultdict(dict)
    for key, facts in facts_rows(practice, filters, rollups=rollups):
        if key.source:
            counters = by_source[key.source]
            for name in CAMPAIGN_COUNTERS:
                counters[name] = counters.get(name, 0) + facts.get(name, 0)
        if not filters.source or key.source == filters.source:
            daily.merge(by_day[key.day], facts)
    total: dict = {}
    for facts in by_day.values():
        daily.merge(total, facts)
    figures = summarize(total)
    days = [filters.start + timedelta(days=offset) for offset in range(filters.days)]
    figures["daily"] = [
        {"day": day.isoformat(), **{name: by_day.get(day, {}).get(name, 0) for name in DAILY}} for day in days
    ]
    figures["heatmap"] = _heatmap(by_day)
    figures["campaigns"] = _campaigns(practice, by_source)
    figures["series"] = series_overview(practice, service_id=filters.service_id)
    return Dashboard(filters=filters, figures=figures)


DAILY = ("calls", "missed", "texted", "booked")
CAMPAIGN_COUNTERS = ("calls", "missed", "booked", "bookings", "bookings_cents")


def summarize(total: dict) -> dict:
    """Rates, medians and money from merged facts."""
    get = total.get
    calls, missed = get("calls", 0), get("missed", 0)
    funnel = []
    previous = None
    for stage, label in FUNNEL:
        count = get(stage, 0)
        funnel.append(
            {
                "stage": stage,
                "label": label,
                "count": count,
                "rate": None if previous is None else rate(count, previous),
            }
        )
        previous = count
    claims = get("claim_seconds", {})
    escalations = [
        {
            "category": category,
            "label": Escalation.Category(category).label if category in Escalation.Category.values else category,
            "count": count,
            "claimed": len(claims.get(category, [])),
            "median_claim_seconds": median(claims.get(category, [])),
        }
        for category, count in sorted(get("escalations", {}).items(), key=lambda item: (-item[1], item[0]))
    ]
    kept = get("visits_showed", 0) + get("no_show", 0)
    return {
        "calls": {
            "total": calls,
            "answered": calls - missed,
            "missed": missed,
            "missed_rate": rate(missed, calls),
            "after_hours": get("after_hours", 0),
            "after_hours_share": rate(get("after_hours", 0), calls),
            "missed_reasons": [
                {
                    "reason": reason,
                    "label": Call.MissedReason(reason).label if reason in Call.MissedReason.values else reason,
                    "count": count,
                }
                for reason, count in sorted(get("missed_reasons", {}).items(), key=lambda item: (-item[1], item[0]))
            ],
        },
        "speed_to_lead": {
            "texted": len(get("speed", [])),
            "median_seconds": median(get("speed", [])),
            "p90_seconds": percentile(get("speed", []), 0.9),
            "within_60_seconds": sum(1 for seconds in get("speed", []) if seconds <= 60),
        },
        "funnel": funnel,
        "recovered": {
            "booked_calls": get("booked", 0),
            "booked_value": dollars(get("booked_cents", 0)),
            "showed_value": dollars(get("showed_cents", 0)),
            "completed_value": dollars(get("completed_cents", 0)),
        },
        "bookings": {"count": get("bookings", 0), "value": dollars(get("bookings_cents", 0))},
        "visits": {
            "total": get("visits", 0),
            "showed": get("visits_showed", 0),
            "no_show": get("no_show", 0),
            "cancelled": get("cancelled", 0),
            "show_rate": rate(get("visits_showed", 0), kept),
            "no_show_rate": rate(get("no_show", 0), kept),
            "cancellation_rate": rate(get("cancelled", 0), get("visits", 0)),
            "cancel_reasons": [
                {"reason": reason, "count": count}
                for reason, count in sorted(get("cancel_reasons", {}).items(), key=lambda item: (-item[1], item[0]))
            ],
        },
        "reminders": {
            "reminded": get("reminded", 0),
            "confirmed": get("confirmed", 0),
            "confirmation_rate": rate(get("confirmed", 0), get("reminded", 0)),
        },
        "escalations": escalations,
    }


def _heatmap(by_day: dict[date, dict]) -> list[dict]:
    """Calls by weekday (rows) and local hour (columns)."""
    grid = [[0] * 24 for _ in WEEKDAYS]
    for day, facts in by_day.items():
        for hour, count in enumerate(facts.get(daily.HOURS, [0] * 24)):
            grid[day.weekday()][hour] += count
    return [{"weekday": name, "hours": grid[index], "total": sum(grid[index])} for index, name in enumerate(WEEKDAYS)]


def _campaigns(practice: Practice, by_source: dict[str, dict]) -> list[dict]:
    """Calls, recovered bookings and all bookings by source, with the campaign's name. Other filters
    apply; the source filter does not (the table compares sources)."""
    names = dict(Campaign.objects.filter(practice=practice).values_list("source_code", "name"))
    rows = []
    for source, facts in sorted(by_source.items(), key=lambda item: (item[0] == daily.DIRECT, item[0])):
        rows.append(
            {
                "source": source,
                "name": names.get(source, "No campaign" if source == daily.DIRECT else source),
                "calls": facts.get("calls", 0),
                "missed": facts.get("missed", 0),
                "recovered_bookings": facts.get("booked", 0),
                "bookings": facts.get("bookings", 0),
                "bookings_value": dollars(facts.get("bookings_cents", 0)),
            }
        )
    return rows


# Treatment series.


def series_overview(practice: Practice, *, service_id: int | None = None) -> dict:
    """Where every series stands today (live: enrollments are few and change daily)."""
    today = practice_today(practice)
    enrollments = SeriesEnrollment.objects.filter(practice=practice)
    if service_id:
        enrollments = enrollments.filter(template__service_id=service_id)
    counts = dict(enrollments.values_list("status").annotate(n=Count("pk")).order_by())
    late = list(
        enrollments.filter(status=SeriesEnrollment.Status.LATE, next_due_until__lt=today).values_list(
            "next_due_until", flat=True
        )
    )
    Status = SeriesEnrollment.Status
    active = sum(count for status, count in counts.items() if status not in (Status.COMPLETED, Status.PAUSED))
    return {
        "active": active,
        "on_cadence": counts.get(Status.ON_CADENCE, 0),
        "due": counts.get(Status.DUE, 0),
        "late": counts.get(Status.LATE, 0),
        "escalated": counts.get(Status.ESCALATED, 0),
        "paused": counts.get(Status.PAUSED, 0),
        "completed": counts.get(Status.COMPLETED, 0),
        "on_cadence_rate": rate(counts.get(Status.ON_CADENCE, 0), active),
        "average_days_overdue": round(sum((today - until).days for until in late) / len(late), 1) if late else None,
    }


def week_of(day: date) -> tuple[date, date]:
    """Monday to Sunday around `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def series_review(practice: Practice, *, week_start: date) -> dict:
    """The weekly series review: per template and per provider, what started, what was done, what is
    booked next, how late the late ones are, why series visits were cancelled and what they brought in."""
    start, end = week_of(week_start)
    today = practice_today(practice)
    zone = practice.zone
    since = timezone.make_aware(timezone.datetime.combine(start, timezone.datetime.min.time()), zone)
    until = since + timedelta(days=7)
    templates = list(SeriesTemplate.objects.filter(practice=practice).select_related("service").order_by("name"))
    enrollments = SeriesEnrollment.objects.filter(practice=practice)
    upcoming = Appointment.objects.filter(
        enrollment_id=OuterRef("pk"),
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
        starts_at__gte=timezone.now(),
    )
    per_template = {
        row["template_id"]: row
        for row in enrollments.values("template_id")
        .annotate(
            started=Count("pk", filter=Q(started_on__gte=start, started_on__lte=end)),
            active=Count("pk", filter=~Q(status__in=["completed", "paused"])),
            late=Count("pk", filter=Q(status="late")),
            completed=Count("pk", filter=Q(status="completed")),
        )
        .order_by()
    }
    next_booked = dict(
        enrollments.filter(Exists(upcoming))
        .exclude(status__in=["completed", "paused"])
        .values("template_id")
        .annotate(n=Count("pk"))
        .values_list("template_id", "n")
        .order_by()
    )
    overdue: dict[int, list[int]] = defaultdict(list)
    for template_id, until_day in enrollments.filter(status="late", next_due_until__lt=today).values_list(
        "template_id", "next_due_until"
    ):
        overdue[template_id].append((today - until_day).days)
    week_visits = Appointment.objects.filter(
        practice=practice, enrollment__isnull=False, starts_at__gte=since, starts_at__lt=until
    )
    done = Q(status=Appointment.Status.COMPLETED)
    cancelled = Q(status=Appointment.Status.CANCELLED)
    visit_figures = {
        (row["enrollment__template_id"], row["provider_id"]): row
        for row in week_visits.values("enrollment__template_id", "provider_id")
        .annotate(
            completed=Count("pk", filter=done),
            cancelled=Count("pk", filter=cancelled),
            no_show=Count("pk", filter=Q(status=Appointment.Status.NO_SHOW)),
            revenue=Sum("value", filter=done),
        )
        .order_by()
    }
    reasons: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for template_id, reason in week_visits.filter(cancelled).values_list(
        "enrollment__template_id", "cancellation_reason"
    ):
        reasons[template_id][(reason or "No reason given")[:80]] += 1

    def visit_sum(template_id=None, provider_id=None, field="completed"):
        total = 0
        for (tid, pid), row in visit_figures.items():
            if (template_id is None or tid == template_id) and (provider_id is None or pid == provider_id):
                total += row[field] or 0
        return total

    rows = []
    for template in templates:
        figures = per_template.get(template.pk, {})
        late_days = overdue.get(template.pk, [])
        rows.append(
            {
                "template_id": template.pk,
                "template": template.name,
                "service": template.service.name,
                "started": figures.get("started", 0),
                "active": figures.get("active", 0),
                "visits_completed": visit_sum(template.pk),
                "visits_cancelled": visit_sum(template.pk, field="cancelled"),
                "no_shows": visit_sum(template.pk, field="no_show"),
                "next_visit_booked": next_booked.get(template.pk, 0),
                "late": figures.get("late", 0),
                "average_days_overdue": round(sum(late_days) / len(late_days), 1) if late_days else None,
                "most_days_overdue": max(late_days) if late_days else None,
                "cancellation_reasons": sorted(reasons[template.pk].items(), key=lambda item: (-item[1], item[0])),
                "revenue": Decimal(visit_sum(template.pk, field="revenue")).quantize(Decimal("0.01")),
            }
        )
    providers = {provider.pk: str(provider) for provider in practice.providers.all()}
    by_provider = []
    for provider_id in sorted({pid for (_tid, pid) in visit_figures}, key=lambda pid: providers.get(pid, "")):
        by_provider.append(
            {
                "provider_id": provider_id,
                "provider": providers.get(provider_id, ""),
                "visits_completed": visit_sum(provider_id=provider_id),
                "visits_cancelled": visit_sum(provider_id=provider_id, field="cancelled"),
                "no_shows": visit_sum(provider_id=provider_id, field="no_show"),
                "revenue": Decimal(visit_sum(provider_id=provider_id, field="revenue")).quantize(Decimal("0.01")),
            }
        )
    return {"week_start": start, "week_end": end, "templates": rows, "providers": by_provider}


# The ROI model.


@dataclass(frozen=True)
class RoiInputs:
    monthly_calls: int
    booking_intent_percent: Decimal
    recovery_lift_percent: Decimal
    average_visit_value: Decimal

    @property
    def modeled_monthly_value(self) -> Decimal:
        value = (
            Decimal(self.monthly_calls)
            * self.booking_intent_percent
            / 100
            * self.recovery_lift_percent
            / 100
            * self.average_visit_value
        )
        return value.quantize(Decimal("1"), rounding=ROUND_HALF_UP)

    @property
    def modeled_monthly_visits(self) -> Decimal:
        visits = Decimal(self.monthly_calls) * self.booking_intent_percent / 100 * self.recovery_lift_percent / 100
        return visits.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


BOOKING_INTENTS = ("book", "availability", "reschedule", "pricing", "campaign")


def roi_defaults(practice: Practice, *, days: int = 30) -> tuple[RoiInputs, dict]:
    """The model's inputs from the practice's own last `days` days, and what was actually recovered.

    - monthly calls: calls in the period, scaled to 30 days;
    - booking intent: of missed callers who wrote back, the share whose messages were about booking
      (booking, times, rescheduling, prices or an offer); the published 48% when nobody wrote back yet;
    - recovery lift: bookings recovered from missed calls, of all calls with booking intent (so the
      prefilled model reproduces what was recovered); 25% until there are any;
    - average visit value: the mean value of visits completed in the period, else the practice's set value.
    """
    today = practice_today(practice)
    filters = Filters(start=today - timedelta(days=days - 1), end=today)
    total = facts_total(practice, filters)
    calls = total.get("calls", 0)
    since = timezone.now() - timedelta(days=days)
    replied = (
        Message.objects.filter(
            practice=practice, direction=Message.Direction.INBOUND, created_at__gte=since, conversation__channel="sms"
        )
        .values("conversation_id")
        .distinct()
    )
    intent = replied.filter(intent__in=BOOKING_INTENTS)
    replied_count, intent_count = replied.count(), intent.count()
    intent_percent = (
        Decimal(100 * intent_count / replied_count).quantize(Decimal("0.1")) if replied_count else Decimal("48")
    )
    missed = total.get("missed", 0)
    intent_calls = calls * intent_percent / 100
    lift = (
        Decimal(100 * total.get("booked", 0) / float(intent_calls)).quantize(Decimal("0.1"))
        if intent_calls and total.get("booked", 0)
        else Decimal("25")
    )
    values = Appointment.objects.filter(
        practice=practice, status=Appointment.Status.COMPLETED, starts_at__gte=since, value__isnull=False
    ).aggregate(total=Sum("value"), n=Count("pk"))
    average = (values["total"] / values["n"]).quantize(Decimal("1")) if values["n"] else practice.average_visit_value
    inputs = RoiInputs(
        monthly_calls=round(calls * 30 / days),
        booking_intent_percent=intent_percent,
        recovery_lift_percent=min(lift, Decimal("100")),
        average_visit_value=average,
    )
    actual = {
        "days": days,
        "start": filters.start,
        "end": filters.end,
        "calls": calls,
        "missed": missed,
        "recovered_bookings": total.get("booked", 0),
        "booked_value": dollars(total.get("booked_cents", 0)),
        "showed_value": dollars(total.get("showed_cents", 0)),
        "completed_value": dollars(total.get("completed_cents", 0)),
    }
    return inputs, actual


# A front-desk member's own figures.


def staff_figures(practice: Practice, user, filters: Filters) -> dict:
    """What one member of staff did in the range: escalations claimed and resolved, how fast they
    claimed, replies they sent."""
    zone = practice.zone
    since = timezone.make_aware(timezone.datetime.combine(filters.start, timezone.datetime.min.time()), zone)
    until = timezone.make_aware(
        timezone.datetime.combine(filters.end + timedelta(days=1), timezone.datetime.min.time()), zone
    )
    mine = Escalation.objects.filter(practice=practice, claimed_by=user, claimed_at__gte=since, claimed_at__lt=until)
    claims = [
        max(0, int((claimed - created).total_seconds()))
        for created, claimed in mine.values_list("created_at", "claimed_at")
    ]
    return {
        "claimed": len(claims),
        "resolved": mine.filter(status=Escalation.Status.RESOLVED).count(),
        "median_claim_seconds": median(claims),
        "replies_sent": Message.objects.filter(
            practice=practice, sent_by=user, created_at__gte=since, created_at__lt=until
        ).count(),
        "open_now": Escalation.objects.filter(practice=practice, claimed_by=user, status=Escalation.Status.CLAIMED)
        .only("pk")
        .count(),
    }
