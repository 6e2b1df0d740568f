"""Daily facts computed from the records: what happened on each local day, split by location, source
and service.

A day's facts are additive counters, lists of durations and per-reason counts, so any range, any
filter and any mix of live days and stored rollups add up to the same numbers. Nothing here is a
guess stored at the time: every figure is read back from calls, messages, visits and escalations.

How a missed call is followed (the recovery funnel), each stage inside the one before:
- texted: any message went out to the caller in the recovery window (the text-back, or staff);
  speed-to-lead is the seconds from the missed call to that first message, quiet-hour waits included.
- replied: the caller wrote back after it.
- qualified: the receptionist offered real open times (a "times_offered" message), or a visit was booked.
- booked: the caller booked a visit in the window (by text or with staff, after replying).
- showed: that visit was checked in or completed.
The recovery window is 7 days from the missed call, cut short by the same caller's next missed call,
so one booking is credited to one missed call.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Least

from booking.models import Appointment
from calls.models import Call, Channel, Message, Outreach
from escalations.models import Escalation
from practices.models import Practice, Service

RECOVERY_WINDOW = timedelta(days=7)
TIMES_OFFERED = "times_offered"  # calls.receptionist.dialogue.TIMES_OFFERED
DIRECT = "direct"  # the source of whatever no campaign brought in
SHOWED = (Appointment.Status.CHECKED_IN, Appointment.Status.COMPLETED)
# Far enough out to stand for "no later missed call" on every database.
_NEVER = datetime(9000, 1, 1, tzinfo=ZoneInfo("UTC"))

# Counters add; HOURS adds position by position; LISTS join; COUNTS and DURATIONS merge by key.
HOURS = "hours"
LISTS = ("speed",)
COUNTS = ("missed_reasons", "cancel_reasons", "escalations")
DURATIONS = ("claim_seconds",)


@dataclass(frozen=True, order=True)
class Key:
    """What a day's facts are split by. `source` is "" and `service_id` None where a fact has no such
    dimension (an escalation has no campaign) or we never learned it (a caller who never said)."""

    day: date
    location_id: int | None
    source: str
    service_id: int | None


def merge(into: dict, facts: dict) -> dict:
    for name, value in facts.items():
        if name == HOURS:
            current = into.setdefault(HOURS, [0] * 24)
            into[HOURS] = [a + b for a, b in zip(current, value, strict=True)]
        elif name in LISTS:
            into[name] = into.get(name, []) + list(value)
        elif name in COUNTS:
            counts = into.setdefault(name, {})
            for reason, count in value.items():
                counts[reason] = counts.get(reason, 0) + count
        elif name in DURATIONS:
            lists = into.setdefault(name, {})
            for reason, seconds in value.items():
                lists[reason] = lists.get(reason, []) + list(seconds)
        else:
            into[name] = into.get(name, 0) + value
    return into


def normalized(facts: dict) -> dict:
    """Lists sorted, so the same facts compare equal however they were put together."""
    out = dict(facts)
    for name in LISTS:
        if name in out:
            out[name] = sorted(out[name])
    for name in DURATIONS:
        if name in out:
            out[name] = {reason: sorted(seconds) for reason, seconds in out[name].items()}
    return out


class _Days:
    """Facts by key, built up one event at a time."""

    def __init__(self, start: date, end: date):
        self.start, self.end = start, end
        self.facts: dict[Key, dict] = defaultdict(dict)

    def add(self, key: Key, **facts) -> None:
        if self.start <= key.day <= self.end:
            merge(self.facts[key], {name: value for name, value in facts.items() if value})


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    # Wide enough for every time zone on earth; each row is then placed on its own local day.
    utc = ZoneInfo("UTC")
    return (
        datetime.combine(start - timedelta(days=1), time.min, utc),
        datetime.combine(end + timedelta(days=2), time.min, utc),
    )


def _cents(value) -> int:
    return int(round((value or 0) * 100))


def compute(practice: Practice, start: date, end: date) -> dict[Key, dict]:
    """Every fact of the local days start..end (inclusive), from the records."""
    zones = {location.pk: location.zone for location in practice.locations.all()}
    default_zone = practice.zone

    def local(moment: datetime, location_id: int | None) -> datetime:
        return moment.astimezone(zones.get(location_id, default_zone))

    days = _Days(start, end)
    _calls(practice, days, local)
    _appointments(practice, days, local)
    _escalations(practice, days, local)
    return dict(days.facts)


def _calls(practice: Practice, days: _Days, local) -> None:
    since, until = _utc_bounds(days.start, days.end)
    thread = Message.objects.filter(
        practice_id=practice.pk, conversation__phone=OuterRef("from_phone"), channel__in=[Channel.SMS, Channel.WHATSAPP]
    )
    next_missed = Call.objects.filter(
        practice_id=practice.pk, from_phone=OuterRef("from_phone"), missed=True, missed_at__gt=OuterRef("missed_at")
    ).exclude(from_phone="")
    in_window = Q(created_at__gte=OuterRef("missed_at"), created_at__lt=OuterRef("window_end"))
    calls = (
        Call.objects.filter(practice_id=practice.pk, started_at__gte=since, started_at__lt=until)
        .annotate(
            window_end=Least(
                F("missed_at") + RECOVERY_WINDOW,
                Coalesce(Subquery(next_missed.order_by("missed_at").values("missed_at")[:1]), _NEVER),
            ),
        )
        .annotate(
            first_out_at=Subquery(
                thread.filter(
                    direction=Message.Direction.OUTBOUND,
                    sent_at__gte=OuterRef("missed_at"),
                    sent_at__lt=OuterRef("window_end"),
                )
                .order_by("sent_at")
                .values("sent_at")[:1]
            ),
        )
        .annotate(
            replied=Exists(
                thread.filter(
                    direction=Message.Direction.INBOUND,
                    created_at__gt=OuterRef("first_out_at"),
                    created_at__lt=OuterRef("window_end"),
                )
            ),
            offered=Exists(thread.filter(in_window, direction=Message.Direction.OUTBOUND, kind=TIMES_OFFERED)),
            asked_service=Subquery(
                thread.filter(in_window, direction=Message.Direction.INBOUND, extracted__service__isnull=False)
                .exclude(extracted__service="")
                .order_by("created_at")
                .values("extracted__service")[:1]
            ),
        )
        .values(
            "pk",
            "location_id",
            "campaign__source_code",
            "from_phone",
            "started_at",
            "missed",
            "missed_reason",
            "missed_at",
            "window_end",
            "first_out_at",
            "replied",
            "offered",
            "asked_service",
        )
    )
    calls = list(calls)
    booked = _bookings_by_call(practice, [call for call in calls if call["missed"] and call["from_phone"]])
    services = dict(Service.objects.filter(practice=practice).values_list("slug", "pk"))
    for call in calls:
        moment = local(call["started_at"], call["location_id"])
        hours = [0] * 24
        hours[moment.hour] = 1
        visits = booked.get(call["pk"], []) if call["replied"] else []
        service_id = visits[0]["service_id"] if visits else services.get(call["asked_service"] or "")
        key = Key(moment.date(), call["location_id"], call["campaign__source_code"] or DIRECT, service_id)
        facts = {"calls": 1, HOURS: hours}
        if call["missed"]:
            facts |= {"missed": 1, "missed_reasons": {call["missed_reason"] or "unknown": 1}}
            if call["missed_reason"] == Call.MissedReason.AFTER_HOURS:
                facts["after_hours"] = 1
            if call["first_out_at"] is not None:
                facts |= {"texted": 1, "speed": [int((call["first_out_at"] - call["missed_at"]).total_seconds())]}
                if call["replied"]:
                    facts["replied"] = 1
                    if call["offered"] or visits:
                        facts["qualified"] = 1
                    if visits:
                        kept = [visit for visit in visits if visit["status"] != Appointment.Status.CANCELLED]
                        showed = [visit for visit in visits if visit["status"] in SHOWED]
                        done = [visit for visit in visits if visit["status"] == Appointment.Status.COMPLETED]
                        facts |= {
                            "booked": 1,
                            "booked_cents": sum(_cents(visit["value"]) for visit in kept),
                            "showed": 1 if showed else 0,
                            "showed_cents": sum(_cents(visit["value"]) for visit in showed),
                            "completed_cents": sum(_cents(visit["value"]) for visit in done),
                        }
        days.add(key, **facts)


def _bookings_by_call(practice: Practice, missed: list[dict]) -> dict[int, list]:
    """The visits each missed call's caller booked inside its recovery window."""
    if not missed:
        return {}
    earliest = min(call["missed_at"] for call in missed)
    latest = max(call["window_end"] for call in missed)
    windows = defaultdict(list)
    for call in missed:
        windows[call["from_phone"]].append(call)
    visits = (
        Appointment.objects.filter(practice_id=practice.pk, created_at__gte=earliest, created_at__lt=latest)
        .values("pk", "service_id", "status", "value", "created_at", "patient__phone")
        .order_by("created_at", "pk")
    )
    booked = defaultdict(list)
    for visit in visits:
        for call in windows.get(visit["patient__phone"], ()):
            if call["missed_at"] <= visit["created_at"] < call["window_end"]:
                booked[call["pk"]].append(visit)
                break
    return booked


