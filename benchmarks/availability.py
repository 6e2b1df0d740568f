"""Benchmark of the booking availability engine against a busy practice on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medspa_bench .venv/bin/python benchmarks/availability.py

The data set (built once, then reused): one practice with 6 locations (each with a laser room, a
treatment room of capacity 2 and a body-contouring device), 10 services, 20 providers working at 1-2
locations on weekly shifts, 3,000 patients and 10,000 appointments over 60 days, none overlapping per
provider or per room unit (the PostgreSQL exclusion constraints would refuse them otherwise).

Measured, after a warm-up, over --runs timed runs that rotate through every (location, service)
pair that has a provider and through seven different "now" days:

  (a) open_slots over 30 days, no limit, one location;
  (b) first_choices(days=3) over the API's default 14-day window, one location;
  (c) first_choices(days=3) over a 30-day window (the worst case of (b)).

For each: the whole selector call; the rows part alone (schedule_inputs with the same arguments,
and the SQL round trips inside it); and the pure engine alone (find_slots / first_per_day on inputs
built beforehand). Target: the whole call under 20 ms at the 95th percentile.

Options: --runs N, --warmup N, --rebuild (drop and rebuild the data), --profile (cProfile the whole
calls and print where the time goes), --json PATH. The database named in DATABASE_URL is created
when missing (connecting to the `postgres` database of the same server) and migrated.
"""

from __future__ import annotations

import argparse
import gc
import heapq
import json
import os
import platform
import random
import statistics
import sys
import time as clock
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks._common import setup_django  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medspa_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medspa_receptionist.test_settings")

TARGET_P95_MS = 20.0
SEED = 20260406
DATA_VERSION = 1
PRACTICE_SLUG = "bench-availability"
PRACTICE_NAME = f"Bench Availability Med Spa (data v{DATA_VERSION})"

# The calendar is anchored on fixed dates so that every run, on any day, measures the same data.
FIRST_DAY = date(2026, 4, 6)  # a Monday
DAYS = 60
TODAY = FIRST_DAY + timedelta(days=14)  # the data's "today": earlier visits are done, later ones booked
NOW_OFFSETS = range(7)  # searches start on TODAY + 0..6 days, 08:30 at the searched location
HOLIDAY = date(2026, 5, 25)  # Memorial Day: every location closed

N_PROVIDERS = 20
N_PATIENTS = 3000
N_APPOINTMENTS = 10_000

LOCATIONS = [
    ("Upper East Side", "America/New_York"),
    ("Brooklyn Heights", "America/New_York"),
    ("Hoboken", "America/New_York"),
    ("Greenwich", "America/New_York"),
    ("Gold Coast", "America/Chicago"),
    ("Scottsdale", "America/Phoenix"),
]
# (name, kind, capacity, the `room` key services use to ask for it)
RESOURCES = [
    ("Laser room", "room", 1, "laser"),
    ("Treatment room", "room", 2, "treatment"),
    ("Body device", "device", 1, "device"),
]
# (slug, name, category, minutes, buffer minutes, room key or None, booking weight)
SERVICES = [
    ("botox", "Botox", "neuromodulator", 30, 0, None, 6),
    ("consultation", "Consultation", "consultation", 30, 0, None, 3),
    ("lip-filler", "Lip filler", "filler", 45, 15, "treatment", 2),
    ("hydrafacial", "HydraFacial", "skin", 45, 15, "treatment", 2),
    ("chemical-peel", "Chemical peel", "skin", 30, 15, "treatment", 1),
    ("microneedling", "Microneedling", "skin", 60, 15, "treatment", 1),
    ("laser-hair-removal", "Laser hair removal", "laser", 30, 10, "laser", 3),
    ("ipl-photofacial", "IPL photofacial", "laser", 45, 15, "laser", 1),
    ("coolsculpting", "CoolSculpting", "body", 60, 15, "device", 1),
    ("iv-therapy", "IV therapy", "wellness", 45, 15, None, 1),
]
CREDENTIALS = ["np", "rn", "pa", "md", "aesthetician", "laser_tech"]
GAP_CHANCE = 0.12  # chance that a provider's next 15-60 minutes stay free while the calendar is filled


