"""Benchmark of the front-desk console's pages against a busy practice on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medspa_bench_console .venv/bin/python benchmarks/console.py

The data set (built once with bulk_create, then reused): one busy practice with 3 locations, 12
providers, 10,000 patients, 6,000 conversations holding 100,000 messages (one thread of 200), 5,000
appointments over the 61 days around the data's "today" (40 visits that day at the busy location,
across its 6 providers), 50 open escalations (5 emergencies), 300 open callback tasks, 1,000
conversations handed off or recent and 500 series enrollments due or late, plus the history behind
them (resolved escalations, done tasks, consent events, memberships, the waitlist). A second practice
with about a tenth of the rows shares the tables, so that every query has to scope itself; a tiny
practice, built by the same code with a few rows of each kind, gives the query counts to compare
with: a page whose query count is higher on the busy practice makes a query per row.

The clock is frozen (time-machine, tick=False) at Wednesday 2026-12-02 11:00 in New York, the data's
"today", so that every run, on any day, measures the same calendar.

Measured with Django's test Client (server time: URL routing, middleware, session and user, the view,
its queries and the template; no network and no browser), signed in as a front-desk StaffMember, for
each console page and htmx fragment: --runs timed requests (default 50) after --warmup untimed ones
(default 5), then an untimed pass that counts the SQL queries (CaptureQueriesContext) and splits the
time into SQL (inside cursor.execute), template rendering and the rest; the garbage collector's
pauses inside each timed loop are counted too. Target: every page under 150 ms at p95, with the
same number of queries on the busy practice as on the tiny one.

Options: --runs N, --warmup N, --rebuild (drop and rebuild the data), --pages KEY,... (measure only
those pages), --profile [missed|all|KEY,...] (cProfile and EXPLAIN ANALYZE of the slowest queries,
for the pages that missed the target by default), --json PATH. The database named in DATABASE_URL is created when missing (connecting to the
`postgres` database of the same server) and migrated.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import platform
import random
import re
import statistics
import sys
import time as clock
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks._common import setup_django  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medspa_bench_console")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medspa_receptionist.test_settings")

TARGET_P95_MS = 150.0
SEED = 20261202
DATA_VERSION = 2

# The data's "today" and "now": a Wednesday, mid-morning at the busy location. No DST change in the
# 61 days around it (US clocks went back on 2026-11-01).
TODAY = date(2026, 12, 2)
NOW = datetime.combine(TODAY, time(11, 0), ZoneInfo("America/New_York"))
DAYS_BEFORE = 30
DAYS_AFTER = 30
SHIFT = (9 * 60, 19 * 60)  # every provider works 9:00-19:00, Monday to Saturday, at one location
GAP_CHANCE = 0.15

# (slug, name, category, minutes, buffer minutes, room key or None)
SERVICES = [
    ("botox", "Botox", "neuromodulator", 30, 0, None),
    ("consultation", "Consultation", "consultation", 30, 0, None),
    ("lip-filler", "Lip filler", "filler", 45, 15, "treatment"),
    ("hydrafacial", "HydraFacial", "skin", 45, 15, "treatment"),
    ("microneedling", "Microneedling", "skin", 60, 15, "treatment"),
    ("laser-hair-removal", "Laser hair removal", "laser", 30, 10, "laser"),
    ("coolsculpting", "CoolSculpting", "body", 60, 15, "device"),
    ("iv-therapy", "IV therapy", "wellness", 45, 15, None),
]
SLOT_PICKER_SERVICE = "hydrafacial"
# (name, kind, capacity, room key)
RESOURCES = [
    ("Laser room", "room", 1, "laser"),
    ("Treatment room", "room", 2, "treatment"),
    ("Body device", "device", 1, "device"),
]
# (name, service slug, visits, interval days, repeats)
SERIES = [
    ("Laser hair removal, 6 visits", "laser-hair-removal", 6, 35, False),
    ("Microneedling, 3 visits", "microneedling", 3, 30, False),
    ("Tox maintenance", "botox", 1, 90, True),
    ("Monthly HydraFacial", "hydrafacial", 12, 30, False),
]
CREDENTIALS = ["np", "rn", "pa", "md", "aesthetician", "laser_tech"]
DELIVERY_STATUSES = ["delivered"] * 12 + ["sent", "failed"]
CONTACT_OUTCOMES = ["Left voicemail", "Texted a prompt", "Not ready yet"]
FIRST_NAMES = [
    "Olivia", "Emma", "Ava", "Sophia", "Isabella", "Mia", "Amelia", "Harper", "Evelyn", "Abigail",
    "Emily", "Ella", "Madison", "Scarlett", "Victoria", "Aria", "Grace", "Chloe", "Camila", "Penelope",
    "Riley", "Layla", "Lillian", "Nora", "Zoey", "Mila", "Aubrey", "Hannah", "Lily", "Addison",
    "Noah", "Liam", "James", "Lucas", "Daniel", "Maya", "Priya", "Sofia", "Valentina", "Naomi",
]  # fmt: skip
LAST_NAMES = [
    "Nguyen", "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson",
    "Martin", "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis",
    "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Kim", "Patel",
]  # fmt: skip
INBOUND = {
    "book": [
        "Hi! Do you have anything for {service} next week? Afternoons work best for me.",
        "Can I book {service} on Thursday or Friday? I'm flexible after 3.",
        "I'd like to come in for {service}, whatever you have first",
    ],
    "reschedule": [
        "Something came up at work, can I move my {service} to next week?",
        "Can we push my appointment to later in the day?",
    ],
    "cancel": ["I need to cancel my appointment tomorrow, sorry!", "Please cancel my {service}, I'm sick"],
    "price": ["How much is {service}?", "What do you charge for {service} and do you have any specials this month?"],
    "question": [
        "Is there any downtime after {service}? I have a wedding on Saturday",
        "Can I work out the same day as {service}?",
        "Do I need a consultation first for {service}?",
    ],
    "confirm": ["C", "Yes, confirmed, see you then", "Confirm"],
    "hours": ["Are you open on Sunday?", "What time do you close today?"],
    "human": ["Can I talk to a real person please", "Can someone from the front desk call me?"],
    "clinical": ["My lip is still swollen 3 days after filler, is that normal?", "I'm on blood thinners, can I still get {service}?"],
    "other": ["Thanks!", "ok", "Where do I park?", "Running 10 minutes late, sorry"],
}  # fmt: skip
INTENT_WEIGHTS = {
    "book": 30, "reschedule": 8, "cancel": 5, "price": 12, "question": 12, "confirm": 15, "hours": 4,
    "human": 3, "clinical": 3, "other": 8,
}  # fmt: skip
OUTBOUND = [
    "Hi {name}, this is Glow Aesthetics! Sorry we missed your call. How can we help?",
    "I have Thursday at 3:30 PM, Friday at 4:15 PM or Saturday at 10:00 AM for {service}. Which works best?",
    "You're booked for {service} on Friday at 4:15 PM with Sofia at our Flatiron location. Reply C to confirm.",
    "{service} starts at $350; the exact price depends on your treatment plan. Want me to find you a time?",
    "Reminder: your {service} is tomorrow at 10:00 AM. Reply C to confirm or R to reschedule.",
    "Most people have little to no downtime, but let me have one of our nurses confirm for your case.",
    "Thanks {name}! Someone from our team will call you back shortly.",
]
STAFF_REPLIES = [
    "Hi {name}, it's Jess from the front desk. I can squeeze you in today at 4, does that work?",
    "Totally understand. I've moved you to next Tuesday at 11, see you then!",
    "Our nurse will call you in a few minutes to go over this.",
]
EMERGENCY_WORDS = [
    "my lip looks white and it really hurts",
    "the filler spot on my cheek is turning blue",
    "I can't really see out of my left eye since the injection",
    "my throat feels tight after the treatment",
]
ESCALATION_WORDS = {
    "clinical": ["My lip is still swollen 3 days after filler, is that normal?", "I'm on blood thinners, can I still come?"],
    "human_request": ["Can I talk to a real person please", "I want to speak with the manager"],
    "complaint": ["I waited 40 minutes past my appointment time and nobody told me why", "The results are uneven"],
    "exception": ["Can I get a refund on the package? I moved", "Can you waive the late cancellation fee?"],
}  # fmt: skip


@dataclass(frozen=True)
class Scale:
    """How many rows of each kind a practice gets; the same code builds all three practices."""

    slug: str
    label: str
    time_zone: str
    area_code: str  # phone numbers: +1 area code, then an exchange per kind of number
    locations: tuple[tuple[str, int], ...]  # (name, providers working there); the first is the busy one
    patients: int
    conversations: int
    messages: int
    long_thread: int  # messages in the conversation of the measured conversation and patient pages
    handed_off: int
    recent: int  # conversations with the receptionist whose last message is under 48 hours old
    appointments: int
    today_visits: int  # visits (not counting cancelled ones) today at the busy location
    escalations_open: int
    emergencies: int
    escalations_resolved: int
    callbacks_open: int
    callbacks_done: int
    series_due: int  # enrollments due or late
    series_other: int
    waitlist: int
    staff: int
    last_name_prefix: str = ""  # the other practice's patients carry a marker, to check scoping


NEW_YORK_LOCATIONS = (("Flatiron", 6), ("Upper West Side", 3), ("Williamsburg", 3))
BUSY = Scale(
    slug="bench-console",
    label="Bench Console Med Spa",
    time_zone="America/New_York",
    area_code="212",
    locations=NEW_YORK_LOCATIONS,
    patients=10_000,
    conversations=6_000,
    messages=100_000,
    long_thread=200,
    handed_off=400,
    recent=600,
    appointments=5_000,
    today_visits=40,
    escalations_open=50,
    emergencies=5,
    escalations_resolved=450,
    callbacks_open=300,
    callbacks_done=1_200,
    series_due=500,
    series_other=1_500,
    waitlist=40,
    staff=8,
)
OTHER = Scale(
    slug="bench-console-other",
    label="Bench Console Other Spa",
    time_zone="America/Los_Angeles",
    area_code="310",
    locations=(("Santa Monica", 3), ("Pasadena", 2)),
    patients=1_500,
    conversations=800,
    messages=10_000,
    long_thread=60,
    handed_off=50,
    recent=80,
    appointments=600,
    today_visits=15,
    escalations_open=8,
    emergencies=1,
    escalations_resolved=30,
    callbacks_open=30,
    callbacks_done=50,
    series_due=40,
    series_other=60,
    waitlist=5,
    staff=3,
    last_name_prefix="Xoth",
)
TINY = Scale(
    slug="bench-console-tiny",
    label="Bench Console Tiny Spa",
    time_zone="America/New_York",
    area_code="415",
    locations=NEW_YORK_LOCATIONS,
    patients=40,
    conversations=20,
    messages=150,
    long_thread=20,
    handed_off=3,
    recent=5,
    appointments=60,
    today_visits=6,
    escalations_open=3,
    emergencies=1,
    escalations_resolved=2,
    callbacks_open=3,
    callbacks_done=2,
    series_due=3,
    series_other=2,
    waitlist=2,
    staff=2,
)
SCALES = [BUSY, OTHER, TINY]
SCOPE_MARKER = OTHER.last_name_prefix


# The data set.


def _phone(scale: Scale, exchange: int, i: int) -> str:
    # Exchanges: 300+ patients, 390+ leads, 557 the practice's own lines (the demo seed uses 555-01xx,
    # and PhoneNumber.number is unique across practices).
    return f"+1{scale.area_code}{exchange + i // 10_000:03d}{i % 10_000:04d}"


def _patient_phone(scale: Scale, i: int) -> str:
    return _phone(scale, 300, i)


def _lead_phone(scale: Scale, i: int) -> str:
    return _phone(scale, 390, i)


def _practice_name(scale: Scale) -> str:
    return f"{scale.label} (data v{DATA_VERSION}, today {TODAY.isoformat()})"


def _expected_counts(scale: Scale) -> dict[str, int]:
    return {
        "patients": scale.patients,
        "conversations": scale.conversations,
        "messages": scale.messages,
        "appointments": scale.appointments,
        "visits today at the busy location": scale.today_visits,
        "open escalations": scale.escalations_open,
        "open callbacks": scale.callbacks_open,
        "series due or late": scale.series_due,
        "staff": scale.staff,
    }


def _counts(practice, scale: Scale) -> dict[str, int]:
    from booking.models import Appointment, FollowUpTask, SeriesEnrollment
    from booking.selectors import appointments_on_day
    from calls.models import Conversation, Message
    from escalations.models import Escalation
    from practices.models import Location, Patient, StaffMember

    busy = Location.objects.filter(practice=practice, slug=_slug(scale.locations[0][0])).first()
    today = 0
    if busy is not None:
        today = appointments_on_day(practice=practice, day=TODAY, location=busy).exclude(status="cancelled").count()
    return {
        "patients": Patient.objects.filter(practice=practice).count(),
        "conversations": Conversation.objects.filter(practice=practice).count(),
        "messages": Message.objects.filter(practice=practice).count(),
        "appointments": Appointment.objects.filter(practice=practice).count(),
        "visits today at the busy location": today,
        "open escalations": Escalation.objects.filter(practice=practice, status__in=["open", "claimed"]).count(),
        "open callbacks": FollowUpTask.objects.filter(practice=practice, status="open").count(),
        "series due or late": SeriesEnrollment.objects.filter(practice=practice, status__in=["due", "late"]).count(),
        "staff": StaffMember.objects.filter(practice=practice).count(),
    }


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in counts.items())


def _slug(name: str) -> str:
    return name.lower().replace(" ", "-")


def ensure_data(*, rebuild: bool) -> dict:
    """The three bench practices, each reused when complete, else wiped and rebuilt."""
    from django.db import connection

    from practices.models import Practice

    report = {}
    built = False
    for scale in SCALES:
        practice = Practice.objects.filter(slug=scale.slug).first()
        if practice is not None and not rebuild and practice.name == _practice_name(scale):
            counts = _counts(practice, scale)
            if counts == _expected_counts(scale):
                print(f"Reusing {scale.slug} (practice {practice.pk}): {_describe(counts)}.")
                report[scale.slug] = {"reused": True, "build_seconds": None, "counts": counts}
                continue
            print(f"{scale.slug} is incomplete ({_describe(counts)}): rebuilding.")
        if practice is not None:
            wipe(practice, scale)
        started = clock.perf_counter()
        practice = build_practice(scale)
        seconds = clock.perf_counter() - started
        counts = _counts(practice, scale)
        if counts != _expected_counts(scale):
            raise SystemExit(f"{scale.slug}: built {_describe(counts)}, expected {_describe(_expected_counts(scale))}")
        print(f"Built {scale.slug} in {seconds:.1f} s: {_describe(counts)}.")
        report[scale.slug] = {"reused": False, "build_seconds": round(seconds, 2), "counts": counts}
        built = True
    if built:
        with connection.cursor() as cursor:
            # Fresh statistics for the planner, and no dead rows left by a wipe.
            cursor.execute("VACUUM ANALYZE")
    return report


def wipe(practice, scale: Scale) -> None:
    """Delete one bench practice's rows, table by table, in one transaction.

    Only the tables build_practice fills, with plain DELETEs: practice.delete() would collect rows
    from every app that points at a practice, and so fail on any table another branch has not
    migrated yet. Should a row elsewhere still point at these, PostgreSQL refuses the commit.
    Consent events are append-only (a trigger refuses DELETE): the trigger is skipped for that one
    statement with session_replication_role, which needs a superuser (the bench's `postgres`).
    """
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction

    from booking.models import Appointment, FollowUpTask, SeriesEnrollment, SeriesTemplate, WaitlistEntry
    from calls.models import Conversation, Message
    from escalations.models import Escalation
    from practices.models import (
        BusinessHours,
        ConsentEvent,
        Location,
        Membership,
        Patient,
        PhoneNumber,
        Practice,
        Provider,
        ProviderShift,
        Resource,
        Service,
        StaffMember,
    )

    users = list(StaffMember.objects.filter(practice=practice).values_list("user_id", flat=True))
    before_consent = [
        Escalation.objects.filter(practice=practice),
        FollowUpTask.objects.filter(practice=practice),
        WaitlistEntry.objects.filter(practice=practice),
        Message.objects.filter(practice=practice),
        Conversation.objects.filter(practice=practice),
        Appointment.objects.filter(practice=practice),
        SeriesEnrollment.objects.filter(practice=practice),
        SeriesTemplate.objects.filter(practice=practice),
    ]
    after_consent = [
        Membership.objects.filter(practice=practice),
        Patient.objects.filter(practice=practice),
        ProviderShift.objects.filter(provider__practice=practice),
        Provider.services.through.objects.filter(provider__practice=practice),
        Provider.locations.through.objects.filter(provider__practice=practice),
        Provider.objects.filter(practice=practice),
        Resource.services.through.objects.filter(resource__practice=practice),
        Resource.objects.filter(practice=practice),
        Service.objects.filter(practice=practice),
        BusinessHours.objects.filter(location__practice=practice),
        PhoneNumber.objects.filter(practice=practice),
        Location.objects.filter(practice=practice),
        StaffMember.objects.filter(practice=practice),
        get_user_model().objects.filter(pk__in=users),
        Practice.objects.filter(pk=practice.pk),
    ]
    with transaction.atomic():
        for queryset in before_consent:
            queryset._raw_delete(queryset.db)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute(f"DELETE FROM {ConsentEvent._meta.db_table} WHERE practice_id = %s", [practice.pk])
            cursor.execute("SET LOCAL session_replication_role = origin")
        for queryset in after_consent:
            queryset._raw_delete(queryset.db)
    print(f"Wiped {scale.slug} (practice {practice.pk}).")


def _generate_visits(rng, locations, providers_at, provider_services, spec, units_for):
    """Every visit that fits, per (day, location): each provider walks their shift back to back,
    with occasional gaps; a visit that needs a room takes a free unit (a 5-minute bitmap per unit
    and day keeps units free of overlaps), and each provider's own cursor keeps the provider free."""
    busy_units: dict[tuple[int, int, date], bytearray] = defaultdict(lambda: bytearray(24 * 12))
    visits = defaultdict(list)  # (day, location pk) -> [(provider pk, service, minute, resource pk, unit)]
    first_day = TODAY - timedelta(days=DAYS_BEFORE)
    for offset in range(DAYS_BEFORE + DAYS_AFTER + 1):
        day = first_day + timedelta(days=offset)
        if day.weekday() == 6:  # closed on Sunday
            continue
        for location in locations:
            heap = [(SHIFT[0], rng.random(), provider.pk) for provider in providers_at[location.pk]]
            heapq.heapify(heap)
            while heap:
                cursor, _, pid = heapq.heappop(heap)
                if rng.random() < GAP_CHANCE:
                    cursor += rng.choice([15, 30, 45, 60])
                else:
                    options = provider_services[pid][:]
                    rng.shuffle(options)
                    for service in options:
                        _, _, _, minutes, buffer, key = spec[service.pk]
                        span = minutes + buffer
                        if cursor + span > SHIFT[1]:
                            continue
                        unit = None
                        if key is not None:
                            first, last = cursor // 5, (cursor + span + 4) // 5
                            for candidate in units_for[(location.pk, key)]:
                                bitmap = busy_units[(*candidate, day)]
                                if not any(bitmap[first:last]):
                                    bitmap[first:last] = b"\x01" * (last - first)
                                    unit = candidate
                                    break
                            if unit is None:
                                continue
                        visits[(day, location.pk)].append((pid, service, cursor, *(unit or (None, None))))
                        cursor += span
                        break
                    else:
                        cursor += 15
                if cursor < SHIFT[1]:
                    heapq.heappush(heap, (cursor, rng.random(), pid))
    return visits


def build_practice(scale: Scale):  # noqa: C901, PLR0912, PLR0915 - one linear recipe
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from booking.models import Appointment, FollowUpTask, SeriesEnrollment, SeriesTemplate, WaitlistEntry
    from calls.models import Conversation, Message
    from escalations.models import SLA, Escalation
    from escalations.rules import PRIORITY
    from escalations.services import SUMMARY_FIELDS
    from practices.models import (
        BusinessHours,
        ConsentEvent,
        Location,
        Membership,
        Patient,
        PhoneNumber,
        Practice,
        Provider,
        ProviderShift,
        Resource,
        Service,
        StaffMember,
    )

    rng = random.Random(f"{SEED}-{scale.slug}")
    zone = ZoneInfo(scale.time_zone)
    now = NOW
    User = get_user_model()  # noqa: N806

    with transaction.atomic():
        practice = Practice.objects.create(
            name=_practice_name(scale),
            slug=scale.slug,
            brand_name=scale.label.replace("Bench ", ""),
            time_zone=scale.time_zone,
            min_notice_minutes=120,
            created_at=now - timedelta(days=400),
        )
        users = User.objects.bulk_create(
            User(
                username=f"{scale.slug}-staff{n + 1}",
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
                email=f"staff{n + 1}@{scale.slug}.example",
                password="!",  # unusable: the benchmark signs in with force_login
                is_active=True,
                date_joined=now - timedelta(days=300),
            )
            for n in range(scale.staff)
        )
        StaffMember.objects.bulk_create(
            StaffMember(user=user, practice=practice, role="front_desk" if n == 0 else "manager")
            for n, user in enumerate(users)
        )
        locations = Location.objects.bulk_create(
            Location(
                practice=practice,
                name=name,
                slug=_slug(name),
                address=f"{100 + i} Main Street",
                time_zone=scale.time_zone,
                phone=_phone(scale, 557, 9_000 + i),
            )
            for i, (name, _) in enumerate(scale.locations)
        )
        numbers = PhoneNumber.objects.bulk_create(
            PhoneNumber(
                practice=practice,
                location=location,
                number=_phone(scale, 557, 100 + i),
                label=location.name,
                forwards_to=location.phone,
            )
            for i, location in enumerate(locations)
        )
        number_of = {number.location_id: number.number for number in numbers}
        BusinessHours.objects.bulk_create(
            BusinessHours(location=location, weekday=weekday, opens_at=time(8), closes_at=time(20))
            for location in locations
            for weekday in range(6)
        )
        services = Service.objects.bulk_create(
            Service(
                practice=practice,
                slug=slug,
                name=name,
                category=category,
                duration_minutes=minutes,
                buffer_after_minutes=buffer,
                price_min=Decimal(150 + 50 * i),
                price_max=Decimal(400 + 100 * i),
            )
            for i, (slug, name, category, minutes, buffer, _) in enumerate(SERVICES)
        )
        spec = {service.pk: SERVICES[i] for i, service in enumerate(services)}
        by_slug = {service.slug: service for service in services}
        resources = Resource.objects.bulk_create(
            Resource(practice=practice, location=location, name=name, kind=kind, capacity=capacity)
            for location in locations
            for name, kind, capacity, _ in RESOURCES
        )
        room_key = {resource.pk: RESOURCES[i % len(RESOURCES)][3] for i, resource in enumerate(resources)}
        Resource.services.through.objects.bulk_create(
            Resource.services.through(resource_id=resource.pk, service_id=service.pk)
            for resource in resources
            for service in services
            if spec[service.pk][5] == room_key[resource.pk]
        )
        units_for: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        for resource in resources:
            for unit in range(1, resource.capacity + 1):
                units_for[(resource.location_id, room_key[resource.pk])].append((resource.pk, unit))

        provider_rows = []
        for location, (_, count) in zip(locations, scale.locations, strict=True):
            for _ in range(count):
                n = len(provider_rows)
                provider_rows.append(
                    (
                        location,
                        Provider(
                            practice=practice,
                            first_name=FIRST_NAMES[(7 * n + 3) % len(FIRST_NAMES)],
                            last_name=f"{LAST_NAMES[(11 * n + 5) % len(LAST_NAMES)]}",
                            credential=CREDENTIALS[n % len(CREDENTIALS)],
                        ),
                    )
                )
        providers = Provider.objects.bulk_create(provider for _, provider in provider_rows)
        providers_at: dict[int, list] = defaultdict(list)
        provider_services: dict[int, list] = {}
        slot_service = by_slug[SLOT_PICKER_SERVICE]
        links_loc, links_svc, shifts = [], [], []
        for n, ((location, _), provider) in enumerate(zip(provider_rows, providers, strict=True)):
            providers_at[location.pk].append(provider)
            others = [s for s in services if s.slug != "consultation"]
            chosen = [by_slug["consultation"], *rng.sample(others, rng.randint(3, 5))]
            if n % 2 == 0 and slot_service not in chosen:  # half the providers offer the slot picker's service
                chosen.append(slot_service)
            provider_services[provider.pk] = chosen
            links_loc.append(Provider.locations.through(provider_id=provider.pk, location_id=location.pk))
            links_svc += [Provider.services.through(provider_id=provider.pk, service_id=s.pk) for s in chosen]
            shifts += [
                ProviderShift(
                    provider=provider,
                    location=location,
                    weekday=weekday,
                    starts_at=time(SHIFT[0] // 60),
                    ends_at=time(SHIFT[1] // 60),
                )
                for weekday in range(6)
            ]
        Provider.locations.through.objects.bulk_create(links_loc)
        Provider.services.through.objects.bulk_create(links_svc)
        ProviderShift.objects.bulk_create(shifts)

        patients = Patient.objects.bulk_create(
            (
                Patient(
                    practice=practice,
                    first_name=FIRST_NAMES[i % len(FIRST_NAMES)],
                    last_name=f"{scale.last_name_prefix}{LAST_NAMES[(i // len(FIRST_NAMES) + i) % len(LAST_NAMES)]}",
                    phone=_patient_phone(scale, i),
                    email=f"patient{i}@example.com" if i % 3 else "",
                    is_returning=rng.random() < 0.6,
                    home_location=locations[i % len(locations)],
                    created_at=now - timedelta(days=rng.randint(1, 700)),
                )
                for i in range(scale.patients)
            ),
            batch_size=2_000,
        )
        star = patients[0]  # the patient of the long thread: the measured patient and conversation pages

        # Appointments: every visit that fits the 61 days, then a sample of them (dropping visits
        # never creates an overlap), with exactly `today_visits` visits today at the busy location.
        visits = _generate_visits(rng, locations, providers_at, provider_services, spec, units_for)
        busy_today = visits.pop((TODAY, locations[0].pk))
        cancelled_today = max(1, scale.today_visits // 20)
        if len(busy_today) < scale.today_visits + cancelled_today:
            raise SystemExit(f"Only {len(busy_today)} visits fit today at the busy location.")
        today_rows = rng.sample(busy_today, scale.today_visits + cancelled_today)
        rest = [(day, loc, visit) for (day, loc), rows in sorted(visits.items()) for visit in rows]
        wanted = scale.appointments - len(today_rows)
        if len(rest) < wanted:
            raise SystemExit(f"Only {len(rest)} visits fit the calendar; lower GAP_CHANCE.")
        chosen_rows = [(TODAY, locations[0].pk, v) for v in today_rows] + rng.sample(rest, wanted)
        location_of = {location.pk: location for location in locations}
        later_today = [
            i
            for i, (_, _, v) in enumerate(chosen_rows[: len(today_rows)])
            if datetime.combine(TODAY, time(0), zone) + timedelta(minutes=v[2]) > now
        ]
        cancel_today = set(rng.sample(later_today, cancelled_today))
        appointments = []
        for i, (day, location_pk, (pid, service, minute, resource_id, unit)) in enumerate(chosen_rows):
            minutes, buffer = spec[service.pk][3], spec[service.pk][4]
            starts_at = datetime.combine(day, time(0), zone) + timedelta(minutes=minute)
            ends_at = starts_at + timedelta(minutes=minutes)
            roll = rng.random()
            if i in cancel_today:
                status = "cancelled"
            elif ends_at <= now:
                status = "completed" if roll < 0.86 else "no_show" if roll < 0.92 else "cancelled"
            elif starts_at <= now:
                status = "checked_in"
            elif i < len(today_rows):
                status = "confirmed" if roll < 0.6 else "booked"
            else:
                status = "booked" if roll < 0.48 else "confirmed" if roll < 0.9 else "cancelled"
            is_cancelled = status == "cancelled"
            appointments.append(
                Appointment(
                    practice=practice,
                    location=location_of[location_pk],
                    patient=rng.choice(patients),
                    service=service,
                    provider_id=pid,
                    resource_id=resource_id,
                    resource_unit=unit,
                    starts_at=starts_at,
                    ends_at=ends_at,
                    blocks_until=ends_at + timedelta(minutes=buffer),
                    status=status,
                    source=rng.choice(["sms", "voice", "staff", "api"]),
                    cancellation_reason=rng.choice(["Sick", "Work conflict", "Travel", ""]) if is_cancelled else "",
                    cancelled_at=min(now, starts_at - timedelta(hours=rng.randint(2, 72))) if is_cancelled else None,
                    confirmed_at=starts_at - timedelta(days=1) if status == "confirmed" else None,
                    checked_in_at=starts_at - timedelta(minutes=5) if status in ("checked_in", "completed") else None,
                    completed_at=ends_at if status == "completed" else None,
                    created_at=starts_at - timedelta(days=rng.randint(1, 40)),
                )
            )
        for appointment in rng.sample(appointments, min(12, len(appointments))):
            appointment.patient = star
        appointments = Appointment.objects.bulk_create(appointments, batch_size=2_000)

        # Conversations: one per patient phone (a few are leads with no patient), the first is the
        # star's long thread. Handed off first, then recent ones, then older history.
        n_leads = scale.conversations // 20
        conv_patients = [star, *rng.sample(patients[1:], scale.conversations - n_leads - 1)]
        owners = conv_patients + [None] * n_leads
        textback_only = set(
            rng.sample(range(scale.handed_off + scale.recent, scale.conversations), scale.conversations * 3 // 100)
        )
        sizes = [0] * scale.conversations
        sizes[0] = scale.long_thread
        for i in textback_only:
            sizes[i] = 1
        others = [i for i in range(1, scale.conversations) if i not in textback_only]
        budget = scale.messages - scale.long_thread - len(textback_only) - 2 * len(others)
        weights = [rng.expovariate(1.0) for _ in others]
        total = sum(weights)
        shares = [int(w / total * budget) for w in weights]
        for k in range(budget - sum(shares)):
            shares[k % len(shares)] += 1
        for i, share in zip(others, shares, strict=True):
            sizes[i] = 2 + share

        conversations, threads = [], []
        for i, owner in enumerate(owners):
            if i < scale.handed_off:
                state, last_at = "handed_off", now - timedelta(minutes=rng.randint(2, 7 * 24 * 60))
            elif i < scale.handed_off + scale.recent:
                state = rng.choice(["greeting", "qualifying", "offering", "booked"])
                last_at = now - timedelta(minutes=rng.randint(1, 48 * 60))
            else:
                state = rng.choice(["closed", "closed", "booked", "qualifying"])
                last_at = now - timedelta(minutes=rng.randint(49 * 60, 90 * 24 * 60))
            if i == 0:
                last_at = now - timedelta(minutes=3)
            staffed = state == "handed_off" and rng.random() < 0.7
            taken_by = rng.choice(users) if staffed else None
            # Timestamps walk back from the last message; the direction alternates, now and then twice.
            count = sizes[i]
            gaps = [rng.randint(1, 180) for _ in range(count - 1)]
            stamps = [last_at]
            for gap in gaps:
                stamps.append(stamps[-1] - timedelta(minutes=gap))
            stamps.reverse()
            starts_outbound = i in textback_only or rng.random() < 0.2
            directions, direction = [], "outbound" if starts_outbound else "inbound"
            for _ in range(count):
                directions.append(direction)
                if rng.random() > 0.15:
                    direction = "inbound" if direction == "outbound" else "outbound"
            if state == "handed_off" and count > 1:
                directions[-1] = "inbound"  # the patient is waiting for staff
            service_name = rng.choice(services).name
            name = owner.first_name if owner else "there"
            thread = []
            for k, (direction, stamp) in enumerate(zip(directions, stamps, strict=True)):
                if direction == "inbound":
                    intent = rng.choices(list(INTENT_WEIGHTS), weights=list(INTENT_WEIGHTS.values()))[0]
                    body = rng.choice(INBOUND[intent]).format(service=service_name)
                    thread.append(("inbound", "patient", "", body, intent, None, stamp))
                elif taken_by is not None and k > count * 0.6:
                    body = rng.choice(STAFF_REPLIES).format(name=name)
                    thread.append(("outbound", "staff", "staff_reply", body, "", taken_by, stamp))
                else:
                    body = rng.choice(OUTBOUND).format(name=name, service=service_name)
                    kind = "text_back" if k == 0 and starts_outbound else rng.choice(["reply", "reply", "reminder"])
                    thread.append(("outbound", "receptionist", kind, body, "", None, stamp))
            threads.append(thread)
            phone = owner.phone if owner else _lead_phone(scale, i)
            inbound = [row[6] for row in thread if row[0] == "inbound"]
            outbound = [row[6] for row in thread if row[0] == "outbound"]
            location = locations[i % len(locations)]
            conversations.append(
                Conversation(
                    practice=practice,
                    phone=phone,
                    channel="whatsapp" if i % 15 == 7 else "sms",
                    patient=owner,
                    location=location,
                    practice_number=number_of[location.pk],
                    state=state,
                    taken_over_by=taken_by,
                    last_inbound_at=max(inbound) if inbound else None,
                    last_outbound_at=max(outbound) if outbound else None,
                    context={"glow": {"goal": service_name, "timing": "this week"}} if i % 4 == 0 else {},
                    priority=Decimal(rng.randint(10, 50)) / 10 if i % 3 == 0 else None,
                    created_at=stamps[0],
                )
            )
        conversations = Conversation.objects.bulk_create(conversations, batch_size=2_000)
        messages = []
        for conversation, thread in zip(conversations, threads, strict=True):
            for direction, sender, kind, body, intent, sent_by, stamp in thread:
                n = len(messages)
                messages.append(
                    Message(
                        practice=practice,
                        conversation=conversation,
                        direction=direction,
                        channel=conversation.channel,
                        sender=sender,
                        kind=kind,
                        body=body,
                        provider_sid=f"SM{practice.pk:08d}{n:024d}",
                        status="received" if direction == "inbound" else rng.choice(DELIVERY_STATUSES),
                        intent=intent,
                        extracted={"service": body[:20]} if intent == "book" else {},
                        sent_by=sent_by,
                        created_at=stamp,
                        sent_at=stamp if direction == "outbound" else None,
                        processed_at=stamp + timedelta(seconds=2) if direction == "inbound" else None,
                    )
                )
        Message.objects.bulk_create(messages, batch_size=5_000)
        del messages, threads

        # Consent: an opt-in per conversation phone; a few opted out later. Memberships for some.
        consent = []
        for i, conversation in enumerate(conversations):
            consent.append(
                ConsentEvent(
                    practice=practice,
                    phone=conversation.phone,
                    kind="opt_in",
                    source=rng.choice(["sms_keyword", "web_form", "verbal"]),
                    occurred_at=conversation.created_at,
                    told="You're subscribed to texts from us. Reply STOP to opt out, HELP for help.",
                )
            )
            if i == 0 or rng.random() < 0.05:
                consent.append(
                    ConsentEvent(
                        practice=practice,
                        phone=conversation.phone,
                        kind="help" if i == 0 else "opt_out",
                        source="sms_keyword",
                        occurred_at=conversation.created_at + timedelta(hours=1),
                        told="You're unsubscribed and won't get more texts. Reply START to resubscribe.",
                    )
                )
        ConsentEvent.objects.bulk_create(consent, batch_size=5_000)
        Membership.objects.bulk_create(
            Membership(
                practice=practice,
                patient=patient,
                plan=rng.choice(["Glow Club", "Tox Club", "VIP"]),
                monthly_price=Decimal("99.00"),
                credits=Decimal(rng.randint(0, 300)),
                renews_on=TODAY + timedelta(days=rng.randint(1, 30)),
                started_on=TODAY - timedelta(days=rng.randint(30, 600)),
            )
            for patient in [star, *rng.sample(patients[1:], scale.patients // 20)]
        )

        # Series: templates, then enrollments due or late (the queue) and the rest.
        templates = SeriesTemplate.objects.bulk_create(
            SeriesTemplate(
                practice=practice, name=name, service=by_slug[slug], visits=visits_, interval_days=days, repeats=repeats
            )
            for name, slug, visits_, days, repeats in SERIES
        )
        enrollments = []
        for i in range(scale.series_due + scale.series_other):
            template = templates[i % len(templates)]
            patient = star if i in (0, scale.series_due) else rng.choice(patients)
            done = rng.randint(1, max(1, template.visits - 1))
            if i < scale.series_due:
                if i % 2 == 0:
                    status, due_on = "due", TODAY + timedelta(days=rng.randint(-6, 6))
                else:
                    status, due_on = "late", TODAY - timedelta(days=rng.randint(16, 80))
            else:
                status = rng.choice(["on_cadence", "on_cadence", "on_cadence", "completed", "paused"])
                due_on = TODAY + timedelta(days=rng.randint(10, 60))
            last_visit = due_on - timedelta(days=template.interval_days)
            contacted = rng.random() < 0.4
            enrollments.append(
                SeriesEnrollment(
                    practice=practice,
                    patient=patient,
                    template=template,
                    visits_done=template.visits if status == "completed" else done,
                    last_visit_on=last_visit,
                    next_due_from=due_on - timedelta(days=template.early_days),
                    next_due_on=due_on,
                    next_due_until=due_on + timedelta(days=template.late_days),
                    status=status,
                    last_contact_at=now - timedelta(days=rng.randint(1, 20)) if contacted else None,
                    last_contact_outcome=rng.choice(CONTACT_OUTCOMES) if contacted else "",
                    started_on=last_visit - timedelta(days=template.interval_days * done),
                )
            )
        enrollments = SeriesEnrollment.objects.bulk_create(enrollments, batch_size=2_000)
        due_enrollments = [e for e in enrollments if e.status in ("due", "late")]

        # Follow-up tasks: open ones (the callback queue) of every kind, then done history.
        cancelled = [a for a in appointments if a.status == "cancelled"]
        rng.shuffle(cancelled)
        kinds = ["callback", "not_ready", "cancellation_recovery", "callback", "not_ready"]
        kinds += ["callback", "callback", "cancellation_recovery", "callback", "not_ready"]
        tasks = []
        for i in range(scale.callbacks_open + scale.callbacks_done):
            is_open = i < scale.callbacks_open
            kind = kinds[i % len(kinds)]
            enrollment = appointment = None
            if kind == "cancellation_recovery" and cancelled:
                appointment = cancelled.pop()
                patient = appointment.patient
            elif kind == "not_ready":
                enrollment = rng.choice(due_enrollments)
                patient = enrollment.patient
            else:
                kind = "callback"
                patient = rng.choice(conv_patients)
            created = now - timedelta(hours=rng.randint(1, 20 * 24 if is_open else 200 * 24))
            tasks.append(
                FollowUpTask(
                    practice=practice,
                    patient=patient,
                    kind=kind,
                    enrollment=enrollment,
                    appointment=appointment,
                    due_on=TODAY + timedelta(days=rng.randint(-10, 7)) if is_open else created.date(),
                    reason={
                        "callback": "Asked for a call back about pricing",
                        "not_ready": "Not ready to book the next visit",
                        "cancellation_recovery": "Cancelled a series visit: rebook",
                    }[kind],
                    status="open" if is_open else "done",
                    outcome="" if is_open else rng.choice(["Booked", "Left voicemail", "No answer"]),
                    created_at=created,
                    done_at=None if is_open else created + timedelta(hours=5),
                )
            )
        FollowUpTask.objects.bulk_create(tasks, batch_size=2_000)

        # Escalations: the open queue (emergencies first) on recent conversations, then resolved ones.
        categories = ["emergency"] * scale.emergencies
        cycle = ["clinical", "human_request", "complaint", "exception"]
        categories += [cycle[i % len(cycle)] for i in range(scale.escalations_open - scale.emergencies)]
        categories += [cycle[i % len(cycle)] for i in range(scale.escalations_resolved)]
        escalation_conversations = conversations[: scale.handed_off + scale.recent]
        escalations = []
        for i, category in enumerate(categories):
            is_open = i < scale.escalations_open
            conversation = conversations[0] if i == 0 else escalation_conversations[i % len(escalation_conversations)]
            if not is_open:
                conversation = rng.choice(conversations)
            patient = conversation.patient
            created = now - timedelta(minutes=rng.randint(1, 3 * 24 * 60 if is_open else 300 * 24 * 60))
            words = rng.choice(EMERGENCY_WORDS if category == "emergency" else ESCALATION_WORDS[category])
            summary = {name: "" for name in SUMMARY_FIELDS} | {
                "name": patient.full_name if patient else "",
                "phone": conversation.phone,
                "new_or_returning": "returning" if patient and patient.is_returning else "new",
                "location": conversation.location.name if conversation.location else "",
                "callback_time": rng.choice(["as soon as possible", "after 5 pm", "tomorrow morning"]),
                "service_interest": rng.choice(services).name,
                "context": "Had filler 3 days ago" if category in ("emergency", "clinical") else "",
                "question": {
                    "emergency": "Possible vascular occlusion",
                    "clinical": "Clinical question",
                    "human_request": "Wants a person",
                    "complaint": "Complaint",
                    "exception": "Asks for an exception",
                }[category],
                "exact_words": words,
                "receptionist_said": "I'm getting one of our nurses right now. If it gets worse, call 911.",
                "not_promised": "No diagnosis, no refund, no discount",
            }
            claimed = is_open and rng.random() < 0.3
            notes = [
                {
                    "at": (created + timedelta(minutes=5 * n)).isoformat(),
                    "by": users[n % len(users)].first_name,
                    "text": "Called, left voicemail",
                }
                for n in range(rng.randint(0, 3) if is_open else 1)
            ]
            escalations.append(
                Escalation(
                    practice=practice,
                    patient=patient,
                    conversation=conversation,
                    category=category,
                    priority=PRIORITY[category],
                    status="resolved" if not is_open else "claimed" if claimed else "open",
                    reasons=[category],
                    summary=summary,
                    sla_due_at=created + SLA[category],
                    claimed_by=rng.choice(users) if claimed or not is_open else None,
                    claimed_at=created + timedelta(minutes=4) if claimed or not is_open else None,
                    resolved_at=None if is_open else created + timedelta(hours=2),
                    resolution_note="" if is_open else "Called back, all fine",
                    notes=notes,
                    created_at=created,
                )
            )
        Escalation.objects.bulk_create(escalations, batch_size=2_000)

        WaitlistEntry.objects.bulk_create(
            WaitlistEntry(
                practice=practice,
                patient=rng.choice(patients),
                service=rng.choice(services),
                location=rng.choice([None, *locations]),
                provider=rng.choice([None, None, *providers]),
                earliest_on=TODAY + timedelta(days=rng.randint(0, 7)),
                latest_on=TODAY + timedelta(days=rng.randint(8, 30)),
                status="waiting" if i < scale.waitlist else rng.choice(["booked", "expired"]),
                created_at=now - timedelta(days=rng.randint(1, 30)),
            )
            for i in range(scale.waitlist * 2)
        )
    return practice


# Measuring.


@dataclass
class Ids:
    """The rows a practice's measured pages point at."""

    staff_user: object
    busy_location: int
    conversation: int
    patient: int
    service: int


def ids_for(scale: Scale) -> Ids:
    from django.contrib.auth import get_user_model

    from calls.models import Conversation
    from practices.models import Location, Patient, Practice, Service

    practice = Practice.objects.get(slug=scale.slug)
    star = Patient.objects.get(practice=practice, phone=_patient_phone(scale, 0))
    return Ids(
        staff_user=get_user_model().objects.get(username=f"{scale.slug}-staff1"),
        busy_location=Location.objects.get(practice=practice, slug=_slug(scale.locations[0][0])).pk,
        conversation=Conversation.objects.get(practice=practice, patient=star, channel="sms").pk,
        patient=star.pk,
        service=Service.objects.get(practice=practice, slug=SLOT_PICKER_SERVICE).pk,
    )


@dataclass
class Page:
    key: str
    title: str
    path: str
    headers: dict
    item: str  # a regex counting the rows the page shows
    expected: int | None  # how many of them the data set says it must show (None: not fixed)


HX = {"HTTP_HX_REQUEST": "true"}


def _queue_size(result) -> int:
    """How many rows a selector's queue holds: len() of a list or queryset, or the total of a
    selector that returns (the rows of one page, the total)."""
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], int):
        return result[1]
    return len(result)


def _expected_rows(scale: Scale, ids: Ids) -> dict[str, int | None]:
    """How many rows each page's queue holds, from the console's own selectors (None when unknown):
    a page may show fewer (one page of a long queue), but never none of them, nor more."""
    from calls.models import Message
    from medspa_receptionist.console import selectors
    from practices.models import Location, Practice

    practice = Practice.objects.get(slug=scale.slug)

    def attempt(compute):
        try:
            return compute()
        except Exception as exc:  # the selectors change with the console; the check is a bonus
            print(f"  (cannot compute an expected row count: {exc!r})")
            return None

    location = Location.objects.get(pk=ids.busy_location)
    thread = Message.objects.filter(conversation_id=ids.conversation).count()
    return {
        "home": attempt(
            lambda: len(selectors.escalation_queue(practice)[:10]) + len(selectors.callback_queue(practice)[:10])
        ),
        "escalations": attempt(lambda: _queue_size(selectors.escalation_queue(practice))),
        "callbacks": attempt(lambda: _queue_size(selectors.callback_queue(practice))),
        "conversations": attempt(lambda: _queue_size(selectors.conversation_list(practice))),
        "conversation": thread,
        "schedule": attempt(
            lambda: sum(len(visits) for _, visits in selectors.schedule_for(practice, day=TODAY, location=location))
        ),
        "series": attempt(lambda: _queue_size(selectors.series_queue(practice))),
    }


def pages_for(scale: Scale, ids: Ids) -> list[Page]:
    today = TODAY.isoformat()
    conversation = f"/console/conversations/{ids.conversation}/"
    book = f"/console/schedule/book/?service={ids.service}&location={ids.busy_location}&date={today}"
    rows = _expected_rows(scale, ids)
    return [
        Page("home", "/console/ (home)", "/console/", {}, r'<article class="item', rows["home"]),
        Page("escalations", "/console/escalations/", "/console/escalations/", {}, r'<article class="item',
             rows["escalations"]),
        Page("callbacks", "/console/callbacks/", "/console/callbacks/", {}, r'<article class="item" id="callback-',
             rows["callbacks"]),
        Page("conversations", "/console/conversations/", "/console/conversations/", {},
             r'href="/console/conversations/\d+/"', rows["conversations"]),
        Page("conversations_hx", "/console/conversations/ (htmx rows)", "/console/conversations/", HX,
             r'href="/console/conversations/\d+/"', rows["conversations"]),
        Page("conversation", "/console/conversations/<id>/", conversation, {}, r'<li class="bubble',
             rows["conversation"]),
        Page("thread_hx", "/console/conversations/<id>/ (htmx thread)", conversation,
             {**HX, "HTTP_HX_TARGET": "thread"}, r'<li class="bubble', rows["conversation"]),
        Page("schedule", "/console/schedule/ (today, busy location)",
             f"/console/schedule/?location={ids.busy_location}&date={today}", {}, r'<article class="visit',
             rows["schedule"]),
        Page("series", "/console/series/", "/console/series/", {}, r'<tr id="series-\d+"', rows["series"]),
        Page("patient", "/console/patients/<id>/", f"/console/patients/{ids.patient}/", {},
             r'<li>[^<]*· <span class="pill', None),
        Page("counts", "/console/counts/ (htmx poll)", "/console/counts/", {}, r"data-count=", None),
        Page("slots_hx", "/console/schedule/book/ (htmx slots)", book, HX, r'<label class="slot"', None),
    ]  # fmt: skip


def _ms(ns: int) -> float:
    return ns / 1e6


def summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)

    def pct(p: float) -> float:  # linear interpolation between closest ranks
        k = (len(ordered) - 1) * p
        lo = int(k)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {
        "p50": pct(0.50),
        "p95": pct(0.95),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
    }


def client_for(user):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def fetch(client, page: Page):
    response = client.get(page.path, **page.headers)
    if response.status_code != 200:
        raise AssertionError(f"{page.key}: {page.path} answered {response.status_code}")
    return response


def count_items(page: Page, body: str) -> int:
    items = len(re.findall(page.item, body))
    if page.expected is not None and (items > page.expected or (page.expected and not items)):
        raise AssertionError(f"{page.key}: shows {items} rows, its queue holds {page.expected}")
    return items


class Breakdown:
    """Where one request's time goes: SQL (inside cursor.execute), template rendering (outside SQL),
    and the rest (routing, middleware, session, view code, response). Adds a little overhead, so it
    runs apart from the timed loop."""

    def __init__(self):
        from django.template.backends.django import Template

        self.template_class = Template
        self.original_render = Template.render
        self.depth = 0
        self.reset()

    def reset(self):
        self.sql_ns = self.render_ns = self.sql_in_render_ns = 0
        self.queries: list[tuple[int, str, object]] = []

    def __enter__(self):
        from django.db import connection

        breakdown = self
        original = self.original_render

        def render(template, context=None, request=None):
            breakdown.depth += 1
            t0 = clock.perf_counter_ns()
            try:
                return original(template, context, request)
            finally:
                breakdown.depth -= 1
                if breakdown.depth == 0:
                    breakdown.render_ns += clock.perf_counter_ns() - t0

        def timed(execute, sql, params, many, context):
            t0 = clock.perf_counter_ns()
            try:
                return execute(sql, params, many, context)
            finally:
                spent = clock.perf_counter_ns() - t0
                breakdown.sql_ns += spent
                if breakdown.depth:
                    breakdown.sql_in_render_ns += spent
                breakdown.queries.append((spent, sql, params))

        self.template_class.render = render
        self.wrapper = connection.execute_wrapper(timed)
        self.wrapper.__enter__()
        return self

    def __exit__(self, *exc):
        self.wrapper.__exit__(*exc)
        self.template_class.render = self.original_render


def query_counts(client, page: Page, times: int = 3) -> list[int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for _ in range(times):
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            fetch(client, page)
        counts.append(len(captured.captured_queries))
    return sorted(set(counts))


def measure_page(client, page: Page, *, runs: int, warmup: int) -> dict:
    now_ns = clock.perf_counter_ns
    items = 0
    body = ""
    for _ in range(warmup):
        body = fetch(client, page).content.decode()
        items = count_items(page, body)
    # Garbage-collector pauses inside the timed loop: a collection runs when allocations pile up,
    # so its pause lands on whichever request happens to be running (a tail-latency source).
    pauses: list[int] = []
    full_pauses: list[int] = []  # collections of the oldest generation, which walk the whole heap
    paused_at = [0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            paused_at[0] = now_ns()
        else:
            pauses.append(now_ns() - paused_at[0])
            if info["generation"] == 2:
                full_pauses.append(pauses[-1])

    gc.collect()
    load_before = os.getloadavg()[0]
    samples = []
    gc.callbacks.append(on_gc)
    try:
        for _ in range(runs):
            t0 = now_ns()
            response = client.get(page.path, **page.headers)
            samples.append(_ms(now_ns() - t0))
            if response.status_code != 200:
                raise AssertionError(f"{page.key}: {page.path} answered {response.status_code}")
    finally:
        gc.callbacks.remove(on_gc)
    load_after = os.getloadavg()[0]
    body = response.content.decode()
    items = count_items(page, body)

    counts = query_counts(client, page)
    parts = {"sql": [], "template": [], "other": [], "total": []}
    slowest: dict[str, list[float]] = defaultdict(list)
    with Breakdown() as breakdown:
        for _ in range(10):
            breakdown.reset()
            t0 = now_ns()
            fetch(client, page)
            total = now_ns() - t0
            parts["total"].append(_ms(total))
            parts["sql"].append(_ms(breakdown.sql_ns))
            parts["template"].append(_ms(breakdown.render_ns - breakdown.sql_in_render_ns))
            parts["other"].append(_ms(total - breakdown.sql_ns - (breakdown.render_ns - breakdown.sql_in_render_ns)))
            for spent, sql, _ in breakdown.queries:
                slowest[sql].append(_ms(spent))
    top = sorted(((statistics.median(v), sql) for sql, v in slowest.items()), reverse=True)[:3]
    return {
        "title": page.title,
        "path": page.path,
        "htmx": bool(page.headers),
        "runs": runs,
        "ms": summary(samples),
        "items": items,
        "queue_rows": page.expected,
        "bytes": len(body.encode()),
        "queries": counts,
        "breakdown_p50_ms": {key: round(statistics.median(values), 2) for key, values in parts.items()},
        "slowest_queries": [{"ms": round(ms, 2), "sql": sql} for ms, sql in top],
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "gc_pauses": {
            "count": len(pauses),
            "total_ms": round(_ms(sum(pauses)), 2),
            "max_ms": round(_ms(max(pauses, default=0)), 2),
            "full_count": len(full_pauses),
            "full_total_ms": round(_ms(sum(full_pauses)), 2),
            "tracked_objects": len(gc.get_objects()),
        },
        "body": body,
    }


def check_scoping(client, other: Ids, busy_results: dict) -> list[str]:
    """Another practice's rows never show: their ids are a 404 and their patients never appear."""
    import logging

    problems = []
    request_log = logging.getLogger("django.request")
    level = request_log.level
    request_log.setLevel(logging.ERROR)  # the 404s below are expected: no "Not Found" warnings
    try:
        problems += _scoping_problems(client, other)
    finally:
        request_log.setLevel(level)
    for key, result in busy_results.items():
        if SCOPE_MARKER in result["body"]:
            problems.append(f"{key}: shows the other practice's patients")
    return problems


def _scoping_problems(client, other: Ids) -> list[str]:
    problems = []
    for path in (
        f"/console/conversations/{other.conversation}/",
        f"/console/patients/{other.patient}/",
        f"/console/patients/{other.patient}/phone/",
        f"/console/schedule/?location={other.busy_location}",  # falls back to one of our own locations
    ):
        response = client.get(path)
        body = response.content.decode()
        if path.startswith("/console/schedule/"):
            if response.status_code != 200 or SCOPE_MARKER in body:
                problems.append(
                    f"{path}: {response.status_code}, marker {'shown' if SCOPE_MARKER in body else 'absent'}"
                )
        elif response.status_code != 404:
            problems.append(f"{path}: {response.status_code}, expected 404")
    return problems


def calibration_ms() -> float:
    """A fixed pure-Python workload (median of 7): how fast this CPU is right now, to compare runs."""
    samples = []
    for _ in range(7):
        t0 = clock.perf_counter_ns()
        sum(i * i for i in range(300_000))
        samples.append(_ms(clock.perf_counter_ns() - t0))
    return round(statistics.median(samples), 2)


def machine_info() -> dict:
    import django
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        db_version = cursor.fetchone()[0]
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "calibration_ms": calibration_ms(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "django": django.get_version(),
        "database_version": db_version,
        "database_name": connection.settings_dict["NAME"],
        "conn_max_age": connection.settings_dict.get("CONN_MAX_AGE"),
    }


def _span(counts: list[int]) -> str:
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def print_report(info: dict, data: dict, results: dict, tiny: dict, runs: int, warmup: int, scoping: list[str]) -> None:
    print()
    print(
        "Machine: {nproc} CPU(s) ({cpu}), load average {load_average}, calibration loop {calibration_ms} ms "
        "(lower is faster; compare runs with similar values)".format(**info)
    )
    print(f"Python {info['python']}, Django {info['django']}, {info['platform']}")
    print(f"Database: {info['database_name']}: {info['database_version']}")
    print(f"Busy practice: {_describe(data[BUSY.slug]['counts'])}")
    print(f"Clock frozen at {NOW.isoformat()}; {runs} timed requests per page after {warmup} warm-up requests")
    print()
    header = (
        f"{'page':<44}{'p50':>7}{'p95':>7}{'max':>7} |{'SQL':>6}{'tmpl':>6}{'rest':>6} |"
        f"{'rows':>5}{'KB':>5} |{'queries':>8}{'tiny':>5} | target"
    )
    print(header)
    print(f"{'':<44}{'(ms, timed loop)':>21} |{'(ms, p50 of 10)':>18} |{'':>10} |{'busy':>8}{'':>5} |")
    print("-" * len(header))
    for key, result in results.items():
        ms, parts = result["ms"], result["breakdown_p50_ms"]
        queries, tiny_queries = result["queries"], tiny[key]["queries"]
        grows = max(queries) > max(tiny_queries)
        verdict = "MET" if ms["p95"] < TARGET_P95_MS and not grows else "NOT MET"
        if grows:
            verdict += " (queries grow)"
        print(
            f"{result['title']:<44}{ms['p50']:>7.1f}{ms['p95']:>7.1f}{ms['max']:>7.1f} |"
            f"{parts['sql']:>6.1f}{parts['template']:>6.1f}{parts['other']:>6.1f} |"
            f"{result['items']:>5}{result['bytes'] / 1024:>5.0f} |{_span(queries):>8}{_span(tiny_queries):>5} | {verdict}"
        )
    print()
    print("SQL = time inside cursor.execute; tmpl = template rendering minus the SQL it triggers (lazy querysets);")
    print("rest = routing, middleware, session, view code. rows = items the page shows. tiny = the same page of")
    print(f"the tiny practice ({_describe(data[TINY.slug]['counts'])}).")
    print()
    partial = [
        f"{key} shows {result['items']} of {result['queue_rows']}"
        for key, result in results.items()
        if result["queue_rows"] is not None and result["items"] < result["queue_rows"]
    ]
    if partial:
        print(f"Pages showing part of a longer queue (rows shown of rows queued): {'; '.join(partial)}.")
        print()
    print("Slowest query of each page (median ms over 10 requests):")
    for key, result in results.items():
        top = result["slowest_queries"][0]
        sql = " ".join(top["sql"].split())
        print(f"  {key:<17}{top['ms']:>7.2f}  {sql[:150]}{'...' if len(sql) > 150 else ''}")
    print()
    print(f"Garbage-collector pauses in each timed loop of {runs} requests (count, of which full; total; longest):")
    cells = []
    for key, result in results.items():
        pauses = result["gc_pauses"]
        cells.append(
            f"{key} {pauses['count']} ({pauses['full_count']} full), {pauses['total_ms']:.0f} ms, "
            f"max {pauses['max_ms']:.0f} ms"
        )
    for i in range(0, len(cells), 3):
        print("  " + "; ".join(cells[i : i + 3]))
    print()
    print(f"Scoping (the other practice's ids are a 404, its patients never shown): {'ok' if not scoping else scoping}")
    met = [k for k, r in results.items() if r["target_met"]]
    print(
        f"Target: p95 < {TARGET_P95_MS:g} ms and no more queries than on the tiny practice: "
        f"{len(met)}/{len(results)} pages met it."
    )


def profile(client, pages: list[Page], requests: int) -> None:
    import cProfile
    import pstats

    from django.db import connection

    for page in pages:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            fetch(client, page)
        profiler.disable()
        print(f"\n==== cProfile of {requests} requests: {page.title} ({page.path})")
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
        with Breakdown() as breakdown:
            fetch(client, page)
        print(f"---- EXPLAIN ANALYZE of the 3 slowest queries of one request ({len(breakdown.queries)} queries)")
        for spent, sql, params in sorted(breakdown.queries, key=lambda q: -q[0])[:3]:
            if not sql.lstrip().upper().startswith("SELECT"):
                continue
            print(f"\n-- {_ms(spent):.2f} ms: {' '.join(sql.split())[:400]}")
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                for (line,) in cursor.fetchall():
                    print("   " + line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=50, help="timed requests per page (default 50)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per page first (default 5)")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench data set")
    parser.add_argument("--pages", default="", help="measure only these page keys, separated by commas")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="missed",
        default=None,
        help="cProfile and EXPLAIN ANALYZE: 'missed' (the default) for the pages that missed the target, "
        "'all', or page keys separated by commas",
    )
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "console.json", help="results file"
    )
    args = parser.parse_args()

    recorded_at = datetime.now(UTC).isoformat(timespec="seconds")  # before the clock is frozen
    try:
        import time_machine
    except ImportError:
        raise SystemExit("benchmarks/console.py needs time-machine (pip install -r requirements-dev.txt).") from None

    setup_django(require_postgres="benchmarks/console.py")
    with time_machine.travel(NOW, tick=False):
        data = ensure_data(rebuild=args.rebuild)
        busy_ids, tiny_ids, other_ids = ids_for(BUSY), ids_for(TINY), ids_for(OTHER)
        busy_pages, tiny_pages = pages_for(BUSY, busy_ids), pages_for(TINY, tiny_ids)
        if args.pages:
            keys = set(args.pages.split(","))
            unknown = keys - {page.key for page in busy_pages}
            if unknown:
                raise SystemExit(f"Unknown page keys {sorted(unknown)}: {[page.key for page in busy_pages]}")
            busy_pages = [page for page in busy_pages if page.key in keys]
            tiny_pages = [page for page in tiny_pages if page.key in keys]
        busy_client, tiny_client = client_for(busy_ids.staff_user), client_for(tiny_ids.staff_user)
        info = machine_info()
        calibration_before = calibration_ms()
        started = clock.perf_counter()
        results = {}
        for page in busy_pages:
            results[page.key] = measure_page(busy_client, page, runs=args.runs, warmup=args.warmup)
        tiny = {}
        for page in tiny_pages:
            tiny[page.key] = measure_page(tiny_client, page, runs=10, warmup=2)
        scoping = check_scoping(busy_client, other_ids, results)
        calibration_after = calibration_ms()
        print(f"Measured {len(busy_pages)} pages in {clock.perf_counter() - started:.1f} s.")
        for key, result in results.items():
            grows = max(result["queries"]) > max(tiny[key]["queries"])
            result["queries_tiny"] = tiny[key]["queries"]
            result["tiny_ms_p50"] = round(tiny[key]["ms"]["p50"], 2)
            result["queries_grow"] = grows
            result["target_met"] = result["ms"]["p95"] < TARGET_P95_MS and not grows
        info["calibration_ms_before_after"] = [calibration_before, calibration_after]
        print_report(info, data, results, tiny, args.runs, args.warmup, scoping)
        print(f"Calibration loop {calibration_before:.2f} ms before the pages, {calibration_after:.2f} ms after.")

        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "console",
            "recorded_at": recorded_at,
            "target_p95_ms": TARGET_P95_MS,
            "config": {
                "runs": args.runs,
                "warmup": args.warmup,
                "seed": SEED,
                "data_version": DATA_VERSION,
                "frozen_now": NOW.isoformat(),
                "days": [
                    (TODAY - timedelta(days=DAYS_BEFORE)).isoformat(),
                    (TODAY + timedelta(days=DAYS_AFTER)).isoformat(),
                ],
            },
            "machine": info,
            "data": data,
            "scoping_problems": scoping,
            "results": {key: {k: v for k, v in result.items() if k != "body"} for key, result in results.items()},
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        shown = args.json.relative_to(REPO_ROOT) if args.json.is_relative_to(REPO_ROOT) else args.json
        print(f"\nWrote {shown}")

        if args.profile:
            if args.profile == "missed":
                chosen = [p for p in busy_pages if not results[p.key]["target_met"]]
            elif args.profile == "all":
                chosen = busy_pages
            else:
                keys = set(args.profile.split(","))
                chosen = [p for p in busy_pages if p.key in keys]
            if not chosen:
                print("\nEvery page met the target: nothing to profile (pass --profile all to profile anyway).")
            profile(busy_client, chosen, requests=20)
        busy_client.logout()
        tiny_client.logout()
    if scoping:
        raise SystemExit("Scoping problems: " + "; ".join(scoping))


if __name__ == "__main__":
    main()
