"""The availability engine: which times the receptionist may offer.

The engine is pure, so none of this needs a database. The examples pin the rules a front desk
would check by hand; the properties check the same rules on random schedules around both DST
changes, and compare the search with a slow brute-force reference to show it misses nothing.
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from booking.availability import (
    Interval,
    LocationSchedule,
    Preferences,
    ProviderSchedule,
    ResourceSchedule,
    ServiceSpec,
    Slot,
    expand_weekly,
    find_slots,
    first_per_day,
)

NEW_YORK = ZoneInfo("America/New_York")
PHOENIX = ZoneInfo("America/Phoenix")
LONDON = ZoneInfo("Europe/London")

SPRING_FORWARD = date(2026, 3, 8)  # New York skips 2:00-3:00
FALL_BACK = date(2026, 11, 1)  # New York repeats 1:00-2:00
MONDAY = date(2026, 5, 11)  # nowhere near a DST change
NINE_TO_FIVE = (time(9), time(17))
HOUR = timedelta(hours=1)


def local(day: date, hour: int, minute: int = 0, tz: ZoneInfo = NEW_YORK) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=tz)


def weekly(*intervals: tuple[time, time], days: range | set[int] = range(7)) -> dict:
    return {weekday: tuple(intervals) for weekday in days}


def whole_day(day: date, tz: ZoneInfo = NEW_YORK) -> Interval:
    return Interval(local(day, 0, tz=tz), local(day + timedelta(days=1), 0, tz=tz))


def provider(provider_id: int = 1, *, shifts: dict | None = None, time_off=(), busy=()) -> ProviderSchedule:
    return ProviderSchedule(
        id=provider_id, shifts=shifts or weekly(NINE_TO_FIVE), time_off=tuple(time_off), busy=tuple(busy)
    )


def service(
    minutes: int = 60, *, buffer: int = 0, provider_ids=frozenset({1}), resource_ids=frozenset()
) -> ServiceSpec:
    return ServiceSpec(
        id=1,
        duration=timedelta(minutes=minutes),
        buffer_after=timedelta(minutes=buffer),
        provider_ids=frozenset(provider_ids),
        resource_ids=frozenset(resource_ids),
    )


def scenario(
    *,
    day: date = MONDAY,
    days: int = 1,
    tz: ZoneInfo = NEW_YORK,
    hours: dict | None = None,
    closures=(),
    treatment: ServiceSpec | None = None,
    providers=None,
    resources=(),
) -> dict:
    """find_slots arguments for a quiet practice open 9 to 5 every day with one provider, searched
    over `days` local days from `day`, asked the day before so notice and horizon never bite."""
    start = local(day, 0, tz=tz)
    return {
        "service": treatment or service(),
        "location": LocationSchedule(id=7, tz=tz, hours=hours or weekly(NINE_TO_FIVE), closures=tuple(closures)),
        "providers": providers if providers is not None else [provider()],
        "resources": list(resources),
        "window": Interval(start, local(day + timedelta(days=days), 0, tz=tz)),
        "now": start - timedelta(days=1),
        "min_notice": timedelta(0),
    }


def clock(slots: list[Slot]) -> list[str]:
    return [slot.start.strftime("%H:%M") for slot in slots]


def on(day: date, slots: list[Slot]) -> list[Slot]:
    return [slot for slot in slots if slot.start.date() == day]


# An ordinary day.


def test_an_open_day_offers_every_quarter_hour_where_the_visit_fits():
    slots = find_slots(**scenario())

    assert clock(slots)[0] == "09:00"
    assert clock(slots)[-1] == "16:00"
    assert len(slots) == 29
    assert all(slot.end - slot.start == HOUR for slot in slots)
    assert all(slot.start.tzinfo is NEW_YORK for slot in slots)
    assert {(slot.provider_id, slot.resource_id, slot.resource_unit, slot.location_id) for slot in slots} == {
        (1, None, None, 7)
    }


def test_the_grid_counts_from_the_opening_time():
    slots = find_slots(**scenario(hours=weekly((time(9, 10), time(11)))))

    assert clock(slots) == ["09:10", "09:25", "09:40", "09:55"]


def test_a_lunch_break_splits_the_day_and_no_visit_straddles_it():
    slots = find_slots(**scenario(hours=weekly((time(9), time(12)), (time(13), time(17)))))

    assert clock(slots)[:9] == ["09:00", "09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45", "11:00"]
    assert clock(slots)[9] == "13:00"
    assert len(slots) == 9 + 13


def test_slots_follow_the_providers_shift_inside_the_opening_hours():
    slots = find_slots(**scenario(providers=[provider(shifts=weekly((time(12), time(15))))]))

    assert clock(slots) == ["12:00", "12:15", "12:30", "12:45", "13:00", "13:15", "13:30", "13:45", "14:00"]


# Buffers and existing appointments.


def test_the_buffer_after_a_visit_must_also_fit_before_closing():
    slots = find_slots(**scenario(treatment=service(60, buffer=15)))

    assert clock(slots)[-1] == "15:45"
    assert all(slot.end - slot.start == HOUR for slot in slots)


def test_an_existing_appointment_and_its_buffer_block_the_next_start():
    # A 9:30 to 10:30 visit whose 15-minute cleanup runs to 10:45.
    booked = provider(busy=[Interval(local(MONDAY, 9, 30), local(MONDAY, 10, 45))])

    starts = clock(find_slots(**scenario(treatment=service(30), providers=[booked])))

    assert "09:00" in starts
    assert "09:15" not in starts
    assert "10:30" not in starts
    assert "10:45" in starts


def test_the_new_visits_buffer_may_not_run_into_the_next_appointment():
    booked = provider(busy=[Interval(local(MONDAY, 12), local(MONDAY, 13))])

    starts = clock(find_slots(**scenario(treatment=service(60, buffer=15), providers=[booked])))

    assert "10:45" in starts
    assert "11:00" not in starts
    assert "13:00" in starts


# Closures and time off.


def test_a_holiday_closure_offers_nothing_that_day():
    holiday = MONDAY + timedelta(days=1)

    slots = find_slots(**scenario(days=3, closures=[whole_day(holiday)]))

    assert {slot.start.date() for slot in slots} == {MONDAY, MONDAY + timedelta(days=2)}


def test_a_closure_for_part_of_the_day_keeps_visits_clear_of_it():
    staff_meeting = Interval(local(MONDAY, 12), local(MONDAY, 13))

    starts = clock(find_slots(**scenario(closures=[staff_meeting])))

    assert "11:00" in starts
    assert not {"11:15", "11:30", "11:45", "12:00", "12:15", "12:30", "12:45"} & set(starts)
    assert "13:00" in starts


def test_time_off_hides_the_provider_and_a_colleague_takes_those_times():
    away_morning = provider(1, time_off=[Interval(local(MONDAY, 9), local(MONDAY, 13))])
    slots = find_slots(**scenario(treatment=service(provider_ids={1, 2}), providers=[away_morning, provider(2)]))

    by_start = {slot.start.strftime("%H:%M"): slot.provider_id for slot in slots}
    assert by_start["09:00"] == 2
    assert by_start["12:00"] == 2
    assert by_start["13:00"] == 1


# Who performs it.


def test_only_providers_credentialed_for_the_service_are_offered():
    slots = find_slots(**scenario(treatment=service(provider_ids={2}), providers=[provider(1), provider(2)]))

    assert slots
    assert {slot.provider_id for slot in slots} == {2}


def test_a_service_nobody_may_perform_has_no_slots():
    assert find_slots(**scenario(treatment=service(provider_ids=set()))) == []


def test_the_first_eligible_provider_in_the_given_order_is_chosen_every_time():
    both = service(provider_ids={1, 2})

    first_two = find_slots(**scenario(treatment=both, providers=[provider(2), provider(1)]))
    first_one = find_slots(**scenario(treatment=both, providers=[provider(1), provider(2)]))

    assert {slot.provider_id for slot in first_two} == {2}
    assert {slot.provider_id for slot in first_one} == {1}
    assert find_slots(**scenario(treatment=both, providers=[provider(2), provider(1)])) == first_two


# Rooms and devices.


def laser_room(capacity: int, *, room_id: int = 5, busy=()) -> ResourceSchedule:
    return ResourceSchedule(id=room_id, capacity=capacity, busy=tuple(busy))


def test_a_two_unit_room_takes_two_overlapping_visits_and_refuses_a_third():
    ten_to_eleven = Interval(local(MONDAY, 10), local(MONDAY, 11))
    treatment = service(provider_ids={1, 2, 3}, resource_ids={5})
    team = [provider(1), provider(2), provider(3)]

    def at_ten(providers, room):
        slots = find_slots(**scenario(treatment=treatment, providers=providers, resources=[room]))
        return next((slot for slot in slots if slot.start == local(MONDAY, 10)), None)

    first = at_ten(team, laser_room(2))
    assert (first.provider_id, first.resource_id, first.resource_unit) == (1, 5, 1)

    team[0] = provider(1, busy=[ten_to_eleven])
    second = at_ten(team, laser_room(2, busy=[(ten_to_eleven, 1)]))
    assert (second.provider_id, second.resource_id, second.resource_unit) == (2, 5, 2)

    team[1] = provider(2, busy=[ten_to_eleven])
    assert at_ten(team, laser_room(2, busy=[(ten_to_eleven, 1), (ten_to_eleven, 2)])) is None


def test_a_single_room_refuses_an_overlapping_visit():
    room = laser_room(1, busy=[(Interval(local(MONDAY, 10), local(MONDAY, 11)), 1)])

    starts = clock(find_slots(**scenario(treatment=service(resource_ids={5}), resources=[room])))

    assert "09:00" in starts
    assert not {"09:15", "09:30", "09:45", "10:00", "10:15", "10:30", "10:45"} & set(starts)
    assert "11:00" in starts


def test_the_lowest_free_room_and_unit_are_chosen():
    # Only the 9:00 visit overlaps a booking that ends at 9:15.
    first_quarter_hour = Interval(local(MONDAY, 9), local(MONDAY, 9, 15))
    treatment = service(resource_ids={3, 8})

    def at_nine(*rooms):
        slot = find_slots(**scenario(treatment=treatment, resources=rooms))[0]
        assert slot.start == local(MONDAY, 9)
        return slot.resource_id, slot.resource_unit

    assert at_nine(laser_room(1, room_id=8), laser_room(2, room_id=3)) == (3, 1)
    assert at_nine(laser_room(1, room_id=8), laser_room(2, room_id=3, busy=[(first_quarter_hour, 1)])) == (3, 2)
    both_units_busy = laser_room(2, room_id=3, busy=[(first_quarter_hour, 1), (first_quarter_hour, 2)])
    assert at_nine(laser_room(1, room_id=8), both_units_busy) == (8, 1)


def test_a_room_the_caller_did_not_pass_counts_as_unavailable():
    assert find_slots(**scenario(treatment=service(resource_ids={4}))) == []


def test_a_service_that_needs_no_room_ignores_room_bookings():
    room = laser_room(1, busy=[(whole_day(MONDAY), 1)])

    slots = find_slots(**scenario(resources=[room]))

    assert len(slots) == 29
    assert {(slot.resource_id, slot.resource_unit) for slot in slots} == {(None, None)}


# What the patient asked for.


def test_preferences_keep_only_the_asked_for_weekdays():
    tuesdays_and_thursdays = Preferences(weekdays=frozenset({1, 3}))

    slots = find_slots(**scenario(days=7), preferences=tuesdays_and_thursdays)

    assert {slot.start.weekday() for slot in slots} == {1, 3}


@pytest.mark.parametrize(
    ("part", "first", "last"),
    [("morning", "08:00", "11:45"), ("afternoon", "12:00", "16:45"), ("evening", "17:00", "19:00")],
)
def test_preferences_by_part_of_day_use_the_local_start_time(part, first, last):
    open_late = scenario(hours=weekly((time(8), time(20))), providers=[provider(shifts=weekly((time(8), time(20))))])

    slots = find_slots(**open_late, preferences=Preferences(parts_of_day=frozenset({part})))

    assert (clock(slots)[0], clock(slots)[-1]) == (first, last)


def test_preferences_earliest_and_latest_are_inclusive():
    between = Preferences(earliest=time(10, 30), latest=time(14))

    slots = find_slots(**scenario(), preferences=between)

    assert (clock(slots)[0], clock(slots)[-1]) == ("10:30", "14:00")


def test_an_unknown_part_of_day_is_rejected():
    with pytest.raises(ValueError, match="brunch"):
        find_slots(**scenario(), preferences=Preferences(parts_of_day=frozenset({"brunch"})))


# When the search looks.


def test_min_notice_pushes_the_first_offer_to_the_next_grid_time():
    arguments = scenario() | {"now": local(MONDAY, 9, 7), "min_notice": timedelta(hours=2)}

    assert clock(find_slots(**arguments))[0] == "11:15"


def test_nothing_starts_after_the_horizon():
    arguments = scenario(days=10) | {"now": local(MONDAY, 8), "horizon": timedelta(days=2, hours=3)}

    slots = find_slots(**arguments)

    assert slots[-1].start == local(MONDAY + timedelta(days=2), 11)


def test_the_window_end_is_exclusive():
    arguments = scenario(treatment=service(15))
    arguments["window"] = Interval(local(MONDAY, 0), local(MONDAY, 10))

    assert clock(find_slots(**arguments))[-1] == "09:45"


def test_limit_returns_the_earliest_slots():
    everything = find_slots(**scenario(days=3))

    assert find_slots(**scenario(days=3), limit=3) == everything[:3]
    assert find_slots(**scenario(days=3), limit=0) == []


def test_a_naive_now_is_rejected():
    with pytest.raises(ValueError, match="aware"):
        find_slots(**scenario() | {"now": datetime(2026, 5, 10, 9)})


# Three sensible choices.


def test_first_per_day_offers_the_first_slot_on_three_different_days():
    tuesday, wednesday, thursday, friday = (MONDAY + timedelta(days=n) for n in range(1, 5))
    closed_tuesdays = weekly(NINE_TO_FIVE, days={0, 2, 3, 4, 5})
    booked = provider(
        busy=[
            Interval(local(MONDAY, 9), local(MONDAY, 14)),
            Interval(local(wednesday, 9), local(wednesday, 17)),
            Interval(local(thursday, 9), local(thursday, 13)),
        ]
    )

    firsts = first_per_day(**scenario(days=7, hours=closed_tuesdays, providers=[booked]))

    assert [slot.start for slot in firsts] == [local(MONDAY, 14), local(thursday, 13), local(friday, 9)]
    assert tuesday not in {slot.start.date() for slot in firsts}


def test_first_per_day_looks_past_a_fully_booked_fortnight():
    fortnight = [MONDAY + timedelta(days=n) for n in range(15)]
    booked_solid = provider(busy=[Interval(local(day, 9), local(day, 17)) for day in fortnight])

    firsts = first_per_day(days=2, **scenario(days=30, providers=[booked_solid]))

    assert [slot.start for slot in firsts] == [local(MONDAY + timedelta(days=n), 9) for n in (15, 16)]


def test_a_colleague_free_earlier_gets_the_days_first_slot():
    # The first provider in order is only free from 9:15; the second is free at 9:00.
    late_start = provider(1, busy=[Interval(local(MONDAY, 9), local(MONDAY, 9, 15))])

    firsts = first_per_day(
        days=1, **scenario(treatment=service(provider_ids={1, 2}), providers=[late_start, provider(2)])
    )

    assert [(slot.start, slot.provider_id) for slot in firsts] == [(local(MONDAY, 9), 2)]


# Daylight saving time.


def test_the_spring_forward_day_still_opens_at_nine_local_time():
    slots = find_slots(**scenario(day=SPRING_FORWARD - timedelta(days=1), days=2))
    saturday, sunday = on(SPRING_FORWARD - timedelta(days=1), slots), on(SPRING_FORWARD, slots)

    assert clock(saturday)[0] == clock(sunday)[0] == "09:00"
    assert saturday[0].start.utcoffset() == timedelta(hours=-5)
    assert sunday[0].start.utcoffset() == timedelta(hours=-4)
    assert len(saturday) == len(sunday) == 29


def test_the_fall_back_day_still_opens_at_nine_local_time():
    slots = find_slots(**scenario(day=FALL_BACK - timedelta(days=1), days=2))
    saturday, sunday = on(FALL_BACK - timedelta(days=1), slots), on(FALL_BACK, slots)

    assert clock(saturday)[0] == clock(sunday)[0] == "09:00"
    assert saturday[0].start.utcoffset() == timedelta(hours=-4)
    assert sunday[0].start.utcoffset() == timedelta(hours=-5)
    assert len(saturday) == len(sunday) == 29


def test_a_shift_through_the_spring_forward_gap_skips_the_missing_times():
    night = scenario(
        day=SPRING_FORWARD,
        hours=weekly((time(0), time(6))),
        providers=[provider(shifts=weekly((time(1), time(4))))],
        treatment=service(30),
    )

    slots = find_slots(**night)

    assert clock(slots) == ["01:00", "01:15", "01:30", "01:45", "03:00", "03:15", "03:30"]
    # Thirty real minutes, even across the jump: 1:45 EST ends at 3:15 EDT.
    assert all(slot.end.timestamp() - slot.start.timestamp() == 30 * 60 for slot in slots)
    assert slots[3].end.strftime("%H:%M") == "03:15"


def test_the_repeated_hour_at_fall_back_is_offered_once_as_its_first_occurrence():
    night = scenario(
        day=FALL_BACK, hours=weekly((time(0), time(3))), providers=[provider(shifts=weekly((time(0), time(3))))]
    )

    slots = find_slots(**night)

    # The opening lasts four real hours; 2:00 EST is the last start that ends by 3:00 EST.
    assert clock(slots) == ["00:00", "00:15", "00:30", "00:45", "01:00", "01:15", "01:30", "01:45", "02:00"]
    assert {slot.start.utcoffset() for slot in slots[:8]} == {timedelta(hours=-4)}
    assert slots[-1].start.utcoffset() == timedelta(hours=-5)


def test_an_appointment_in_the_second_pass_of_the_repeated_hour_still_blocks():
    # 1:00 to 1:10 EST comes after 1:45 EDT, although its clock reads earlier.
    second_pass = Interval(
        datetime(2026, 11, 1, 1, tzinfo=NEW_YORK, fold=1), datetime(2026, 11, 1, 1, 10, tzinfo=NEW_YORK, fold=1)
    )
    night = scenario(
        day=FALL_BACK,
        hours=weekly((time(0), time(3))),
        providers=[provider(shifts=weekly((time(0), time(3))), busy=[second_pass])],
        treatment=service(30),
    )
    night["window"] = Interval(local(FALL_BACK, 1, 15), local(FALL_BACK, 3))

    slots = find_slots(**night)

    # A 30-minute visit from 1:45 EDT would run to 1:15 EST.
    assert clock(slots) == ["01:15", "01:30", "02:00", "02:15", "02:30"]


@pytest.mark.parametrize("dst_day", [SPRING_FORWARD, FALL_BACK])
def test_phoenix_keeps_the_same_utc_offset_across_new_yorks_dst_days(dst_day):
    slots = find_slots(**scenario(day=dst_day - timedelta(days=1), days=2, tz=PHOENIX))
    day_before, day_of = on(dst_day - timedelta(days=1), slots), on(dst_day, slots)

    assert clock(day_before)[0] == clock(day_of)[0] == "09:00"
    assert {slot.start.utcoffset() for slot in slots} == {timedelta(hours=-7)}
    assert len(day_before) == len(day_of) == 29


def test_expand_weekly_keeps_wall_clock_hours_across_spring_forward():
    intervals = expand_weekly(
        weekly(NINE_TO_FIVE), tz=NEW_YORK, start=SPRING_FORWARD - timedelta(days=1), end=SPRING_FORWARD
    )

    assert [interval.start.hour for interval in intervals] == [9, 9]
    assert [interval.start.utcoffset() for interval in intervals] == [timedelta(hours=-5), timedelta(hours=-4)]
    assert all(interval.end.timestamp() - interval.start.timestamp() == 8 * 3600 for interval in intervals)


def test_expand_weekly_moves_a_skipped_opening_time_to_the_moment_the_clocks_jump():
    [interval] = expand_weekly(weekly((time(2, 30), time(5))), tz=NEW_YORK, start=SPRING_FORWARD, end=SPRING_FORWARD)

    assert interval.start == datetime(2026, 3, 8, 7, tzinfo=UTC)  # 3:00 EDT
    assert interval.start.strftime("%H:%M") == "03:00"


def test_expand_weekly_reads_a_closing_time_of_midnight_as_the_end_of_the_day():
    [interval] = expand_weekly(weekly((time(20), time(0))), tz=NEW_YORK, start=MONDAY, end=MONDAY)

    assert interval.end == local(MONDAY + timedelta(days=1), 0)


def test_an_interval_that_closes_before_it_opens_is_rejected():
    with pytest.raises(ValueError, match="closes before it opens"):
        expand_weekly(weekly((time(17), time(9))), tz=NEW_YORK, start=MONDAY, end=MONDAY)


def test_intervals_that_only_touch_do_not_overlap():
    morning = Interval(local(MONDAY, 9), local(MONDAY, 10))

    assert not morning.overlaps(Interval(local(MONDAY, 10), local(MONDAY, 11)))
    assert morning.overlaps(Interval(local(MONDAY, 9, 59), local(MONDAY, 11)))


def test_overlap_compares_real_instants_in_the_repeated_hour():
    first_time_round = Interval(
        datetime(2026, 11, 1, 1, 40, tzinfo=NEW_YORK), datetime(2026, 11, 1, 1, 50, tzinfo=NEW_YORK)
    )
    second_time_round = Interval(
        datetime(2026, 11, 1, 1, 30, tzinfo=NEW_YORK, fold=1), datetime(2026, 11, 1, 1, 45, tzinfo=NEW_YORK, fold=1)
    )

    assert not first_time_round.overlaps(second_time_round)
    assert first_time_round.overlaps(
        Interval(datetime(2026, 11, 1, 5, 45, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC))
    )


# Properties on random schedules.
#
# Every wall-clock time is on a 15-minute grid and every instant on a 5-minute grid, around both
# DST changes in New York and London and in Phoenix, which has none. Appointments come in UTC or
# in the location's zone, as either could reach the engine.

# The days the clocks change in New York and London; Phoenix keeps its offset all year.
DST_DAYS = {
    NEW_YORK: [SPRING_FORWARD, FALL_BACK],
    LONDON: [date(2026, 3, 29), date(2026, 10, 25)],
    PHOENIX: [SPRING_FORWARD, FALL_BACK],
}
FIVE_MINUTES = timedelta(minutes=5)


def _wall_time(minutes: int) -> time:
    return time(0) if minutes == 24 * 60 else time(minutes // 60, minutes % 60)


@st.composite
def wall_intervals(draw, *, night: bool) -> tuple[time, time]:
    """Mostly daytime hours; often a stretch of the night, where the clocks change; sometimes anything."""
    kind = "night" if night else draw(st.sampled_from(["day", "day", "night", "any"]))
    if kind == "day":
        opens = draw(st.integers(6 * 4, 11 * 4))
        closes = opens + draw(st.integers(4, 96 - opens))
    elif kind == "night":
        opens = draw(st.integers(0, 3 * 4))
        closes = opens + draw(st.integers(1, 6 * 4))
    else:
        opens = draw(st.integers(0, 95))
        closes = opens + draw(st.integers(1, 96 - opens))
    return _wall_time(opens * 15), _wall_time(closes * 15)


@st.composite
def weekly_hours(draw, *, night: bool) -> dict:
    # A weekday is closed one time in four.
    return {
        weekday: tuple(draw(wall_intervals(night=night)) for _ in range(draw(st.sampled_from([1, 1, 2, 0]))))
        for weekday in range(7)
    }


@st.composite
def stretches(draw, origin: datetime, tz: ZoneInfo, *, longest: timedelta) -> Interval:
    start = origin + draw(st.integers(-288, 6 * 288)) * FIVE_MINUTES
    end = start + draw(st.integers(1, longest // FIVE_MINUTES)) * FIVE_MINUTES
    zone = draw(st.sampled_from([UTC, tz]))
    return Interval(start.astimezone(zone), end.astimezone(zone))


@st.composite
def searches(draw, *, night: bool = False) -> dict:
    """find_slots arguments for a small random practice, biased towards searches that find something.

    With `night`, every opening and shift is in the small hours and the search covers the night the
    clocks change.
    """
    tz = draw(st.sampled_from([NEW_YORK, LONDON] if night else [NEW_YORK, PHOENIX, LONDON]))
    dst_day = draw(st.sampled_from(DST_DAYS[tz]))
    origin = local(dst_day, 0, tz=tz).astimezone(UTC)

    def some(longest: timedelta, most: int) -> tuple[Interval, ...]:
        return tuple(draw(st.lists(stretches(origin, tz, longest=longest), max_size=most)))

    hours = draw(weekly_hours(night=night))
    location = LocationSchedule(id=7, tz=tz, hours=hours, closures=some(timedelta(hours=12), 1))
    provider_ids = draw(st.permutations([1, 2, 3]))[: draw(st.integers(1, 3))]
    providers = [
        ProviderSchedule(
            id=provider_id,
            # Often a provider simply works whenever the location is open.
            shifts=draw(st.just(hours) | weekly_hours(night=night)),
            time_off=some(timedelta(hours=8), 1),
            busy=some(timedelta(hours=3), 8),
        )
        for provider_id in provider_ids
    ]
    resources = []
    for room_id in draw(st.permutations([10, 11, 12]))[: draw(st.sampled_from([2, 3, 1, 0]))]:
        capacity = draw(st.sampled_from([1, 2, 1, 3, 0]))
        # Unit capacity + 1 stands for a unit removed after it was booked.
        units = st.integers(1, capacity + 1)
        busy = tuple((interval, draw(units)) for interval in some(timedelta(hours=3), 6))
        resources.append(ResourceSchedule(id=room_id, capacity=capacity, busy=busy))
    # 4 and 13 stand for a provider and a room the caller did not pass.
    credentialed = draw(st.sets(st.sampled_from([1, 2, 3, 4]))) | {draw(st.sampled_from(provider_ids))}
    rooms_needed = set()
    if draw(st.booleans()):
        rooms_needed = draw(st.sets(st.sampled_from([10, 11, 12, 13]), min_size=1, max_size=3))
        if resources:
            rooms_needed.add(draw(st.sampled_from([room.id for room in resources])))
    treatment = ServiceSpec(
        id=1,
        duration=draw(st.integers(1, 24)) * FIVE_MINUTES,
        buffer_after=draw(st.integers(0, 6)) * FIVE_MINUTES,
        provider_ids=frozenset(credentialed),
        resource_ids=frozenset(rooms_needed),
    )
    if night:
        now = origin - timedelta(days=1)
        window_start = origin - timedelta(hours=6)
        window_length = timedelta(days=1)
        horizon = timedelta(days=90)
    else:
        now = origin + draw(st.integers(-432, 144)) * FIVE_MINUTES
        window_start = now + draw(st.integers(-144, 288)) * FIVE_MINUTES
        window_length = draw(st.integers(288, 5 * 288)) * FIVE_MINUTES
        horizon = draw(
            st.just(timedelta(days=90))
            | st.just(timedelta(days=90))
            | st.integers(0, 5 * 96).map(lambda n: n * timedelta(minutes=15))
        )
    quarter_hours = st.integers(0, 95).map(lambda n: _wall_time(n * 15))
    asked_for = st.builds(
        Preferences,
        weekdays=st.none() | st.frozensets(st.integers(0, 6), min_size=1),
        parts_of_day=st.none() | st.frozensets(st.sampled_from(["morning", "afternoon", "evening"]), min_size=1),
        earliest=st.none() | quarter_hours,
        latest=st.none() | quarter_hours,
    )
    preferences = draw(asked_for) if not night and draw(st.sampled_from([False, False, True])) else None
    return {
        "service": treatment,
        "location": location,
        "providers": providers,
        "resources": resources,
        "window": Interval(window_start.astimezone(tz), (window_start + window_length).astimezone(tz)),
        "now": now.astimezone(draw(st.sampled_from([UTC, tz]))),
        "min_notice": draw(st.integers(0, 16)) * timedelta(minutes=15),
        "horizon": horizon,
        "step": draw(st.sampled_from([5, 10, 15, 15, 20, 30, 45, 60])) * timedelta(minutes=1),
        "preferences": preferences,
    }


PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def _seconds(moment: datetime | time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second


def _wanted(preferences: Preferences | None, wall: datetime) -> bool:
    if preferences is None:
        return True
    of_day = _seconds(wall)
    part = "morning" if of_day < 12 * 3600 else "afternoon" if of_day < 17 * 3600 else "evening"
    return (
        (preferences.weekdays is None or wall.weekday() in preferences.weekdays)
        and (preferences.parts_of_day is None or part in preferences.parts_of_day)
        and (preferences.earliest is None or of_day >= _seconds(preferences.earliest))
        and (preferences.latest is None or of_day <= _seconds(preferences.latest))
    )


def _clear_of(start: float, end: float, intervals) -> bool:
    return all(interval.end.timestamp() <= start or interval.start.timestamp() >= end for interval in intervals)


@PROPERTY_SETTINGS
@given(searches())
def test_offered_slots_respect_every_schedule_rule(arguments):
    """Checked slot by slot against the inputs, without trusting the search's own bookkeeping."""
    slots = find_slots(**arguments)
    location, treatment = arguments["location"], arguments["service"]
    providers = {schedule.id: schedule for schedule in arguments["providers"]}
    rooms = {room.id: room for room in arguments["resources"]}
    now = arguments["now"].timestamp()
    span = (treatment.duration + treatment.buffer_after).total_seconds()

    starts = [slot.start.timestamp() for slot in slots]
    assert starts == sorted(set(starts)), "one slot per start, earliest first"
    for slot in slots:
        start = slot.start.timestamp()
        end = start + span
        day = slot.start.date()
        wall = slot.start.replace(tzinfo=None)
        assert slot.start.tzinfo is location.tz
        assert slot.location_id == location.id
        assert slot.end.timestamp() - start == treatment.duration.total_seconds()

        assert start >= now + arguments["min_notice"].total_seconds()
        assert start <= now + arguments["horizon"].total_seconds()
        assert arguments["window"].start.timestamp() <= start < arguments["window"].end.timestamp()
        assert _wanted(arguments["preferences"], wall)

        openings = expand_weekly(location.hours, tz=location.tz, start=day, end=day)
        assert any(o.start.timestamp() <= start and end <= o.end.timestamp() for o in openings)
        assert _clear_of(start, end, location.closures)
        step = arguments["step"]
        assert any(
            datetime.combine(day, opens) <= wall and (wall - datetime.combine(day, opens)) % step == timedelta(0)
            for opens, _ in location.hours.get(day.weekday(), ())
        ), "on the step grid of an opening"

        assert slot.provider_id in treatment.provider_ids
        schedule = providers[slot.provider_id]
        shifts = expand_weekly(schedule.shifts, tz=location.tz, start=day, end=day)
        assert any(s.start.timestamp() <= start and end <= s.end.timestamp() for s in shifts)
        assert _clear_of(start, end, schedule.time_off)
        assert _clear_of(start, end, schedule.busy)

        if treatment.resource_ids:
            assert slot.resource_id in treatment.resource_ids
            room = rooms[slot.resource_id]
            assert 1 <= slot.resource_unit <= room.capacity
            assert _clear_of(start, end, [interval for interval, unit in room.busy if unit == slot.resource_unit])
        else:
            assert (slot.resource_id, slot.resource_unit) == (None, None)


