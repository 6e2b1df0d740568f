"""The new patient's intake form through its public page: the signed link, its expiry, tampering,
revocation, replay, guessing (throttled), CSRF, and the provider review the answers call for."""

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import signing
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from booking import intake
from booking.intake_views import BAD_LINKS_ALLOWED
from booking.models import Appointment, IntakeForm
from practices.models import IntakeAcknowledgement
from tests.factories import AppointmentFactory, LocationFactory, PatientFactory, PracticeFactory

NY = ZoneInfo("America/New_York")
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=NY)  # a Wednesday morning
VISIT = datetime(2026, 12, 5, 11, 0, tzinfo=NY)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def clinic(db):
    practice = PracticeFactory(brand_name="Glow Aesthetics")
    location = LocationFactory(practice=practice, time_zone="America/New_York")
    patient = PatientFactory(practice=practice, first_name="Olivia", last_name="Nguyen", phone="+16465550188")
    consent = IntakeAcknowledgement.objects.create(
        practice=practice, title="Consent to treatment", text="I agree to be treated.", order=1
    )
    photos = IntakeAcknowledgement.objects.create(
        practice=practice, title="Photo policy", text="Before-and-after photos stay in my chart.", order=2
    )
    IntakeAcknowledgement.objects.create(practice=practice, title="Retired wording", text="old", is_active=False)
    appointment = AppointmentFactory(practice=practice, location=location, patient=patient, starts_at=VISIT)
    form, created = intake.intake_for_appointment(appointment=appointment)
    assert created
    return {
        "practice": practice,
        "location": location,
        "patient": patient,
        "appointment": appointment,
        "form": form,
        "acks": [consent, photos],
    }


def url(form: IntakeForm) -> str:
    return reverse("intake-form", args=[intake.intake_token(form)])


def answers(clinic, **overrides) -> dict:
    data = {
        "first_name": "Olivia",
        "last_name": "Nguyen",
        "email": "olivia@example.com",
        "date_of_birth": "1991-03-14",
        "medications": "none",
        "allergies": "none",
        "pregnancy": "no",
        "isotretinoin": "no",
        "conditions": "none",
        "prior_treatments": "",
    }
    data.update({f"ack_{ack.pk}": "on" for ack in clinic["acks"]})
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def reveals_nothing(response, clinic) -> bool:
    body = response.content.decode()
    private = ["Olivia", "Nguyen", "Glow Aesthetics", "Dec", "6465550188", clinic["appointment"].service.name]
    return not any(word in body for word in private)


# A new patient gets a form; a returning one does not.


def test_a_new_patients_visit_gets_one_form_that_expires_at_the_visit(clinic):
    form = clinic["form"]
    assert (form.patient, form.status, form.expires_at) == (clinic["patient"], "sent", VISIT)
    assert len(form.nonce) == 43
    assert intake.intake_for_appointment(appointment=clinic["appointment"]) == (form, False)


def test_a_returning_patient_or_one_who_visited_before_gets_no_form(clinic):
    regular = PatientFactory(practice=clinic["practice"], is_returning=True)
    visit = AppointmentFactory(
        practice=clinic["practice"], location=clinic["location"], patient=regular, starts_at=VISIT
    )
    assert intake.intake_for_appointment(appointment=visit) == (None, False)

    visited = PatientFactory(practice=clinic["practice"])
    AppointmentFactory(
        practice=clinic["practice"],
        location=clinic["location"],
        patient=visited,
        starts_at=NOW - timedelta(days=40),
        status=Appointment.Status.COMPLETED,
    )
    second = AppointmentFactory(
        practice=clinic["practice"], location=clinic["location"], patient=visited, starts_at=VISIT
    )
    assert intake.intake_for_appointment(appointment=second) == (None, False)


# The page.


def test_the_link_opens_the_form_records_the_first_opening_and_is_never_cached(client, clinic):
    response = client.get(url(clinic["form"]))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Glow Aesthetics" in body and "Saturday, December 5 at 11:00 AM" in body
    assert "Consent to treatment" in body and "Photo policy" in body and "Retired wording" not in body
    assert 'name="date_of_birth"' in body and 'type="date"' in body and "csrfmiddlewaretoken" in body
    assert "no-store" in response["Cache-Control"] and response["Referrer-Policy"] == "same-origin"
    opened = IntakeForm.objects.get().opened_at
    assert opened is not None
    client.get(url(clinic["form"]))
    assert IntakeForm.objects.get().opened_at == opened


def test_a_submission_stores_the_answers_once_and_updates_the_patient(client, clinic):
    link = url(clinic["form"])
    response = client.post(link, answers(clinic, prior_treatments="Botox in June"))
    assert response.status_code == 302 and response["Location"] == link
    done = client.get(link)
    assert done.status_code == 200 and "your form is in" in done.content.decode()
    form = IntakeForm.objects.get()
    assert form.status == "submitted" and form.submitted_at is not None
    assert form.answers["date_of_birth"] == "1991-03-14" and form.answers["prior_treatments"] == "Botox in June"
    assert [ack["title"] for ack in form.answers["acknowledged"]] == ["Consent to treatment", "Photo policy"]
    assert form.flags == []
    clinic["patient"].refresh_from_db()
    assert str(clinic["patient"].date_of_birth) == "1991-03-14" and clinic["patient"].email == "olivia@example.com"
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].needs_provider_review is False


