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

from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Exists, OuterRef, Q
from django.db.models.fields.json import KT

from booking.db import fast_rows
from booking.models import Appointment, ExternalOccurrence
from calls.models import Call, Channel, Conversation, Message, Outreach
from escalations.models import Escalation
from practices.models import Practice, Service

RECOVERY_WINDOW = timedelta(days=7)
TIMES_OFFERED = "times_offered"  # calls.receptionist.dialogue.TIMES_OFFERED
DIRECT = "direct"  # the source of whatever no campaign brought in
CALENDAR = "calendar"  # visits booked in the practice's own calendar, outside the receptionist
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
    """Add `facts` into `into` in place (lists are extended, never rebuilt: a year merges thousands)."""
    for name, value in facts.items():
        if name == HOURS:
            current = into.get(HOURS)
            if current is None:
                into[HOURS] = list(value)
            else:
                for hour, count in enumerate(value):
                    if count:
                        current[hour] += count
        elif name in LISTS:
            into.setdefault(name, []).extend(value)
        elif name in COUNTS:
            counts = into.setdefault(name, {})
            for reason, count in value.items():
                counts[reason] = counts.get(reason, 0) + count
        elif name in DURATIONS:
            lists = into.setdefault(name, {})
            for reason, seconds in value.items():
                lists.setdefault(reason, []).extend(seconds)
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

    def add(self, key: Key, *, hour: int | None = None, **facts) -> None:
        """Add facts to a key's; `hour` counts one call in that local hour."""
        if not self.start <= key.day <= self.end:
            return
        into = self.facts[key]
        if hour is not None:
            into.setdefault(HOURS, [0] * 24)[hour] += 1
        merge(into, {name: value for name, value in facts.items() if value})


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    # Wide enough for every time zone on earth; each row is then placed on its own local day.
    utc = ZoneInfo("UTC")
    return (
        datetime.combine(start - timedelta(days=1), time.min, utc),
        datetime.combine(end + timedelta(days=2), time.min, utc),
    )


def _dicts(queryset, *fields) -> list[dict]:
    return [dict(zip(fields, row, strict=True)) for row in fast_rows(queryset, *fields)]


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
    _calendar_visits(practice, days, local)
    _escalations(practice, days, local)
    return dict(days.facts)


def _calls(practice: Practice, days: _Days, local) -> None:
    since, until = _utc_bounds(days.start, days.end)
    calls = _dicts(
        # Patients' calls only: our automated callbacks (Call.Direction.CALLBACK) are not calls that came in.
        Call.objects.filter(
            practice_id=practice.pk, direction=Call.Direction.INBOUND, started_at__gte=since, started_at__lt=until
        ),
        "pk",
        "location_id",
        "campaign__source_code",
        "from_phone",
        "started_at",
        "missed",
        "missed_reason",
        "missed_at",
    )
    missed = [call for call in calls if call["missed"] and call["from_phone"] and call["missed_at"]]
    _follow(practice, missed, until)
    booked = _bookings_by_call(practice, missed)
    services = dict(Service.objects.filter(practice=practice).values_list("slug", "pk"))
    for call in calls:
        moment = local(call["started_at"], call["location_id"])
        replied = call.get("replied_at") is not None
        visits = booked.get(call["pk"], []) if replied else []
        service_id = visits[0]["service_id"] if visits else services.get(call.get("asked_service") or "")
        key = Key(moment.date(), call["location_id"], call["campaign__source_code"] or DIRECT, service_id)
        facts = {"calls": 1}
        if call["missed"]:
            facts |= {"missed": 1, "missed_reasons": {call["missed_reason"] or "unknown": 1}}
            if call["missed_reason"] == Call.MissedReason.AFTER_HOURS:
                facts["after_hours"] = 1
            if call.get("first_out_at") is not None:
                facts |= {"texted": 1, "speed": [int((call["first_out_at"] - call["missed_at"]).total_seconds())]}
                if replied:
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
        days.add(key, hour=moment.hour, **facts)