@cache
def _boundary(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant a wall-clock boundary means: its first occurrence, or for a time the clocks skip,
    the moment they jump past it (found by walking forward from just before the jump)."""
    first = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    instant = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while instant.astimezone(tz).replace(tzinfo=None) < wall:
        instant += FIVE_MINUTES
    return instant


def _walls(day: date, opens: time, closes: time) -> tuple[datetime, datetime]:
    end_day = day + timedelta(days=1) if closes == time(0) else day
    return datetime.combine(day, opens), datetime.combine(end_day, closes)


def _brute_force_slots(arguments) -> list[tuple]:
    """Every grid time of every opening, each rule checked directly against every input."""
    location, treatment, tz = arguments["location"], arguments["service"], arguments["location"].tz
    step, preferences = arguments["step"], arguments["preferences"]
    now = arguments["now"].astimezone(UTC)
    earliest = max(arguments["window"].start.astimezone(UTC), now + arguments["min_notice"])
    window_end, horizon_end = arguments["window"].end.astimezone(UTC), now + arguments["horizon"]
    span = treatment.duration + treatment.buffer_after
    eligible = [schedule for schedule in arguments["providers"] if schedule.id in treatment.provider_ids]
    rooms = sorted(
        (room for room in arguments["resources"] if room.id in treatment.resource_ids), key=lambda room: room.id
    )

    def fits(start: datetime, end: datetime, day: date, weekly: dict) -> bool:
        return any(
            _boundary(opens_at, tz) <= start and end <= _boundary(closes_at, tz)
            for opens_at, closes_at in (_walls(day, *interval) for interval in weekly.get(day.weekday(), ()))
        )

    def clear(start: datetime, end: datetime, intervals) -> bool:
        return _clear_of(start.timestamp(), end.timestamp(), intervals)

    found = {}
    day = earliest.astimezone(tz).date() - timedelta(days=1)
    while day <= min(window_end, horizon_end).astimezone(tz).date() + timedelta(days=1):
        for interval in location.hours.get(day.weekday(), ()):
            opens_at, closes_at = _walls(day, *interval)
            wall = opens_at
            while wall < closes_at:
                start = wall.replace(tzinfo=tz).astimezone(UTC)
                exists = start.astimezone(tz).replace(tzinfo=None) == wall
                end = start + span
                if (
                    exists
                    and earliest <= start < window_end
                    and start <= horizon_end
                    and _wanted(preferences, wall)
                    and _boundary(opens_at, tz) <= start
                    and end <= _boundary(closes_at, tz)
                    and clear(start, end, location.closures)
                ):
                    performer = next(
                        (
                            schedule.id
                            for schedule in eligible
                            if fits(start, end, day, schedule.shifts)
                            and clear(start, end, schedule.time_off)
                            and clear(start, end, schedule.busy)
                        ),
                        None,
                    )
                    room = next(
                        (
                            (room.id, unit)
                            for room in rooms
                            for unit in range(1, room.capacity + 1)
                            if clear(start, end, [booked for booked, on_unit in room.busy if on_unit == unit])
                        ),
                        None,
                    )
                    if performer is not None and (room is not None or not treatment.resource_ids):
                        room_id, unit = room or (None, None)
                        end_of_visit = start + treatment.duration
                        found[start] = (start.timestamp(), end_of_visit.timestamp(), performer, room_id, unit)
                wall += step
        day += timedelta(days=1)
    return [found[start] for start in sorted(found)]


def _as_tuple(slot: Slot) -> tuple:
    # Timestamps, because == between zones is always False for a time in the repeated hour (PEP 495).
    return (slot.start.timestamp(), slot.end.timestamp(), slot.provider_id, slot.resource_id, slot.resource_unit)


@PROPERTY_SETTINGS
@given(searches())
def test_the_search_misses_no_free_time_that_a_brute_force_check_finds(arguments):
    assert [_as_tuple(slot) for slot in find_slots(**arguments)] == _brute_force_slots(arguments)


@PROPERTY_SETTINGS
@given(searches(night=True))
def test_the_search_matches_the_brute_force_check_through_the_night_the_clocks_change(arguments):
    slots = find_slots(**arguments)

    assert [_as_tuple(slot) for slot in slots] == _brute_force_slots(arguments)
    assert all(
        slot.start.replace(tzinfo=None) == slot.start.astimezone(UTC).astimezone(slot.start.tzinfo).replace(tzinfo=None)
        for slot in slots
    ), "every start is a wall time that exists"


@PROPERTY_SETTINGS
@given(searches(), st.integers(1, 4))
def test_first_per_day_is_the_first_slot_of_each_day_and_limit_a_prefix(arguments, count):
    slots = find_slots(**arguments)
    firsts: dict[date, Slot] = {}
    for slot in slots:
        firsts.setdefault(slot.start.date(), slot)

    assert first_per_day(days=count, **arguments) == list(firsts.values())[:count]
    assert find_slots(**arguments, limit=count) == slots[:count]
