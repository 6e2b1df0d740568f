"""Receptionist quality: how often it answered in the practice's approved words, how often and how fast it
handed patients to staff, how complete its handover summaries were, and how many messages a booking took.

Every figure is read back from the records of the local days start..end, each row on its location's day:

- conversations: threads (text, WhatsApp, email or phone) with at least one message from the patient in the
  range. Threads with the practice's own staff numbers (where staff alerts go) are not conversations.
- approved-answer rate: of the patient's questions the receptionist answered itself (intent "question" or
  "membership", no escalation, followed by a receptionist reply), the share answered with an approved answer
  (a reply of kind "approved_answer"). Questions asked on a call are not counted: spoken replies are not stored.
- staff-review rate: of the conversations, those handed to staff: an escalation opened in the range, or a
  staff takeover (staff wrote in the thread in the range, or the thread is in staff hands now: a takeover
  keeps no time of its own).
- adverse-event handoffs: conversations with an emergency escalation, or a clinical one about a reaction
  (the "side effects" rule); the seconds from the patient's message to the first staff alert sent, and to the claim.
- summary completeness: the share of the summary's fields (escalations.services.SUMMARY_FIELDS) filled in.
- messages per booking: for each visit booked by text in the range, the messages of its thread, both ways,
  from the patient's previous booking (or 7 days before) up to the booking; the confirmation is not counted.
- handover reasons: escalations by category and by the rule that matched, and staff takeovers.

Filters: a conversation's location is its thread's; its services are those the patient named in the range or
booked; its sources are the campaigns whose tracking number the patient called (in the range or the 7 days
before) or whose offer they booked, else "direct". Escalations count with their conversation. A booking is
filtered by its own location, service and campaign.

Staff alerts are not linked to their escalation in the records. They are queued in the same transaction,
right after the escalation is opened, so an alert belongs to the practice's latest escalation opened at
most a minute before it.
"""

import json
from bisect import bisect_right
from collections import defaultdict
from datetime import UTC, datetime, time, timedelta

from django.db.models.fields.json import KT

from booking.db import fast_rows
from booking.models import Appointment
from calls.models import Call, Channel, Conversation, Message, Outreach
from escalations import rules
from escalations.models import Escalation
from escalations.services import SUMMARY_FIELDS
from practices.models import Practice, Service, StaffMember

from .facts import DIRECT, RECOVERY_WINDOW, _utc_bounds
from .filters import Filters
from .selectors import median, percentile, rate

QUESTION_INTENTS = ("question", "membership")
APPROVED_ANSWER = "approved_answer"  # calls.receptionist.dialogue.APPROVED_ANSWER
REACTION_RULES = frozenset({"side effects"})  # a clinical question about a reaction after treatment
TEXT_CHANNELS = (Channel.SMS, Channel.WHATSAPP)
BOOKING_LOOKBACK = timedelta(days=7)
ALERT_WINDOW = timedelta(minutes=1)
NO_RULE = "no rule recorded"
SUMMARY_LABELS = {
    "name": "Name",
    "phone": "Phone",
    "new_or_returning": "New or returning",
    "location": "Location",
    "callback_time": "When to call back",
    "service_interest": "Service of interest",
    "context": "Context (membership, cues)",
    "question": "The question for staff",
    "exact_words": "The patient's exact words",
    "receptionist_said": "What the receptionist said",
    "not_promised": "What was not promised",
}
# Every detection rule's name, by category.
RULES_BY_CATEGORY = {
    "emergency": list(rules.EMERGENCY_PATTERNS),
    "clinical": list(rules.CLINICAL_PATTERNS),
    "human_request": list(rules.HUMAN_PATTERNS),
    "complaint": list(rules.COMPLAINT_PATTERNS),
    "exception": list(rules.EXCEPTION_PATTERNS),
}


def rule_names(reasons: list, category: str) -> list[str]:
    """The detection rules named in an escalation's reasons ("escalation: clinical (side effects, medications)").
    Only the rules' own names come out, never other words the reasons may carry."""
    found = []
    for reason in reasons or []:
        text = str(reason)
        prefix = f"escalation: {category} ("
        if not (text.startswith(prefix) and text.endswith(")")):
            continue
        inner = f", {text[len(prefix) : -1]}, "
        found += [name for name in RULES_BY_CATEGORY.get(category, []) if f", {name}, " in inner]
    return found


