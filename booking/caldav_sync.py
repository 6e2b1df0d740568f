"""Two-way sync with the practice's own calendars over CalDAV (the `caldav` library).

Reading: each connection keeps a copy of its calendar (ExternalEvent, with every occurrence inside the
booking horizon in ExternalOccurrence), brought up to date incrementally: the server's sync token names
what changed since the last sync (RFC 6578), and only events whose ETag changed are fetched. Without a
token (the first sync, or a token the server no longer knows) the whole listing is compared by ETag.
Recurring events are expanded in their own time zone (recurring_ical_events), so a weekly 10:00 meeting
stays at 10:00 across a DST change; floating times and all-day events are read in the connection's zone.

Writing: our visits in the connection's scope are written as events (UID `appointment-<pk>@<slug>.receptionist`)
with only what the practice allows (`event_details`), updated when they move and deleted when cancelled.
What we last wrote is hashed, so an unchanged visit is never written twice.

Clashes are flagged, never resolved by changing either side: an external event that overlaps one of our
visits becomes a CalendarConflict for staff while both stay in place (the event keeps blocking new
bookings); an edit to one of our events made in the calendar is flagged too. A clash that goes away (the
event moved, the visit was cancelled) is closed as cleared.

Network calls have short timeouts (CALDAV_TIMEOUT_SECONDS) and never run inside a booking's transaction.
Logs name connection and appointment ids only, never titles or names.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import quote, urlsplit

import caldav
import icalendar
import phonenumbers
import recurring_ical_events
import requests
from caldav.elements import dav
from caldav.lib import error as caldav_error
from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from practices.models import Patient, PatientPhone, Provider

from .crypto import UnreadableSecret, decrypt
from .models import (
    ACTIVE_STATUSES,
    Appointment,
    BookingState,
    CalendarConflict,
    CalendarConnection,
    EventTypeMapping,
    ExternalEvent,
    ExternalOccurrence,
    SeriesEnrollment,
    SyncedAppointment,
)

logger = logging.getLogger(__name__)

# Occurrences of recurring events are kept from this far back (analytics counts recent visits) ...
HISTORY = timedelta(days=31)
# ... to this far past the practice's booking horizon.
HORIZON_MARGIN = timedelta(days=2)
# A sync that died without releasing its lease is taken over after this long.
LEASE = timedelta(minutes=3)
# The server's URLs are fetched this many at a time (calendar-multiget).
MULTIGET_BATCH = 50
# How long busy time found by a booking's live check is remembered outside the database (see
# CalendarConnection.just_seen_key); the minute sync has it in our copy well before then.
JUST_SEEN = 600


class CalendarError(Exception):
    """A calendar could not be read or written; the message is in plain words for the practice."""


# Which connections a visit or a slot concerns.


def connection_scope(connection: CalendarConnection) -> Q:
    """The visits that belong in this connection's calendar."""
    if connection.provider_id:
        return Q(provider_id=connection.provider_id)
    if connection.location_id:
        return Q(location_id=connection.location_id)
    return Q(resource_id=connection.resource_id)


def connections_for(
    *, practice_id: int, provider_id: int | None, location_id: int | None, resource_ids: Iterable[int] = ()
) -> QuerySet[CalendarConnection]:
    """The active connections whose calendar holds busy time for this provider, location or rooms."""
    owners = Q(pk__in=[])
    if provider_id:
        owners |= Q(provider_id=provider_id)
    if location_id:
        owners |= Q(location_id=location_id)
    resource_ids = list(resource_ids)
    if resource_ids:
        owners |= Q(resource_id__in=resource_ids)
    return (
        CalendarConnection.objects.filter(owners, practice_id=practice_id, is_active=True)
        .select_related("practice", "provider", "location", "resource__location")
        .order_by("pk")
    )


# Talking to the server.


def _plain(exc: BaseException, connection: CalendarConnection) -> str:
    """What went wrong, in words a practice manager can act on."""
    host = urlsplit(connection.server_url).hostname or connection.server_url
    if isinstance(exc, UnreadableSecret):
        return str(exc)
    if isinstance(exc, caldav_error.AuthorizationError):
        return (
            f"The calendar server at {host} refused the username or app password. "
            "Check both, or make a new app password and enter it again."
        )
    if isinstance(exc, caldav_error.NotFoundError):
        return f"No calendar was found at the address given on {host}. Check the CalDAV address and the calendar."
    if isinstance(exc, requests.exceptions.Timeout):
        return f"The calendar server at {host} did not answer within {settings.CALDAV_TIMEOUT_SECONDS} seconds."
    if isinstance(exc, requests.exceptions.SSLError):
        return f"The calendar server at {host} has a security certificate that could not be verified."
    if isinstance(exc, requests.exceptions.ConnectionError):
        text = str(exc)
        if "NameResolution" in text or "Name or service not known" in text or "nodename nor servname" in text:
            return f"The address {host} could not be found. Check the CalDAV address."
        return f"Could not connect to the calendar server at {host}: it is unreachable or refused the connection."
    if isinstance(exc, caldav_error.DAVError):
        reason = (getattr(exc, "reason", "") or "").strip()
        return f"The calendar server at {host} answered with an error{f' ({reason[:80]})' if reason else ''}."
    return f"Something unexpected happened talking to the calendar server at {host} ({type(exc).__name__})."


