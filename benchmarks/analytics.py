"""Benchmark of the analytics dashboard: 1,000,000 calls and their messages across 50 practices.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/medspa_bench .venv/bin/python benchmarks/analytics.py

The data set (built once with INSERT ... SELECT over generate_series, then reused): 50 practices
(`bench-analytics-00` to `-49`), each with 2 locations, 8 services with a visit value, 4 providers, a
campaign with its tracking number and a manager. Each practice has 20,000 calls over the 365 local
days 2025-12-01 to 2026-11-30, about 35% of them missed, with the text-backs, the replies, the offers
of times ("times_offered"), the bookings, the reminders, other visits and threads, and escalations
behind them: about 3.5 million messages in all. Every value comes from a hash of the row's number,
so a rebuild gives the same rows.

The clock is frozen (time-machine, tick=False) at 2026-12-02 09:00 UTC, after the data's last
record, so every day of the measured year is closed and can be rolled up, whatever the date.

Measured for one practice and one year (2025-12-01 to 2026-11-30), rotating over several practices:
the page `/analytics/` from the rollups and live, `analytics.selectors.dashboard()` alone both ways,
`analytics.services.rollups_compute` for one practice-year, and the page filtered by location and
service. Target: the year's page under 500 ms (p95, from the rollups).

Options: --runs N, --warmup N, --live-runs N, --practices N (how many practices to rotate over),
--rollups-all (recompute the rollups of all 50 practices and time it), --rebuild, --no-compare,
--profile [rollups|live|all], --json PATH. The database named in DATABASE_URL is created when
missing and migrated.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import sys
import time as clock
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks._common import setup_django  # noqa: E402

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/medspa_bench")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "medspa_receptionist.test_settings")

TARGET_P95_MS = 500.0
DATA_VERSION = 2

# The data: 365 local days ending 2026-11-30 (no day is in the future once the clock is frozen).
FIRST_DAY = date(2025, 12, 1)  # a Monday
DAYS = 365
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
# After the last record (replies to calls late on 11-30 go on into 12-01): every day of the year is closed.
NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
PRACTICES = 50
SLUG = "bench-analytics-{:02d}"
CALLS = 20_000  # per practice
CALLERS = 10_000  # distinct caller phones per practice; the first KNOWN are patients already
KNOWN = 6_000
OTHER_VISITS = 6_000  # per practice: visits booked by phone, at the desk or online, besides the texted leads
DIRECT_THREADS = 3_500  # per practice: threads a patient starts by text
ESCALATIONS_PER_DAY = 3
SLOTS_PER_PROVIDER = 12  # 8:00-20:00, one visit an hour at most: visits never overlap
OPENS, CLOSES = 8, 20  # Monday to Saturday, at every location
TEXT_BACK_KIND = "missed_call_textback"  # what calls.messaging writes: the outreach's template key

ZONES = ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Phoenix"]
AREA_CODES = [
    "201", "202", "203", "205", "206", "207", "208", "209", "210", "214", "215", "216", "217", "218", "219", "224",
    "225", "228", "229", "231", "234", "239", "240", "248", "251", "252", "253", "254", "256", "260", "262", "267",
    "269", "270", "276", "281", "301", "302", "303", "304", "305", "307", "308", "309", "312", "313", "314", "315",
    "316", "317",
]  # fmt: skip
# (slug, name, category, minutes, buffer, price min, price max, visit value): minutes + buffer <= 60
SERVICES = [
    ("botox", "Botox", "neuromodulator", 30, 0, 300, 600, 450),
    ("consultation", "Consultation", "consultation", 30, 0, 0, 0, 75),
    ("lip-filler", "Lip filler", "filler", 45, 15, 650, 900, 750),
    ("hydrafacial", "HydraFacial", "skin", 45, 15, 199, 299, 250),
    ("microneedling", "Microneedling", "skin", 45, 15, 350, 500, 400),
    ("laser-hair-removal", "Laser hair removal", "laser", 30, 10, 150, 450, 300),
    ("coolsculpting", "CoolSculpting", "body", 45, 15, 700, 1500, 1100),
    ("iv-therapy", "IV therapy", "wellness", 45, 15, 150, 250, 200),
]
LOCATIONS = ["Downtown", "Northside"]
# Calls by local hour: a working-day shape, a few calls at night.
HOUR_WEIGHTS = [1, 1, 0, 0, 0, 1, 2, 5, 9, 13, 15, 15, 14, 14, 14, 14, 13, 12, 10, 8, 6, 4, 3, 2]
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
]  # fmt: skip
FIRST_REPLIES = [
    "Hi, yes! I was calling about {service}. Do you have anything next week?",
    "I wanted to ask about {service} and what it costs",
    "Hey, do you have openings for {service} this week? Afternoons are best",
    "Yes I'd like to book {service}",
]
OTHER_INBOUND = [
    "Afternoons work better for me", "Is there any downtime?", "How long does it take?", "Sounds good",
    "Do I need a consultation first?", "What about Saturday?", "Ok thanks", "Can I bring a friend?",
]  # fmt: skip
REPLIES = [
    "Happy to help! Is this your first visit with us?",
    "Most people have little to no downtime. Which days work best for you?",
    "It starts at $300; the exact price depends on your treatment plan. Want me to find you a time?",
    "Got it. Mornings or afternoons?",
]
TIMES_OFFERED_TEXT = (
    "I have Thu Dec 3 at 3:30 PM, Fri Dec 4 at 10:00 AM or Sat Dec 5 at 11:15 AM. Reply 1, 2 or 3 to book."
)
CONFIRMATION = "You're booked! See you then. Reply C to confirm or R to reschedule."
REMINDER_48H = "Reminder: your visit is in two days. Reply C to confirm or R to reschedule."
REMINDER_2H = "See you soon! Your visit starts in two hours."
TEXT_BACK = "Hi, this is Glow Aesthetics. Sorry we missed your call! How can we help?"
CANCEL_REASONS = ["Schedule conflict", "Feeling unwell", "Travel", "Cost", "Booked elsewhere", ""]
# (category, share of escalations, claim seconds at most)
ESCALATIONS = [
    ("emergency", 0.03, 300),
    ("clinical", 0.25, 7200),
    ("human_request", 0.35, 3600),
    ("complaint", 0.17, 14400),
    ("exception", 0.20, 28800),
]


# The data set.


def _practice_name(p: int) -> str:
    return f"Bench Analytics {p:02d} (data v{DATA_VERSION}, {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()})"


def _zones(p: int) -> tuple[str, str]:
    """Half the practices have both locations in one time zone, the other half in two."""
    first = ZONES[p % len(ZONES)]
    return first, first if p % 2 == 0 else ZONES[(p + 1) % len(ZONES)]


def _sql_text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _sql_array(values, kind: str = "text") -> str:
    if kind == "text":
        return "ARRAY[" + ", ".join(_sql_text(v) for v in values) + "]::text[]"
    return "ARRAY[" + ", ".join(str(v) for v in values) + f"]::{kind}[]"


def _bench_practices():
    from practices.models import Practice

    return Practice.objects.filter(slug__startswith="bench-analytics-").order_by("slug")


def _counts(practice_ids: list[int]) -> dict[str, int]:
    from django.db import connection

    tables = {
        "calls": "calls_call",
        "missed calls": "calls_call WHERE missed",
        "messages": "calls_message",
        "conversations": "calls_conversation",
        "outreach": "calls_outreach",
        "appointments": "booking_appointment",
        "patients": "practices_patient",
        "escalations": "escalations_escalation",
    }
    counts = {"practices": len(practice_ids)}
    with connection.cursor() as cursor:
        for name, table in tables.items():
            joiner = " AND " if " WHERE " in table else " WHERE "
            cursor.execute(f"SELECT count(*) FROM {table}{joiner}practice_id = ANY(%s)", [practice_ids])
            counts[name] = cursor.fetchone()[0]
    return counts


def _describe(counts: dict[str, int]) -> str:
    return ", ".join(f"{value:,} {name}" for name, value in counts.items())


def ensure_data(*, rebuild: bool) -> dict:
    """The 50 bench practices, reused when complete (the build is one transaction), else rebuilt."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from calls.models import Call

    practices = list(_bench_practices())
    ids = [practice.pk for practice in practices]
    if practices and not rebuild:
        complete = (
            [practice.slug for practice in practices] == [SLUG.format(p) for p in range(PRACTICES)]
            and all(practice.name == _practice_name(p) for p, practice in enumerate(practices))
            and Call.objects.filter(practice_id__in=ids).count() == PRACTICES * CALLS
            and get_user_model().objects.filter(staff_member__practice_id__in=ids, staff_member__role="manager").count()
            == PRACTICES
        )
        if complete:
            counts = _counts(ids)
            print(f"Reusing the {PRACTICES} bench-analytics practices: {_describe(counts)}.")
            return {"reused": True, "build_seconds": None, "counts": counts}
        print("The bench-analytics practices are incomplete or from another data version: rebuilding.")
    if practices:
        started = clock.perf_counter()
        wipe(ids)
        print(f"Wiped {len(ids)} bench-analytics practices in {clock.perf_counter() - started:.1f} s.")
    started = clock.perf_counter()
    steps = build()
    seconds = clock.perf_counter() - started
    started = clock.perf_counter()
    with connection.cursor() as cursor:
        # Fresh statistics for the planner, the visibility map set (as autovacuum would), no dead rows.
        for table in TABLES_BUILT:
            cursor.execute(f"VACUUM (ANALYZE) {table}")
    vacuum = clock.perf_counter() - started
    ids = list(_bench_practices().values_list("pk", flat=True))
    counts = _counts(ids)
    print(f"Built the data set in {seconds:.1f} s, then VACUUM ANALYZE in {vacuum:.1f} s: {_describe(counts)}.")
    return {
        "reused": False,
        "build_seconds": round(seconds, 1),
        "vacuum_analyze_seconds": round(vacuum, 1),
        "steps_seconds": steps,
        "counts": counts,
    }


