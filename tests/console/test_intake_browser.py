"""The intake form on a phone, in a real browser (Debian's Chromium through Playwright, a phone-sized
viewport with touch): the patient sees clear errors, fills it in and sends it; then the front desk sees the
provider review on the schedule and opens the answers.

Screenshots go to test-output/screenshots/intake-*.png.
"""

from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import F
from django.urls import reverse

from booking import intake
from booking.models import Appointment, IntakeForm
from practices.models import AuditEvent, IntakeAcknowledgement
from tests.browser import CHROMIUM, shot
from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)"),
]

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def watch(page) -> list[str]:
    """Script errors and anything the Content-Security-Policy blocked: the pages must need nothing blocked."""
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    return errors


@pytest.fixture
def new_patient_visit(db):
    desk = build_desk()
    appointment = desk["appointment"]
    # Two days ahead, so the link is good for the whole test.
    Appointment.objects.filter(pk=appointment.pk).update(
        starts_at=F("starts_at") + timedelta(days=2),
        ends_at=F("ends_at") + timedelta(days=2),
        blocks_until=F("blocks_until") + timedelta(days=2),
    )
    appointment.refresh_from_db()
    for order, (title, text) in enumerate(
        [
            ("Consent to treatment", "I agree to the treatment my provider recommends after we talk it through."),
            ("Photo policy", "Before-and-after photos stay in my chart and are never shared without my consent."),
        ]
    ):
        IntakeAcknowledgement.objects.create(practice=desk["practice"], title=title, text=text, order=order)
    form, _ = intake.intake_for_appointment(appointment=appointment)
    return {**desk, "appointment": appointment, "form": form}


def test_a_patient_fills_in_the_form_on_a_phone(browser, live_server, settings, new_patient_visit):
    settings.DEBUG = False
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch(page)
    link = f"{live_server.url}{reverse('intake-form', args=[intake.intake_token(new_patient_visit['form'])])}"
    page.goto(link)
    assert page.get_by_role("heading", name="Welcome, Olivia!").is_visible()
    assert page.get_by_label("First name").input_value() == "Olivia"
    # One column that fits the phone: nothing to scroll sideways, a thumb-sized button.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert page.locator("button.submit").bounding_box()["height"] >= 44
    shot(page, "intake-phone-form")

    # Sent empty: the errors are listed at the top and shown at each field.
    page.get_by_label("Date of birth").fill("2031-01-01")
    page.get_by_role("button", name="Send my answers").click()
    page.wait_for_selector(".error-summary")
    assert page.locator("#id_medications_error").inner_text() == "Please answer this, or write “none”."
    assert "must be in the past" in page.locator("#id_date_of_birth_error").inner_text()
    assert page.locator("#id_pregnancy_error").is_visible()
    assert page.get_by_label("Medications and supplements").get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, "intake-phone-errors")
    assert IntakeForm.objects.get().status == "sent"

    page.get_by_label("Email").fill("olivia@example.com")
    page.get_by_label("Date of birth").fill("1991-03-14")
    page.get_by_label("Medications and supplements").fill("Eliquis 5 mg twice a day")
    page.get_by_label("Allergies").fill("none")
    page.get_by_role("group", name="Are you pregnant").get_by_label("No", exact=True).check()
    page.get_by_role("group", name="isotretinoin").get_by_label("No", exact=True).check()
    page.get_by_label("Health conditions").fill("none")
    page.get_by_label("Prior aesthetic treatments").fill("Botox last spring")
    page.get_by_label("I have read and agree: Consent to treatment").check()
    page.get_by_label("I have read and agree: Photo policy").check()
    csrf = page.locator("input[name=csrfmiddlewaretoken]").input_value()
    page.get_by_role("button", name="Send my answers").tap()
    page.wait_for_selector("text=Thank you, your form is in")
    shot(page, "intake-phone-done")

    form = IntakeForm.objects.get()
    assert form.status == "submitted" and form.answers["medications"] == "Eliquis 5 mg twice a day"
    assert [ack["title"] for ack in form.answers["acknowledged"]] == ["Consent to treatment", "Photo policy"]
    appointment = Appointment.objects.get(pk=new_patient_visit["appointment"].pk)
    assert appointment.needs_provider_review and appointment.review_reasons == ["Blood thinner: Eliquis"]

    # Sending it again (the same form, with the browser's own cookie and CSRF token) changes nothing.
    replay = page.request.post(
        link,
        form={"csrfmiddlewaretoken": csrf, "medications": "none", "pregnancy": "yes"},
        headers={"Referer": link, "Origin": live_server.url},
    )
    assert replay.status == 409 and "your form is in" in replay.text()
    assert IntakeForm.objects.get().answers == form.answers
    page.goto(link)
    assert page.get_by_role("heading", name="Thank you, your form is in").is_visible()
    assert errors == []
    context.close()


def test_the_front_desk_sees_the_provider_review_and_opens_the_answers(
    browser, live_server, settings, new_patient_visit
):
    settings.DEBUG = False
    intake.intake_submit(
        form=new_patient_visit["form"],
        answers={"first_name": "Olivia", "medications": "warfarin", "pregnancy": "yes", "acknowledged": []},
    )
    StaffMemberFactory(practice=new_patient_visit["practice"], user__username="riley", role="front_desk")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = watch(page)
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", "riley")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    day = new_patient_visit["appointment"].local_start.date()
    page.goto(f"{live_server.url}/console/schedule/?date={day.isoformat()}")
    visit = page.locator(f"#visit-{new_patient_visit['appointment'].pk}")
    assert visit.locator(".pill.review").inner_text() == "Provider review"
    assert "Blood thinner: warfarin" in visit.inner_text()
    shot(page, "intake-schedule-review")
    visit.get_by_role("link", name="Answers").click()
    page.wait_for_selector("text=New patient intake")
    assert "warfarin" in page.inner_text(".answers")
    shot(page, "intake-answers")
    assert AuditEvent.objects.filter(what="intake", object_id=str(new_patient_visit["form"].pk)).count() == 1
    assert errors == []
    page.close()