@contextmanager
def _talking_to(connection: CalendarConnection) -> Iterator[None]:
    """Turns whatever the network, the server or the library raise into a CalendarError in plain words."""
    try:
        yield
    except CalendarError:
        raise
    except Exception as exc:  # servers fail in many ways; every one must reach staff as words, not a 500
        known = (caldav_error.DAVError, requests.exceptions.RequestException, UnreadableSecret)
        logger.warning(
            "calendar connection %s: %s", connection.pk, type(exc).__name__, exc_info=not isinstance(exc, known)
        )
        raise CalendarError(_plain(exc, connection)) from exc


def _client(connection: CalendarConnection) -> caldav.DAVClient:
    return caldav.DAVClient(
        url=connection.server_url,
        username=connection.username,
        password=decrypt(connection.password_encrypted),
        timeout=settings.CALDAV_TIMEOUT_SECONDS,
    )


def _open_calendar(connection: CalendarConnection) -> caldav.Calendar:
    """The connection's calendar; the first one the account has when none was chosen (remembered)."""
    client = _client(connection)
    if connection.calendar_url:
        return caldav.Calendar(client=client, url=connection.calendar_url)
    calendars = client.principal().calendars()
    if not calendars:
        raise CalendarError("The account has no calendars. Make one in the calendar service, then test again.")
    calendar = calendars[0]
    connection.calendar_url = str(calendar.url)
    CalendarConnection.objects.filter(pk=connection.pk).update(calendar_url=connection.calendar_url)
    return calendar


def connection_test(*, connection: CalendarConnection) -> list[tuple[str, str]]:
    """The calendars the account has, as (name, address); CalendarError in plain words otherwise."""
    with _talking_to(connection):
        client = _client(connection)
        found = [(calendar.name or "(no name)", str(calendar.url)) for calendar in client.principal().calendars()]
        if connection.calendar_url and connection.calendar_url not in {url for _, url in found}:
            caldav.Calendar(client=client, url=connection.calendar_url).get_display_name()
    return found


# Reading events.


@dataclass(frozen=True)
class Occurrence:
    starts_at: datetime  # UTC
    ends_at: datetime
    all_day: bool
    busy: bool


@dataclass
class ParsedEvent:
    uid: str
    title: str
    categories: list[str]
    is_recurring: bool
    booked_at: datetime | None
    text: str  # summary, description, location and attendees: where a patient's phone or email may be
    occurrences: list[Occurrence] = field(default_factory=list)


def _instant(value: date | datetime, zone) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:  # a floating time: the connection's wall clock
            value = value.replace(tzinfo=zone)
        return value.astimezone(UTC)
    return datetime.combine(value, time.min, zone).astimezone(UTC)


def _categories(component) -> list[str]:
    try:
        return [str(category).strip() for category in component.categories if str(category).strip()]
    except (AttributeError, TypeError, ValueError):
        return []


def parse_event(data: str, *, zone, all_day_events: str, since: datetime, until: datetime) -> ParsedEvent | None:
    """One calendar object (an event with its overrides) and its occurrences between `since` and `until`
    (a one-off event keeps its own time wherever it is). None when it holds no event (a task, a note)."""
    calendar = icalendar.Calendar.from_ical(data)
    events = list(calendar.walk("VEVENT"))
    if not events:
        return None
    master = next((event for event in events if "RECURRENCE-ID" not in event), events[0])
    is_recurring = "RRULE" in master or "RDATE" in master
    created = master.get("CREATED")
    parsed = ParsedEvent(
        uid=str(master.get("UID", ""))[:255],
        title=str(master.get("SUMMARY", "")).strip()[:255],
        categories=_categories(master),
        is_recurring=is_recurring,
        booked_at=_instant(created.dt, zone) if created is not None else None,
        text=" ".join(
            str(value)
            for event in events
            for key in ("SUMMARY", "DESCRIPTION", "LOCATION", "ATTENDEE", "CONTACT")
            for value in (event.get(key) if isinstance(event.get(key), list) else [event.get(key)])
            if value
        ),
    )
    query = recurring_ical_events.of(calendar)
    components = query.between(since, until) if is_recurring else query.all()
    for component in components:
        start = component["DTSTART"].dt
        end = component["DTEND"].dt if "DTEND" in component else start
        all_day = not isinstance(start, datetime)
        starts_at, ends_at = _instant(start, zone), _instant(end, zone)
        if all_day and ends_at <= starts_at:
            ends_at = _instant(start + timedelta(days=1), zone)
        if ends_at <= starts_at:
            continue  # a moment with no length blocks nothing
        cancelled = str(component.get("STATUS", "")).upper() == "CANCELLED"
        if all_day:
            # The practice's choice decides, whatever the calendar app marked (Apple marks all-day events free).
            busy = all_day_events == CalendarConnection.AllDay.BUSY
        else:
            busy = str(component.get("TRANSP", "OPAQUE")).upper() != "TRANSPARENT"
        parsed.occurrences.append(Occurrence(starts_at, ends_at, all_day, busy and not cancelled))
    return parsed


