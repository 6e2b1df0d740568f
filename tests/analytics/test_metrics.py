"""Every figure of the dashboard against the hand-built week in conftest.py, whose answers are known."""

from datetime import date, datetime
from decimal import Decimal

import pytest

from analytics.filters import Filters
from analytics.selectors import dashboard, percentile, series_overview, series_review
from analytics.services import rollups_compute
from booking.models import SeriesEnrollment
from calls.models import Call
from tests.factories import AppointmentFactory, ProviderFactory

from .conftest import NY, WEEK


def figures(week, **filters):
    return dashboard(week["practice"], Filters(start=WEEK[0], end=WEEK[1], **filters), rollups=False).figures


@pytest.fixture
def week_figures(week):
    return figures(week)


def test_calls_missed_reasons_and_after_hours_share(week_figures):
    calls = week_figures["calls"]
    assert (calls["total"], calls["answered"], calls["missed"]) == (8, 1, 7)
    assert calls["after_hours"] == 1
    assert calls["after_hours_share"] == 12.5
    assert [(row["reason"], row["count"]) for row in calls["missed_reasons"]] == [
        ("no_answer", 5),
        ("after_hours", 1),
        ("busy", 1),
    ]


def test_speed_to_lead_includes_the_text_back_deferred_by_quiet_hours(week_figures):
    speed = week_figures["speed_to_lead"]
    # Seconds to the first message: 5, 10, 3, 2 and 30,600 (11:30 pm call, text at 8:00 am).
    assert speed["texted"] == 5
    assert speed["median_seconds"] == 5
    assert speed["p90_seconds"] == 30600
    assert speed["within_60_seconds"] == 4


def test_recovery_funnel_counts_and_rates(week_figures):
    funnel = {row["stage"]: (row["count"], row["rate"]) for row in week_figures["funnel"]}
    assert funnel == {
        "missed": (7, None),
        "texted": (5, 71.4),  # the busy caller and the Phoenix caller were never texted
        "replied": (4, 80.0),  # the repeat caller did not reply the second time
        "qualified": (3, 75.0),  # the lip filler asker after hours was never offered times
        "booked": (3, 100.0),
        "showed": (1, 33.3),  # one completed; one cancelled; one no-show
    }


def test_revenue_recovered_leaves_out_the_cancelled_visit_and_the_unattributed_one(week_figures):
    assert week_figures["recovered"] == {
        "booked_calls": 3,
        "booked_value": Decimal("800.00"),  # botox 400 completed + botox 400 no-show; filler cancelled
        "showed_value": Decimal("400.00"),
        "completed_value": Decimal("400.00"),
    }
    # All bookings made in the week, recovered or not (the repeat caller's visit of Dec 4 too).
    assert week_figures["bookings"] == {"count": 4, "value": Decimal("1900.00")}


def test_show_no_show_cancellations_and_reasons(week_figures):
    visits = week_figures["visits"]
    assert (visits["total"], visits["showed"], visits["no_show"], visits["cancelled"]) == (3, 1, 1, 1)
    assert (visits["show_rate"], visits["no_show_rate"], visits["cancellation_rate"]) == (50.0, 50.0, 33.3)
    assert visits["cancel_reasons"] == [{"reason": "Schedule conflict", "count": 1}]


def test_reminder_confirmations(week_figures):
    assert week_figures["reminders"] == {"reminded": 2, "confirmed": 1, "confirmation_rate": 50.0}


def test_escalations_by_category_with_median_time_to_claim(week_figures):
    rows = {
        row["category"]: (row["count"], row["claimed"], row["median_claim_seconds"])
        for row in week_figures["escalations"]
    }
    assert rows == {"clinical": (2, 2, 420.0), "emergency": (1, 1, 60), "complaint": (1, 0, None)}