def test_each_missing_or_wrong_answer_is_shown_at_its_field_and_nothing_is_stored(client, clinic):
    data = answers(clinic, medications="", date_of_birth="2031-01-01", pregnancy=None)
    del data[f"ack_{clinic['acks'][1].pk}"]
    response = client.post(url(clinic["form"]), data)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Please check 4 answers" in body
    assert 'id="id_medications_error"' in body and "Please answer this, or write “none”." in body
    assert 'id="id_date_of_birth_error"' in body and "must be in the past" in body
    assert 'id="id_pregnancy_error"' in body and "Please choose an answer." in body
    ack = f"id_ack_{clinic['acks'][1].pk}"
    assert f'id="{ack}_error"' in body and "tick the box" in body
    assert 'aria-invalid="true"' in body
    # What they did fill in is kept.
    assert "olivia@example.com" in body
    assert IntakeForm.objects.get().status == "sent"


def test_a_replayed_submission_changes_nothing(client, clinic):
    link = url(clinic["form"])
    assert client.post(link, answers(clinic)).status_code == 302
    before = IntakeForm.objects.values().get()
    replay = client.post(link, answers(clinic, medications="warfarin", pregnancy="yes"))
    assert replay.status_code == 409
    assert IntakeForm.objects.values().get() == before
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].needs_provider_review is False


def test_a_second_submission_racing_the_first_is_refused(clinic):
    stale = IntakeForm.objects.get()
    intake.intake_submit(form=stale, answers={"medications": "none"})
    with pytest.raises(intake.IntakeAlreadySubmitted):
        intake.intake_submit(form=stale, answers={"medications": "warfarin"})
    assert IntakeForm.objects.get().answers == {"medications": "none"}


# Answers that touch the clinical boundary.


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"pregnancy": "yes"}, "Pregnant, trying to conceive or nursing"),
        ({"conditions": "breastfeeding"}, "Pregnant, trying to conceive or nursing: breastfeeding"),
        ({"medications": "Eliquis 5mg"}, "Blood thinner: Eliquis"),
        ({"medications": "aspirin daily"}, "Blood thinner: aspirin"),
        ({"isotretinoin": "yes"}, "Isotretinoin (Accutane) in the last 12 months"),
        ({"allergies": "lidocaine"}, "Allergy to lidocaine or numbing: lidocaine"),
        (
            {"allergies": "Hyaluronidase"},
            "Allergy to hyaluronidase (or bee or wasp stings, which cross-react): Hyaluronidase",
        ),
        ({"conditions": "cold sores"}, "Cold sores or an active skin infection: cold sores"),
    ],
)
def test_answers_at_the_clinical_boundary_flag_the_visit_for_provider_review(client, clinic, overrides, reason):
    assert client.post(url(clinic["form"]), answers(clinic, **overrides)).status_code == 302
    clinic["appointment"].refresh_from_db()
    assert clinic["appointment"].needs_provider_review is True
    assert clinic["appointment"].review_reasons == [reason]
    assert IntakeForm.objects.get().flags[0]["reason"] == reason.split(":")[0]


# Expiry, tampering, revocation.


def test_the_link_expires_when_the_visit_starts(client, clinic, clock):
    link = url(clinic["form"])
    clock.move_to(VISIT - timedelta(minutes=1))
    assert client.get(link).status_code == 200
    clock.move_to(VISIT)
    response = client.get(link)
    assert response.status_code == 410 and "expired" in response.content.decode()
    assert reveals_nothing(response, clinic)
    assert client.post(link, answers(clinic)).status_code == 410
    assert IntakeForm.objects.get().status == "sent"


def test_the_link_carries_its_own_expiry_and_a_visit_moved_earlier_ends_it_sooner(client, clinic, clock):
    form = clinic["form"]
    form.expires_at = NOW + timedelta(hours=1)
    early = url(form)  # signed with the sooner expiry
    IntakeForm.objects.filter(pk=form.pk).update(expires_at=VISIT)
    clock.move_to(NOW + timedelta(hours=2))
    assert client.get(early).status_code == 410
    form.refresh_from_db()
    assert client.get(url(form)).status_code == 200
    Appointment.objects.filter(pk=clinic["appointment"].pk).update(starts_at=NOW + timedelta(hours=3))
    clock.move_to(NOW + timedelta(hours=3))
    assert client.get(url(form)).status_code == 410


def test_a_cancelled_visit_closes_the_link(client, clinic):
    Appointment.objects.filter(pk=clinic["appointment"].pk).update(status=Appointment.Status.CANCELLED)
    response = client.get(url(clinic["form"]))
    assert response.status_code == 410 and reveals_nothing(response, clinic)


