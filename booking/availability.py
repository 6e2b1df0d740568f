"""When a med spa can see a patient: the availability engine.

Everything here is a pure function over frozen dataclasses. The model layer translates rows into
them, so every booking rule can be tested without a database and the receptionist can search a
month of a busy practice in a few milliseconds.

Opening hours and shifts are wall-clock times ("9:00 to 17:00") that mean a different instant on
each local date, so they are expanded one local date at a time with zoneinfo. Durations are real
elapsed time.

Inside the search every instant is an aware datetime in UTC (the `datetime.UTC` object itself).
UTC has no DST, so adding a duration gives real elapsed time, and datetimes that share one tzinfo
compare field by field, which is fast and, for UTC, exact. Two datetimes in the same ZoneInfo
would compare by wall clock and misorder the repeated hour at fall back. Appointment times loaded
from the database are UTC already, so the bulk of the input needs no conversion at all.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

WeeklyHours = Mapping[int, tuple[tuple[time, time], ...]]
"""Weekday (Monday is 0) to that day's (opens, closes) wall-clock intervals."""

PARTS_OF_DAY = frozenset({"morning", "afternoon", "evening"})

_NOON = 12 * 3600
_FIVE_PM = 17 * 3600
_MIDNIGHT = time(0)
_ONE_DAY = timedelta(days=1)
# A stretch of days converted at once when the caller only wants the first few slots.
_FIRST_STRETCH = timedelta(days=7)
_DAWN = datetime.min.replace(tzinfo=UTC)
# Widening for the cheap pre-filter in _near_bounds: wall-clock comparison can be off by at
# most the largest UTC offset change in tzdata (Samoa skipped a whole day in 2011).
_PREFILTER_MARGIN = timedelta(days=2)
_NO_ROOM = object()  # marks a candidate start that no room or device can host

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Interval:
    """A half-open stretch of time [start, end) between two aware datetimes."""

    start: datetime
    end: datetime

    def overlaps(self, other: Interval) -> bool:
        # Timestamps, because datetimes in the same ZoneInfo compare by wall clock and would put
        # 1:10 EST before 1:45 EDT on the night the clocks fall back.
        return self.start.timestamp() < other.end.timestamp() and other.start.timestamp() < self.end.timestamp()


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """A bookable treatment, with who and what it needs already resolved by the caller."""

    id: int
    duration: timedelta
    # Cleanup and room turnover after the visit; it blocks both the provider and the room.
    buffer_after: timedelta = timedelta(0)
    # Providers credentialed to perform it. Nobody listed means nobody may book it.
    provider_ids: frozenset[int] = frozenset()
    # Rooms or devices that can host it. Empty means it needs none.
    resource_ids: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class LocationSchedule:
    """When a location's doors are open."""

    id: int
    tz: ZoneInfo
    # Several intervals a day allow a lunch break. A closing time of 00:00 means midnight.
    hours: WeeklyHours
    # Holidays and other closures; a holiday is the whole local day.
    closures: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderSchedule:
    """One provider's working time at this location."""

    id: int
    shifts: WeeklyHours
    time_off: tuple[Interval, ...] = ()
    # Existing active appointments, each already extended by its own buffer_after.
    busy: tuple[Interval, ...] = ()