def figures(practice: Practice, filters: Filters) -> dict:
    """Every receptionist-quality figure of the range, after the filters. See the module's docstring."""
    zones = {location.pk: location.zone for location in practice.locations.all()}
    # Each location's local days as UTC bounds (comparing UTC times is much cheaper than converting each).
    local_range = {
        location_id: (
            datetime.combine(filters.start, time.min, zone).astimezone(UTC),
            datetime.combine(filters.end + timedelta(days=1), time.min, zone).astimezone(UTC),
        )
        for location_id, zone in [*zones.items(), (None, practice.zone)]
    }

    def in_range(moment: datetime, location_id: int | None) -> bool:
        low, high = local_range.get(location_id, local_range[None])
        return low <= moment < high

    since, until = _utc_bounds(filters.start, filters.end)
    slugs = dict(Service.objects.filter(practice=practice).values_list("pk", "slug"))
    staff_phones = set(StaffMember.objects.filter(practice=practice).exclude(phone="").values_list("phone", flat=True))
    threads = {
        pk: {"phone": phone, "channel": channel, "location_id": location_id, "campaign": _json_text(campaign)}
        for pk, phone, channel, location_id, campaign in fast_rows(
            Conversation.objects.filter(practice_id=practice.pk).annotate(campaign=KT("context__campaign")),
            "pk",
            "phone",
            "channel",
            "location_id",
            "campaign",
        )
        if phone not in staff_phones
    }

    # One read of the period's messages (and the week before, for the bookings): the patients' messages
    # of the range, staff's, and every thread's timeline.
    inbound = []  # (thread, created, handled, intent, service, escalation), in the range
    staff_wrote = set()
    handled = defaultdict(list)  # thread -> when each of the patient's messages was handled
    timeline = defaultdict(list)  # thread -> (created, inbound?)
    for conversation_id, created_at, processed_at, direction, sender, intent, service, escalation in fast_rows(
        Message.objects.filter(
            practice_id=practice.pk, created_at__gte=since - BOOKING_LOOKBACK, created_at__lt=until
        ).annotate(service=KT("extracted__service"), escalation=KT("extracted__escalation")),
        "conversation_id",
        "created_at",
        "processed_at",
        "direction",
        "sender",
        "intent",
        "service",
        "escalation",
    ):
        thread = threads.get(conversation_id)
        if thread is None:
            continue
        is_inbound = direction == Message.Direction.INBOUND
        timeline[conversation_id].append((created_at, is_inbound))
        if is_inbound:
            handled[conversation_id].append(processed_at or created_at)
        if not in_range(created_at, thread["location_id"]):
            continue
        if is_inbound:
            inbound.append(
                (
                    conversation_id,
                    created_at,
                    processed_at or created_at,
                    intent,
                    _json_text(service),
                    _json_text(escalation),
                )
            )
        elif sender == Message.Sender.STAFF:
            staff_wrote.add(conversation_id)

    for times in handled.values():
        times.sort()
    services = defaultdict(set)
    sources = defaultdict(set)
    for conversation_id, _created, _handled, _intent, service, _escalation in inbound:
        if service:
            services[conversation_id].add(service)
    bookings = _bookings(practice, filters, threads, timeline, since, until, in_range)
    for booking in bookings:
        services[booking["thread"]].add(slugs.get(booking["service_id"], ""))
        sources[booking["thread"]].add(booking["source"])
    by_phone = defaultdict(list)
    for pk, thread in threads.items():
        by_phone[thread["phone"]].append(pk)
        if thread["campaign"]:
            sources[pk].add(thread["campaign"])
    for phone, source in fast_rows(
        Call.objects.filter(
            practice_id=practice.pk,
            started_at__gte=since - RECOVERY_WINDOW,
            started_at__lt=until,
            campaign__isnull=False,
        ),
        "from_phone",
        "campaign__source_code",
    ):
        for pk in by_phone.get(phone, ()):
            sources[pk].add(source)

    def matches(conversation_id: int | None) -> bool:
        if conversation_id is None or conversation_id not in threads:
            return not (filters.location_id or filters.service_id or filters.source)
        if filters.location_id and threads[conversation_id]["location_id"] != filters.location_id:
            return False
        if filters.service_id and slugs.get(filters.service_id) not in services[conversation_id]:
            return False
        if filters.source and filters.source not in (sources[conversation_id] or {DIRECT}):
            return False
        return True

    conversations = {row[0] for row in inbound if matches(row[0])}
    escalations = [
        row
        for row in _escalations(practice, since, until)
        if in_range(row["created_at"], threads.get(row["conversation_id"], {}).get("location_id"))
        and matches(row["conversation_id"])
    ]
    # Staff took over: they wrote in the thread in the range, or it is in their hands now.
    taken_over = (staff_wrote & conversations) | (
        set(
            Conversation.objects.filter(practice_id=practice.pk, taken_over_by__isnull=False).values_list(
                "pk", flat=True
            )
        )
        & conversations
    )
    return {
        "conversations": len(conversations),
        "approved_answers": _approved_answers(practice, inbound, handled, conversations, threads, since, until),
        "staff_review": _staff_review(conversations, escalations, taken_over),
        "adverse_events": _adverse_events(conversations, escalations),
        "summary_completeness": _completeness(escalations),
        "messages_per_booking": _per_booking([booking for booking in bookings if booking["counted"]]),
        "handover_reasons": _reasons(escalations, taken_over),
    }