def test_a_tampered_link_is_not_found_and_shows_nothing(client, clinic):
    form = clinic["form"]
    other_visit = AppointmentFactory(
        practice=clinic["practice"],
        location=clinic["location"],
        patient=PatientFactory(practice=clinic["practice"]),
        starts_at=VISIT + timedelta(hours=2),
    )
    other, _ = intake.intake_for_appointment(appointment=other_visit)
    token = intake.intake_token(form)
    value, signature = token.rsplit(":", 1)
    form_id, nonce, expires = value.split(".")
    far_future = signing.b62_encode(int((VISIT + timedelta(days=365)).timestamp()))
    tampered = [
        f"{value}:{signature[:-2]}{'AA' if not signature.endswith('AA') else 'BB'}",  # changed signature
        f"{other.pk}.{nonce}.{expires}:{signature}",  # another form's id under this signature
        f"{form_id}.{other.nonce}.{expires}:{signature}",  # another form's nonce
        f"{form_id}.{nonce}.{far_future}:{signature}",  # a later expiry
        value,  # no signature at all
        "not-a-token",
        signing.Signer(salt="another.salt").sign(value),  # signed for something else
    ]
    for bad in tampered:
        response = client.get(reverse("intake-form", args=[bad]))
        assert response.status_code == 404, bad
        assert reveals_nothing(response, clinic), bad
        assert client.post(reverse("intake-form", args=[bad]), answers(clinic)).status_code == 404
    assert IntakeForm.objects.filter(status="submitted").count() == 0
    assert IntakeForm.objects.get(pk=form.pk).opened_at is None


def test_a_new_nonce_revokes_every_earlier_link(client, clinic):
    old = url(clinic["form"])
    renewed = intake.intake_revoke(form=clinic["form"])
    assert renewed.nonce != clinic["form"].nonce
    response = client.get(old)
    assert response.status_code == 410 and reveals_nothing(response, clinic)
    assert client.post(old, answers(clinic)).status_code == 410
    assert client.get(url(renewed)).status_code == 200


def test_a_link_to_a_deleted_form_is_gone(client, clinic):
    link = url(clinic["form"])
    IntakeForm.objects.all().delete()
    assert client.get(link).status_code == 410


# Guessing.


def test_tokens_are_unguessable():
    nonces = {intake._nonce() for _ in range(50)}
    assert len(nonces) == 50 and all(len(nonce) == 43 for nonce in nonces)


def test_a_client_sending_bad_links_is_throttled_whatever_it_sends_next(clinic, clock):
    guesser, patient = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="198.51.100.2")
    good = url(clinic["form"])
    for attempt in range(BAD_LINKS_ALLOWED):
        assert guesser.get(reverse("intake-form", args=[f"{attempt}.guess.x:sig"])).status_code == 404
    throttled = guesser.get(reverse("intake-form", args=["1.guess.x:sig"]))
    assert throttled.status_code == 429 and throttled["Retry-After"] == "900"
    assert reveals_nothing(throttled, clinic)
    # Even a real link gets nothing from a throttled client, so its guesses teach it nothing.
    assert guesser.get(good).status_code == 429
    assert guesser.post(good, answers(clinic)).status_code == 429
    assert IntakeForm.objects.get().status == "sent"
    # Another client is not affected.
    assert patient.get(good).status_code == 200
    # The last X-Forwarded-For hop is the client our proxy saw; earlier hops are the client's own say.
    spoofing = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.55, 203.0.113.7")
    assert spoofing.get(good).status_code == 429
    clock.move_to(NOW + timedelta(minutes=16))
    assert guesser.get(good).status_code == 200


# CSRF and logs.


def test_csrf_protection_stays_on(clinic):
    browser = Client(enforce_csrf_checks=True)
    link = url(clinic["form"])
    assert browser.post(link, answers(clinic)).status_code == 403
    assert IntakeForm.objects.get().status == "sent"
    page = browser.get(link)
    token = page.context["csrf_token"]
    assert browser.post(link, {**answers(clinic), "csrfmiddlewaretoken": str(token)}).status_code == 302
    assert IntakeForm.objects.get().status == "submitted"


def test_no_patient_data_or_link_in_the_logs(client, clinic, caplog):
    caplog.set_level(logging.DEBUG)
    link = url(clinic["form"])
    client.get(link)
    client.post(link, answers(clinic, first_name="", medications="warfarin"))  # errors
    client.post(link, answers(clinic, medications="warfarin 5mg", allergies="lidocaine"))
    client.post(link, answers(clinic))  # replay
    client.get(reverse("intake-form", args=["12.nonce.x:forged"]))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "intake form" in logged and "refused" in logged  # it does log, by id
    token = intake.intake_token(clinic["form"])
    for private in ["Olivia", "Nguyen", "6465550188", "1991-03-14", "warfarin", "lidocaine", token, "forged"]:
        assert private not in logged, private