def _window(connection: CalendarConnection, now: datetime) -> tuple[datetime, datetime]:
    return now - HISTORY, now + timedelta(days=connection.practice.booking_horizon_days) + HORIZON_MARGIN


def our_uid(appointment: Appointment | int, practice_slug: str) -> str:
    pk = appointment.pk if isinstance(appointment, Appointment) else appointment
    return f"appointment-{pk}@{practice_slug}.receptionist"


def _is_ours(uid: str, connection: CalendarConnection) -> bool:
    return uid.startswith("appointment-") and uid.endswith(f"@{connection.practice.slug}.receptionist")


class _Mapper:
    """The practice's event type mappings and patients, loaded once per sync."""

    def __init__(self, connection: CalendarConnection):
        self.connection = connection
        self.mappings = sorted(
            EventTypeMapping.objects.filter(practice_id=connection.practice_id, is_active=True).select_related(
                "service"
            ),
            key=lambda mapping: (mapping.priority, -len(mapping.pattern), mapping.pk),
        )
        self.location_id = _location_of(connection)

    def service_id(self, parsed: ParsedEvent) -> int | None:
        for mapping in self.mappings:
            if mapping.matches(title=parsed.title, categories=parsed.categories):
                return mapping.service_id
        return None

    def patient_id(self, parsed: ParsedEvent) -> int | None:
        """The one patient whose phone or email the event names; None when none or several match."""
        emails = {email.casefold() for email in re.findall(r"[\w.+-]+@[\w-]+\.[\w.-]+", parsed.text)}
        phones = {
            phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164)
            for match in phonenumbers.PhoneNumberMatcher(parsed.text, "US")
        }
        if not emails and not phones:
            return None
        practice_id = self.connection.practice_id
        named = Q(phone__in=phones)
        for email in emails:
            named |= Q(email__iexact=email)
        found = set(Patient.objects.filter(named, practice_id=practice_id).values_list("pk", flat=True))
        found |= set(
            PatientPhone.objects.filter(practice_id=practice_id, phone__in=phones).values_list("patient_id", flat=True)
        )
        return found.pop() if len(found) == 1 else None


def _location_of(connection: CalendarConnection) -> int | None:
    """Where the connection's visits happen: its location, its room's, or its provider's only location."""
    if connection.location_id:
        return connection.location_id
    if connection.resource_id:
        return connection.resource.location_id
    locations = list(
        Provider.locations.through.objects.filter(provider_id=connection.provider_id).values_list(
            "location_id", flat=True
        )[:2]
    )
    return locations[0] if len(locations) == 1 else None


def _store(
    connection: CalendarConnection, mapper: _Mapper, *, href: str, etag: str, data: str, now: datetime
) -> ExternalEvent | None:
    """Create or replace our copy of one calendar object and its occurrences."""
    since, until = _window(connection, now)
    try:
        parsed = parse_event(
            data, zone=connection.zone, all_day_events=connection.all_day_events, since=since, until=until
        )
    except Exception as exc:  # a malformed event must not stop the sync of the others
        logger.warning("calendar connection %s: unreadable event (%s)", connection.pk, type(exc).__name__)
        parsed = None
        problem = "This event could not be read; it is not counted as busy time."
    else:
        problem = ""
        if parsed is None:
            ExternalEvent.objects.filter(connection=connection, href=href).delete()
            return None
    if parsed is not None and _is_ours(parsed.uid, connection):
        return None
    if parsed is not None and not parsed.is_recurring and all(o.ends_at < since for o in parsed.occurrences):
        # Long past: it blocks nothing and counts nowhere, so we keep no copy of it (titles can name patients).
        ExternalEvent.objects.filter(connection=connection, href=href).delete()
        return None
    first = parsed.occurrences[0] if parsed and parsed.occurrences else None
    values = {
        "practice_id": connection.practice_id,
        "etag": etag,
        "ical": data,
        "uid": parsed.uid if parsed else "",
        "title": parsed.title if parsed else "",
        "categories": parsed.categories if parsed else [],
        "starts_at": first.starts_at if first else None,
        "ends_at": first.ends_at if first else None,
        "all_day": first.all_day if first else False,
        "is_recurring": parsed.is_recurring if parsed else False,
        "service_id": mapper.service_id(parsed) if parsed else None,
        "patient_id": mapper.patient_id(parsed) if parsed else None,
        "location_id": mapper.location_id,
        "problem": problem,
    }
    # When it was booked: its CREATED, else now; never after the visit itself.
    booked_at = min(filter(None, [parsed.booked_at if parsed else None, first.starts_at if first else None, now]))
    with transaction.atomic():
        event, _ = ExternalEvent.objects.update_or_create(
            connection=connection, href=href, defaults=values, create_defaults={**values, "booked_at": booked_at}
        )
        _replace_occurrences(event, parsed, since=since if parsed and parsed.is_recurring else None)
    return event