# The data set.


def _phone(i: int) -> str:
    return f"+1212{200 + i // 10_000:03d}{i % 10_000:04d}"


def _expected_counts() -> dict[str, int]:
    return {
        "locations": len(LOCATIONS),
        "resources": len(LOCATIONS) * len(RESOURCES),
        "services": len(SERVICES),
        "providers": N_PROVIDERS,
        "patients": N_PATIENTS,
        "appointments": N_APPOINTMENTS,
    }


def _counts(practice) -> dict[str, int]:
    from booking.models import Appointment
    from practices.models import Location, Patient, Provider, Resource, Service

    return {
        "locations": Location.objects.filter(practice=practice).count(),
        "resources": Resource.objects.filter(practice=practice).count(),
        "services": Service.objects.filter(practice=practice).count(),
        "providers": Provider.objects.filter(practice=practice).count(),
        "patients": Patient.objects.filter(practice=practice).count(),
        "appointments": Appointment.objects.filter(practice=practice).count(),
    }


def ensure_data(*, rebuild: bool) -> tuple[object, dict]:
    """The bench practice, reused when it is complete, else wiped and rebuilt."""
    from practices.models import Practice

    practice = Practice.objects.filter(slug=PRACTICE_SLUG).first()
    if practice is not None and not rebuild and practice.name == PRACTICE_NAME:
        counts = _counts(practice)
        if counts == _expected_counts():
            print(f"Reusing the bench data set (practice {practice.pk}): {_describe(counts)}.")
            return practice, {"reused": True, "build_seconds": None, "counts": counts}
        print(f"The bench data set is incomplete ({_describe(counts)}): rebuilding.")
    if practice is not None:
        wipe(practice)
    started = clock.perf_counter()
    practice = build_data()
    seconds = clock.perf_counter() - started
    counts = _counts(practice)
    print(f"Built the bench data set in {seconds:.1f} s: {_describe(counts)}.")
    return practice, {"reused": False, "build_seconds": round(seconds, 2), "counts": counts}


def wipe(practice) -> None:
    """Delete the bench practice's rows, table by table, in one transaction.

    Only the tables build_data fills, with plain DELETEs: practice.delete() would collect rows
    from every app that points at a practice, and so fail on any table another branch has not
    migrated yet. Should a row elsewhere still point at these, PostgreSQL refuses the commit.
    """
    from django.db import transaction

    from booking.models import Appointment
    from practices.models import (
        BusinessHours,
        Closure,
        Location,
        Patient,
        Practice,
        Provider,
        ProviderShift,
        ProviderTimeOff,
        Resource,
        Service,
    )

    in_practice = [
        Appointment.objects.filter(practice=practice),
        ProviderTimeOff.objects.filter(provider__practice=practice),
        ProviderShift.objects.filter(provider__practice=practice),
        Provider.services.through.objects.filter(provider__practice=practice),
        Provider.locations.through.objects.filter(provider__practice=practice),
        Resource.services.through.objects.filter(resource__practice=practice),
        Resource.objects.filter(practice=practice),
        Patient.objects.filter(practice=practice),
        Provider.objects.filter(practice=practice),
        Service.objects.filter(practice=practice),
        BusinessHours.objects.filter(location__practice=practice),
        Closure.objects.filter(practice=practice),
        Location.objects.filter(practice=practice),
        Practice.objects.filter(pk=practice.pk),
    ]
    with transaction.atomic():
        for queryset in in_practice:
            queryset._raw_delete(queryset.db)


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in counts.items())