TABLES_BUILT = [
    "calls_call",
    "calls_conversation",
    "calls_message",
    "calls_outreach",
    "booking_appointment",
    "practices_patient",
    "escalations_escalation",
]


def wipe(practice_ids: list[int]) -> None:
    """Delete the bench practices with plain SQL, in one transaction.

    Every table with a practice_id column loses those practices' rows; before that, the rows of tables
    without one that point at a practice's location, service, provider, campaign, phone number, patient
    or conversation go too (business hours, the many-to-many links, any other app's rows). Foreign-key
    triggers are skipped (session_replication_role = replica, which needs a superuser, as the bench's
    `postgres` is) so that the order does not matter and the big tables are not checked row by row.
    """
    from django.db import connection, transaction

    parents = [
        "practices_location",
        "practices_service",
        "practices_provider",
        "practices_campaign",
        "practices_phonenumber",
        "practices_patient",
        "practices_resource",
        "calls_conversation",
        "calls_call",
        "calls_message",
        "booking_appointment",
        "booking_seriestemplate",
        "booking_seriesenrollment",
    ]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(
            """
            SELECT DISTINCT c.relname, a.attname, p.relname
            FROM pg_constraint k
            JOIN pg_class c ON c.oid = k.conrelid
            JOIN pg_class p ON p.oid = k.confrelid
            JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
            WHERE k.contype = 'f' AND p.relname = ANY(%s)
              AND NOT EXISTS (
                  SELECT 1 FROM pg_attribute x WHERE x.attrelid = c.oid AND x.attname = 'practice_id' AND NOT x.attisdropped
              )
            """,
            [parents],
        )
        for table, column, parent in cursor.fetchall():
            cursor.execute(
                f'DELETE FROM "{table}" WHERE "{column}" IN (SELECT id FROM "{parent}" WHERE practice_id = ANY(%s))',
                [practice_ids],
            )
        cursor.execute("SELECT user_id FROM practices_staffmember WHERE practice_id = ANY(%s)", [practice_ids])
        users = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            """
            SELECT c.relname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE a.attname = 'practice_id' AND NOT a.attisdropped AND c.relkind = 'r' AND n.nspname = current_schema()
            """
        )
        for (table,) in cursor.fetchall():
            cursor.execute(f'DELETE FROM "{table}" WHERE practice_id = ANY(%s)', [practice_ids])
        cursor.execute("DELETE FROM practices_practice WHERE id = ANY(%s)", [practice_ids])
        if users:
            cursor.execute("DELETE FROM auth_user_groups WHERE user_id = ANY(%s)", [users])
            cursor.execute("DELETE FROM auth_user_user_permissions WHERE user_id = ANY(%s)", [users])
            cursor.execute("DELETE FROM auth_user WHERE id = ANY(%s)", [users])
        cursor.execute("SET LOCAL session_replication_role = origin")