def _replace_occurrences(event: ExternalEvent, parsed: ParsedEvent | None, *, since: datetime | None) -> None:
    """A one-off event's occurrence is replaced whole; a recurring one's from `since` on, so that the
    visits of the past that analytics has counted stay as they were."""
    old = event.occurrences.all()
    if since is not None:
        old = old.filter(starts_at__gte=since)
    counted = set(old.filter(counted_in_series=True).values_list("starts_at", flat=True))
    old.delete()
    if parsed is None:
        return
    ExternalOccurrence.objects.bulk_create(
        ExternalOccurrence(
            practice_id=event.practice_id,
            connection_id=event.connection_id,
            event=event,
            starts_at=occurrence.starts_at,
            ends_at=occurrence.ends_at,
            all_day=occurrence.all_day,
            busy=occurrence.busy,
            counted_in_series=occurrence.starts_at in counted,
        )
        for occurrence in parsed.occurrences
        if since is None or occurrence.starts_at >= since
    )


def _etag(obj) -> str:
    return str(obj.props.get(dav.GetEtag.tag, "") or "")


def _canonical(url) -> str:
    return str(caldav.lib.url.URL.objectify(url).canonical())


def _href(obj) -> str:
    return _canonical(obj.url)


def _changes(calendar: caldav.Calendar, token: str) -> tuple[list[tuple[str, str]], str, bool]:
    """(href, etag) of what changed since `token` (etag "" when it may be gone), the new token, and
    whether the list is the whole calendar (first sync, or a token the server no longer knows)."""
    if token:
        try:
            result = calendar.objects_by_sync_token(sync_token=token, load_objects=False)
            return [(_href(obj), _etag(obj)) for obj in result], str(result.sync_token or ""), False
        except caldav_error.DAVError:
            # An expired or unknown token (servers answer 403 or 409 with valid-sync-token): compare the
            # whole listing by ETag instead. A real refusal, such as a wrong password, fails there again.
            pass
    result = calendar.objects_by_sync_token(load_objects=False)
    return [(_href(obj), _etag(obj)) for obj in result], str(result.sync_token or ""), True


def _fetch(calendar: caldav.Calendar, hrefs: list[str]) -> dict[str, str]:
    """The iCalendar text of each href the server still has (calendar-multiget, in batches)."""
    found: dict[str, str] = {}
    for start in range(0, len(hrefs), MULTIGET_BATCH):
        batch = [caldav.lib.url.URL.objectify(href) for href in hrefs[start : start + MULTIGET_BATCH]]
        for obj in calendar.multiget(batch):
            if obj.data:
                found[_href(obj)] = obj.data
    return found


@dataclass
class SyncOutcome:
    connection_id: int
    ok: bool = True
    skipped: bool = False
    error: str = ""
    kind: str = ""  # "sync token" or "full"
    fetched: int = 0
    removed: int = 0
    written: int = 0
    deleted: int = 0
    conflicts: int = 0


def _take_lease(connection_id: int, now: datetime) -> bool:
    return bool(
        CalendarConnection.objects.filter(pk=connection_id, is_active=True)
        .filter(Q(sync_lease_until__isnull=True) | Q(sync_lease_until__lt=now))
        .update(sync_lease_until=now + LEASE)
    )


def _record_failure(connection: CalendarConnection, message: str, now: datetime) -> None:
    connection.last_error = message[:300]
    connection.failing_since = connection.failing_since or now
    CalendarConnection.objects.filter(pk=connection.pk).update(
        last_error=connection.last_error, failing_since=connection.failing_since, last_attempt_at=now
    )


