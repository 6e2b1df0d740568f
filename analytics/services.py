"""Writing rollups: the only writes analytics makes, and only to its own tables."""

from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from practices.models import Practice

from . import facts as daily
from .models import DailyRollup, RollupDay
from .selectors import practice_today

# Outcomes settle late (a visit booked today shows up weeks later), so the nightly run recomputes
# this many closed days; `manage.py analytics_rollup` recomputes any range.
RECOMPUTE_DAYS = 90


@transaction.atomic
def rollups_compute(*, practice: Practice, start: date, end: date) -> int:
    """Recompute the stored facts of the closed local days start..end (today and later stay live).
    Safe to run any number of times. Returns the number of rows stored."""
    end = min(end, practice_today(practice) - timedelta(days=1))
    if start > end:
        return 0
    facts = daily.compute(practice, start, end)
    DailyRollup.objects.filter(practice=practice, day__gte=start, day__lte=end).delete()
    RollupDay.objects.filter(practice=practice, day__gte=start, day__lte=end).delete()
    rows = DailyRollup.objects.bulk_create(
        [
            DailyRollup(
                practice=practice,
                day=key.day,
                location_id=key.location_id,
                source=key.source,
                service_id=key.service_id,
                facts=daily.normalized(value),
            )
            for key, value in facts.items()
        ],
        batch_size=1000,
    )
    now = timezone.now()
    RollupDay.objects.bulk_create(
        [
            RollupDay(practice=practice, day=start + timedelta(days=offset), computed_at=now)
            for offset in range((end - start).days + 1)
        ],
        batch_size=1000,
    )
    return len(rows)


def rollups_due(practice: Practice) -> bool:
    """True until the practice's days have been recomputed after its latest local midnight."""
    today = practice_today(practice)
    midnight = timezone.make_aware(timezone.datetime.combine(today, timezone.datetime.min.time()), practice.zone)
    return not RollupDay.objects.filter(
        practice=practice, day=today - timedelta(days=1), computed_at__gte=midnight
    ).exists()


def rollups_nightly() -> dict[str, int]:
    """Run hourly: each practice whose local day has turned gets its last RECOMPUTE_DAYS closed days
    recomputed, once a day."""
    stored = {}
    for practice in Practice.objects.filter(is_active=True):
        if not rollups_due(practice):
            continue
        yesterday = practice_today(practice) - timedelta(days=1)
        stored[practice.slug] = rollups_compute(
            practice=practice, start=yesterday - timedelta(days=RECOMPUTE_DAYS - 1), end=yesterday
        )
    return stored