def _drop_plain_indexes(cursor, tables: list[str]) -> list[str]:
    """Drop the indexes of these tables that no constraint owns (the primary keys, unique and exclusion
    constraints stay) and return their definitions: building an index once, sorted, is many times
    faster than inserting millions of rows into it one by one. DDL is transactional in PostgreSQL, so
    a build that fails leaves every index as it was."""
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
        WHERE t.relname = ANY(%s) AND t.relnamespace = current_schema()::regnamespace
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        ORDER BY 1
        """,
        [tables],
    )
    found = cursor.fetchall()
    for name, _ in found:
        cursor.execute(f"DROP INDEX {name}")
    return [definition for _, definition in found]


def _build_practices() -> list[dict]:
    """The small tables, with the ORM: practices, locations, hours, services, providers, campaigns,
    numbers and managers. Returns what the SQL steps need of each practice."""
    from django.contrib.auth import get_user_model

    from practices.models import (
        BusinessHours,
        Campaign,
        Location,
        PhoneNumber,
        Practice,
        Provider,
        ProviderShift,
        Service,
        StaffMember,
    )

    User = get_user_model()  # noqa: N806
    created = NOW - timedelta(days=800)
    practices = Practice.objects.bulk_create(
        Practice(
            name=_practice_name(p),
            slug=SLUG.format(p),
            brand_name=f"Glow {p:02d}",
            time_zone=_zones(p)[0],
            created_at=created,
        )
        for p in range(PRACTICES)
    )
    users = User.objects.bulk_create(
        User(
            username=f"{SLUG.format(p)}-manager",
            first_name="Morgan",
            last_name=f"Manager{p:02d}",
            email=f"manager@{SLUG.format(p)}.example",
            password="!",  # unusable: the benchmark signs in with force_login
            is_active=True,
            date_joined=created,
        )
        for p in range(PRACTICES)
    )
    StaffMember.objects.bulk_create(
        StaffMember(user=user, practice=practice, role=StaffMember.Role.MANAGER)
        for user, practice in zip(users, practices, strict=True)
    )
    locations = Location.objects.bulk_create(
        Location(
            practice=practice,
            name=name,
            slug=name.lower(),
            address=f"{100 + n} Main Street",
            time_zone=_zones(p)[n],
            phone=f"+1{AREA_CODES[p]}558{9000 + n:04d}",
        )
        for p, practice in enumerate(practices)
        for n, name in enumerate(LOCATIONS)
    )
    BusinessHours.objects.bulk_create(
        BusinessHours(location=location, weekday=weekday, opens_at=time(OPENS), closes_at=time(CLOSES))
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
            price_min=Decimal(low) if high else None,
            price_max=Decimal(high) if high else None,
            visit_value=Decimal(value),
        )
        for practice in practices
        for slug, name, category, minutes, buffer, low, high, value in SERVICES
    )
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            practice=practice,
            name="Injectables month",
            kind=Campaign.Kind.OFFER,
            starts_on=FIRST_DAY,
            ends_on=LAST_DAY,
            offer_text="$50 off your first tox visit.",
            source_code="injectables",
        )
        for practice in practices
    )
    Campaign.services.through.objects.bulk_create(
        Campaign.services.through(campaign_id=campaign.pk, service_id=services[p * len(SERVICES) + s].pk)
        for p, campaign in enumerate(campaigns)
        for s in (0, 2)
    )
    numbers = PhoneNumber.objects.bulk_create(
        PhoneNumber(
            practice=practice,
            location=locations[2 * p + (n % 2)],
            number=f"+1{AREA_CODES[p]}558{100 + n:04d}",
            label=LOCATIONS[n] if n < 2 else "Injectables ads",
            forwards_to=locations[2 * p + (n % 2)].phone,
            campaign=campaigns[p] if n == 2 else None,
        )
        for p, practice in enumerate(practices)
        for n in range(3)  # a line per location, then the campaign's tracking number (ringing Downtown)
    )
    providers = Provider.objects.bulk_create(
        Provider(
            practice=practice,
            first_name=FIRST_NAMES[(7 * n + p) % len(FIRST_NAMES)],
            last_name=LAST_NAMES[(11 * n + p) % len(LAST_NAMES)],
            credential=["np", "rn", "pa", "md"][n],
        )
        for p, practice in enumerate(practices)
        for n in range(4)
    )
    Provider.locations.through.objects.bulk_create(
        Provider.locations.through(provider_id=provider.pk, location_id=locations[2 * (i // 4) + (i % 4) // 2].pk)
        for i, provider in enumerate(providers)
    )
    Provider.services.through.objects.bulk_create(
        Provider.services.through(provider_id=provider.pk, service_id=services[(i // 4) * len(SERVICES) + s].pk)
        for i, provider in enumerate(providers)
        for s in range(len(SERVICES))
    )
    ProviderShift.objects.bulk_create(
        ProviderShift(
            provider=provider,
            location=locations[2 * (i // 4) + (i % 4) // 2],
            weekday=weekday,
            starts_at=time(OPENS),
            ends_at=time(CLOSES),
        )
        for i, provider in enumerate(providers)
        for weekday in range(6)
    )
    return [
        {
            "p": p,
            "practice_id": practice.pk,
            "npa": AREA_CODES[p],
            "zones": list(_zones(p)),
            "locations": [locations[2 * p].pk, locations[2 * p + 1].pk],
            "numbers": [numbers[3 * p + n].pk for n in range(3)],
            "number_texts": [numbers[3 * p + n].number for n in range(3)],
            "campaign_id": campaigns[p].pk,
            "services": [services[p * len(SERVICES) + s].pk for s in range(len(SERVICES))],
            "providers": [providers[4 * p + n].pk for n in range(4)],
            "manager_id": users[p].pk,
        }
        for p, practice in enumerate(practices)
    ]


def build() -> dict[str, float]:
    """The whole data set in one transaction: the small tables with the ORM, the big ones with
    INSERT ... SELECT over generate_series. Returns the seconds each step took."""
    from django.db import connection, transaction

    from escalations.models import SLA
    from escalations.rules import PRIORITY

    steps: dict[str, float] = {}
    with transaction.atomic():
        started = clock.perf_counter()
        practices = _build_practices()
        steps["practices (ORM)"] = round(clock.perf_counter() - started, 2)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL session_replication_role = replica")  # no FK trigger per row
            cursor.execute("SET LOCAL work_mem = '256MB'")
            cursor.execute("SET LOCAL synchronous_commit = off")
            cursor.execute("SET LOCAL jit = off")  # compiling these long expressions costs more than it saves
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            started = clock.perf_counter()
            indexes = _drop_plain_indexes(cursor, TABLES_BUILT)
            steps["drop plain indexes"] = round(clock.perf_counter() - started, 2)
            for name, sql in _build_sql(practices, priority=PRIORITY, sla=SLA):
                started = clock.perf_counter()
                cursor.execute(sql)
                steps[name] = round(clock.perf_counter() - started, 2)
                print(f"  {name}: {steps[name]:.1f} s", flush=True)
            started = clock.perf_counter()
            for definition in indexes:
                cursor.execute(definition)
            steps[f"recreate {len(indexes)} indexes"] = round(clock.perf_counter() - started, 2)
            print(f"  recreate {len(indexes)} indexes: {clock.perf_counter() - started:.1f} s", flush=True)
            cursor.execute("SET LOCAL session_replication_role = origin")
            started = clock.perf_counter()
            dangling = _dangling_keys(cursor, TABLES_BUILT)
            steps["check foreign keys"] = round(clock.perf_counter() - started, 2)
            print(f"  check foreign keys: {steps['check foreign keys']:.1f} s", flush=True)
            if dangling:  # raising rolls the whole build back
                raise SystemExit("The build left rows pointing nowhere: " + "; ".join(dangling))
    return steps


def _dangling_keys(cursor, tables: list[str]) -> list[str]:
    """Every foreign key of these tables, checked at once: the build skipped the per-row triggers."""
    cursor.execute(
        """
        SELECT c.relname, a.attname, p.relname, pa.attname
        FROM pg_constraint k
        JOIN pg_class c ON c.oid = k.conrelid
        JOIN pg_class p ON p.oid = k.confrelid
        JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = k.conkey[1]
        JOIN pg_attribute pa ON pa.attrelid = k.confrelid AND pa.attnum = k.confkey[1]
        WHERE k.contype = 'f' AND c.relname = ANY(%s) AND c.relnamespace = current_schema()::regnamespace
        ORDER BY 1, 2
        """,
        [tables],
    )
    problems = []
    for table, column, parent, key in cursor.fetchall():
        cursor.execute(
            f'SELECT count(*) FROM "{table}" t WHERE t."{column}" IS NOT NULL '
            f'AND NOT EXISTS (SELECT 1 FROM "{parent}" p WHERE p."{key}" = t."{column}")'
        )
        missing = cursor.fetchone()[0]
        if missing:
            problems.append(f"{table}.{column}: {missing:,} rows without their {parent}")
    return problems


def _build_sql(practices: list[dict], *, priority: dict, sla: dict) -> list[tuple[str, str]]:  # noqa: PLR0915
    """The SQL steps, in order. Random values are hashes of (row number, salt): rnd(k, salt) is
    uniform in [0, 1), and the same on every build."""
    rows = ", ".join(
        "({p}, {practice_id}, {npa}, {zones}, {locations}, {numbers}, {number_texts}, {campaign_id}, {services}, "
        "{providers}, {manager_id})".format(
            p=row["p"],
            practice_id=row["practice_id"],
            npa=_sql_text(row["npa"]),
            zones=_sql_array(row["zones"]),
            locations=_sql_array(row["locations"], "bigint"),
            numbers=_sql_array(row["numbers"], "bigint"),
            number_texts=_sql_array(row["number_texts"]),
            campaign_id=row["campaign_id"],
            services=_sql_array(row["services"], "bigint"),
            providers=_sql_array(row["providers"], "bigint"),
            manager_id=row["manager_id"],
        )
        for row in practices
    )
    hours = [hour for hour, weight in enumerate(HOUR_WEIGHTS) for _ in range(weight)]
    slugs = _sql_array([s[0] for s in SERVICES])
    minutes = _sql_array([s[3] for s in SERVICES], "int")
    buffers = _sql_array([s[4] for s in SERVICES], "int")
    values = _sql_array([s[7] for s in SERVICES], "numeric")
    names = {s[0]: s[1] for s in SERVICES}
    first_replies = ", ".join(
        _sql_text(text.format(service=names[slug].lower()))
        for slug in (s[0] for s in SERVICES)
        for text in FIRST_REPLIES
    )
    n_first = len(FIRST_REPLIES)
    first_day = f"DATE '{FIRST_DAY.isoformat()}'"
    now = f"TIMESTAMPTZ '{NOW.isoformat()}'"
    phone = "'+1' || bp.npa || '3' || lpad({c}::text, 6, '0')"
    bounds, acc = [], 0.0
    for category, share, _ in ESCALATIONS:
        acc += share
        bounds.append((category, round(acc, 4)))
    category_case = (
        "CASE "
        + " ".join(f"WHEN r < {bound} THEN {_sql_text(cat)}" for cat, bound in bounds[:-1])
        + f" ELSE {_sql_text(bounds[-1][0])} END"
    )
    priority_case = "CASE category " + " ".join(f"WHEN '{c}' THEN {int(priority[c])}" for c, *_ in ESCALATIONS)
    sla_case = "CASE category " + " ".join(
        f"WHEN '{c}' THEN interval '{int(sla[c].total_seconds())} seconds'" for c, *_ in ESCALATIONS
    )
    claim_case = "CASE category " + " ".join(f"WHEN '{c}' THEN {most}" for c, _, most in ESCALATIONS)
    steps = [
        (
            "helpers",
            f"""
            CREATE FUNCTION pg_temp.rnd(k bigint, salt int) RETURNS float8 LANGUAGE sql IMMUTABLE PARALLEL SAFE
            AS $$ SELECT (hashint8($1 * 64 + $2)::float8 + 2147483648.0) / 4294967296.0 $$;
            CREATE TEMP TABLE bp (
                p int PRIMARY KEY, practice_id bigint, npa text, zones text[], locs bigint[], nums bigint[],
                number_texts text[], campaign_id bigint, svcs bigint[], provs bigint[], manager_id int
            ) ON COMMIT DROP;
            INSERT INTO bp VALUES {rows};
            ANALYZE bp;
            """,
        ),
        (
            # (Each stage ends with OFFSET 0, so that the planner does not inline it into the next one and
            # then evaluate its expressions again wherever a later stage uses them.)
            # Every call: when (local day and hour, by the hour shape; most Sunday calls move to
            # Saturday), where (60% Downtown; 12% through the campaign's tracking number, which rings
            # Downtown), who (10,000 callers, the first ones calling most), whether it was missed, and
            # what happened after: the text-back (deferred to 8:00 in quiet hours), a reply, the turns
            # of the conversation, times offered, a booking.
            "calls (staging)",
            f"""
            CREATE TEMP TABLE bc ON COMMIT DROP AS
            WITH raw AS (
                SELECT g, (g / {CALLS})::int AS p,
                    floor(pg_temp.rnd(g, 1) * {DAYS})::int AS day0,
                    ({_sql_array(hours, "int")})[1 + floor(pg_temp.rnd(g, 2) * {len(hours)})::int] AS hour,
                    floor(pg_temp.rnd(g, 3) * 3600)::int AS sec,
                    pg_temp.rnd(g, 5) < 0.12 AS tracked,
                    CASE WHEN pg_temp.rnd(g, 4) < 0.6 THEN 1 ELSE 2 END AS loc0,
                    floor(power(pg_temp.rnd(g, 6), 1.4) * {CALLERS})::int AS c
                FROM generate_series(0, {PRACTICES * CALLS - 1}::bigint) AS g OFFSET 0
            ), placed AS (
                SELECT raw.*,
                    CASE WHEN mod(day0, 7) = 6 AND pg_temp.rnd(g, 9) < 0.6 THEN day0 - 1 ELSE day0 END AS day,
                    CASE WHEN tracked THEN 1 ELSE loc0 END AS loc
                FROM raw OFFSET 0
            ), timed AS (
                SELECT placed.*, bp.practice_id, bp.zones[loc] AS zone,
                    ({first_day} + day) + make_interval(hours => hour, secs => sec) AS local_at,
                    mod(day, 7) < 6 AND hour >= {OPENS} AND hour < {CLOSES} AS open
                FROM placed JOIN bp USING (p) OFFSET 0
            ), called AS (
                SELECT timed.*, local_at AT TIME ZONE zone AS started_at,
                    NOT open OR pg_temp.rnd(g, 7) < 0.20 AS missed
                FROM timed OFFSET 0
            ), missed AS (
                SELECT called.*,
                    CASE WHEN NOT missed THEN ''
                        WHEN NOT open THEN 'after_hours'
                        WHEN pg_temp.rnd(g, 8) < 0.5 THEN 'no_answer'
                        WHEN pg_temp.rnd(g, 8) < 0.7 THEN 'busy'
                        ELSE 'not_accepted' END AS reason,
                    CASE WHEN NOT missed THEN NULL
                        WHEN NOT open THEN started_at + interval '2 seconds'
                        ELSE started_at + make_interval(secs => 20 + floor(pg_temp.rnd(g, 18) * 10)) END AS missed_at,
                    missed AND pg_temp.rnd(g, 10) < 0.9 AS texted
                FROM called OFFSET 0
            ), texted AS (
                SELECT missed.*,
                    CASE WHEN NOT texted THEN NULL
                        WHEN hour >= 21 THEN ((local_at::date + 1) + time '08:00') AT TIME ZONE zone
                            + make_interval(secs => 1 + pg_temp.rnd(g, 16) * 9)
                        WHEN hour < 8 THEN (local_at::date + time '08:00') AT TIME ZONE zone
                            + make_interval(secs => 1 + pg_temp.rnd(g, 16) * 9)
                        ELSE missed_at + make_interval(secs => 1 + pg_temp.rnd(g, 16) * 9) END AS sent_at,
                    texted AND pg_temp.rnd(g, 11) < 0.55 AS replied,
                    1 + floor(pg_temp.rnd(g, 12) * 4)::int AS turns,
                    1 + floor(pg_temp.rnd(g, 15) * {len(SERVICES)})::int AS svc
                FROM missed OFFSET 0
            ), replied AS (
                SELECT texted.*,
                    CASE WHEN replied THEN sent_at + make_interval(secs => 30 + power(pg_temp.rnd(g, 17), 3) * 21600)
                        END AS reply_at,
                    replied AND pg_temp.rnd(g, 13) < 0.7 AS qualified
                FROM texted OFFSET 0
            ), offered AS (
                SELECT replied.*,
                    reply_at + make_interval(secs => (turns - 1) * 660 + pg_temp.rnd(g, 20 + turns) * 480 + 8)
                        AS offer_at,
                    qualified AND pg_temp.rnd(g, 14) < 0.65 AS booked
                FROM replied OFFSET 0
            )
            SELECT nextval('calls_call_id_seq') AS call_id, s.*
            FROM (
                SELECT offered.*, offer_at + make_interval(secs => 60 + pg_temp.rnd(g, 19) * 3540) AS choice_at
                FROM offered ORDER BY started_at
            ) s;
            ANALYZE bc;
            """,
        ),
        (
            # Patients: the first 6,000 callers of each practice were patients before the year; a lead
            # who books becomes one when booking.
            "patients",
            f"""
            CREATE TEMP TABLE bpat ON COMMIT DROP AS
            SELECT nextval('practices_patient_id_seq') AS patient_id, s.*
            FROM (
                SELECT p, c, created_at, known FROM (
                    SELECT p, c, {first_day}::timestamptz
                        - make_interval(secs => 86400 + pg_temp.rnd(40000000 + p * {CALLERS} + c, 1) * 86400 * 900)
                        AS created_at, true AS known
                    FROM generate_series(0, {PRACTICES - 1}) p, generate_series(0, {KNOWN - 1}) c
                    UNION ALL
                    SELECT p, c, min(choice_at) + interval '3 seconds', false
                    FROM bc WHERE booked AND c >= {KNOWN} GROUP BY p, c
                ) u ORDER BY created_at
            ) s;
            CREATE UNIQUE INDEX ON bpat (p, c);
            ANALYZE bpat;
            INSERT INTO practices_patient (id, practice_id, first_name, last_name, phone, email, preferred_channel,
                is_returning, home_location_id, notes, created_at, preferred_channel_set_by)
            SELECT patient_id, bp.practice_id,
                ({_sql_array(FIRST_NAMES)})[1 + mod(c, {len(FIRST_NAMES)})],
                ({_sql_array(LAST_NAMES)})[1 + mod(c / {len(FIRST_NAMES)} + 7 * c, {len(LAST_NAMES)})],
                {phone.format(c="c")},
                CASE WHEN mod(c, 3) = 0 THEN '' ELSE 'patient' || c || '@example.com' END,
                'sms', known, bp.locs[1 + mod(c, 2)], '', created_at, ''
            FROM bpat JOIN bp USING (p) ORDER BY patient_id;
            """,
        ),
        (
            "calls",
            f"""
            INSERT INTO calls_call (id, practice_id, location_id, phone_number_id, campaign_id, call_sid, from_raw,
                from_phone, patient_id, status, dial_status, dial_call_sid, accepted_by_staff, missed, missed_reason,
                answered_by, duration_seconds, started_at, missed_at, direction)
            SELECT call_id, bc.practice_id, bp.locs[bc.loc], CASE WHEN tracked THEN bp.nums[3] ELSE bp.nums[bc.loc] END,
                CASE WHEN tracked THEN bp.campaign_id END,
                'CAbench' || lpad(g::text, 26, '0'), {phone.format(c="bc.c")}, {phone.format(c="bc.c")},
                CASE WHEN bc.c < {KNOWN} THEN bpat.patient_id END,
                'completed',
                CASE reason WHEN '' THEN 'completed' WHEN 'no_answer' THEN 'no-answer' WHEN 'busy' THEN 'busy'
                    WHEN 'not_accepted' THEN 'completed' ELSE '' END,
                '', NOT missed, missed, reason, CASE WHEN missed THEN '' ELSE 'staff' END,
                CASE WHEN NOT missed THEN 60 + floor(pg_temp.rnd(g, 25) * 540)::int WHEN reason = 'after_hours' THEN NULL
                    ELSE 20 END,
                started_at, missed_at, 'inbound'
            FROM bc JOIN bp USING (p) LEFT JOIN bpat ON bpat.p = bc.p AND bpat.c = bc.c AND bpat.known
            ORDER BY call_id;
            """,
        ),
        (
            # Visits: the leads' bookings (a visit 1-14 days out), plus 6,000 visits a year per practice
            # booked by patients in other ways (1-30 days out, 8% through the campaign). Each visit takes
            # the next free hour of its location's day (2 providers, 8:00-20:00), so visits never overlap;
            # the few that find the day full (0.02%) are cancelled ones, which the constraints allow.
            "appointments",
            f"""
            CREATE TEMP TABLE ba ON COMMIT DROP AS
            WITH wanted AS (
                SELECT g AS key, p, loc, c, svc, choice_at + interval '3 seconds' AS created_at, 'sms' AS source,
                    tracked AS campaign, true AS lead,
                    1 + floor(power(pg_temp.rnd(g, 26), 2) * 14)::int AS ahead
                FROM bc WHERE booked
                UNION ALL
                SELECT k, p, loc, c, svc,
                    (({first_day} + floor(pg_temp.rnd(k, 3) * {DAYS})::int)
                        + make_interval(secs => {OPENS} * 3600 + pg_temp.rnd(k, 4) * {(CLOSES - OPENS) * 3600}))
                        AT TIME ZONE bp.zones[loc],
                    ({_sql_array(["staff", "voice", "api", "sms"])})[1 + floor(pg_temp.rnd(k, 5) * 4)::int],
                    pg_temp.rnd(k, 6) < 0.08, false, 1 + floor(pg_temp.rnd(k, 7) * 30)::int
                FROM (
                    SELECT k, (h / {OTHER_VISITS})::int AS p, c,
                        CASE WHEN pg_temp.rnd(k, 2) < 0.8 THEN 1 + mod(c, 2) ELSE 2 - mod(c, 2) END AS loc,
                        1 + floor(pg_temp.rnd(k, 8) * {len(SERVICES)})::int AS svc
                    FROM generate_series(0, {PRACTICES * OTHER_VISITS - 1}::bigint) h,
                        LATERAL (SELECT 10000000 + h AS k) key,
                        LATERAL (SELECT floor(pg_temp.rnd(10000000 + h, 1) * {KNOWN})::int AS c) who
                ) o JOIN bp USING (p)
            ), dated AS (
                SELECT wanted.*, bp.practice_id, bp.zones[loc] AS zone, bp.locs[loc] AS location_id,
                    (created_at AT TIME ZONE bp.zones[loc])::date + ahead AS day0
                FROM wanted JOIN bp USING (p) OFFSET 0
            ), days AS (
                SELECT dated.*,
                    CASE WHEN extract(isodow FROM day0) = 7 THEN day0 + 1 + floor(pg_temp.rnd(key, 9) * 6)::int
                        ELSE day0 END AS day
                FROM dated OFFSET 0
            ), ranked AS (
                SELECT days.*, row_number() OVER (PARTITION BY p, loc, day ORDER BY created_at, key) - 1 AS rn
                FROM days
            ), slotted AS (
                SELECT ranked.*, rn >= {2 * SLOTS_PER_PROVIDER} AS full_day,
                    ((day + make_interval(hours => {OPENS} + mod(rn / 2, {SLOTS_PER_PROVIDER})::int)) AT TIME ZONE zone)
                        AS starts_at,
                    2 * (loc - 1) + 1 + mod(rn, 2)::int AS provider,
                    pg_temp.rnd(key, 10) AS r
                FROM ranked OFFSET 0
            ), statused AS (
                SELECT slotted.*,
                    starts_at - interval '48 hours' > created_at + interval '1 hour' AS remind48,
                    starts_at - interval '2 hours' > created_at + interval '1 hour' AS remind2,
                    pg_temp.rnd(key, 11) < 0.6 AS confirms,
                    CASE WHEN full_day THEN 'cancelled'
                        WHEN starts_at < {now} THEN
                            CASE WHEN r < 0.80 THEN 'completed' WHEN r < 0.88 THEN 'no_show' ELSE 'cancelled' END
                        WHEN r < 0.10 THEN 'cancelled'
                        ELSE 'booked' END AS status0
                FROM slotted OFFSET 0
            )
            SELECT nextval('booking_appointment_id_seq') AS appointment_id, s.*
            FROM (
                SELECT statused.*,
                    CASE WHEN status0 = 'booked' AND confirms AND remind48 AND starts_at - interval '47 hours' < {now}
                        THEN 'confirmed' ELSE status0 END AS status,
                    CASE WHEN status0 <> 'cancelled' AND confirms AND remind48
                        AND starts_at - interval '47 hours' < {now}
                        THEN starts_at - interval '48 hours' + make_interval(secs => 300 + pg_temp.rnd(key, 12) * 7000)
                        END AS confirmed_at
                FROM statused ORDER BY created_at
            ) s;
            ANALYZE ba;
            INSERT INTO booking_appointment (id, practice_id, location_id, patient_id, service_id, provider_id,
                resource_id, resource_unit, starts_at, ends_at, blocks_until, status, source, booked_by_id,
                enrollment_id, campaign_id, value, cancellation_reason, cancelled_at, confirmed_at, checked_in_at,
                completed_at, created_at, updated_at, needs_provider_review, review_reasons)
            SELECT appointment_id, ba.practice_id, location_id, bpat.patient_id, bp.svcs[svc], bp.provs[provider],
                NULL, NULL, starts_at, starts_at + make_interval(mins => ({minutes})[svc]),
                starts_at + make_interval(mins => ({minutes})[svc] + ({buffers})[svc]),
                status, source, NULL, NULL, CASE WHEN campaign THEN bp.campaign_id END, ({values})[svc],
                CASE WHEN status = 'cancelled' THEN
                    ({_sql_array(CANCEL_REASONS)})[1 + floor(pg_temp.rnd(key, 13) * {len(CANCEL_REASONS)})::int]
                    ELSE '' END,
                CASE WHEN status = 'cancelled' THEN ba.created_at + (starts_at - ba.created_at) * pg_temp.rnd(key, 14) END,
                confirmed_at,
                CASE WHEN status = 'completed' THEN starts_at - interval '5 minutes' END,
                CASE WHEN status = 'completed' THEN starts_at + make_interval(mins => ({minutes})[svc]) END,
                ba.created_at, least({now}, greatest(ba.created_at, confirmed_at, starts_at)), false, '[]'::jsonb
            FROM ba JOIN bp USING (p) JOIN bpat ON bpat.p = ba.p AND bpat.c = ba.c
            ORDER BY appointment_id;
            """,
        ),
        (
            # Every message, before its conversation exists: the text-backs; each lead's turns (the
            # first reply names a service); the times offered, the choice and the confirmation; the
            # reminders 48 and 2 hours before each visit, and "C" from those who confirm; threads that
            # patients start themselves. src/ref tie a message to its outreach row.
            "messages (staging)",
            f"""
            CREATE TEMP TABLE bm ON COMMIT DROP AS
            SELECT p, c, loc, 'outbound' AS direction, '{TEXT_BACK_KIND}' AS kind, {_sql_text(TEXT_BACK)} AS body,
                '' AS intent, NULL::jsonb AS extracted, sent_at AS created_at, 'tb' AS src, g AS ref
            FROM bc WHERE texted
            UNION ALL
            SELECT p, c, loc, 'inbound', '',
                CASE WHEN j = 1 THEN (ARRAY[{first_replies}])[(svc - 1) * {n_first} + 1 + mod(g, {n_first})::int]
                    ELSE ({_sql_array(OTHER_INBOUND)})[1 + mod(g + j, {len(OTHER_INBOUND)})::int] END,
                CASE WHEN j = 1 THEN (ARRAY['book', 'book', 'book', 'price'])[1 + mod(g, 4)::int] ELSE 'question' END,
                CASE WHEN j = 1 AND pg_temp.rnd(g, 31) < 0.75 THEN jsonb_build_object('service', ({slugs})[svc]) END,
                reply_at + make_interval(secs => (j - 1) * 660 + pg_temp.rnd(g, 20 + j) * 480), NULL, NULL
            FROM bc, generate_series(1, bc.turns) j WHERE replied
            UNION ALL
            SELECT p, c, loc, 'outbound', CASE WHEN qualified AND j = turns THEN 'times_offered' ELSE 'reply' END,
                CASE WHEN qualified AND j = turns THEN {_sql_text(TIMES_OFFERED_TEXT)}
                    ELSE ({_sql_array(REPLIES)})[1 + mod(g + j, {len(REPLIES)})::int] END,
                '', NULL, reply_at + make_interval(secs => (j - 1) * 660 + pg_temp.rnd(g, 20 + j) * 480 + 8),
                CASE WHEN qualified AND j = turns THEN 'to' END, g
            FROM bc, generate_series(1, bc.turns) j WHERE replied
            UNION ALL
            SELECT p, c, loc, 'inbound', '', (ARRAY['1', '2', '3', '2 please'])[1 + mod(g, 4)::int], 'book', NULL,
                choice_at, NULL, NULL
            FROM bc WHERE booked
            UNION ALL
            SELECT p, c, loc, 'outbound', 'reply', {_sql_text(CONFIRMATION)}, '', NULL, choice_at + interval '8 seconds',
                NULL, NULL
            FROM bc WHERE booked
            UNION ALL
            SELECT p, c, loc, 'outbound', 'reminder_48h', {_sql_text(REMINDER_48H)}, '', NULL,
                starts_at - interval '48 hours', 'r4', appointment_id
            FROM ba WHERE remind48 AND NOT full_day AND status0 <> 'cancelled' AND starts_at - interval '48 hours' < {now}
            UNION ALL
            SELECT p, c, loc, 'outbound', 'reminder_2h', {_sql_text(REMINDER_2H)}, '', NULL,
                starts_at - interval '2 hours', 'r2', appointment_id
            FROM ba WHERE remind2 AND NOT full_day AND status0 <> 'cancelled' AND starts_at - interval '2 hours' < {now}
            UNION ALL
            SELECT p, c, loc, 'inbound', '', 'C', 'confirm', NULL, confirmed_at, NULL, NULL
            FROM ba WHERE confirmed_at IS NOT NULL
            UNION ALL
            SELECT p, c, loc, CASE WHEN mod(m, 2) = 0 THEN 'inbound' ELSE 'outbound' END,
                CASE WHEN mod(m, 2) = 0 THEN '' ELSE 'reply' END,
                CASE WHEN mod(m, 2) = 0 THEN ({_sql_array(OTHER_INBOUND)})[1 + mod(k + m, {len(OTHER_INBOUND)})::int]
                    ELSE ({_sql_array(REPLIES)})[1 + mod(k + m, {len(REPLIES)})::int] END,
                CASE WHEN mod(m, 2) = 0 THEN 'question' ELSE '' END, NULL,
                start_at + make_interval(secs => m * 240 + pg_temp.rnd(k, 10 + m) * 180), NULL, NULL
            FROM (
                SELECT k, p, c, loc, 4 + floor(pg_temp.rnd(k, 3) * 7)::int AS n,
                    (({first_day} + floor(pg_temp.rnd(k, 4) * {DAYS})::int)
                        + make_interval(secs => 8 * 3600 + pg_temp.rnd(k, 5) * 13 * 3600)) AT TIME ZONE bp.zones[loc]
                        AS start_at
                FROM (
                    SELECT 20000000 + h AS k, (h / {DIRECT_THREADS})::int AS p,
                        floor(power(pg_temp.rnd(20000000 + h, 1), 1.2) * {CALLERS})::int AS c,
                        CASE WHEN pg_temp.rnd(20000000 + h, 2) < 0.6 THEN 1 ELSE 2 END AS loc
                    FROM generate_series(0, {PRACTICES * DIRECT_THREADS - 1}::bigint) h
                ) t JOIN bp USING (p)
            ) d, generate_series(0, d.n - 1) m;
            """,
        ),
        (
            # A conversation per (practice, phone): created with its first message, "booked" when the
            # caller booked by text. Then the messages, in time order, with ids in that order.
            "conversations",
            f"""
            CREATE TEMP TABLE bconv ON COMMIT DROP AS
            SELECT nextval('calls_conversation_id_seq') AS conversation_id, s.*,
                row_number() OVER (PARTITION BY p ORDER BY created_at) AS rn
            FROM (
                SELECT p, c, min(loc) AS loc, min(created_at) AS created_at,
                    max(created_at) FILTER (WHERE direction = 'inbound') AS last_inbound_at,
                    max(created_at) FILTER (WHERE direction = 'outbound') AS last_outbound_at,
                    bool_or(kind = 'times_offered') AS offered
                FROM bm GROUP BY p, c ORDER BY min(created_at)
            ) s;
            CREATE UNIQUE INDEX ON bconv (p, c);
            CREATE UNIQUE INDEX ON bconv (p, rn);
            ANALYZE bconv;
            INSERT INTO calls_conversation (id, practice_id, phone, channel, patient_id, location_id, practice_number,
                state, taken_over_by_id, last_inbound_at, last_outbound_at, context, priority, created_at)
            SELECT conversation_id, bp.practice_id, {phone.format(c="bconv.c")}, 'sms', bpat.patient_id,
                bp.locs[bconv.loc], bp.number_texts[bconv.loc],
                CASE WHEN bpat.patient_id IS NOT NULL AND offered THEN 'booked' ELSE 'closed' END,
                NULL, last_inbound_at, last_outbound_at, '{{}}'::jsonb, NULL, bconv.created_at
            FROM bconv JOIN bp USING (p) LEFT JOIN bpat ON bpat.p = bconv.p AND bpat.c = bconv.c
            ORDER BY conversation_id;
            """,
        ),
        (
            "messages",
            """
            CREATE TEMP TABLE bmi ON COMMIT DROP AS
            SELECT nextval('calls_message_id_seq') AS message_id, s.*
            FROM (SELECT * FROM bm ORDER BY created_at) s;
            DROP TABLE bm;
            INSERT INTO calls_message (id, practice_id, conversation_id, direction, channel, sender, kind, body,
                provider_sid, status, error_code, num_media, intent, extracted, sent_by_id, created_at, sent_at,
                processed_at, process_attempts)
            SELECT message_id, bp.practice_id, conversation_id, direction, 'sms',
                CASE WHEN direction = 'inbound' THEN 'patient' ELSE 'receptionist' END,
                kind, body, 'SMbench' || lpad(message_id::text, 25, '0'),
                CASE WHEN direction = 'inbound' THEN 'received'
                    WHEN mod(message_id, 40) = 0 THEN 'failed' ELSE 'delivered' END,
                CASE WHEN direction = 'outbound' AND mod(message_id, 40) = 0 THEN '30003' ELSE '' END,
                0, intent, coalesce(extracted, '{}'::jsonb), NULL, bmi.created_at,
                CASE WHEN direction = 'outbound' THEN bmi.created_at END,
                CASE WHEN direction = 'inbound' THEN bmi.created_at + interval '2 seconds' END, 0
            FROM bmi JOIN bp USING (p) JOIN bconv ON bconv.p = bmi.p AND bconv.c = bmi.c
            ORDER BY message_id;
            CREATE INDEX ON bmi (src, ref) WHERE src IS NOT NULL;
            ANALYZE bmi;
            """,
        ),
        (
            # Outreach: a text-back row for every missed call (10% skipped: "in touch in the last
            # day"), the replies that offered times, and the reminders (sent, or still pending after
            # the data's last day).
            "outreach",
            f"""
            INSERT INTO calls_outreach (practice_id, kind, step, phone, email, channel, template_key, purpose, body,
                automated, patient_id, call_id, conversation_id, location_id, appointment_id, due_at, state,
                state_reason, attempts, claimed_at, message_id, sent_by_id, created_at)
            SELECT practice_id, kind, step, phone, '', 'sms', template_key, purpose, '', true, patient_id, call_id,
                conversation_id, location_id, appointment_id, due_at, state, state_reason, attempts, claimed_at,
                message_id, NULL, created_at
            FROM (
                SELECT bc.practice_id, 'text_back' AS kind, 0 AS step, {phone.format(c="bc.c")} AS phone,
                    '{TEXT_BACK_KIND}' AS template_key, '' AS purpose,
                    CASE WHEN bc.c < {KNOWN} THEN bpat.patient_id END AS patient_id, bc.call_id,
                    bconv.conversation_id, bp.locs[bc.loc] AS location_id, NULL::bigint AS appointment_id,
                    coalesce(bc.sent_at, bc.missed_at) AS due_at,
                    CASE WHEN texted THEN 'sent' ELSE 'skipped' END AS state,
                    CASE WHEN texted THEN '' ELSE 'in touch in the last day' END AS state_reason,
                    CASE WHEN texted THEN 1 ELSE 0 END AS attempts,
                    bc.sent_at - interval '200 milliseconds' AS claimed_at, bmi.message_id, bc.missed_at AS created_at
                FROM bc JOIN bp USING (p)
                LEFT JOIN bpat ON bpat.p = bc.p AND bpat.c = bc.c
                LEFT JOIN bconv ON bconv.p = bc.p AND bconv.c = bc.c
                LEFT JOIN bmi ON bmi.src = 'tb' AND bmi.ref = bc.g
                WHERE bc.missed
                UNION ALL
                SELECT bp.practice_id, 'reply', 0, {phone.format(c="bmi.c")}, '', 'times_offered', bpat.patient_id, NULL,
                    bconv.conversation_id, bp.locs[bmi.loc], NULL, bmi.created_at, 'sent', '', 1,
                    bmi.created_at - interval '200 milliseconds', bmi.message_id, bmi.created_at - interval '2 seconds'
                FROM bmi JOIN bp USING (p) JOIN bconv ON bconv.p = bmi.p AND bconv.c = bmi.c
                LEFT JOIN bpat ON bpat.p = bmi.p AND bpat.c = bmi.c
                WHERE bmi.src = 'to'
                UNION ALL
                SELECT ba.practice_id, 'reminder', 0, {phone.format(c="ba.c")}, r.key, '', bpat.patient_id, NULL,
                    bconv.conversation_id, ba.location_id, ba.appointment_id, r.due_at,
                    CASE WHEN r.due_at < {now} THEN 'sent' ELSE 'pending' END, '',
                    CASE WHEN r.due_at < {now} THEN 1 ELSE 0 END,
                    CASE WHEN r.due_at < {now} THEN r.due_at - interval '200 milliseconds' END,
                    bmi.message_id, ba.created_at + interval '5 seconds'
                FROM ba JOIN bp USING (p) JOIN bpat ON bpat.p = ba.p AND bpat.c = ba.c
                CROSS JOIN LATERAL (
                    VALUES ('reminder_48h', 'r4', ba.starts_at - interval '48 hours', ba.remind48),
                        ('reminder_2h', 'r2', ba.starts_at - interval '2 hours', ba.remind2)
                ) r(key, src, due_at, wanted)
                LEFT JOIN bconv ON bconv.p = ba.p AND bconv.c = ba.c
                LEFT JOIN bmi ON bmi.src = r.src AND bmi.ref = ba.appointment_id
                WHERE r.wanted AND NOT ba.full_day AND ba.status0 <> 'cancelled'
            ) o
            ORDER BY created_at;
            """,
        ),
        (
            # About three escalations a day per practice, on its conversations, each claimed by the
            # manager (emergencies within 5 minutes) and resolved.
            "escalations",
            f"""
            INSERT INTO escalations_escalation (practice_id, patient_id, conversation_id, source_message_id, category,
                priority, status, reasons, summary, sla_due_at, claimed_by_id, claimed_at, resolved_at,
                resolution_note, notes, created_at, routing_note)
            SELECT bp.practice_id, conv.patient_id, bconv.conversation_id, NULL, category, {priority_case} END,
                'resolved', jsonb_build_array(category),
                jsonb_build_object('question', 'Bench escalation', 'phone', conv.phone),
                x.created_at + {sla_case} END, bp.manager_id,
                x.created_at + make_interval(secs => 20 + power(pg_temp.rnd(k, 3), 2) * {claim_case} END),
                x.created_at + make_interval(secs => 20 + power(pg_temp.rnd(k, 3), 2) * {claim_case} END)
                    + make_interval(secs => 600 + pg_temp.rnd(k, 4) * 14000),
                'Called back, all fine', '[]'::jsonb, x.created_at, ''
            FROM (
                SELECT k, p, r, {category_case} AS category,
                    ({first_day}::timestamptz + make_interval(secs => pg_temp.rnd(k, 2) * {DAYS} * 86400)) AS created_at,
                    1 + floor(pg_temp.rnd(k, 5) * (SELECT max(rn) FROM bconv WHERE bconv.p = e.p))::int AS pick
                FROM (
                    SELECT 30000000 + h AS k, (h / {ESCALATIONS_PER_DAY * DAYS})::int AS p,
                        pg_temp.rnd(30000000 + h, 1) AS r
                    FROM generate_series(0, {PRACTICES * ESCALATIONS_PER_DAY * DAYS - 1}::bigint) h
                ) e
            ) x
            JOIN bp USING (p) JOIN bconv ON bconv.p = x.p AND bconv.rn = x.pick
            JOIN calls_conversation conv ON conv.id = bconv.conversation_id
            ORDER BY x.created_at;
            """,
        ),
    ]
    return steps


# Measuring.

YEAR = (FIRST_DAY, LAST_DAY)
FILTER_SERVICE = "botox"


@dataclass
class Subject:
    """One measured practice: its manager's signed-in client and the filters of the filtered page."""

    practice: object
    user: object
    client: object
    location_id: int  # the filtered page's location: the second one
    service_id: int  # and service

    @property
    def slug(self) -> str:
        return self.practice.slug


