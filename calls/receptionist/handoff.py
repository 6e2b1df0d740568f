"""Handing a message to staff: the escalation with its summary, the staff alert, and the patient's reply."""

import logging

from escalations.models import Escalation
from escalations.routing import alert_grace, can_be_alerted
from escalations.services import escalation_open
from practices.models import Membership, StaffMember
from practices.selectors import message_text, staff_for_alerts

from ..media import media_attach_to_escalation
from ..messaging.services import ESCALATION_ALERT, outreach_queue, outreach_to_patient
from ..models import Channel, Conversation, Message, Outreach
from .understanding import Understanding

logger = logging.getLogger(__name__)

QUESTIONS = {
    "emergency": "Possible emergency after treatment: call the patient now.",
    "clinical": "A clinical question for a provider.",
    "human_request": "The patient asked to talk to a person.",
    "complaint": "The patient is unhappy: call to make it right.",
    "exception": "A refund, discount or exception request.",
}
NOT_PROMISED = (
    "No clinical advice, price outside the published range, policy exception or appointment time was promised."
)


def _summary(message: Message, understanding: Understanding, said: str) -> dict:
    conversation = message.conversation
    patient = conversation.patient
    times = understanding.times
    callback = ", ".join(
        filter(
            None,
            [
                ", ".join(times.dates),
                ", ".join(times.parts_of_day),
                f"after {times.earliest}" if times.earliest else "",
            ],
        )
    )
    context = []
    if patient and Membership.objects.filter(patient=patient, status=Membership.Status.ACTIVE).exists():
        context.append("active member")
    context += [cue for cue in understanding.cues if cue not in context]
    return {
        "name": patient.full_name if patient else "",
        "phone": conversation.phone,
        "new_or_returning": "returning" if patient and patient.is_returning else "new or unknown",
        "location": conversation.location.name if conversation.location else "",
        "callback_time": callback or "as soon as possible",
        "service_interest": understanding.service or "",
        "context": ", ".join(context),
        "question": QUESTIONS.get(understanding.escalation or "", ""),
        "exact_words": message.body,
        "receptionist_said": said,
        "not_promised": NOT_PROMISED,
    }


def _reply_text(message: Message, category: str) -> str:
    practice = message.practice
    if category == "emergency":
        return message_text(practice=practice, key="emergency_reply")
    if category == "human_request":
        return message_text(practice=practice, key="human_handoff")
    return (
        f"Thanks for asking. That's a question for our clinical team at {practice.brand_name}: "
        "someone will get back to you shortly."
        if category == "clinical"
        else f"Thank you for telling us. A member of the {practice.brand_name} team will reach out to you shortly."
    )


def alert_staff(escalation: Escalation) -> int:
    """Alert staff of an escalation: the kind, never the patient's words. The routed person at once, and
    everyone else who receives alerts after a grace period (skipped when it is sent if the escalation was
    claimed or resolved by then); everyone at once when nobody is routed or the routed person can't be
    alerted. Returns how many alerts were queued."""
    practice = escalation.practice
    first_name = escalation.patient.first_name if escalation.patient and escalation.patient.first_name else "A patient"
    what = f"{escalation.get_category_display()} from {first_name}"
    routed = escalation.routed_to
    if routed is None or not can_be_alerted(routed):
        body = message_text(practice=practice, key="staff_alert", summary=f"{what}. Open the console to claim it.")
        return sum(_alert(staff, practice=practice, body=body) for staff in staff_for_alerts(practice=practice))
    summary = f"{what}, routed to you. Open the console to claim it."
    sent = _alert(routed, practice=practice, body=message_text(practice=practice, key="staff_alert", summary=summary))
    summary = f"{what}, not claimed yet. Open the console to claim it."
    later = message_text(practice=practice, key="staff_alert", summary=summary)
    due_at = escalation.created_at + alert_grace(escalation.category)
    for staff in staff_for_alerts(practice=practice).exclude(pk=routed.pk):
        sent += _alert(
            staff, practice=practice, body=later, due_at=due_at, purpose=f"{ESCALATION_ALERT}{escalation.pk}"
        )
    return sent


def _alert(staff: StaffMember, *, practice, body: str, **fields) -> int:
    """Queue one alert to a staff member, by text where they have a phone, else by email."""
    phone, email = staff.phone, staff.email or staff.user.email
    if not phone and not email:
        return 0
    outreach_queue(
        practice=practice,
        kind=Outreach.Kind.STAFF_ALERT,
        phone=phone,
        email=email if not phone else "",
        channel=Channel.SMS if phone else Channel.EMAIL,
        body=body,
        automated=False,
        **fields,
    )
    return 1


def hand_off(*, message: Message, understanding: Understanding) -> Escalation:
    """Open (or add to) the escalation, tell staff, answer the patient with approved wording."""
    category = understanding.escalation or "human_request"
    conversation = message.conversation
    said = _reply_text(message, category)
    escalation, created = escalation_open(
        practice=message.practice,
        category=category,
        summary=_summary(message, understanding, said),
        reasons=understanding.reasons,
        patient=conversation.patient,
        conversation=conversation,
        source_message=message,
    )
    media_attach_to_escalation(escalation=escalation, message=message)
    if category in ("emergency", "human_request"):
        Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.HANDED_OFF)
    if created:
        alert_staff(escalation)
        logger.info("escalation %s opened (%s)", escalation.pk, category)
    already_answered = Message.objects.filter(
        conversation=conversation,
        direction=Message.Direction.OUTBOUND,
        body__contains=said[:40],
        created_at__gte=escalation.created_at,
    ).exists()
    if created or category == "emergency" and not already_answered:
        outreach_to_patient(conversation=conversation, kind=Outreach.Kind.REPLY, body=said)
    return escalation