def _follow(practice: Practice, missed: list[dict], until: datetime) -> None:
    """Set each missed call's recovery window and what happened in it, from the caller's text threads.

    Reads the practice's text messages of the period once (an index range on practice and time) and
    walks them per caller, rather than one correlated lookup per call.
    """
    if not missed:
        return
    # Windows end at the same caller's next missed call, which may fall after the period.
    later = defaultdict(list)
    for phone, missed_at in fast_rows(
        Call.objects.filter(
            practice_id=practice.pk,
            missed=True,
            missed_at__gte=min(call["missed_at"] for call in missed),
            missed_at__lt=until + RECOVERY_WINDOW,
        ).exclude(from_phone=""),
        "from_phone",
        "missed_at",
    ):
        later[phone].append(missed_at)
    for times in later.values():
        times.sort()
    for call in missed:
        times = later[call["from_phone"]]
        following = times[bisect_right(times, call["missed_at"]) :]
        call["window_end"] = min(call["missed_at"] + RECOVERY_WINDOW, following[0] if following else _NEVER)

    phones = {call["from_phone"] for call in missed}
    threads = {
        pk: phone
        for pk, phone in Conversation.objects.filter(
            practice_id=practice.pk, channel__in=[Channel.SMS, Channel.WHATSAPP]
        ).values_list("pk", "phone")
        if phone in phones
    }
    sent = defaultdict(list)  # phone -> outbound sent times
    offers = defaultdict(list)  # phone -> "times_offered" times
    inbound = defaultdict(list)  # phone -> (time, service slug)
    # Every message of the practice in the period; other phones' and voice threads' are skipped below.
    messages = Message.objects.filter(
        practice_id=practice.pk,
        created_at__gte=min(call["missed_at"] for call in missed),
        created_at__lt=max(call["window_end"] for call in missed),
    ).annotate(service=KT("extracted__service"))
    for conversation_id, direction, created_at, sent_at, kind, service in fast_rows(
        messages, "conversation_id", "direction", "created_at", "sent_at", "kind", "service"
    ):
        phone = threads.get(conversation_id)
        if phone is None:
            continue
        if direction == Message.Direction.INBOUND:
            inbound[phone].append((created_at, service or ""))
        else:
            if sent_at is not None:
                sent[phone].append(sent_at)
            if kind == TIMES_OFFERED:
                offers[phone].append(created_at)
    for store in (sent, offers, inbound):
        for events in store.values():
            events.sort()
    for call in missed:
        phone, start, end = call["from_phone"], call["missed_at"], call["window_end"]
        first_out = next((moment for moment in sent[phone] if start <= moment < end), None)
        call["first_out_at"] = first_out
        replies = [(moment, service) for moment, service in inbound[phone] if start <= moment < end]
        call["replied_at"] = next((moment for moment, _ in replies if first_out and moment > first_out), None)
        call["offered"] = any(start <= moment < end for moment in offers[phone])
        call["asked_service"] = next((service for _, service in replies if service), "")


def _bookings_by_call(practice: Practice, missed: list[dict]) -> dict[int, list]:
    """The visits each missed call's caller booked inside its recovery window."""
    if not missed:
        return {}
    earliest = min(call["missed_at"] for call in missed)
    latest = max(call["window_end"] for call in missed)
    windows = defaultdict(list)
    for call in missed:
        windows[call["from_phone"]].append(call)
    visits = _dicts(
        # The practice on the patient too, so the join uses its (practice, phone) index.
        Appointment.objects.filter(
            practice_id=practice.pk, patient__practice_id=practice.pk, created_at__gte=earliest, created_at__lt=latest
        ),
        "pk",
        "service_id",
        "status",
        "value",
        "created_at",
        "patient__phone",
    )
    visits.sort(key=lambda visit: (visit["created_at"], visit["pk"]))
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
    for visit in _dicts(made, *fields, "created_at"):
        key = Key(
            local(visit["created_at"], visit["location_id"]).date(),
            visit["location_id"],
            visit["campaign__source_code"] or DIRECT,
            visit["service_id"],
        )
        days.add(key, bookings=1, bookings_cents=_cents(visit["value"]))
    visits = _dicts(
        Appointment.objects.filter(practice_id=practice.pk, starts_at__gte=since, starts_at__lt=until).annotate(
            was_reminded=Exists(reminded)
        ),
        *fields,
        "starts_at",
        "cancellation_reason",
        "confirmed_at",
        "was_reminded",
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


def _calendar_visits(practice: Practice, days: _Days, local) -> None:
    """Visits booked in the practice's own connected calendar and mapped to a service (booking/caldav_sync.py):
    a booking on the day it was put in the calendar, a visit on its day, under the source "calendar". Our own
    visits written there are not read back, so nothing counts twice."""
    since, until = _utc_bounds(days.start, days.end)
    rows = _dicts(
        ExternalOccurrence.objects.filter(
            Q(starts_at__gte=since, starts_at__lt=until) | Q(event__booked_at__gte=since, event__booked_at__lt=until),
            practice_id=practice.pk,
            busy=True,
            all_day=False,
            event__service__isnull=False,
        ),
        "starts_at",
        "event__booked_at",
        "event__location_id",
        "event__service_id",
        "event__service__visit_value",
    )
    for row in rows:
        location_id, service_id = row["event__location_id"], row["event__service_id"]
        booked_at = row["event__booked_at"]
        if booked_at is not None and since <= booked_at < until:
            day = local(booked_at, location_id).date()
            days.add(
                Key(day, location_id, CALENDAR, service_id),
                bookings=1,
                bookings_cents=_cents(row["event__service__visit_value"]),
            )
        if since <= row["starts_at"] < until:
            days.add(Key(local(row["starts_at"], location_id).date(), location_id, CALENDAR, service_id), visits=1)


def _escalations(practice: Practice, days: _Days, local) -> None:
    since, until = _utc_bounds(days.start, days.end)
    rows = _dicts(
        Escalation.objects.filter(practice_id=practice.pk, created_at__gte=since, created_at__lt=until),
        "category",
        "created_at",
        "claimed_at",
        "conversation__location_id",
    )
    for row in rows:
        location_id = row["conversation__location_id"]
        facts = {"escalations": {row["category"]: 1}}
        if row["claimed_at"] is not None:
            facts["claim_seconds"] = {
                row["category"]: [max(0, int((row["claimed_at"] - row["created_at"]).total_seconds()))]
            }
        days.add(Key(local(row["created_at"], location_id).date(), location_id, "", None), **facts)