def subjects_for(count: int) -> list[Subject]:
    """`count` practices spread over the 50 (every 11th: each time zone, one and two zones a practice)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from practices.models import Location, Practice, Service

    chosen = []
    for n in range(count):
        practice = Practice.objects.get(slug=SLUG.format((11 * n) % PRACTICES))
        user = get_user_model().objects.get(username=f"{practice.slug}-manager")
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        chosen.append(
            Subject(
                practice=practice,
                user=user,
                client=client,
                location_id=Location.objects.get(practice=practice, slug=LOCATIONS[1].lower()).pk,
                service_id=Service.objects.get(practice=practice, slug=FILTER_SERVICE).pk,
            )
        )
    return chosen


def page_path(subject: Subject, *, filtered: bool = False) -> str:
    path = f"/analytics/?start={YEAR[0].isoformat()}&end={YEAR[1].isoformat()}"
    if filtered:
        path += f"&location={subject.location_id}&service={subject.service_id}"
    return path


def year_filters(subject: Subject, *, filtered: bool = False):
    from analytics.filters import Filters

    if filtered:
        return Filters(start=YEAR[0], end=YEAR[1], location_id=subject.location_id, service_id=subject.service_id)
    return Filters(start=YEAR[0], end=YEAR[1])


class Live:
    """While active, the dashboard view computes everything from the records (`rollups=False`): the
    view has no switch for it, so `analytics.selectors.dashboard`, which the view calls through its
    module, is wrapped."""

    def __enter__(self):
        from analytics import selectors

        self.selectors = selectors
        self.original = selectors.dashboard
        original = self.original

        def live_dashboard(practice, filters, *, rollups=True):
            return original(practice, filters, rollups=False)

        selectors.dashboard = live_dashboard
        return self

    def __exit__(self, *exc):
        self.selectors.dashboard = self.original


def fetch(subject: Subject, path: str):
    response = subject.client.get(path)
    if response.status_code != 200:
        raise AssertionError(f"{subject.slug}: {path} answered {response.status_code}")
    return response


class Breakdown:
    """Where one call's time goes: SQL (inside cursor.execute) and template rendering (minus the SQL it
    triggers). Adds a little overhead, so it runs apart from the timed loops."""

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
        "p50": round(pct(0.50), 2),
        "p95": round(pct(0.95), 2),
        "p99": round(pct(0.99), 2),
        "max": round(ordered[-1], 2),
        "mean": round(statistics.fmean(ordered), 2),
        "n": len(ordered),
    }


class GcPauses:
    """The garbage collector's pauses inside a timed loop: a collection lands on whichever call runs."""

    def __init__(self):
        self.pauses: list[int] = []
        self.full: list[int] = []
        self.started = 0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = clock.perf_counter_ns()
        else:
            self.pauses.append(clock.perf_counter_ns() - self.started)
            if info["generation"] == 2:
                self.full.append(self.pauses[-1])

    def __enter__(self):
        gc.collect()
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc):
        gc.callbacks.remove(self)

    def as_dict(self) -> dict:
        return {
            "count": len(self.pauses),
            "full_count": len(self.full),
            "total_ms": round(_ms(sum(self.pauses)), 1),
            "max_ms": round(_ms(max(self.pauses, default=0)), 1),
        }


