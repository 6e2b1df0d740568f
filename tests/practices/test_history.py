"""Changes to patients, visits, consent and escalations keep a history: what changed, when, by whom."""

from django.urls import reverse

from booking.models import Appointment
from escalations.models import Escalation
from practices.models import ContactConsent
from practices.services import consent_record
from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory


def test_staff_changes_are_recorded_with_who_made_them(client, db):
    desk = build_desk()
    riley = StaffMemberFactory(practice=desk["practice"], user__username="riley").user
    client.force_login(riley)
    appointment = desk["appointment"]
    client.post(reverse("console-appointment-action", args=[appointment.pk, "cancel"]), {"reason": "Sick"})
    history = Appointment.history.filter(id=appointment.pk).order_by("history_date")
    assert [(row.status, row.history_type) for row in history] == [("booked", "+"), ("cancelled", "~")]
    assert history.last().history_user == riley and history.last().cancellation_reason == "Sick"

    escalation = desk["escalation"]
    client.post(reverse("console-escalation-claim", args=[escalation.pk]))
    latest = Escalation.history.filter(id=escalation.pk).latest("history_date")
    assert (latest.status, latest.history_user) == ("claimed", riley)


def test_consent_and_patient_changes_are_recorded(db):
    desk = build_desk()
    consent_record(
        practice=desk["practice"], phone=desk["patient"].phone, kind="opt_out", source="sms_keyword", told="Bye"
    )
    consent = ContactConsent.objects.get(practice=desk["practice"], phone=desk["patient"].phone)
    assert consent.history.latest("history_date").status == consent.status == "opted_out"
    patient = desk["patient"]
    patient.first_name = "Liv"
    patient.save()
    assert [row.first_name for row in patient.history.order_by("history_date")] == ["Olivia", "Liv"]