def _appointments(practice: Practice, days: _Days, local) -> None:
    """Bookings on the day they were made; shows, no-shows, cancellations and reminders on the visit's day."""
    since, until = _utc_bounds(days.start, days.end)
    reminded = Outreach.objects.filter(
        appointment_id=OuterRef("pk"), kind=Outreach.Kind.REMINDER, state=Outreach.State.SENT
    )
    fields = ("pk", "location_id", "service_id", "campaign__source_code", "status", "value")
    made = Appointment.objects.filter(practice_id=practice.pk, created_at__gte=since, created_at__lt=until)
    for visit in made.values(*fields, "created_at"):
        key = Key(
            local(visit["created_at"], visit["location_id"]).date(),
            visit["location_id"],
            visit["campaign__source_code"] or DIRECT,
            visit["service_id"],
        )
        days.add(key, bookings=1, bookings_cents=_cents(visit["value"]))
    visits = (
        Appointment.objects.filter(practice_id=practice.pk, starts_at__gte=since, starts_at__lt=until)
        .annotate(was_reminded=Exists(reminded))
        .values(*fields, "starts_at", "cancellation_reason", "confirmed_at", "was_reminded")
    )
    for visit in visits:
        key = Key(
            local(visit["starts_at"], visit["location_id"]).date(),
            visit["location_id"],
            visit["campaign__source_code"] or DIRECT,
            visit["service_id"],
        )
        status = visit["status"]
        facts = {"visits": 1}
        if status in SHOWED:
            facts["visits_showed"] = 1
        elif status == Appointment.Status.NO_SHOW:
            facts["no_show"] = 1
        elif status == Appointment.Status.CANCELLED:
            reason = (visit["cancellation_reason"] or "No reason given").strip()[:80]
            facts |= {"cancelled": 1, "cancel_reasons": {reason: 1}}
        if visit["was_reminded"]:
            facts["reminded"] = 1
            if visit["confirmed_at"] is not None:
                facts["confirmed"] = 1
        days.add(key, **facts)


def _escalations(practice: Practice, days: _Days, local) -> None:
    since, until = _utc_bounds(days.start, days.end)
    rows = Escalation.objects.filter(practice_id=practice.pk, created_at__gte=since, created_at__lt=until).values(
        "category", "created_at", "claimed_at", "conversation__location_id"
    )
    for row in rows:
        location_id = row["conversation__location_id"]
        facts = {"escalations": {row["category"]: 1}}
        if row["claimed_at"] is not None:
            facts["claim_seconds"] = {
                row["category"]: [max(0, int((row["claimed_at"] - row["created_at"]).total_seconds()))]
            }
        days.add(Key(local(row["created_at"], location_id).date(), location_id, "", None), **facts)