def measure(title: str, call, subjects: list[Subject], *, runs: int, warmup: int, breakdowns: int) -> dict:
    """`call(subject)` timed `runs` times after `warmup` untimed calls, rotating over the subjects; then
    `breakdowns` more calls with the SQL and template split and the query count."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for n in range(warmup):
        call(subjects[n % len(subjects)])
    load_before = os.getloadavg()[0]
    samples = []
    with GcPauses() as pauses:
        for n in range(runs):
            subject = subjects[n % len(subjects)]
            t0 = clock.perf_counter_ns()
            call(subject)
            samples.append(_ms(clock.perf_counter_ns() - t0))
    load_after = os.getloadavg()[0]
    parts = {"total": [], "sql": [], "template": [], "other": []}
    counts = set()
    slowest: dict[str, list[float]] = {}
    with Breakdown() as breakdown:
        for n in range(breakdowns):
            breakdown.reset()
            with CaptureQueriesContext(connection) as captured:
                t0 = clock.perf_counter_ns()
                call(subjects[n % len(subjects)])
                total = clock.perf_counter_ns() - t0
            counts.add(len(captured.captured_queries))
            template = breakdown.render_ns - breakdown.sql_in_render_ns
            parts["total"].append(_ms(total))
            parts["sql"].append(_ms(breakdown.sql_ns))
            parts["template"].append(_ms(template))
            parts["other"].append(_ms(total - breakdown.sql_ns - template))
            for spent, sql, _ in breakdown.queries:
                slowest.setdefault(sql, []).append(_ms(spent))
    top = sorted(((statistics.median(v), len(v), sql) for sql, v in slowest.items()), reverse=True)[:3]
    return {
        "title": title,
        "runs": runs,
        "warmup": warmup,
        "practices": sorted({subjects[n % len(subjects)].slug for n in range(runs)}),
        "ms": summary(samples),
        "samples_ms": [round(sample, 1) for sample in samples],
        "queries": sorted(counts),
        "breakdown_p50_ms": {key: round(statistics.median(v), 1) for key, v in parts.items() if v},
        "slowest_queries": [{"ms": round(ms, 2), "times": n, "sql": sql} for ms, n, sql in top],
        "gc_pauses": pauses.as_dict(),
        "load_average_1min": [round(load_before, 2), round(load_after, 2)],
    }


def check_page(subject: Subject, body: str, *, calls: int | None) -> None:
    """The page must show the year's figures, not an empty dashboard."""
    import re

    shown = re.search(r"of (\d[\d,]*) calls", body)
    if shown is None:
        raise AssertionError(f"{subject.slug}: the page shows no call total")
    total = int(shown.group(1).replace(",", ""))
    if calls is not None and total != calls:
        raise AssertionError(f"{subject.slug}: the page shows {total} calls, the practice had {calls}")
    if calls is None and not total:
        raise AssertionError(f"{subject.slug}: the filtered page shows no calls")


