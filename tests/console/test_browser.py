"""The console in a real browser: Debian's Chromium driven by Playwright against a live server.

Screenshots of each page go to test-output/screenshots/. Skipped, with the reason, where Chromium
is not installed (`apt-get install chromium`); CI installs it.
"""

from pathlib import Path

import pytest
from django.urls import reverse

from booking.models import Appointment
from escalations.services import escalation_open
from tests.browser import CHROMIUM, SHOTS, shot
from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)"),
]


@pytest.fixture
def desk_page(browser, live_server, settings):
    settings.DEBUG = False
    desk = build_desk()
    StaffMemberFactory(practice=desk["practice"], user__username="riley", role="front_desk")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # Anything the Content-Security-Policy blocks is reported on the console: the pages must need nothing blocked.
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", "riley")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    SHOTS.mkdir(parents=True, exist_ok=True)
    yield page, desk, live_server.url
    assert errors == []
    page.close()


def test_claim_and_resolve_an_escalation(desk_page):
    page, desk, base = desk_page
    shot(page, "home")
    page.goto(f"{base}/console/escalations/")
    card = page.locator(f"#escalation-{desk['escalation'].pk}")
    card.get_by_role("button", name="Claim").click()
    page.wait_for_selector(f"#escalation-{desk['escalation'].pk} >> text=Claimed by")
    card.get_by_label("How it was resolved").fill("Called back, coming in at 2")
    card.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("text=Resolved: Called back, coming in at 2")
    shot(page, "escalations")
    desk["escalation"].refresh_from_db()
    assert desk["escalation"].status == "resolved"


def test_take_over_a_conversation_and_reply(desk_page):
    page, desk, base = desk_page
    page.goto(f"{base}/console/conversations/")
    shot(page, "conversations")
    page.get_by_role("link", name="Olivia Nguyen").click()
    page.get_by_role("button", name="Take over").click()
    page.wait_for_selector("text=the receptionist is silent")
    page.get_by_label("Reply as staff").fill("Hi Olivia, can you text us a photo?")
    page.get_by_role("button", name="Send").click()
    page.wait_for_selector(".thread >> text=can you text us a photo?")
    shot(page, "conversation")
    desk["conversation"].refresh_from_db()
    assert desk["conversation"].taken_over_by is not None


def test_book_a_slot_from_the_schedule(desk_page):
    page, desk, base = desk_page
    page.goto(f"{base}/console/schedule/")
    shot(page, "schedule")
    page.get_by_role("link", name="Book a visit").click()
    page.get_by_label("Service").select_option(label="HydraFacial")
    page.wait_for_selector("input[name=slot]")
    page.locator("input[name=slot]").first.check()
    page.get_by_label("Patient phone").fill("(646) 555-0142")
    page.get_by_label("First name").fill("Nora")
    shot(page, "book")
    page.get_by_role("button", name="Book").click()
    page.wait_for_selector("text=Booked:")
    assert Appointment.objects.filter(patient__phone="+16465550142", source="staff").count() == 1
    page.wait_for_selector(".visit >> text=Nora")


def test_a_queue_count_changes_without_a_reload(desk_page):
    page, desk, base = desk_page
    badge = page.locator('[data-count="escalations"]')
    assert badge.inner_text() == "1"
    page.evaluate("window.__marker = 'no reload'")
    escalation_open(
        practice=desk["practice"],
        category="clinical",
        patient=desk["patient"],
        summary={"exact_words": "is it safe while nursing?"},
    )
    page.wait_for_function("() => document.querySelector('[data-count=escalations]').innerText === '2'", timeout=20000)
    assert page.evaluate("window.__marker") == "no reload"
    shot(page, "counts-updated")


def test_patient_and_series_pages(desk_page):
    page, desk, base = desk_page
    page.goto(f"{base}/console/patients/{desk['patient'].pk}/")
    assert "•••-•••-0188" in page.inner_text("body")
    page.get_by_role("link", name="Show number").click()
    page.wait_for_selector("text=+16465550188")
    shot(page, "patient")
    page.goto(f"{base}/console/series/")
    page.get_by_role("button", name="Follow up in 2 weeks").click()
    page.wait_for_selector("text=Follow-up task due")
    shot(page, "series")
    page.goto(f"{base}/console/callbacks/")
    shot(page, "callbacks")


def test_the_admin_and_the_simulator_work_under_the_content_security_policy(browser, live_server, settings):
    settings.DEBUG = False
    settings.DEMO_MODE = True
    desk = build_desk()
    StaffMemberFactory(practice=desk["practice"], user__username="morgan", role="manager")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    blocked = []
    page.on(
        "console", lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("pageerror", lambda error: blocked.append(str(error)))
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", "morgan")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")
    page.goto(f"{live_server.url}/admin/practices/patient/{desk['patient'].pk}/change/")
    assert page.locator("#id_first_name").input_value() == "Olivia"
    page.goto(f"{live_server.url}/admin/practices/service/{desk['service'].pk}/change/")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_selector("text=was changed successfully")
    shot(page, "admin-under-csp")
    page.goto(f"{live_server.url}/simulator/")
    page.wait_for_load_state("networkidle")
    shot(page, "simulator-under-csp")
    assert blocked == []
    page.close()