def connection_sync(*, connection_id: int, now: datetime | None = None) -> SyncOutcome:
    """Bring our copy of one calendar up to date, flag clashes, count past visits in series, and write
    our visits into it. Safe to run twice and at the same time (a lease keeps a second run out)."""
    now = now or timezone.now()
    outcome = SyncOutcome(connection_id=connection_id)
    if not _take_lease(connection_id, now):
        outcome.skipped = True
        return outcome
    try:
        connection = CalendarConnection.objects.select_related(
            "practice", "provider", "location", "resource__location"
        ).get(pk=connection_id)
        try:
            with _talking_to(connection):
                calendar = _open_calendar(connection)
                listing, token, complete = _changes(calendar, connection.sync_token)
                _apply(connection, calendar, listing, complete=complete, now=now, outcome=outcome)
        except CalendarError as exc:
            _record_failure(connection, str(exc), now)
            outcome.ok, outcome.error = False, str(exc)
            return outcome
        outcome.kind = "full" if complete else "sync token"
        connection.sync_token = token
        connection.last_success_at = now
        CalendarConnection.objects.filter(pk=connection.pk).update(
            sync_token=token,
            last_attempt_at=now,
            last_success_at=now,
            failing_since=None,
            last_error="",
            last_fetched=outcome.fetched,
            last_sync_kind=outcome.kind,
        )
        _expand_when_due(connection, now)
        outcome.conflicts = conflicts_refresh(connection=connection, now=now)
        series_count_visits(connection=connection, now=now)
        if connection.write_appointments:
            try:
                with _talking_to(connection):
                    outcome.written, outcome.deleted = _push_all(connection, calendar, now)
            except CalendarError as exc:
                outcome.ok, outcome.error = False, f"Writing visits: {exc}"
                CalendarConnection.objects.filter(pk=connection.pk).update(last_error=outcome.error[:300])
        return outcome
    finally:
        CalendarConnection.objects.filter(pk=connection_id).update(sync_lease_until=None)


def _apply(
    connection: CalendarConnection,
    calendar: caldav.Calendar,
    listing: list[tuple[str, str]],
    *,
    complete: bool,
    now: datetime,
    outcome: SyncOutcome,
) -> None:
    known = dict(ExternalEvent.objects.filter(connection=connection).values_list("href", "etag"))
    ours = {synced.href: synced for synced in SyncedAppointment.objects.filter(connection=connection)}
    wanted = []
    for href, etag in listing:
        if href in ours:
            if not ours[href].etag and etag:
                SyncedAppointment.objects.filter(pk=ours[href].pk).update(etag=etag)  # first seen: ours as written
            elif etag != ours[href].etag:
                _our_event_changed(connection, ours[href], etag=etag, now=now)
        elif not etag or known.get(href) != etag:
            wanted.append(href)
    data = _fetch(calendar, wanted) if wanted else {}
    etags = dict(listing)
    mapper = _Mapper(connection)
    for href in wanted:
        if href in data:
            _store(connection, mapper, href=href, etag=etags.get(href, ""), data=data[href], now=now)
            outcome.fetched += 1
        elif href in known:
            ExternalEvent.objects.filter(connection=connection, href=href).delete()
            outcome.removed += 1
    if complete:
        listed = {href for href, _ in listing}
        gone = [href for href in known if href not in listed]
        if gone:
            outcome.removed += (
                ExternalEvent.objects.filter(connection=connection, href__in=gone)
                .delete()[1]
                .get("booking.ExternalEvent", 0)
            )
        for href, synced in ours.items():
            if href not in listed:
                _our_event_changed(connection, synced, etag="", now=now)


def _expand_when_due(connection: CalendarConnection, now: datetime) -> None:
    """Recurring events are expanded up to the booking horizon; as days pass, expand further (daily)."""
    _, until = _window(connection, now)
    if connection.expanded_until and connection.expanded_until >= until - timedelta(days=1):
        return
    mapper = _Mapper(connection)
    for event in ExternalEvent.objects.filter(connection=connection, is_recurring=True):
        _store(connection, mapper, href=event.href, etag=event.etag, data=event.ical, now=now)
    CalendarConnection.objects.filter(pk=connection.pk).update(expanded_until=until)


# Clashes.