def _json_text(value) -> str:
    """A text value read out of JSON: SQLite gives a JSON null as "null"."""
    return "" if value in (None, "null") else str(value)


def _json(value, default):
    """A JSON field read fast: PostgreSQL's driver hands Django the text, SQLite's the value."""
    if isinstance(value, str | bytes):
        value = json.loads(value)
    return value if isinstance(value, type(default)) else default


def _approved_answers(practice, inbound, handled, conversations, threads, since, until) -> dict:
    """Pair each question with the receptionist's reply to it: the first reply queued once the question was
    handled (processed), before the thread's next message was."""
    questions = [
        (conversation_id, at)
        for conversation_id, _created, at, intent, _service, escalation in inbound
        if conversation_id in conversations
        and intent in QUESTION_INTENTS
        and not escalation
        and threads[conversation_id]["channel"] != Channel.VOICE
    ]
    if not questions:
        return {"questions": 0, "approved": 0, "other": 0, "rate": None}
    asked = {conversation_id for conversation_id, _at in questions}
    replies = defaultdict(list)  # thread -> (queued at, purpose)
    for conversation_id, created_at, purpose in fast_rows(
        Outreach.objects.filter(
            practice_id=practice.pk,
            kind=Outreach.Kind.REPLY,
            conversation_id__in=Message.objects.filter(
                practice_id=practice.pk,
                direction=Message.Direction.INBOUND,
                intent__in=QUESTION_INTENTS,
                created_at__gte=since,
                created_at__lt=until,
            ).values("conversation_id"),
            created_at__gte=since,
            created_at__lt=until + timedelta(days=1),
        ),
        "conversation_id",
        "created_at",
        "purpose",
    ):
        if conversation_id in asked:
            replies[conversation_id].append((created_at, purpose))
    for events in replies.values():
        events.sort()
    answered = approved = 0
    for conversation_id, at in questions:
        times = handled[conversation_id]
        following = times[bisect_right(times, at) :]
        end = following[0] if following else None
        reply = next(
            (purpose for moment, purpose in replies[conversation_id] if moment >= at and (end is None or moment < end)),
            None,
        )
        if reply is None:
            continue  # staff had the thread, or the patient had opted out: the receptionist did not answer
        answered += 1
        approved += reply == APPROVED_ANSWER
    return {"questions": answered, "approved": approved, "other": answered - approved, "rate": rate(approved, answered)}


