"""Quiet hours: no automated message before 8 am or after 9 pm in the patient's own time."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones


def patient_zone(*, phone: str, location_zone: ZoneInfo) -> ZoneInfo:
    """The location's zone, unless the phone's area code places the patient in another single zone."""
    try:
        zones = phone_timezones.time_zones_for_number(phonenumbers.parse(phone))
    except phonenumbers.NumberParseException:
        return location_zone
    if location_zone.key in zones or len(zones) != 1 or zones[0] == "Etc/Unknown":
        return location_zone
    return ZoneInfo(zones[0])


def next_allowed(moment: datetime, *, zone: ZoneInfo, quiet_start: time, quiet_end: time) -> datetime:
    """`moment` if it is outside quiet hours in `zone`, else the moment quiet hours end (aware).

    Quiet hours run from `quiet_start` (21:00) to `quiet_end` (08:00) the next morning. The end is a
    wall-clock time, so on a daylight-saving morning the message still waits for 8 am local.
    """
    local = moment.astimezone(zone)
    wall = local.time()
    overnight = quiet_start > quiet_end
    in_quiet = (wall >= quiet_start or wall < quiet_end) if overnight else (quiet_start <= wall < quiet_end)
    if not in_quiet:
        return moment
    day = local.date() if wall < quiet_end else local.date() + timedelta(days=1)
    return datetime.combine(day, quiet_end, zone)