def conflicts_refresh(*, connection: CalendarConnection, now: datetime) -> int:
    """Flag every busy external occurrence that overlaps one of our upcoming visits in this calendar's
    scope; close flags whose clash is gone. Returns how many are open."""
    visits = list(
        Appointment.objects.filter(connection_scope(connection), practice_id=connection.practice_id)
        .filter(status__in=ACTIVE_STATUSES, ends_at__gt=now)
        .values_list("pk", "starts_at", "ends_at")
    )
    clashes: dict[tuple[int, int], ExternalOccurrence] = {}
    if visits:
        first, last = min(v[1] for v in visits), max(v[2] for v in visits)
        occurrences = ExternalOccurrence.objects.filter(
            connection=connection, busy=True, starts_at__lt=last, ends_at__gt=first
        ).select_related("event")
        for occurrence in occurrences:
            for pk, starts_at, ends_at in visits:
                if occurrence.starts_at < ends_at and starts_at < occurrence.ends_at:
                    clashes.setdefault((occurrence.event_id, pk), occurrence)
    open_flags = {
        (flag.event_id, flag.appointment_id): flag
        for flag in CalendarConflict.objects.filter(
            connection=connection, kind=CalendarConflict.Kind.OVERLAP, status=CalendarConflict.Status.OPEN
        )
    }
    for key, occurrence in clashes.items():
        if key in open_flags:
            continue
        if CalendarConflict.objects.filter(
            connection=connection,
            event_id=key[0],
            appointment_id=key[1],
            kind=CalendarConflict.Kind.OVERLAP,
            status=CalendarConflict.Status.HANDLED,
            event_starts_at=occurrence.starts_at,
        ).exists():
            continue  # staff already dealt with this very clash
        try:
            with transaction.atomic():
                CalendarConflict.objects.create(
                    practice_id=connection.practice_id,
                    connection=connection,
                    appointment_id=key[1],
                    event=occurrence.event,
                    kind=CalendarConflict.Kind.OVERLAP,
                    event_title=occurrence.event.title,
                    event_starts_at=occurrence.starts_at,
                    event_ends_at=occurrence.ends_at,
                    detected_at=now,
                )
        except IntegrityError:
            pass  # flagged by a run at the same moment
        logger.info("calendar connection %s: event %s overlaps appointment %s", connection.pk, key[0], key[1])
    for key, flag in open_flags.items():
        if key not in clashes:
            flag.status, flag.closed_at = CalendarConflict.Status.CLEARED, now
            flag.note = "The event or the visit moved, or one of them is gone."
            flag.save(update_fields=["status", "closed_at", "note"])
    return CalendarConflict.objects.filter(connection=connection, status=CalendarConflict.Status.OPEN).count()


def _our_event_changed(connection: CalendarConnection, synced: SyncedAppointment, *, etag: str, now: datetime) -> None:
    """Someone changed or deleted, in the calendar, an event we wrote: flag it. The visit in the app stays
    as it is; a deleted event is written again at the next sync, since the visit still holds the time."""
    already = CalendarConflict.objects.filter(
        connection=connection,
        appointment_id=synced.appointment_id,
        kind=CalendarConflict.Kind.EDITED,
        status=CalendarConflict.Status.OPEN,
    ).exists()
    if not already:
        CalendarConflict.objects.create(
            practice_id=connection.practice_id,
            connection=connection,
            appointment_id=synced.appointment_id,
            kind=CalendarConflict.Kind.EDITED,
            event_title="(deleted in the calendar)" if not etag else "",
            detected_at=now,
            note="Deleted in the calendar; written again because the visit is still booked."
            if not etag
            else "Changed in the calendar; the visit here keeps its time.",
        )
        logger.info(
            "calendar connection %s: our event for appointment %s changed", connection.pk, synced.appointment_id
        )
    if etag:
        SyncedAppointment.objects.filter(pk=synced.pk).update(etag=etag)
    else:
        SyncedAppointment.objects.filter(pk=synced.pk).delete()


def conflict_handle(
    *, conflict: CalendarConflict, user, note: str = "", now: datetime | None = None
) -> CalendarConflict:
    """Staff dealt with a clash (moved a visit, called the patient, agreed it is fine)."""
    if conflict.status != CalendarConflict.Status.OPEN:
        return conflict
    conflict.status = CalendarConflict.Status.HANDLED
    conflict.closed_at = now or timezone.now()
    conflict.handled_by = user
    conflict.note = note.strip()[:200] or "Handled by staff."
    conflict.save(update_fields=["status", "closed_at", "handled_by", "note"])
    return conflict


# Series: visits booked in the practice's calendar count too.


def series_count_visits(*, connection: CalendarConnection, now: datetime) -> int:
    """A mapped visit of a known patient whose time has passed counts as a visit of their open series
    for that service, once. Returns how many were counted."""
    from .services import enrollment_record_visit  # services imports this module for the booking check

    due = list(
        ExternalOccurrence.objects.filter(
            connection=connection,
            busy=True,
            all_day=False,
            counted_in_series=False,
            ends_at__lte=now,
            starts_at__gte=now - HISTORY,
            event__service__isnull=False,
            event__patient__isnull=False,
        ).select_related("event")
    )
    counted = 0
    for occurrence in due:
        with transaction.atomic():
            enrollment = (
                SeriesEnrollment.objects.filter(
                    patient_id=occurrence.event.patient_id, template__service_id=occurrence.event.service_id
                )
                .exclude(status__in=[SeriesEnrollment.Status.COMPLETED, SeriesEnrollment.Status.PAUSED])
                .order_by("pk")
                .first()
            )
            if enrollment is not None and (
                enrollment.last_visit_on is None
                or enrollment.last_visit_on < occurrence.starts_at.astimezone(connection.zone).date()
            ):
                enrollment_record_visit(
                    enrollment=enrollment,
                    visit_day=occurrence.starts_at.astimezone(connection.zone).date(),
                    today=now.astimezone(connection.zone).date(),
                )
                counted += 1
            ExternalOccurrence.objects.filter(pk=occurrence.pk).update(counted_in_series=True)
    return counted