def test_campaign_attribution(week_figures):
    rows = {row["source"]: row for row in week_figures["campaigns"]}
    assert set(rows) == {"spring", "direct"}
    spring = rows["spring"]
    assert spring["name"] == "Spring glow"
    assert (spring["calls"], spring["missed"], spring["recovered_bookings"], spring["bookings"]) == (2, 1, 1, 1)
    assert spring["bookings_value"] == Decimal("400.00")
    direct = rows["direct"]
    assert (direct["calls"], direct["missed"], direct["recovered_bookings"], direct["bookings"]) == (6, 6, 2, 3)


def test_heatmap_places_calls_on_their_local_weekday_and_hour(week_figures):
    grid = {row["weekday"]: row["hours"] for row in week_figures["heatmap"]}
    assert [hour for hour, count in enumerate(grid["Tue"]) if count] == [10, 11, 23]
    assert [hour for hour, count in enumerate(grid["Wed"]) if count] == [12, 13]  # 13:00 is Phoenix time
    assert [hour for hour, count in enumerate(grid["Thu"]) if count] == [9, 15]
    assert sum(sum(hours) for hours in grid.values()) == 8


def test_a_call_at_1130_pm_local_counts_on_its_local_day(week):
    tuesday = dashboard(week["practice"], Filters(start=date(2026, 12, 1), end=date(2026, 12, 1)), rollups=False)
    wednesday = dashboard(week["practice"], Filters(start=date(2026, 12, 2), end=date(2026, 12, 2)), rollups=False)
    # Tuesday: 10:00, 11:00 and 11:30 pm (already Wednesday in UTC); not Monday's 11:30 pm call.
    assert tuesday.figures["calls"]["total"] == 3
    assert tuesday.figures["calls"]["after_hours"] == 1
    assert wednesday.figures["calls"]["total"] == 2
    assert [row["calls"] for row in tuesday.figures["daily"]] == [3]


def test_filters_by_location_source_and_service(week):
    phoenix = figures(week, location_id=week["phoenix"].pk)
    assert (phoenix["calls"]["total"], phoenix["calls"]["missed"], phoenix["funnel"][1]["count"]) == (1, 1, 0)
    assert phoenix["escalations"] == []  # every escalation came through the Manhattan number

    spring = figures(week, source="spring")
    assert [row["count"] for row in spring["funnel"]] == [1, 1, 1, 1, 1, 0]
    assert spring["calls"]["total"] == 2
    assert spring["bookings"]["count"] == 1

    filler = figures(week, service_id=week["filler"].pk)
    # The two callers who asked about lip filler, one of whom booked it and cancelled.
    assert [row["count"] for row in filler["funnel"]] == [2, 2, 2, 1, 1, 0]
    assert (filler["visits"]["cancelled"], filler["bookings"]["count"]) == (1, 1)
    assert filler["bookings"]["value"] == Decimal("700.00")


def test_series_figures(week):
    assert series_overview(week["practice"]) == {
        "active": 4,
        "on_cadence": 1,
        "due": 1,
        "late": 2,
        "escalated": 0,
        "paused": 0,
        "completed": 1,
        "on_cadence_rate": 25.0,
        "average_days_overdue": 7.0,  # 9 and 5 days past their windows on Dec 10
    }


def test_one_practice_never_counts_another(week):
    theirs = dashboard(week["other"], Filters(start=WEEK[0], end=WEEK[1]), rollups=False).figures
    assert theirs["calls"]["total"] == 3
    assert [row["count"] for row in theirs["funnel"]] == [3, 3, 3, 3, 3, 3]
    assert theirs["recovered"]["completed_value"] == Decimal("2997.00")
    assert theirs["series"]["active"] == 0
    # and ours is unchanged by theirs (the same phones, the same days)
    assert figures(week)["recovered"]["completed_value"] == Decimal("400.00")


