"""What a manager narrows the figures to: a range of local days, a location, a source, a service."""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.core.exceptions import ValidationError
from django.utils import timezone

from practices.models import Practice

MAX_DAYS = 731  # two years at most in one view
EARLIEST, LATEST = date(2000, 1, 1), date(2100, 12, 31)  # beyond these, day arithmetic overflows


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    location_id: int | None = None
    source: str = ""
    service_id: int | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Filters":
        """The same length of time just before, for "compared with the week before"."""
        return replace(self, start=self.start - timedelta(days=self.days), end=self.start - timedelta(days=1))

    def as_query(self) -> dict:
        query = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.location_id:
            query["location"] = str(self.location_id)
        if self.source:
            query["source"] = self.source
        if self.service_id:
            query["service"] = str(self.service_id)
        return query

    @classmethod
    def from_query(cls, practice: Practice, query, *, default_days: int = 28) -> "Filters":
        """Read ?start=&end=&location=&source=&service=; a bad value raises ValidationError naming it."""
        today = timezone.localdate(timezone=practice.zone)
        errors = {}

        def day(name: str, default) -> date | None:
            raw = (query.get(name) or "").strip()
            if not raw:
                return default
            try:
                value = date.fromisoformat(raw)
            except ValueError:
                errors[name] = f"{name} must be a date like {today.isoformat()}."
                return default
            if not EARLIEST <= value <= LATEST:
                errors[name] = f"{name} must be between {EARLIEST} and {LATEST}."
                return default
            return value

        def pk(name: str, queryset) -> int | None:
            raw = (query.get(name) or "").strip()
            if not raw:
                return None
            if not (raw.isascii() and raw.isdigit()) or not queryset.filter(pk=int(raw)).exists():
                errors[name] = f"There is no such {name} at this practice."
                return None
            return int(raw)

        end = day("end", today)
        start = day("start", None) or max(EARLIEST, end - timedelta(days=default_days - 1))
        if start > end:
            errors["start"] = "The start date must not be after the end date."
        elif (end - start).days + 1 > MAX_DAYS:
            errors["start"] = f"Choose at most {MAX_DAYS} days."
        filters = cls(
            start=start,
            end=end,
            location_id=pk("location", practice.locations.all()),
            source=(query.get("source") or "").strip()[:40],
            service_id=pk("service", practice.services.all()),
        )
        if errors:
            raise ValidationError(errors)
        return filters
