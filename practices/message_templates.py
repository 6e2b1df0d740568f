"""Every outbound message by key: the default wording shipped in code, overridable per practice.

Placeholders are `{name}` fields. A practice's override may use only the placeholders its default
uses, so a typo in the admin is refused there instead of failing when a patient is waiting.
"""

import string

from django.core.exceptions import ValidationError

DEFAULTS: dict[str, str] = {
    "missed_call_textback": (
        "Hi, this is {brand}! Sorry we missed your call. What treatment can we help you with today?"
    ),
    # A caller we know by name: their first name only, the rest waits until they answer.
    "missed_call_textback_known": (
        "Hi {first_name}, this is {brand}! Sorry we missed your call. How can we help you today?"
    ),
    "missed_call_upcoming_visit": (
        "Hi {first_name}, this is {brand}. Sorry we missed your call! You're booked for {service} on {when}. "
        "Reply C to cancel or R to reschedule, or tell us how we can help."
    ),
    "follow_up": "Hi, it's {brand} again. Still interested in a visit? Reply with a day that works and we'll find a time.",
    "opt_out_hint": "Reply STOP to opt out.",
    "opt_out_confirmation": (
        "{brand}: you're unsubscribed and won't get more texts from us. Reply START to resubscribe."
    ),
    "opt_in_confirmation": "{brand}: you're subscribed again. Reply STOP anytime to opt out.",
    "help_reply": (
        "{brand}: automated assistant for appointments. Call {phone} to reach our team. "
        "Msg & data rates may apply. Reply STOP to opt out."
    ),
    "appointment_confirmation": (
        "You're booked at {brand}: {service} on {when} at {location}. {prep} To reschedule reply R, to cancel reply C."
    ),
    "reminder_48h": (
        "{brand} reminder: {service} on {when} at {location}. Reply Y to confirm, R to reschedule, C to cancel."
    ),
    "reminder_2h": "{brand}: see you at {when_time} for {service} at {location}. Reply R to reschedule, C to cancel.",
    "intake_link": (
        "Welcome to {brand}! Before your first visit on {when}, please fill in our short new patient form "
        "(about 5 minutes): {link} The link is just for you."
    ),
    "intake_reminder": (
        "{brand} reminder: please fill in your new patient form before your visit on {when}. It takes about "
        "5 minutes: {link}"
    ),
    "emergency_reply": (
        "{brand}: if you have trouble breathing or swallowing, call 911 or go to the nearest emergency room now. "
        "We've alerted our clinical team and someone will call you right away."
    ),
    "human_handoff": "{brand}: of course! A member of our team will text or call you shortly.",
    "series_rebook_prompt": (
        "Hi {first_name}, it's {brand}. Your next {service} visit is due {window}. Want us to find you a time?"
    ),
    "staff_alert": "{brand} alert: {summary}",
}

_FORMATTER = string.Formatter()


def placeholders(body: str) -> set[str]:
    """The `{name}` fields a wording uses; ValueError if its braces do not parse."""
    return {field for _, field, _, _ in _FORMATTER.parse(body) if field}


def validate_template_body(*, key: str, body: str) -> None:
    if key not in DEFAULTS:
        raise ValidationError({"key": f"There is no message called {key!r}."})
    try:
        used = placeholders(body)
    except ValueError:
        raise ValidationError({"body": "Braces must enclose a placeholder, such as {brand}."}) from None
    unknown = used - placeholders(DEFAULTS[key])
    if unknown:
        allowed = ", ".join(f"{{{name}}}" for name in sorted(placeholders(DEFAULTS[key])))
        raise ValidationError({"body": f"Unknown placeholders {sorted(unknown)}; this message can use {allowed}."})


def render(body: str, context: dict[str, object]) -> str:
    """Fill the placeholders; a missing value renders empty rather than failing a patient's message."""
    values = {name: context.get(name, "") for name in placeholders(body)}
    return " ".join(body.format(**values).split())