# Writing our visits.


def _summary(appointment: Appointment, details: str) -> str:
    if details == CalendarConnection.Detail.BUSY_ONLY:
        return "Booked"
    if details == CalendarConnection.Detail.SERVICE:
        return appointment.service.name
    first = appointment.patient.first_name.strip()
    return f"{appointment.service.name} - {first}" if first else appointment.service.name


def appointment_event(appointment: Appointment, *, details: str, now: datetime | None = None) -> tuple[str, str]:
    """(iCalendar text, hash of what matters) for one visit, with only what `details` allows."""
    uid = our_uid(appointment, appointment.practice.slug)
    summary = _summary(appointment, details)
    zone = appointment.location.zone
    start, end = appointment.starts_at.astimezone(zone), appointment.ends_at.astimezone(zone)
    digest = hashlib.sha256(
        "\n".join([uid, summary, start.isoformat(), end.isoformat(), appointment.location.name]).encode()
    ).hexdigest()
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Med spa receptionist//Calendar sync//EN")
    calendar.add("version", "2.0")
    event = icalendar.Event()
    event.add("uid", uid)
    event.add("dtstamp", now or timezone.now())
    event.add("dtstart", start)
    event.add("dtend", end)
    event.add("summary", summary)
    event.add("location", appointment.location.name)
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical().decode(), digest


def _push_one(
    connection: CalendarConnection,
    calendar: caldav.Calendar,
    appointment: Appointment,
    synced: SyncedAppointment | None,
    now: datetime,
) -> bool:
    ical, digest = appointment_event(appointment, details=connection.event_details, now=now)
    if synced is not None and synced.content_hash == digest:
        return False
    uid = our_uid(appointment, connection.practice.slug)
    href = synced.href if synced is not None else _canonical(calendar.url.join(quote(uid) + ".ics"))
    headers = {"Content-Type": 'text/calendar; charset="utf-8"'}
    # Only replace the version we wrote; a 412 means someone edited it in the calendar since.
    conditional = {"If-Match": synced.etag} if synced is not None and synced.etag else {"If-None-Match": "*"}
    response = calendar.client.put(href, ical, {**headers, **conditional})
    if response.status == 412:
        if synced is not None:
            _our_event_changed(connection, synced, etag=synced.etag, now=now)
        response = calendar.client.put(href, ical, headers)
    if response.status not in (200, 201, 204):
        raise CalendarError(f"The calendar server would not save a visit (it answered {response.status}).")
    etag = response.headers.get("ETag", "") if response.headers else ""
    if not etag:  # some servers change what they store and give no ETag: ask for it
        etag = calendar.client.request(href).headers.get("ETag", "")
    SyncedAppointment.objects.update_or_create(
        connection=connection,
        appointment=appointment,
        defaults={
            "practice_id": connection.practice_id,
            "uid": uid,
            "href": href,
            "etag": etag or "",
            "content_hash": digest,
            "written_at": now,
        },
    )
    CalendarConnection.objects.filter(pk=connection.pk).update(events_written_total=F("events_written_total") + 1)
    return True


def _remove_one(calendar: caldav.Calendar, synced: SyncedAppointment) -> None:
    response = calendar.client.delete(synced.href)
    if response.status not in (200, 204, 404, 410):
        raise CalendarError(f"The calendar server would not remove a cancelled visit (it answered {response.status}).")
    synced.delete()


def _belongs(appointment: Appointment, connection: CalendarConnection) -> bool:
    if appointment.status == Appointment.Status.CANCELLED:
        return False
    if connection.provider_id:
        return appointment.provider_id == connection.provider_id
    if connection.location_id:
        return appointment.location_id == connection.location_id
    return appointment.resource_id == connection.resource_id


def _push_all(connection: CalendarConnection, calendar: caldav.Calendar, now: datetime) -> tuple[int, int]:
    """Write every upcoming visit of this calendar's scope that is new or changed; remove the events of
    visits cancelled or moved elsewhere. Past visits' events stay as history."""
    visits = (
        Appointment.objects.filter(connection_scope(connection), practice_id=connection.practice_id)
        .filter(status__in=ACTIVE_STATUSES, ends_at__gte=now - timedelta(days=1))
        .select_related("practice", "service", "patient", "location")
    )
    written = {synced.appointment_id: synced for synced in connection.written.select_related("appointment")}
    count_written = count_deleted = 0
    for appointment in visits:
        count_written += _push_one(connection, calendar, appointment, written.get(appointment.pk), now)
    for synced in written.values():
        if not _belongs(synced.appointment, connection):
            _remove_one(calendar, synced)
            count_deleted += 1
    return count_written, count_deleted


