"""What the receptionist knows about a practice when it reads a message."""

from datetime import datetime

from django.utils import timezone

from practices.models import Practice, Service

from .understanding import MenuItem, Understanding, default_understander


def practice_menu(practice: Practice) -> list[MenuItem]:
    return [
        MenuItem(slug=slug, names=(name, slug.replace("-", " "), *synonyms))
        for slug, name, synonyms in Service.objects.filter(practice=practice, is_active=True)
        .order_by("pk")
        .values_list("slug", "name", "synonyms")
    ]


def location_words(practice: Practice) -> dict[str, list[str]]:
    words = {}
    for location in practice.locations.filter(is_active=True):
        city = location.address.split(",")[-2].strip() if location.address.count(",") >= 2 else ""
        words[location.slug] = [w for w in (location.name, location.slug.replace("-", " "), city) if w]
    return words


def understand_for_practice(
    practice: Practice, text: str, *, now: datetime | None = None, offered: list[datetime] | None = None
) -> Understanding:
    return default_understander().understand(
        text,
        menu=practice_menu(practice),
        now=now or timezone.now(),
        zone=practice.zone,
        offered=offered,
        locations=location_words(practice),
    )