def build_data():
    from django.db import transaction

    from booking.models import Appointment
    from practices.models import (
        BusinessHours,
        Closure,
        Location,
        Patient,
        Practice,
        Provider,
        ProviderShift,
        ProviderTimeOff,
        Resource,
        Service,
    )

    rng = random.Random(SEED)
    with transaction.atomic():
        practice = Practice.objects.create(
            name=PRACTICE_NAME, slug=PRACTICE_SLUG, brand_name="Bench Med Spa", time_zone="America/New_York"
        )
        locations = Location.objects.bulk_create(
            Location(
                practice=practice,
                name=name,
                slug=name.lower().replace(" ", "-"),
                address=f"{100 + i} Main Street",
                time_zone=zone,
                phone=_phone(90_000 + i),
            )
            for i, (name, zone) in enumerate(LOCATIONS)
        )
        # Monday to Saturday 8:00-20:00; closed on Sunday.
        BusinessHours.objects.bulk_create(
            BusinessHours(location=location, weekday=weekday, opens_at=time(8), closes_at=time(20))
            for location in locations
            for weekday in range(6)
        )
        Closure.objects.create(practice=practice, name="Memorial Day", starts_on=HOLIDAY, ends_on=HOLIDAY)
        services = Service.objects.bulk_create(
            Service(
                practice=practice,
                slug=slug,
                name=name,
                category=category,
                duration_minutes=minutes,
                buffer_after_minutes=buffer,
            )
            for slug, name, category, minutes, buffer, _, _ in SERVICES
        )
        spec = {service.pk: SERVICES[i] for i, service in enumerate(services)}
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
        # Units that can host a service at a location: [(resource id, unit)], lowest first.
        units_for: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        for resource in resources:
            for unit in range(1, resource.capacity + 1):
                units_for[(resource.location_id, room_key[resource.pk])].append((resource.pk, unit))

        providers = Provider.objects.bulk_create(
            Provider(
                practice=practice,
                first_name=f"Provider{i + 1:02d}",
                last_name=f"Bench{i + 1:02d}",
                credential=CREDENTIALS[i % len(CREDENTIALS)],
            )
            for i in range(N_PROVIDERS)
        )
        consultation = next(s for s in services if s.slug == "consultation")
        provider_services: dict[int, list] = {}
        provider_days: dict[int, dict[int, tuple]] = {}  # weekday -> (location, starts, ends)
        shifts, links_loc, links_svc = [], [], []
        for i, provider in enumerate(providers):
            homes = [locations[i % len(locations)]]
            if rng.random() < 0.4:
                homes.append(rng.choice([loc for loc in locations if loc != homes[0]]))
            others = [s for s in services if s != consultation]
            chosen = [consultation, *rng.sample(others, rng.randint(3, 5))]
            provider_services[provider.pk] = chosen
            weekdays = sorted(rng.sample(range(6), rng.choice([5, 5, 6])))
            starts, ends = rng.choice([(time(9), time(19)), (time(9), time(19)), (time(10), time(20))])
            provider_days[provider.pk] = {}
            for n, weekday in enumerate(weekdays):
                home = homes[n % len(homes)]
                provider_days[provider.pk][weekday] = (home, starts, ends)
                shifts.append(
                    ProviderShift(provider=provider, location=home, weekday=weekday, starts_at=starts, ends_at=ends)
                )
            links_loc += [Provider.locations.through(provider_id=provider.pk, location_id=h.pk) for h in homes]
            links_svc += [Provider.services.through(provider_id=provider.pk, service_id=s.pk) for s in chosen]
        ProviderShift.objects.bulk_create(shifts)
        Provider.locations.through.objects.bulk_create(links_loc)
        Provider.services.through.objects.bulk_create(links_svc)

        # A dozen whole days off, in each provider's local time.
        days_off = set()
        time_off = []
        for provider in rng.sample(providers, 12):
            weekday, (home, _, _) = rng.choice(sorted(provider_days[provider.pk].items(), key=lambda kv: kv[0]))
            day = FIRST_DAY + timedelta(days=weekday + 7 * rng.randrange(DAYS // 7))
            days_off.add((provider.pk, day))
            zone = ZoneInfo(home.time_zone)
            time_off.append(
                ProviderTimeOff(
                    provider=provider,
                    starts_at=datetime.combine(day, time(0), zone),
                    ends_at=datetime.combine(day + timedelta(days=1), time(0), zone),
                    reason="Vacation",
                )
            )
        ProviderTimeOff.objects.bulk_create(time_off)

        patients = Patient.objects.bulk_create(
            (
                Patient(
                    practice=practice,
                    first_name=f"Patient{i}",
                    last_name=f"Bench{i % 97}",
                    phone=_phone(i),
                    is_returning=rng.random() < 0.6,
                    home_location=locations[i % len(locations)],
                )
                for i in range(N_PATIENTS)
            ),
            batch_size=1000,
        )

        # Fill every working day: each provider walks their shift (earliest cursor first, so that
        # providers share rooms fairly), taking visits back to back with an occasional gap. A visit
        # that needs a room takes a free unit at that location; a 5-minute bitmap per unit and day
        # keeps units free of overlaps, and each provider's own cursor keeps the provider free.
        busy_units: dict[tuple[int, int, date], bytearray] = defaultdict(lambda: bytearray(24 * 12))
        visits = []  # (provider, location, service, day, start minute, resource id, unit)
        day = FIRST_DAY
        while day < FIRST_DAY + timedelta(days=DAYS):
            if day != HOLIDAY:
                heap = []
                for provider in providers:
                    plan = provider_days[provider.pk].get(day.weekday())
                    if plan and (provider.pk, day) not in days_off:
                        home, starts, ends = plan
                        heap.append((starts.hour * 60, rng.random(), provider.pk, home, ends.hour * 60))
                heapq.heapify(heap)
                while heap:
                    cursor, _, pid, home, shift_end = heapq.heappop(heap)
                    if rng.random() < GAP_CHANCE:
                        cursor += rng.choice([15, 30, 45, 60])
                    else:
                        options = provider_services[pid][:]
                        rng.shuffle(options)
                        options.sort(key=lambda s: -spec[s.pk][6] * rng.random())
                        for service in options:
                            _, _, _, minutes, buffer, key, _ = spec[service.pk]
                            span = minutes + buffer
                            if cursor + span > shift_end:
                                continue
                            unit = None
                            if key is not None:
                                first, last = cursor // 5, (cursor + span) // 5
                                for candidate in units_for[(home.pk, key)]:
                                    bitmap = busy_units[(*candidate, day)]
                                    if not any(bitmap[first:last]):
                                        bitmap[first:last] = b"\x01" * (last - first)
                                        unit = candidate
                                        break
                                if unit is None:
                                    continue
                            visits.append((pid, home, service, day, cursor, *(unit or (None, None))))
                            cursor += span
                            break
                        else:
                            cursor += 15
                    if cursor < shift_end:
                        heapq.heappush(heap, (cursor, rng.random(), pid, home, shift_end))
            day += timedelta(days=1)
        if len(visits) < N_APPOINTMENTS:
            raise SystemExit(f"Only {len(visits)} visits fit the calendar; lower GAP_CHANCE.")
        # Dropping visits never creates an overlap, so thin the full calendar to the wanted count.
        kept = sorted(rng.sample(range(len(visits)), N_APPOINTMENTS))
        print(f"Generated {len(visits):,} non-overlapping visits; keeping {N_APPOINTMENTS:,}.")

        today = datetime.combine(TODAY, time(0), UTC)
        appointments = []
        for index in kept:
            pid, home, service, day, minute, resource_id, unit = visits[index]
            _, _, _, minutes, buffer, _, _ = spec[service.pk]
            starts_at = datetime.combine(day, time(0), ZoneInfo(home.time_zone)) + timedelta(minutes=minute)
            ends_at = starts_at + timedelta(minutes=minutes)
            roll = rng.random()
            if starts_at < today:
                status = "completed" if roll < 0.88 else "no_show" if roll < 0.92 else "cancelled"
            else:
                status = "booked" if roll < 0.55 else "confirmed" if roll < 0.92 else "cancelled"
            appointments.append(
                Appointment(
                    practice=practice,
                    location=home,
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
                    cancelled_at=starts_at - timedelta(days=1) if status == "cancelled" else None,
                )
            )
        Appointment.objects.bulk_create(appointments, batch_size=2000)
    from django.db import connection

    with connection.cursor() as cursor:
        # Fresh statistics for the planner, and no dead rows left by a wipe.
        cursor.execute("VACUUM ANALYZE")
    return practice


# Measuring.


@dataclass
class Case:
    location: object
    service: object
    now: datetime


def cases_for(practice, runs: int, seed: int) -> list[Case]:
    """`runs` searches cycling through every (location, service) with a provider and 7 start days."""
    from practices.models import Location, Provider, Service

    locations = list(Location.objects.filter(practice=practice).order_by("pk"))
    services = list(Service.objects.filter(practice=practice).select_related("practice").order_by("pk"))
    offered = set(
        Provider.objects.filter(practice=practice, is_active=True).values_list("locations", "services").distinct()
    )
    pairs = [(loc, svc) for loc in locations for svc in services if (loc.pk, svc.pk) in offered]
    rng = random.Random(seed)
    rng.shuffle(pairs)
    offsets = list(NOW_OFFSETS)
    cases = []
    for i in range(runs):
        location, service = pairs[i % len(pairs)]
        day = TODAY + timedelta(days=offsets[(i // len(pairs) + i) % len(offsets)])
        cases.append(Case(location, service, datetime.combine(day, time(8, 30), location.zone)))
    return cases


def _window(case: Case, days: int):
    # As booking/api.py builds it: from now to local midnight `days` days after today.
    from booking.availability import Interval

    end = datetime.combine(case.now.date() + timedelta(days=days), time.min, case.location.zone)
    return Interval(case.now, end)


def _rules(practice) -> dict:
    # The same rules as booking.selectors._engine_rules.
    return {
        "min_notice": timedelta(minutes=practice.min_notice_minutes),
        "horizon": timedelta(days=practice.booking_horizon_days),
        "step": timedelta(minutes=practice.slot_step_minutes),
    }


@dataclass
class Scenario:
    key: str
    title: str
    engine_name: str
    window_days: int
    choices: int | None  # None: open_slots with no limit; else first_choices(days=choices)

    def whole(self, case: Case):
        from booking.selectors import first_choices, open_slots

        window = _window(case, self.window_days)
        if self.choices is None:
            return open_slots(
                service=case.service, start=window.start, end=window.end, location=case.location, now=case.now
            )
        return first_choices(
            service=case.service,
            start=window.start,
            end=window.end,
            days=self.choices,
            location=case.location,
            now=case.now,
        )

    def fetch(self, case: Case):
        from booking.selectors import schedule_inputs

        return schedule_inputs(service=case.service, location=case.location, window=_window(case, self.window_days))

    def compute(self, case: Case, inputs):
        from booking.availability import find_slots, first_per_day

        common = dict(
            service=inputs.service,
            location=inputs.location,
            providers=inputs.providers,
            resources=inputs.resources,
            window=_window(case, self.window_days),
            now=case.now,
            **_rules(case.service.practice),
        )
        if self.choices is None:
            return find_slots(**common)
        return first_per_day(days=self.choices, **common)


SCENARIOS = [
    Scenario("a", "(a) open_slots, 30 days, no limit", "find_slots", 30, None),
    Scenario("b", "(b) first_choices(days=3), 14-day window", "first_per_day", 14, 3),
    Scenario("c", "(c) first_choices(days=3), 30-day window", "first_per_day", 30, 3),
]


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
        "p99": pct(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
    }


def run_scenario(scenario: Scenario, cases: list[Case], warm: list[Case]) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    now_ns = clock.perf_counter_ns
    for case in warm:
        scenario.compute(case, scenario.fetch(case))
        scenario.whole(case)

    # Garbage collector pauses inside the timed loop: the collector runs when allocations pile
    # up, so a pause lands on whichever call happens to be running.
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

    whole, fetch, compute, slot_counts = [], [], [], []
    load_before = os.getloadavg()[0]
    calibration_before = calibration_ms()
    gc.collect()
    gc.callbacks.append(on_gc)
    try:
        for case in cases:
            t0 = now_ns()
            slots = scenario.whole(case)
            t1 = now_ns()
            inputs = scenario.fetch(case)
            t2 = now_ns()
            engine_slots = scenario.compute(case, inputs)
            t3 = now_ns()
            if engine_slots != slots:
                raise AssertionError(f"{scenario.key}: the engine on prebuilt inputs disagrees with the selector")
            whole.append(_ms(t1 - t0))
            fetch.append(_ms(t2 - t1))
            compute.append(_ms(t3 - t2))
            slot_counts.append(len(slots))
    finally:
        gc.callbacks.remove(on_gc)
    load_after = os.getloadavg()[0]
    calibration_after = calibration_ms()

    # Untimed pass: queries per call (CaptureQueriesContext on every case, since a service that
    # needs no room skips one query), and the SQL time inside schedule_inputs, measured around
    # cursor.execute: send, plan, run and receive the rows (psycopg turns them into Python objects
    # later, on fetch). Separate from the timed loop because both add a little overhead.
    sql, whole_queries, fetch_queries = [], [], []
    spent = [0]

    def timed(execute, sql_text, params, many, context):
        t0 = now_ns()
        try:
            return execute(sql_text, params, many, context)
        finally:
            spent[0] += now_ns() - t0

    for case in cases:
        # The log keeps only the last 9,000 queries, and the capture counts by position in it.
        connection.queries_log.clear()
        with CaptureQueriesContext(connection) as captured:
            scenario.whole(case)
        whole_queries.append(len(captured.captured_queries))
        with CaptureQueriesContext(connection) as captured:
            scenario.fetch(case)
        fetch_queries.append(len(captured.captured_queries))
    connection.queries_log.clear()
    with connection.execute_wrapper(timed):
        for case in cases:
            spent[0] = 0
            scenario.fetch(case)
            sql.append(_ms(spent[0]))

    return {
        "title": scenario.title,
        "engine": scenario.engine_name,
        "window_days": scenario.window_days,
        "runs": len(cases),
        "queries_whole_call": sorted(set(whole_queries)),
        "queries_schedule_inputs": sorted(set(fetch_queries)),
        "slots": {
            "min": min(slot_counts),
            "median": statistics.median(slot_counts),
            "max": max(slot_counts),
            "mean": round(statistics.fmean(slot_counts), 1),
        },
        "gc_pauses": {
            "count": len(pauses),
            "total_ms": round(_ms(sum(pauses)), 2),
            "max_ms": round(_ms(max(pauses, default=0)), 2),
            "full_count": len(full_pauses),
            "full_total_ms": round(_ms(sum(full_pauses)), 2),
            "tracked_objects": len(gc.get_objects()),
        },
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
        "calibration_ms": [calibration_before, calibration_after],
        "ms": {
            "whole": summary(whole),
            "fetch": summary(fetch),
            "sql": summary(sql),
            "compute": summary(compute),
        },
    }


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
        db_version = cursor.fetchone()[0] if connection.vendor == "postgresql" else ""
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
        "database_vendor": connection.vendor,
        "database_version": db_version or connection.vendor,
        "database_name": connection.settings_dict["NAME"],
    }


def print_report(info: dict, data: dict, results: list[dict], runs: int, warmup: int) -> None:
    print()
    print(
        "Machine: {nproc} CPU(s) ({cpu}), load average {load_average}, calibration loop {calibration_ms} ms "
        "(lower is faster; compare runs with similar values)".format(**info)
    )
    print(f"Python {info['python']}, Django {info['django']}, {info['platform']}")
    print(f"Database: {info['database_vendor']} ({info['database_name']}): {info['database_version']}")
    print(f"Data: {_describe(data['counts'])}; {runs} timed runs per scenario after {warmup} warm-up runs")
    print()
    header = f"{'scenario / part':<52}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}   (ms)"
    print(header)
    print("-" * len(header))
    parts = [
        ("whole", "whole call"),
        ("fetch", "rows: schedule_inputs"),
        ("sql", "  of which SQL (cursor.execute)"),
        ("compute", "compute: {engine}"),
    ]
    for result in results:
        print(result["title"])
        for key, label in parts:
            stats = result["ms"][key]
            name = "  " + label.format(engine=result["engine"])
            print(f"{name:<52}{stats['p50']:>8.2f}{stats['p95']:>8.2f}{stats['p99']:>8.2f}{stats['max']:>8.2f}")
        slots, gc_pauses = result["slots"], result["gc_pauses"]

        def span(counts: list[int]) -> str:
            return str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"

        print(
            f"  slots returned: min {slots['min']}, median {slots['median']:g}, max {slots['max']}; "
            f"SQL queries per call: {span(result['queries_whole_call'])} "
            f"(schedule_inputs alone: {span(result['queries_schedule_inputs'])})"
        )
        print(
            f"  GC pauses in the timed loop: {gc_pauses['count']} ({gc_pauses['full_count']} full, "
            f"{gc_pauses['full_total_ms']:.1f} ms), {gc_pauses['total_ms']:.1f} ms in all, longest "
            f"{gc_pauses['max_ms']:.1f} ms"
        )
        print(
            f"  1-minute load average {result['load_average_1min'][0]:.2f} before, "
            f"{result['load_average_1min'][1]:.2f} after; calibration loop {result['calibration_ms'][0]:.2f} ms "
            f"before, {result['calibration_ms'][1]:.2f} ms after"
        )
    print()
    for result in results:
        p95 = result["ms"]["whole"]["p95"]
        verdict = "MET" if p95 < TARGET_P95_MS else "NOT MET"
        print(f"Target p95 < {TARGET_P95_MS:g} ms, {result['title']}: {p95:.2f} ms -> {verdict}")


def profile(cases: list[Case], runs: int) -> None:
    import cProfile
    import pstats

    for scenario in SCENARIOS:
        profiler = cProfile.Profile()
        profiler.enable()
        for case in cases[:runs]:
            scenario.whole(case)
        profiler.disable()
        print(f"\ncProfile of {runs} whole calls: {scenario.title}")
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("tottime").print_stats(18)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="timed runs per scenario (default 200)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed runs first (default 30)")
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench data set")
    parser.add_argument("--profile", action="store_true", help="cProfile the whole calls afterwards")
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "availability.json", help="results file"
    )
    args = parser.parse_args()

    setup_django()
    practice, data = ensure_data(rebuild=args.rebuild)
    cases = cases_for(practice, args.runs, SEED + 1)
    warm = cases_for(practice, args.warmup, SEED + 2)
    info = machine_info()
    results = []
    for scenario in SCENARIOS:
        started = clock.perf_counter()
        results.append(run_scenario(scenario, cases, warm))
        print(f"{scenario.title}: measured in {clock.perf_counter() - started:.1f} s")
    print_report(info, data, results, args.runs, args.warmup)

    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "availability",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "target_p95_ms": TARGET_P95_MS,
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "seed": SEED,
            "data_version": DATA_VERSION,
            "first_day": FIRST_DAY.isoformat(),
            "days": DAYS,
            "now_days": [(TODAY + timedelta(days=d)).isoformat() for d in NOW_OFFSETS],
        },
        "machine": info,
        "data": data,
        "results": {
            scenario.key: {**result, "target_met": result["ms"]["whole"]["p95"] < TARGET_P95_MS}
            for scenario, result in zip(SCENARIOS, results, strict=True)
        },
    }
    args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    print(f"\nWrote {args.json.relative_to(REPO_ROOT) if args.json.is_relative_to(REPO_ROOT) else args.json}")

    if args.profile:
        profile(cases, min(args.runs, 100))


if __name__ == "__main__":
    main()