def _escalations(practice, since, until) -> list[dict]:
    """Every escalation of the period (in scope or not: alerts are matched against all of them), with the
    first staff alert sent for it."""
    fields = (
        "pk",
        "conversation_id",
        "category",
        "reasons",
        "summary",
        "created_at",
        "claimed_at",
        "source_message__created_at",
    )
    rows = [
        dict(zip(fields, row, strict=True))
        for row in fast_rows(
            Escalation.objects.filter(practice_id=practice.pk, created_at__gte=since, created_at__lt=until), *fields
        )
    ]
    for row in rows:
        row["reasons"], row["summary"] = _json(row["reasons"], []), _json(row["summary"], {})
    rows.sort(key=lambda row: (row["created_at"], row["pk"]))
    opened = [row["created_at"] for row in rows]
    for row in rows:
        row["alert_sent_at"] = None
    if not rows:
        return rows
    for created_at, sent_at in fast_rows(
        Outreach.objects.filter(
            practice_id=practice.pk,
            kind=Outreach.Kind.STAFF_ALERT,
            created_at__gte=opened[0],
            created_at__lt=opened[-1] + ALERT_WINDOW,
            message__sent_at__isnull=False,
        ),
        "created_at",
        "message__sent_at",
    ):
        index = bisect_right(opened, created_at) - 1
        if index < 0 or created_at - opened[index] > ALERT_WINDOW:
            continue
        row = rows[index]
        if row["alert_sent_at"] is None or sent_at < row["alert_sent_at"]:
            row["alert_sent_at"] = sent_at
    return rows


def _staff_review(conversations: set[int], escalations: list[dict], taken_over: set[int]) -> dict:
    escalated = {row["conversation_id"] for row in escalations} & conversations
    handed = escalated | taken_over
    return {
        "conversations": len(conversations),
        "handed_to_staff": len(handed),
        "rate": rate(len(handed), len(conversations)),
        "escalated": len(escalated),
        "taken_over": len(taken_over),
    }


def _is_adverse(row: dict) -> bool:
    if row["category"] == Escalation.Category.EMERGENCY:
        return True
    return row["category"] == Escalation.Category.CLINICAL and bool(
        REACTION_RULES & set(rule_names(row["reasons"], row["category"]))
    )


