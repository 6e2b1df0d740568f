"""The rollups' schedule and command: once a day per practice, any past range on demand."""

from datetime import date

import pytest
from django.core.management import CommandError, call_command
from django_q.models import Schedule
from django_q.tasks import async_task

from analytics.models import DailyRollup, RollupDay
from analytics.services import RECOMPUTE_DAYS
from medspa_receptionist.tasks import ensure_schedules


def test_the_schedule_is_registered(db):
    ensure_schedules()  # what every migrate runs
    schedule = Schedule.objects.get(name="analytics-rollups")
    assert (schedule.func, schedule.schedule_type) == ("analytics.tasks.rollups_nightly", Schedule.HOURLY)


def test_the_task_runs_through_django_q_once_per_local_day(week, clock):
    practice = week["practice"]
    async_task("analytics.tasks.rollups_nightly", sync=True)
    days = RollupDay.objects.filter(practice=practice)
    assert days.count() == RECOMPUTE_DAYS
    assert max(days.values_list("day", flat=True)) == date(2026, 12, 9)  # yesterday; today stays live
    stored = DailyRollup.objects.filter(practice=practice).count()
    assert stored > 0
    first_run = set(days.values_list("computed_at", flat=True))

    async_task("analytics.tasks.rollups_nightly", sync=True)  # an hour later, the same local day
    assert set(RollupDay.objects.filter(practice=practice).values_list("computed_at", flat=True)) == first_run

    clock.move_to("2026-12-11 00:30:00-05:00")  # just after midnight in New York
    async_task("analytics.tasks.rollups_nightly", sync=True)
    assert max(RollupDay.objects.filter(practice=practice).values_list("day", flat=True)) == date(2026, 12, 10)


def test_the_command_recomputes_a_past_range(week, capsys):
    call_command("analytics_rollup", practice=week["practice"].slug, start=date(2026, 12, 1), end=date(2026, 12, 7))
    assert RollupDay.objects.filter(practice=week["practice"]).count() == 7
    assert "2026-12-01 to 2026-12-07" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No practice"):
        call_command("analytics_rollup", practice="nope")
    with pytest.raises(CommandError, match="must not be after"):
        call_command("analytics_rollup", practice=week["practice"].slug, start=date(2026, 12, 7), end=date(2026, 12, 1))