@dataclass(frozen=True, slots=True)
class ResourceSchedule:
    """A treatment room or device; capacity is how many visits it can host at once."""

    id: int
    # Units are numbered 1..capacity so that each booking holds one identifiable unit.
    capacity: int = 1
    # (interval including buffer, unit number) of existing appointments.
    busy: tuple[tuple[Interval, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the patient asked for, judged by the local start time of the visit."""

    weekdays: frozenset[int] | None = None
    # Subset of PARTS_OF_DAY: morning before 12:00, afternoon 12:00 to 17:00, evening from 17:00.
    parts_of_day: frozenset[str] | None = None
    earliest: time | None = None
    latest: time | None = None


@dataclass(frozen=True, slots=True)
class Slot:
    """One time the receptionist may offer, with who and which room unit would take it."""

    start: datetime  # aware, in the location's ZoneInfo
    end: datetime  # start + duration in real elapsed time; the buffer is not included
    provider_id: int
    resource_id: int | None
    resource_unit: int | None
    location_id: int


def find_slots(
    *,
    service: ServiceSpec,
    location: LocationSchedule,
    providers: Sequence[ProviderSchedule],
    resources: Sequence[ResourceSchedule],
    window: Interval,
    now: datetime,
    min_notice: timedelta = timedelta(hours=2),
    horizon: timedelta = timedelta(days=90),
    step: timedelta = timedelta(minutes=15),
    preferences: Preferences | None = None,
    limit: int | None = None,
) -> list[Slot]:
    """Every start time the practice could book for `service`, earliest first.

    A start is offered when the visit plus its buffer fits inside one open interval of the location
    that day (outside closures), inside one shift of an eligible provider (outside their time off),
    clear of that provider's appointments, and, if the service needs a room or device, inside a
    free unit of one of them. Starts lie on a `step` grid counted in local wall time from each
    opening time. Each start is offered once: the first eligible provider in `providers` order and
    the lowest free (resource id, unit). Resources listed in the service but missing from
    `resources` are treated as unavailable, so nothing is ever double-booked on missing data.
    """
    if limit is not None and limit <= 0:
        return []
    search = _Search(
        service=service,
        location=location,
        providers=providers,
        resources=resources,
        window=window,
        now=now,
        min_notice=min_notice,
        horizon=horizon,
        step=step,
        preferences=preferences,
        # Without a limit every day is needed, so one conversion pass over the appointments is
        # cheapest; with a limit the first week usually answers.
        whole_range=limit is None,
    )
    slots: list[Slot] = []
    for day in search.days():
        slots += search.slots_on(day)
        if limit is not None and len(slots) >= limit:
            return slots[:limit]
    return slots


def first_per_day(
    *,
    days: int = 3,
    service: ServiceSpec,
    location: LocationSchedule,
    providers: Sequence[ProviderSchedule],
    resources: Sequence[ResourceSchedule],
    window: Interval,
    now: datetime,
    min_notice: timedelta = timedelta(hours=2),
    horizon: timedelta = timedelta(days=90),
    step: timedelta = timedelta(minutes=15),
    preferences: Preferences | None = None,
) -> list[Slot]:
    """The earliest slot on each of the next `days` local dates that have one.

    This is the "three sensible choices" offer. It takes the same arguments as find_slots (except
    `limit`, which `days` replaces) and looks at each date only until that date's first slot.
    """
    if days <= 0:
        return []
    search = _Search(
        service=service,
        location=location,
        providers=providers,
        resources=resources,
        window=window,
        now=now,
        min_notice=min_notice,
        horizon=horizon,
        step=step,
        preferences=preferences,
        whole_range=False,
    )
    firsts: list[Slot] = []
    for day in search.days():
        found = search.slots_on(day, first_only=True)
        if found:
            firsts.append(found[0])
            if len(firsts) == days:
                break
    return firsts


def expand_weekly(weekly: WeeklyHours, *, tz: ZoneInfo, start: date, end: date) -> list[Interval]:
    """Weekly wall-clock intervals as aware intervals on each local date from `start` to `end`
    inclusive, sorted.

    Each date is converted on its own, so 9:00 is 9:00 on both sides of a DST change. An ambiguous
    wall time (the repeated hour at fall back) means its first occurrence; a wall time the clocks
    skip (spring forward) means the moment they jump. A closing time of 00:00 is midnight at the
    end of the date; any other closing time at or before the opening time is a ValueError.
    """
    intervals: list[Interval] = []
    day = start
    while day <= end:
        for opening in _expand_day(weekly.get(day.weekday(), ()), day, tz):
            intervals.append(Interval(opening.start.astimezone(tz), opening.end.astimezone(tz)))
        day += _ONE_DAY
    return intervals


# Wall clock to instants.


@dataclass(frozen=True, slots=True)
class _Opening:
    """One wall-clock interval on one local date, with its instants in UTC."""

    wall_start: datetime  # naive local
    wall_end: datetime  # naive local
    start: datetime
    end: datetime
    # True when the UTC offset is the same all through, so grid steps are plain additions.
    steady: bool


def _existing_instant(wall: datetime, tz: ZoneInfo) -> datetime | None:
    """The UTC instant of a naive local wall time, or None when the clocks skip it.

    An ambiguous wall time takes its first occurrence (fold=0).
    """
    instant = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if instant.astimezone(tz).replace(tzinfo=None) != wall:
        return None
    return instant


def _jump_instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The UTC instant at which the clocks jump forward over the skipped wall time `wall`."""
    # Read with the offset from after the jump, a skipped time lands before the jump; read with
    # the offset from before it, after. The jump itself is found by bisection on whole seconds,
    # which is where tzdata puts every transition.
    before = math.floor(wall.replace(tzinfo=tz, fold=1).timestamp())
    after = math.ceil(wall.replace(tzinfo=tz, fold=0).timestamp())
    while after - before > 1:
        middle = (before + after) // 2
        if datetime.fromtimestamp(middle, tz).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return datetime.fromtimestamp(after, UTC)


def _expand_day(intervals: Iterable[tuple[time, time]], day: date, tz: ZoneInfo) -> list[_Opening]:
    openings: list[_Opening] = []
    for opens, closes in sorted(intervals):
        wall_start = datetime.combine(day, opens).replace(tzinfo=None, fold=0)
        if closes.replace(tzinfo=None, fold=0) == _MIDNIGHT:
            wall_end = datetime.combine(day + _ONE_DAY, _MIDNIGHT)
        else:
            wall_end = datetime.combine(day, closes).replace(tzinfo=None, fold=0)
        if wall_end <= wall_start:
            raise ValueError(f"Interval {opens}-{closes} closes before it opens.")
        first = _existing_instant(wall_start, tz)
        last = _existing_instant(wall_end, tz)
        start = first if first is not None else _jump_instant(wall_start, tz)
        end = last if last is not None else _jump_instant(wall_end, tz)
        if end <= start:
            continue  # the whole interval fell into skipped time
        # Elapsed time equal to the wall-clock length means no offset change in between.
        steady = first is not None and last is not None and end - start == wall_end - wall_start
        openings.append(_Opening(wall_start, wall_end, start, end, steady))
    return openings


# Interval algebra on (start, end) pairs of UTC datetimes.


def _near_bounds(first: datetime, lo: datetime, hi: datetime) -> tuple[datetime, datetime]:
    """Bounds a little wider than [lo, hi), in the zone of `first`, for a cheap pre-filter.

    Comparing datetimes that share a tzinfo only compares their fields, far cheaper than the
    conversion an exact comparison needs, so the search converts and sorts only the appointments
    near the days it looks at. Such a comparison reads wall clocks, which can be off by a UTC offset
    change; the margin covers that. Intervals in any other zone still compare exactly, only slower.
    """
    zone = first.tzinfo
    return (lo - _PREFILTER_MARGIN).astimezone(zone), (hi + _PREFILTER_MARGIN).astimezone(zone)


# In the two functions below, `x if x.tzinfo is UTC else x.astimezone(UTC)` is written out rather
# than called, because it runs for every appointment in range and a call costs more than the test.


def _instants_near(intervals: Sequence[Interval], lo: datetime, hi: datetime) -> list[tuple[datetime, datetime]]:
    """The intervals that reach into [lo, hi), and perhaps a few just outside, in UTC."""
    if not intervals:
        return []
    lo_near, hi_near = _near_bounds(intervals[0].start, lo, hi)
    return [
        (
            start if start.tzinfo is UTC else start.astimezone(UTC),
            end if end.tzinfo is UTC else end.astimezone(UTC),
        )
        for interval in intervals
        if (start := interval.start) < hi_near and (end := interval.end) > lo_near
    ]


def _unit_instants_near(
    busy: Sequence[tuple[Interval, int]], lo: datetime, hi: datetime
) -> list[tuple[datetime, datetime, int]]:
    """Like _instants_near for a room's (interval, unit) bookings."""
    if not busy:
        return []
    lo_near, hi_near = _near_bounds(busy[0][0].start, lo, hi)
    return [
        (
            start if start.tzinfo is UTC else start.astimezone(UTC),
            end if end.tzinfo is UTC else end.astimezone(UTC),
            unit,
        )
        for interval, unit in busy
        if (start := interval.start) < hi_near and (end := interval.end) > lo_near
    ]


Blockers = tuple[list[datetime], list[datetime]]
"""Busy time as parallel lists of starts and ends, sorted and disjoint."""


# Sorting on the start alone compares datetimes directly, without building tuple comparisons.
_by_start = itemgetter(0)


def _merged(pairs: Iterable[tuple[datetime, datetime]]) -> Blockers:
    """The union of `pairs`."""
    starts: list[datetime] = []
    ends: list[datetime] = []
    reach = _DAWN
    for first, last in sorted(pairs, key=_by_start):
        if first <= reach:
            if last > reach:
                reach = ends[-1] = last
        elif last > first:
            starts.append(first)
            ends.append(last)
            reach = last
    return starts, ends


def _subtract(start: datetime, end: datetime, blockers: Blockers) -> list[tuple[datetime, datetime]]:
    """The parts of [start, end) outside `blockers`."""
    starts, ends = blockers
    pieces: list[tuple[datetime, datetime]] = []
    i = bisect_right(ends, start)
    while i < len(starts) and starts[i] < end:
        if starts[i] > start:
            pieces.append((start, starts[i]))
        start = ends[i]
        i += 1
    if start < end:
        pieces.append((start, end))
    return pieces


def _claim(
    starts: list[datetime],
    span: timedelta,
    pieces: list[tuple[datetime, datetime]],
    owners: list[Any],
    claimant: object,
    stop: int,
) -> tuple[int, int]:
    """Give `claimant` each unowned candidate before index `stop` whose span fits in a piece.

    Returns the lowest index claimed (or `stop` when none) and how many were claimed.
    """
    lowest, claimed = stop, 0
    for first, last in pieces:
        i = bisect_left(starts, first, 0, stop)
        j = bisect_right(starts, last - span, i, stop)
        for k in range(i, j):
            if owners[k] is None:
                owners[k] = claimant
                claimed += 1
                lowest = min(lowest, k)
    return lowest, claimed


class _Lazy(Generic[T]):
    """Busy time converted for a stretch of days, reloaded further on when a day needs more."""

    __slots__ = ("_hi", "_lo", "_load", "_stretch", "_value")

    def __init__(self, load: Callable[[datetime, datetime], T], stretch: timedelta) -> None:
        self._load = load
        self._stretch = stretch
        self._lo = self._hi = _DAWN
        self._value: T | None = None

    def covering(self, lo: datetime, hi: datetime) -> T:
        if self._value is None or lo < self._lo or hi > self._hi:
            self._lo, self._hi = lo, max(hi, lo + self._stretch)
            # Doubling keeps a long search to a few passes over the appointments.
            self._stretch *= 2
            self._value = self._load(self._lo, self._hi)
        return self._value


def _provider_blockers(provider: ProviderSchedule) -> Callable[[datetime, datetime], Blockers]:
    def load(lo: datetime, hi: datetime) -> Blockers:
        return _merged(_instants_near(provider.time_off, lo, hi) + _instants_near(provider.busy, lo, hi))

    return load


def _unit_blockers(room: ResourceSchedule) -> Callable[[datetime, datetime], list[Blockers]]:
    def load(lo: datetime, hi: datetime) -> list[Blockers]:
        by_unit: list[list[tuple[datetime, datetime]]] = [[] for _ in range(max(room.capacity, 0))]
        for first, last, unit in _unit_instants_near(room.busy, lo, hi):
            # Bookings on a unit that no longer exists (capacity was lowered) hold nothing.
            if 1 <= unit <= len(by_unit):
                by_unit[unit - 1].append((first, last))
        return [_merged(pairs) for pairs in by_unit]

    return load


def _start_time_filter(preferences: Preferences | None) -> Callable[[float], bool] | None:
    """A test on the local start time in seconds after midnight, or None when anything goes."""
    if preferences is None:
        return None
    ranges: list[tuple[float, float]] | None = None
    if preferences.parts_of_day is not None:
        unknown = preferences.parts_of_day - PARTS_OF_DAY
        if unknown:
            raise ValueError(f"Unknown parts of day: {sorted(unknown)}.")
        bounds = {"morning": (0, _NOON), "afternoon": (_NOON, _FIVE_PM), "evening": (_FIVE_PM, 86_400)}
        ranges = [bounds[part] for part in preferences.parts_of_day]
    earliest = _seconds(preferences.earliest) if preferences.earliest is not None else None
    latest = _seconds(preferences.latest) if preferences.latest is not None else None
    if ranges is None and earliest is None and latest is None:
        return None

    def wanted(seconds: float) -> bool:
        if earliest is not None and seconds < earliest:
            return False
        if latest is not None and seconds > latest:
            return False
        return ranges is None or any(first <= seconds < last for first, last in ranges)

    return wanted


def _seconds(moment: time) -> float:
    return moment.hour * 3600 + moment.minute * 60 + moment.second + moment.microsecond / 1e6


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise ValueError(f"{name} must be an aware datetime.")
    return moment.astimezone(UTC)


class _Search:
    """The state of one search: converted inputs and caches shared by its days."""

    def __init__(
        self,
        *,
        service: ServiceSpec,
        location: LocationSchedule,
        providers: Sequence[ProviderSchedule],
        resources: Sequence[ResourceSchedule],
        window: Interval,
        now: datetime,
        min_notice: timedelta,
        horizon: timedelta,
        step: timedelta,
        preferences: Preferences | None,
        whole_range: bool,
    ) -> None:
        if service.duration <= timedelta(0):
            raise ValueError("A service must last some time.")
        if service.buffer_after < timedelta(0):
            raise ValueError("A buffer cannot be negative.")
        if step <= timedelta(0):
            raise ValueError("The slot step must be positive.")
        self.location = location
        self.tz = location.tz
        self.duration = service.duration
        self.span = service.duration + service.buffer_after
        self.step = step
        now_utc = _as_utc(now, "now")
        self.earliest = max(_as_utc(window.start, "window.start"), now_utc + min_notice)
        self.window_end = _as_utc(window.end, "window.end")
        self.horizon_end = now_utc + horizon
        self.weekdays = preferences.weekdays if preferences is not None else None
        self.wanted = _start_time_filter(preferences)

        searched = min(self.window_end, self.horizon_end) + self.span - self.earliest
        stretch = max(searched, timedelta(0)) + _ONE_DAY if whole_range else _FIRST_STRETCH
        self.closures = _merged(_instants_near(location.closures, self.earliest, self.earliest + searched))
        self.providers = [
            (provider, _Lazy(_provider_blockers(provider), stretch))
            for provider in providers
            if provider.id in service.provider_ids
        ]
        self.needs_room = bool(service.resource_ids)
        self.rooms = [
            (room, _Lazy(_unit_blockers(room), stretch))
            for room in sorted(resources, key=lambda room: room.id)
            if room.id in service.resource_ids
        ]
        self.openings: dict[tuple[date, tuple[tuple[time, time], ...]], list[_Opening]] = {}

    def days(self) -> Iterator[date]:
        last_start = min(self.window_end, self.horizon_end)
        if last_start < self.earliest:
            return
        day = self.earliest.astimezone(self.tz).date()
        last_day = last_start.astimezone(self.tz).date()
        while day <= last_day:
            yield day
            day += _ONE_DAY

    def slots_on(self, day: date, *, first_only: bool = False) -> list[Slot]:
        """The slots starting on local date `day`; with first_only, just the earliest one."""
        if self.weekdays is not None and day.weekday() not in self.weekdays:
            return []
        starts = self._candidate_starts(day)
        if not starts:
            return []
        rooms = self._rooms_for(starts)
        owners: list[Any] = (
            [None] * len(starts) if rooms is None else [None if room is not None else _NO_ROOM for room in rooms]
        )
        unowned = owners.count(None)
        if not unowned:
            return []
        # A later provider can only matter before the earliest start already taken, because
        # earlier providers win ties; so in first_only mode each provider searches a shorter list.
        first_open = owners.index(None)
        stop = len(starts)
        day_lo, day_hi = starts[0], starts[-1] + self.span
        for provider, blockers in self.providers:
            shifts = provider.shifts.get(day.weekday())
            if not shifts:
                continue
            busy = blockers.covering(day_lo, day_hi)
            pieces: list[tuple[datetime, datetime]] = []
            for shift in self._openings(day, shifts):
                pieces += _subtract(shift.start, shift.end, busy)
            lowest, claimed = _claim(starts, self.span, pieces, owners, provider, stop)
            unowned -= claimed
            if first_only and claimed:
                stop = lowest
                if stop == first_open:
                    break
            elif not unowned:
                break
        if first_only:
            indexes: Iterable[int] = [stop] if stop < len(starts) else []
        else:
            indexes = range(len(starts))
        slots: list[Slot] = []
        for k in indexes:
            owner = owners[k]
            if not isinstance(owner, ProviderSchedule):
                continue
            room_id, unit = rooms[k] if rooms is not None else (None, None)
            slots.append(
                Slot(
                    start=starts[k].astimezone(self.tz),
                    end=(starts[k] + self.duration).astimezone(self.tz),
                    provider_id=owner.id,
                    resource_id=room_id,
                    resource_unit=unit,
                    location_id=self.location.id,
                )
            )
        return slots

    def _openings(self, day: date, intervals: tuple[tuple[time, time], ...]) -> list[_Opening]:
        # Providers usually share shift times, so each (date, shifts) is converted once.
        key = (day, tuple(intervals))
        openings = self.openings.get(key)
        if openings is None:
            openings = self.openings[key] = _expand_day(intervals, day, self.tz)
        return openings

    def _candidate_starts(self, day: date) -> list[datetime]:
        """Grid starts on `day` whose visit and buffer fit the location's hours and the limits."""
        hours = self.location.hours.get(day.weekday())
        if not hours:
            return []
        starts: list[datetime] = []
        for opening in self._openings(day, hours):
            pieces = _subtract(opening.start, opening.end, self.closures)
            if not pieces:
                continue
            piece_starts = [first for first, _ in pieces]
            for start in self._grid(opening):
                # The visit must fit the stretch of opening (between closures) it starts in.
                i = bisect_right(piece_starts, start) - 1
                if i >= 0 and start + self.span <= pieces[i][1]:
                    starts.append(start)
        if len(hours) > 1:
            starts = sorted(set(starts))
        return starts

    def _grid(self, opening: _Opening) -> Iterator[datetime]:
        """Start times on the step grid of one opening, within the search limits."""
        latest = min(opening.end - self.span, self.horizon_end)
        wanted = self.wanted
        step_seconds = self.step.total_seconds()
        if opening.steady:
            k = max(0, (self.earliest - opening.start) // self.step)
            start = opening.start + k * self.step
            seconds = _seconds(opening.wall_start.time()) + k * step_seconds
            while start <= latest and start < self.window_end:
                if start >= self.earliest and (wanted is None or wanted(seconds)):
                    yield start
                start += self.step
                seconds += step_seconds
            return
        # The offset changes inside this opening: walk the wall clock, skip times that do not
        # exist, and read repeated ones as their first occurrence.
        wall = opening.wall_start
        while wall < opening.wall_end:
            instant = _existing_instant(wall, self.tz)
            if instant is not None:
                if instant > latest or instant >= self.window_end:
                    return
                if instant >= self.earliest and (wanted is None or wanted(_seconds(wall.time()))):
                    yield instant
            wall += self.step

    def _rooms_for(self, starts: list[datetime]) -> list[Any] | None:
        """For each candidate start, the lowest free (room id, unit), or None if none is free.

        Returns None outright when the service needs no room or device.
        """
        if not self.needs_room:
            return None
        picks: list[Any] = [None] * len(starts)
        lo, hi = starts[0], starts[-1] + self.span
        unpicked = len(starts)
        for room, blockers in self.rooms:
            for unit, busy in enumerate(blockers.covering(lo, hi), start=1):
                free = _subtract(lo, hi, busy)
                unpicked -= _claim(starts, self.span, free, picks, (room.id, unit), len(starts))[1]
                if not unpicked:
                    return picks
        return picks
