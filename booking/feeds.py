"""A provider's visits as a read-only iCalendar feed, for a phone's calendar to subscribe to.

The address carries a secret token (booking.ProviderFeed); a new token or turning the feed off revokes
the old address at once, and an unknown one is a plain 404. Only active visits are listed, never
cancelled ones, and each says no more about the patient than the practice allows.
"""

from datetime import timedelta

import icalendar
from django.http import Http404, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .caldav_sync import appointment_event
from .models import ACTIVE_STATUSES, Appointment, ProviderFeed

# How far back a subscribed phone sees visits.
FEED_PAST = timedelta(days=30)


def provider_feed_ical(feed: ProviderFeed, *, now=None) -> bytes:
    now = now or timezone.now()
    visits = (
        Appointment.objects.filter(
            provider_id=feed.provider_id,
            practice_id=feed.practice_id,
            status__in=ACTIVE_STATUSES,
            ends_at__gte=now - FEED_PAST,
        )
        .select_related("practice", "service", "patient", "location")
        .order_by("starts_at")
    )
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Med spa receptionist//Provider feed//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{feed.provider.display_name} · {feed.practice.brand_name}")
    for visit in visits:
        text, _ = appointment_event(visit, details=feed.event_details, now=now)
        for component in icalendar.Calendar.from_ical(text).subcomponents:
            if component.name == "VEVENT":
                calendar.add_component(component)
    calendar.add_missing_timezones()
    return calendar.to_ical()


@never_cache
@require_GET
def provider_feed(request, token: str):
    feed = (
        ProviderFeed.objects.filter(token=token, is_active=True, provider__is_active=True)
        .select_related("practice", "provider")
        .first()
    )
    if feed is None or not feed.practice.is_active:
        raise Http404("No such calendar.")
    response = HttpResponse(provider_feed_ical(feed), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="visits.ics"'
    response["X-Robots-Tag"] = "noindex"
    return response