def rollup_rows(practice) -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(pg_column_size(facts)), 0) FROM analytics_dailyrollup "
            "WHERE practice_id = %s AND day BETWEEN %s AND %s",
            [practice.pk, *YEAR],
        )
        rows, size = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM analytics_rollupday WHERE practice_id = %s AND day BETWEEN %s AND %s",
            [practice.pk, *YEAR],
        )
        days = cursor.fetchone()[0]
    return {"rows": rows, "facts_kb": round(size / 1024), "days": days}


def time_rollups(practices) -> list[dict]:
    from analytics.services import rollups_compute

    timings = []
    for practice in practices:
        t0 = clock.perf_counter()
        stored = rollups_compute(practice=practice, start=YEAR[0], end=YEAR[1])
        seconds = clock.perf_counter() - t0
        timings.append({"practice": practice.slug, "seconds": round(seconds, 2), "rows": stored})
    return timings


def compare_live(subjects: list[Subject]) -> list[str]:
    """Rollups and live must give the same figures (analytics/selectors.py promises it)."""
    from analytics.selectors import dashboard

    problems = []
    for subject in subjects:
        for filtered in (False, True):
            filters = year_filters(subject, filtered=filtered)
            stored = dashboard(subject.practice, filters).as_dict()
            live = dashboard(subject.practice, filters, rollups=False).as_dict()
            if stored != live:
                differ = sorted(key for key in set(stored) | set(live) if stored.get(key) != live.get(key))
                problems.append(f"{subject.slug}{' (filtered)' if filtered else ''}: {', '.join(differ)} differ")
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
        settings = {}
        for name in ("shared_buffers", "work_mem", "effective_cache_size", "jit", "max_parallel_workers_per_gather"):
            cursor.execute(f"SHOW {name}")
            settings[name] = cursor.fetchone()[0]
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
        "database_settings": settings,
    }