def appointment_push(*, appointment_id: int, now: datetime | None = None) -> None:
    """Write, move or remove one visit's events in every calendar it belongs (or belonged) to. An error is
    recorded on the connection; the minute sync tries again."""
    now = now or timezone.now()
    appointment = (
        Appointment.objects.select_related("practice", "service", "patient", "location")
        .filter(pk=appointment_id)
        .first()
    )
    if appointment is None:
        return
    connections = (
        CalendarConnection.objects.filter(
            Q(written__appointment=appointment)
            | (
                Q(practice_id=appointment.practice_id)
                & (
                    Q(provider_id=appointment.provider_id)
                    | Q(location_id=appointment.location_id)
                    | Q(resource_id=appointment.resource_id)
                )
            ),
            is_active=True,
            write_appointments=True,
        )
        .select_related("practice", "provider", "location", "resource__location")
        .distinct()
    )
    for connection in connections:
        synced = SyncedAppointment.objects.filter(connection=connection, appointment=appointment).first()
        try:
            with _talking_to(connection):
                calendar = _open_calendar(connection)
                if _belongs(appointment, connection):
                    if appointment.is_active:
                        _push_one(connection, calendar, appointment, synced, now)
                elif synced is not None:
                    _remove_one(calendar, synced)
        except CalendarError as exc:
            CalendarConnection.objects.filter(pk=connection.pk).update(last_error=f"Writing visits: {exc}"[:300])


# The booking check.


@dataclass
class SlotVerdict:
    """What the calendars say about one slot: free, taken (the message says by what), or unknown and
    not bookable yet (the message says why and until when)."""

    taken: str = ""
    unverified: str = ""
    checked: list[int] = field(default_factory=list)


def _when(moment: datetime, zone) -> str:
    return moment.astimezone(zone).strftime("%-I:%M %p")


def slot_check(
    *,
    practice_id: int,
    provider_id: int,
    location_id: int,
    resource_ids: Iterable[int],
    starts_at: datetime,
    ends_at: datetime,
    now: datetime | None = None,
) -> SlotVerdict:
    """Ask each connected calendar of this provider, location or rooms, live, what it has between
    `starts_at` and `ends_at`; what it returns is stored as our copy (so the engine sees it too).

    When a calendar cannot be asked, the booking goes ahead on our copy if the last sync is within the
    practice's limit; otherwise it is refused, but for no longer than that limit again: after that, a
    calendar that still fails no longer holds up bookings (booking.models.CalendarConnection.booking_state).
    A calendar known to have failed that long is not asked at all, so it adds no wait to a booking.
    """
    now = now or timezone.now()
    verdict = SlotVerdict()
    connections = connections_for(
        practice_id=practice_id, provider_id=provider_id, location_id=location_id, resource_ids=resource_ids
    )
    for connection in connections:
        if connection.booking_state(now).kind == BookingState.BYPASSED:
            continue
        try:
            with _talking_to(connection):
                calendar = _open_calendar(connection)
                found = calendar.search(start=starts_at, end=ends_at, event=True, expand=False)
        except CalendarError as exc:
            _record_failure(connection, str(exc), now)
            state = connection.booking_state(now)
            if state.kind == BookingState.REFUSING:
                verdict.unverified = _refusal(connection, str(exc), state, now)
                return verdict
            continue
        verdict.checked.append(connection.pk)
        CalendarConnection.objects.filter(pk=connection.pk).update(failing_since=None, last_error="")
        mapper = _Mapper(connection)
        ours = set(SyncedAppointment.objects.filter(connection=connection).values_list("href", flat=True))
        seen: list[tuple[datetime, datetime]] = []
        for obj in found:
            href = _href(obj)
            if href in ours or not obj.data:
                continue
            event = _store(connection, mapper, href=href, etag=_etag(obj), data=obj.data, now=now)
            if event is None:
                continue  # ours
            seen += event.occurrences.filter(busy=True, starts_at__lt=ends_at, ends_at__gt=starts_at).values_list(
                "starts_at", "ends_at"
            )
        if seen:
            cache.set(connection.just_seen_key, (cache.get(connection.just_seen_key) or []) + seen, JUST_SEEN)
            if not connection.resource_id:  # a room's calendar: the engine may still pick another room
                verdict.taken = f"That time was just taken in {connection.name}. Please choose another time."
        if verdict.taken:
            return verdict
    return verdict


def _refusal(connection: CalendarConnection, error: str, state: BookingState, now: datetime) -> str:
    zone = connection.zone
    synced = (
        f"was last brought up to date at {_when(connection.last_success_at, zone)}"
        if connection.last_success_at
        else "has never been read"
    )
    return (
        f"{connection.name} could not be checked for this time ({error}) and {synced}, longer ago than the "
        f"practice's {connection.max_staleness_minutes}-minute limit. Bookings for it go ahead on our own calendar "
        f"from {_when(state.until, zone)}, or as soon as the calendar answers again."
    )
