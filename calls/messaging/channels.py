"""Which channel an automated message to a patient goes by: the one they prefer, where we can reach them
on it, otherwise a text message.

A patient's preferred channel is learned from the channel they answer on (practices.services.
patient_channel_learn) unless they or staff chose one. Reminders and follow-ups ask here; the text-back
after a missed call always goes by SMS to the number that called.
"""

from dataclasses import dataclass

from practices.models import ContactConsent, Patient

from ..models import Channel


@dataclass(frozen=True)
class Route:
    channel: str
    email: str = ""  # the address, for email


SMS = Route(Channel.SMS)


def reachable_on(*, patient: Patient | None, phone: str, channel: str, consent: ContactConsent | None = None) -> Route:
    """`channel` when the patient can be reached on it, else SMS: WhatsApp only with the number's WhatsApp
    consent, email only with an address. A phone call is not a channel for written messages."""
    if patient is None:
        return SMS
    if channel == Channel.EMAIL and patient.email:
        return Route(Channel.EMAIL, patient.email)
    if channel == Channel.WHATSAPP:
        if consent is None:
            consent = ContactConsent.objects.filter(practice_id=patient.practice_id, phone=phone).first()
        if consent is not None and consent.whatsapp_opted_in and consent.status != ContactConsent.Status.OPTED_OUT:
            return Route(Channel.WHATSAPP)
    return SMS


def preferred_route(*, patient: Patient | None, phone: str) -> Route:
    """Where a reminder to `patient` at `phone` goes: their preferred channel if reachable, else SMS."""
    if patient is None:
        return SMS
    return reachable_on(patient=patient, phone=phone, channel=patient.preferred_channel)


def has_chosen_channel(patient: Patient | None) -> bool:
    """Whether the patient's channel says something: learned from a reply, or chosen by them or staff."""
    return bool(patient and patient.preferred_channel_set_by)