SCENARIOS = [
    # key, title, live?
    ("page", "page /analytics/, year, from rollups", False),
    ("page_filtered", "page, year, location + service, rollups", False),
    ("dashboard", "dashboard() alone, year, from rollups", False),
    ("page_live", "page /analytics/, year, live", True),
    ("dashboard_live", "dashboard() alone, year, live", True),
]


def run_scenarios(subjects: list[Subject], *, runs: int, warmup: int, live_runs: int) -> dict:
    from analytics.selectors import dashboard

    def page(subject):
        fetch(subject, page_path(subject))

    def page_filtered(subject):
        fetch(subject, page_path(subject, filtered=True))

    def board(subject):
        dashboard(subject.practice, year_filters(subject))

    def board_live(subject):
        dashboard(subject.practice, year_filters(subject), rollups=False)

    calls = {
        "page": page,
        "page_filtered": page_filtered,
        "dashboard": board,
        "page_live": page,
        "dashboard_live": board_live,
    }
    results = {}
    for key, title, live in SCENARIOS:
        started = clock.perf_counter()
        if live:
            with Live():
                result = measure(title, calls[key], subjects, runs=live_runs, warmup=min(1, warmup), breakdowns=1)
        else:
            result = measure(title, calls[key], subjects, runs=runs, warmup=warmup, breakdowns=min(5, runs))
        result["live"] = live
        result["target_met"] = result["ms"]["p95"] < TARGET_P95_MS
        results[key] = result
        print(f"  {title}: p50 {result['ms']['p50']:.0f} ms ({clock.perf_counter() - started:.0f} s)", flush=True)
    return results