def test_rollups_equal_the_live_computation(week):
    practice = week["practice"]
    rows = rollups_compute(practice=practice, start=date(2026, 11, 25), end=date(2026, 12, 9))
    assert rows > 0
    for filters in [
        Filters(start=WEEK[0], end=WEEK[1]),
        Filters(start=date(2026, 11, 28), end=date(2026, 12, 10)),  # rollups plus today, live
        Filters(start=WEEK[0], end=WEEK[1], location_id=week["manhattan"].pk),
        Filters(start=WEEK[0], end=WEEK[1], source="spring"),
        Filters(start=WEEK[0], end=WEEK[1], service_id=week["botox"].pk),
    ]:
        assert dashboard(practice, filters).figures == dashboard(practice, filters, rollups=False).figures


def test_the_dashboard_reads_stored_rollups_for_closed_days(week):
    practice = week["practice"]
    rollups_compute(practice=practice, start=WEEK[0], end=WEEK[1])
    Call.objects.filter(practice=practice, missed_reason="busy").delete()
    week_filters = Filters(start=WEEK[0], end=WEEK[1])
    assert dashboard(practice, week_filters).figures["calls"]["total"] == 8  # as stored
    assert dashboard(practice, week_filters, rollups=False).figures["calls"]["total"] == 7
    rollups_compute(practice=practice, start=WEEK[0], end=WEEK[1])
    assert dashboard(practice, week_filters).figures["calls"]["total"] == 7


def test_today_is_never_rolled_up(week):
    practice = week["practice"]
    assert rollups_compute(practice=practice, start=date(2026, 12, 10), end=date(2026, 12, 12)) == 0


def test_percentile_is_nearest_rank():
    assert percentile([], 0.9) is None
    assert percentile([7], 0.9) == 7
    assert percentile(list(range(1, 11)), 0.9) == 9
    assert percentile(list(range(1, 12)), 0.9) == 10


def test_series_review_per_template_and_provider(week):
    practice = week["practice"]
    late = SeriesEnrollment.objects.filter(practice=practice, status="late").order_by("next_due_until")
    due = SeriesEnrollment.objects.get(practice=practice, status="due")
    ana, ben = (
        ProviderFactory(practice=practice, first_name="Ana"),
        ProviderFactory(practice=practice, first_name="Ben"),
    )

    def series_visit(enrollment, provider, day, status, **extra):
        start = datetime(2026, 12, day, 10, tzinfo=NY)
        return AppointmentFactory(
            practice=practice,
            location=week["manhattan"],
            patient=enrollment.patient,
            service=week["botox"],
            provider=provider,
            starts_at=start,
            status=status,
            value=Decimal("400"),
            enrollment=enrollment,
            **extra,
        )

    series_visit(late[0], ana, 1, "completed")
    series_visit(late[1], ana, 2, "completed")
    series_visit(due, ben, 3, "cancelled", cancellation_reason="Feeling unwell")
    series_visit(due, ben, 4, "no_show")
    series_visit(due, ben, 8, "completed")  # the week after
    # The due patient has the next visit booked.
    series_visit(due, ana, 15, "booked")

    review = series_review(practice, week_start=date(2026, 12, 2))
    assert (review["week_start"], review["week_end"]) == (date(2026, 11, 30), date(2026, 12, 6))
    [tox] = review["templates"]
    assert tox["started"] == 5
    assert (tox["visits_completed"], tox["visits_cancelled"], tox["no_shows"]) == (2, 1, 1)
    assert tox["next_visit_booked"] == 1
    assert (tox["late"], tox["average_days_overdue"], tox["most_days_overdue"]) == (2, 7.0, 9)
    assert tox["cancellation_reasons"] == [("Feeling unwell", 1)]
    assert tox["revenue"] == Decimal("800.00")
    providers = {row["provider"].split()[0]: row for row in review["providers"]}
    assert (providers["Ana"]["visits_completed"], providers["Ana"]["revenue"]) == (2, Decimal("800.00"))
    assert (providers["Ben"]["visits_cancelled"], providers["Ben"]["no_shows"], providers["Ben"]["revenue"]) == (
        1,
        1,
        Decimal("0.00"),
    )
