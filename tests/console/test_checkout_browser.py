"""Checkout in a real browser (Debian's Chromium through Playwright): complete a series visit on the
schedule, land on checkout, and book the next visit with htmx, under the Content-Security-Policy."""

from pathlib import Path

import pytest
from django.urls import reverse

from booking.models import Appointment
from tests.browser import CHROMIUM, shot
from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)"),
]


def test_complete_a_series_visit_and_book_the_next_one_before_the_client_leaves(browser, live_server, settings):
    settings.DEBUG = False
    desk = build_desk()
    Appointment.objects.filter(pk=desk["appointment"].pk).update(enrollment=desk["enrollment"])
    StaffMemberFactory(practice=desk["practice"], user__username="riley", role="front_desk")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", "riley")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")

    page.goto(f"{live_server.url}/console/schedule/")
    visit = page.locator(f"#visit-{desk['appointment'].pk}")
    visit.get_by_role("button", name="Check in").click()
    page.locator(f"#visit-{desk['appointment'].pk}").get_by_role("button", name="Complete").click()
    page.wait_for_url(f"{live_server.url}{reverse('console-checkout', args=[desk['appointment'].pk])}")
    page.wait_for_selector("text=Laser: visit 4 of 6")
    shot(page, "checkout")

    page.evaluate("window.__marker = 'no reload'")
    page.locator("input[name=slot]").nth(1).check()
    page.get_by_role("button", name="Book the next visit").click()
    page.wait_for_selector("text=Next visit booked")
    assert page.evaluate("window.__marker") == "no reload"  # htmx swapped the panel in place
    shot(page, "checkout-booked")
    booked = Appointment.objects.exclude(pk=desk["appointment"].pk).get()
    assert booked.enrollment_id == desk["enrollment"].pk and booked.source == "staff"
    assert errors == []
    page.close()