def print_report(info: dict, data: dict, results: dict, rollups: dict, consistency: list[str] | None) -> None:
    print()
    print(
        "Machine: {nproc} CPU(s) ({cpu}), load average {load_average}, calibration loop {calibration_ms} ms "
        "(lower is faster; compare runs with similar values)".format(**info)
    )
    print(f"Python {info['python']}, Django {info['django']}, {info['platform']}")
    print(f"Database: {info['database_name']}: {info['database_version']}")
    print("PostgreSQL settings: " + ", ".join(f"{k} {v}" for k, v in info["database_settings"].items()))
    built = "reused" if data["reused"] else f"built in {data['build_seconds']:.0f} s"
    print(f"Data set ({built}): {_describe(data['counts'])}")
    print(f"Clock frozen at {NOW.isoformat()}; the year is {YEAR[0]} to {YEAR[1]} (local days)")
    print()
    header = (
        f"{'scenario':<42}{'runs':>5}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8} |{'SQL':>7}{'tmpl':>6}{'rest':>7} |"
        f"{'queries':>8} | target"
    )
    print(header)
    print(f"{'':<42}{'':>5}{'(ms, timed loop)':>32} |{'(ms, p50 of breakdown)':>20} |{'':>8} |")
    print("-" * len(header))
    for result in results.values():
        ms, parts = result["ms"], result["breakdown_p50_ms"]
        queries = result["queries"]
        span = str(queries[0]) if len(queries) == 1 else f"{queries[0]}-{queries[-1]}"
        verdict = "MET" if result["target_met"] else "NOT MET"
        print(
            f"{result['title']:<42}{result['runs']:>5}{ms['p50']:>8.0f}{ms['p95']:>8.0f}{ms['p99']:>8.0f}{ms['max']:>8.0f} |"
            f"{parts.get('sql', 0):>7.0f}{parts.get('template', 0):>6.0f}{parts.get('other', 0):>7.0f} |"
            f"{span:>8} | {verdict}"
        )
    print()
    print("SQL = time inside cursor.execute; tmpl = template rendering minus the SQL it triggers; rest = routing,")
    print("middleware, session and the Python of the view and the selectors (merging the facts).")
    per = rollups["per_practice"]
    seconds = [row["seconds"] for row in per]
    print()
    print(
        "rollups_compute, one practice-year: "
        + ", ".join(f"{row['practice']} {row['seconds']:.1f} s ({row['rows']:,} rows)" for row in per)
        + f"; median {statistics.median(seconds):.1f} s"
    )
    every = rollups["all_practices"]
    if every["measured"]:
        print(f"rollups_compute, all {PRACTICES} practices, one year each: {every['seconds']:.0f} s (measured)")
    else:
        print(
            f"rollups_compute, all {PRACTICES} practices, one year each: about {every['seconds']:.0f} s "
            f"(extrapolated: {PRACTICES} x the median; --rollups-all measures it)"
        )
    sizes = rollups["stored"]
    print(
        "Stored rollups for the year: "
        + "; ".join(f"{slug} {size['rows']:,} rows, {size['facts_kb']:,} KB of facts" for slug, size in sizes.items())
    )
    print()
    print("Slowest query of each scenario (median ms over the breakdown calls, times per call):")
    for key, result in results.items():
        if not result["slowest_queries"]:
            continue
        top = result["slowest_queries"][0]
        sql = " ".join(top["sql"].split())
        print(f"  {key:<15}{top['ms']:>9.1f}  {sql[:140]}{'...' if len(sql) > 140 else ''}")
    print()
    print("Garbage-collector pauses in each timed loop (count, of which full; total; longest):")
    for key, result in results.items():
        pauses = result["gc_pauses"]
        print(
            f"  {key}: {pauses['count']} ({pauses['full_count']} full), {pauses['total_ms']:.0f} ms, "
            f"max {pauses['max_ms']:.0f} ms"
        )
    if consistency is not None:
        print()
        print(
            f"Rollups and live give the same figures: {'yes' if not consistency else 'NO: ' + '; '.join(consistency)}"
        )
    print()
    page = results["page"]
    print(
        f"Target: the year's page from the rollups under {TARGET_P95_MS:g} ms at p95: "
        f"{'MET' if page['target_met'] else 'NOT MET'} (p95 {page['ms']['p95']:.0f} ms)."
    )


def profile(subjects: list[Subject], *, live: bool) -> None:
    """cProfile of the year's page (from rollups, or live), then EXPLAIN ANALYZE of its slowest queries."""
    import cProfile
    import pstats

    from django.db import connection

    subject = subjects[0]
    path = page_path(subject)
    requests = 1 if live else 10
    context = Live() if live else _Nothing()
    with context:
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            fetch(subject, path)
        profiler.disable()
        print(f"\n==== cProfile of {requests} request(s), {'live' if live else 'from rollups'}: {subject.slug} {path}")
        stats = pstats.Stats(profiler).strip_dirs()
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        with Breakdown() as breakdown:
            fetch(subject, path)
    print(f"---- EXPLAIN ANALYZE of the 3 slowest queries of one request ({len(breakdown.queries)} queries)")
    for spent, sql, params in sorted(breakdown.queries, key=lambda q: -q[0])[:3]:
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        print(f"\n-- {_ms(spent):.1f} ms: {' '.join(sql.split())[:600]}")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            for (line,) in cursor.fetchall():
                print("   " + line)


class _Nothing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=40, help="timed calls of each scenario from rollups (default 40)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed calls first (default 5)")
    parser.add_argument("--live-runs", type=int, default=3, help="timed calls of each live scenario (default 3)")
    parser.add_argument("--practices", type=int, default=5, help="practices to rotate over (default 5)")
    parser.add_argument(
        "--rollups-all", action="store_true", help=f"recompute and time the rollups of all {PRACTICES} practices"
    )
    parser.add_argument("--rebuild", action="store_true", help="drop and rebuild the bench data set")
    parser.add_argument("--no-compare", action="store_true", help="skip the rollups-versus-live comparison")
    parser.add_argument(
        "--profile",
        nargs="?",
        const="all",
        default=None,
        choices=["rollups", "live", "all"],
        help="cProfile and EXPLAIN ANALYZE of the year's page: 'rollups', 'live' or 'all' (the default)",
    )
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "analytics.json", help="results file"
    )
    args = parser.parse_args()
    if not 1 <= args.practices <= PRACTICES:
        parser.error(f"--practices must be between 1 and {PRACTICES}")

    recorded_at = datetime.now(UTC).isoformat(timespec="seconds")  # before the clock is frozen
    try:
        import time_machine
    except ImportError:
        raise SystemExit("benchmarks/analytics.py needs time-machine (pip install -r requirements-dev.txt).") from None

    setup_django(require_postgres="benchmarks/analytics.py")
    with time_machine.travel(NOW, tick=False):
        data = ensure_data(rebuild=args.rebuild)
        info = machine_info()
        subjects = subjects_for(args.practices)
        calibration_before = calibration_ms()

        print(f"rollups_compute for one year of {len(subjects)} practices...", flush=True)
        per_practice = time_rollups([subject.practice for subject in subjects])
        median_seconds = statistics.median(row["seconds"] for row in per_practice)
        if args.rollups_all:
            others = [p for p in _bench_practices() if p.slug not in {s.slug for s in subjects}]
            print(f"rollups_compute for the other {len(others)} practices...", flush=True)
            rest = time_rollups(others)
            every = {
                "measured": True,
                "seconds": round(sum(row["seconds"] for row in per_practice + rest), 1),
                "per_practice": rest,
            }
        else:
            every = {"measured": False, "seconds": round(median_seconds * PRACTICES, 1)}
        rollups = {
            "per_practice": per_practice,
            "all_practices": every,
            "stored": {subject.slug: rollup_rows(subject.practice) for subject in subjects},
        }

        for subject in subjects:  # the pages show the year's figures
            check_page(subject, fetch(subject, page_path(subject)).content.decode(), calls=CALLS)
            check_page(subject, fetch(subject, page_path(subject, filtered=True)).content.decode(), calls=None)
        print("Measuring:", flush=True)
        results = run_scenarios(subjects, runs=args.runs, warmup=args.warmup, live_runs=args.live_runs)
        consistency = None
        if not args.no_compare:
            print("Comparing rollups with live (one practice, plain and filtered)...", flush=True)
            consistency = compare_live(subjects[:1])
        calibration_after = calibration_ms()
        info["calibration_ms_before_after"] = [calibration_before, calibration_after]
        print_report(info, data, results, rollups, consistency)
        print(f"Calibration loop {calibration_before:.2f} ms before, {calibration_after:.2f} ms after.")

        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "benchmark": "analytics",
            "recorded_at": recorded_at,
            "target_p95_ms": TARGET_P95_MS,
            "config": {
                "runs": args.runs,
                "warmup": args.warmup,
                "live_runs": args.live_runs,
                "practices": [subject.slug for subject in subjects],
                "data_version": DATA_VERSION,
                "frozen_now": NOW.isoformat(),
                "year": [YEAR[0].isoformat(), YEAR[1].isoformat()],
            },
            "machine": info,
            "data": data,
            "rollups": rollups,
            "rollups_equal_live": consistency,
            "results": results,
        }
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
        shown = args.json.relative_to(REPO_ROOT) if args.json.is_relative_to(REPO_ROOT) else args.json
        print(f"\nWrote {shown}")

        if args.profile in ("rollups", "all"):
            profile(subjects, live=False)
        if args.profile in ("live", "all"):
            profile(subjects, live=True)
        for subject in subjects:
            subject.client.logout()
    if consistency:
        raise SystemExit("Rollups and live differ: " + "; ".join(consistency))


if __name__ == "__main__":
    main()
