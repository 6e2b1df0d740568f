from django import template
from django.utils.http import urlencode

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """5 s, 4 min 10 s, 8 h 30 min, 2 d 3 h; an em dash when there is nothing to show."""
    if seconds is None or seconds == "":
        return "—"
    seconds = int(round(float(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value:g}%"


@register.filter
def number(value) -> str:
    """A count, mean or median as it is (4, 4.5); an em dash when there is nothing to show."""
    return "—" if value is None else f"{value:g}"


@register.filter
def money(value) -> str:
    return "—" if value is None else f"${value:,.0f}"


@register.simple_tag
def query(params: dict, **changes) -> str:
    """The current filters as a query string, with some changed."""
    merged = {**params, **{key: value for key, value in changes.items() if value is not None}}
    return urlencode({key: value for key, value in merged.items() if value not in ("", None)})


@register.filter
def shade(count, top) -> int:
    """0-5: how dark a heatmap cell is (the number is always printed too)."""
    if not count or not top:
        return 0
    return max(1, min(5, round(5 * count / top)))
