"""Intake in the console: status on the schedule and the patient page, the "Provider review" badge with its
reasons, the answers page (audited), the provider's sign-off, a fresh link, and another practice's 404."""

import pytest
from django.test import Client
from django.urls import reverse

from booking import intake
from booking.models import Appointment, IntakeForm
from calls.messaging import backends
from calls.models import Outreach
from practices.models import AuditEvent
from tests.factories import StaffMemberFactory

ANSWERS = {
    "first_name": "Olivia",
    "last_name": "Nguyen",
    "date_of_birth": "1991-03-14",
    "medications": "Eliquis <script>alert('meds')</script>",
    "allergies": "none",
    "pregnancy": "yes",
    "isotretinoin": "no",
    "conditions": "none",
    "prior_treatments": "",
    "acknowledged": [],
}


@pytest.fixture
def outbox():
    backends.outbox.clear()
    yield backends.outbox
    backends.outbox.clear()


@pytest.fixture
def form(desk):
    form, created = intake.intake_for_appointment(appointment=desk["appointment"])
    assert created
    return form


@pytest.fixture
def submitted(form):
    return intake.intake_submit(form=form, answers=dict(ANSWERS))


def signed_in(practice, role: str) -> Client:
    client = Client()
    client.force_login(StaffMemberFactory(practice=practice, role=role).user)
    return client


def schedule(client, desk) -> str:
    response = client.get(reverse("console-schedule"), {"date": desk["today"].isoformat()})
    assert response.status_code == 200
    return response.content.decode()


def test_the_schedule_and_the_patient_page_show_the_intake_status(staff_client, desk, form):
    visit = schedule(staff_client, desk).split(f'id="visit-{desk["appointment"].pk}"')[1].split("</article>")[0]
    assert "Intake sent, not done" in visit and reverse("console-intake", args=[form.pk]) in visit
    assert "Provider review" not in visit
    patient = staff_client.get(reverse("console-patient", args=[desk["patient"].pk])).content.decode()
    assert "Intake sent, not done" in patient

    intake.intake_open(form=form)
    assert "Intake sent, opened, not done" in schedule(staff_client, desk)


def test_flagged_answers_show_a_provider_review_badge_with_the_reasons(staff_client, desk, submitted):
    visit = schedule(staff_client, desk).split(f'id="visit-{desk["appointment"].pk}"')[1].split("</article>")[0]
    assert "Intake done" in visit and '<span class="pill review"' in visit and ">Provider review<" in visit
    assert "Pregnant, trying to conceive or nursing" in visit and "Blood thinner: Eliquis" in visit
    patient = staff_client.get(reverse("console-patient", args=[desk["patient"].pk])).content.decode()
    assert ">Provider review<" in patient and "Blood thinner: Eliquis" in patient


def test_opening_the_answers_writes_an_audit_row_and_shows_them_escaped(staff_client, desk, submitted, staff):
    assert not AuditEvent.objects.filter(what="intake").exists()
    response = staff_client.get(reverse("console-intake", args=[submitted.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "1991-03-14" in body and "Eliquis &lt;script&gt;alert(" in body and "<script>alert('meds')" not in body
    assert "Blood thinner: Eliquis" in body
    event = AuditEvent.objects.get(what="intake")
    assert (event.user, event.practice, event.object_id) == (staff, desk["practice"], str(submitted.pk))


def test_front_desk_cannot_sign_off_a_review_but_a_provider_can(staff_client, desk, submitted):
    page = staff_client.get(reverse("console-intake", args=[submitted.pk])).content.decode()
    assert "Mark review done" not in page and "A provider or a manager signs this off" in page
    assert staff_client.post(reverse("console-intake-review", args=[submitted.pk])).status_code == 403
    assert Appointment.objects.get(pk=desk["appointment"].pk).reviewed_at is None

    nurse = signed_in(desk["practice"], "clinical")
    assert "Mark review done" in nurse.get(reverse("console-intake", args=[submitted.pk])).content.decode()
    response = nurse.post(reverse("console-intake-review", args=[submitted.pk]))
    assert response.status_code == 302
    appointment = Appointment.objects.get(pk=desk["appointment"].pk)
    assert appointment.reviewed_at is not None and appointment.reviewed_by.staff_member.role == "clinical"
    visit = schedule(staff_client, desk).split(f'id="visit-{desk["appointment"].pk}"')[1].split("</article>")[0]
    assert "Provider review done" in visit and "Blood thinner" not in visit
    # Signing off twice keeps the first sign-off.
    first = appointment.reviewed_at
    signed_in(desk["practice"], "manager").post(reverse("console-intake-review", args=[submitted.pk]))
    assert Appointment.objects.get(pk=desk["appointment"].pk).reviewed_at == first


def test_a_manager_can_sign_off_too_and_nothing_to_review_is_refused(desk, form, submitted):
    manager = signed_in(desk["practice"], "manager")
    assert manager.post(reverse("console-intake-review", args=[submitted.pk])).status_code == 302
    assert Appointment.objects.get(pk=desk["appointment"].pk).reviewed_at is not None
    Appointment.objects.filter(pk=desk["appointment"].pk).update(needs_provider_review=False, reviewed_at=None)
    response = manager.post(reverse("console-intake-review", args=[submitted.pk]), follow=True)
    assert "nothing for a provider to review" in response.content.decode()


def test_another_practices_intake_is_not_found(staff_client, desk, other_desk):
    theirs, _ = intake.intake_for_appointment(appointment=other_desk["appointment"])
    intake.intake_submit(form=theirs, answers=dict(ANSWERS))
    for name in ("console-intake", "console-intake-review", "console-intake-resend"):
        assert staff_client.get(reverse(name, args=[theirs.pk])).status_code in (404, 405)
        assert staff_client.post(reverse(name, args=[theirs.pk])).status_code in (404, 405)
    assert staff_client.get(reverse("console-intake", args=[theirs.pk])).status_code == 404
    assert Appointment.objects.get(pk=other_desk["appointment"].pk).reviewed_at is None
    assert not AuditEvent.objects.filter(what="intake").exists()
    assert "Eliquis" not in schedule(staff_client, desk)


def test_sending_a_new_link_revokes_the_old_one(staff_client, desk, form, outbox, django_capture_on_commit_callbacks):
    old = reverse("intake-form", args=[intake.intake_token(form)])
    assert Client().get(old).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(reverse("console-intake-resend", args=[form.pk]))
    assert response.status_code == 302
    assert Client().get(old).status_code == 410
    sent = [message.body for message in outbox if "/intake/" in message.body]
    assert len(sent) == 1
    new = "/intake/" + sent[0].split("/intake/")[1].split("/")[0] + "/"
    assert Client().get(new).status_code == 200
    assert Outreach.objects.get(kind="intake").state == "sent"
    # A done form gets no new link.
    intake.intake_submit(form=IntakeForm.objects.get(), answers={"medications": "none"})
    follow = staff_client.post(reverse("console-intake-resend", args=[form.pk]), follow=True)
    assert "No new link sent" in follow.content.decode()