def _seconds(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None:
        return None
    return max(0, int((end - start).total_seconds()))


def _timing(values: list[int]) -> dict:
    return {"count": len(values), "median_seconds": median(values), "p90_seconds": percentile(values, 0.9)}


def _adverse_events(conversations: set[int], escalations: list[dict]) -> dict:
    adverse = [row for row in escalations if _is_adverse(row)]
    handed = {row["conversation_id"] for row in adverse} & conversations
    to_alert, to_claim = [], []
    for row in adverse:
        asked_at = row["source_message__created_at"] or row["created_at"]
        alert = _seconds(asked_at, row["alert_sent_at"])
        claim = _seconds(asked_at, row["claimed_at"])
        if alert is not None:
            to_alert.append(alert)
        if claim is not None:
            to_claim.append(claim)
    emergencies = sum(1 for row in adverse if row["category"] == Escalation.Category.EMERGENCY)
    return {
        "conversations": len(conversations),
        "handed_off": len(handed),
        "rate": rate(len(handed), len(conversations)),
        "escalations": len(adverse),
        "emergency": emergencies,
        "clinical_reaction": len(adverse) - emergencies,
        "to_alert": _timing(to_alert),
        "to_claim": _timing(to_claim),
        "no_alert_sent": len(adverse) - len(to_alert),
        "unclaimed": len(adverse) - len(to_claim),
    }


def _completeness(escalations: list[dict]) -> dict:
    missing = dict.fromkeys(SUMMARY_FIELDS, 0)
    shares = []
    for row in escalations:
        empty = [name for name in SUMMARY_FIELDS if not str(row["summary"].get(name) or "").strip()]
        for name in empty:
            missing[name] += 1
        shares.append((len(SUMMARY_FIELDS) - len(empty)) / len(SUMMARY_FIELDS))
    return {
        "escalations": len(escalations),
        "fields": len(SUMMARY_FIELDS),
        "mean_percent": round(100 * sum(shares) / len(shares), 1) if shares else None,
        "complete": sum(1 for share in shares if share == 1),
        "missing": [
            {
                "field": name,
                "label": SUMMARY_LABELS.get(name, name),
                "count": count,
                "percent": rate(count, len(escalations)),
            }
            for name, count in sorted(missing.items(), key=lambda item: (-item[1], SUMMARY_FIELDS.index(item[0])))
            if count
        ],
    }


def _reasons(escalations: list[dict], taken_over: set[int]) -> dict:
    categories: dict[str, int] = defaultdict(int)
    by_rule: dict[tuple[str, str], int] = defaultdict(int)
    for row in escalations:
        categories[row["category"]] += 1
        for name in rule_names(row["reasons"], row["category"]) or [NO_RULE]:
            by_rule[(row["category"], name)] += 1

    def label(category: str) -> str:
        return Escalation.Category(category).label if category in Escalation.Category.values else category

    return {
        "categories": [
            {"category": category, "label": label(category), "count": count}
            for category, count in sorted(categories.items(), key=lambda item: (-item[1], item[0]))
        ],
        "rules": [
            {"rule": name, "category": category, "label": label(category), "count": count}
            for (category, name), count in sorted(by_rule.items(), key=lambda item: (-item[1], item[0]))
        ],
        "takeovers": len(taken_over),
    }


def _bookings(practice, filters: Filters, threads: dict, timeline: dict, since, until, in_range) -> list[dict]:
    """Visits booked by text in the range, each with its thread and the messages it took (see the module).

    Every such visit gets its thread (for the conversations' services and sources); `counted` says whether it
    also passes the filters on the visit's own location, service and campaign. `timeline` holds every thread's
    messages from 7 days before the range."""
    fields = ("patient_id", "patient__phone", "location_id", "service_id", "campaign__source_code", "created_at")
    visits = [
        visit
        for visit in (
            dict(zip(fields, row, strict=True))
            for row in fast_rows(
                Appointment.objects.filter(
                    practice_id=practice.pk,
                    source=Appointment.Source.SMS,
                    created_at__gte=since,
                    created_at__lt=until,
                ),
                *fields,
            )
        )
        if in_range(visit["created_at"], visit["location_id"])
    ]
    if not visits:
        return []
    text_threads = defaultdict(list)
    for pk, thread in threads.items():
        if thread["channel"] in TEXT_CHANNELS:
            text_threads[thread["phone"]].append(pk)
    patients = {visit["patient_id"] for visit in visits}
    earlier = defaultdict(list)  # patient -> when they booked, by any way
    for patient_id, created_at in fast_rows(
        Appointment.objects.filter(
            practice_id=practice.pk,
            created_at__gte=min(visit["created_at"] for visit in visits) - BOOKING_LOOKBACK,
            created_at__lt=until,
        ),
        "patient_id",
        "created_at",
    ):
        if patient_id in patients:
            earlier[patient_id].append(created_at)
    sorted_threads: dict[int, tuple[list, list]] = {}

    def thread_times(pk: int) -> tuple[list, list]:
        """(every message's time, the patient's messages' times), sorted."""
        if pk not in sorted_threads:
            events = sorted(timeline.get(pk, ()))
            sorted_threads[pk] = ([at for at, _inbound in events], [at for at, inbound in events if inbound])
        return sorted_threads[pk]

    found = []
    for visit in visits:
        booked_at = visit["created_at"]
        start = max([booked_at - BOOKING_LOOKBACK, *(at for at in earlier[visit["patient_id"]] if at < booked_at)])
        best, best_last, best_count = None, None, 0
        for pk in text_threads.get(visit["patient__phone"], ()):
            every, patients_own = thread_times(pk)
            last_index = bisect_right(patients_own, booked_at) - 1
            last = patients_own[last_index] if last_index >= 0 and patients_own[last_index] > start else None
            if last is not None and (best_last is None or last > best_last):
                count = bisect_right(every, booked_at) - bisect_right(every, start)
                best, best_last, best_count = pk, last, count
        if best is None:
            continue  # no message from the patient before it: not booked in a conversation
        source = visit["campaign__source_code"] or DIRECT
        found.append(
            {
                "thread": best,
                "service_id": visit["service_id"],
                "source": source,
                "messages": best_count,
                "counted": (
                    (not filters.location_id or visit["location_id"] == filters.location_id)
                    and (not filters.service_id or visit["service_id"] == filters.service_id)
                    and (not filters.source or source == filters.source)
                ),
            }
        )
    return found


def _per_booking(bookings: list[dict]) -> dict:
    counts = [booking["messages"] for booking in bookings]
    return {
        "bookings": len(counts),
        "messages": sum(counts),
        "mean": round(sum(counts) / len(counts), 1) if counts else None,
        "median": median(counts),
    }
