"""The analytics pages in a real browser: charts drawn from the vendored Chart.js, filters, the ROI form.
Screenshots go to test-output/screenshots/analytics-*.png."""

import pytest
from django.urls import reverse

from tests.browser import shot, skip_without_chromium
from tests.factories import StaffMemberFactory

from .conftest import WEEK

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True), skip_without_chromium()]


def signed_in(browser, base: str, username: str, *, width: int = 1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors, remote = [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("request", lambda request: remote.append(request.url) if not request.url.startswith(base) else None)
    page.goto(f"{base}{reverse('login')}")
    page.fill("#id_username", username)
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    return page, errors, remote


@pytest.fixture
def manager_page(browser, live_server, week, settings):
    settings.DEBUG = False
    StaffMemberFactory(practice=week["practice"], user__username="morgan", role="manager")
    page, errors, remote = signed_in(browser, live_server.url, "morgan")
    yield page, live_server.url
    assert errors == []
    assert [url for url in remote if not url.startswith("data:")] == []  # nothing from the internet
    page.close()


def test_dashboard_draws_its_charts_and_filters_by_source(manager_page):
    page, base = manager_page
    page.goto(f"{base}/analytics/?start={WEEK[0]}&end={WEEK[1]}")
    page.wait_for_function("() => window.Chart && Chart.getChart('funnel-chart') && Chart.getChart('daily-chart')")
    assert page.evaluate("Chart.getChart('funnel-chart').data.datasets[0].data") == [7, 5, 4, 3, 3, 1]
    assert page.evaluate("Chart.getChart('daily-chart').data.datasets.length") == 4
    # Lines differ by dash and marker as well as colour.
    dashes = page.evaluate("Chart.getChart('daily-chart').data.datasets.map(d => JSON.stringify(d.borderDash))")
    assert len(set(dashes)) == 4
    assert page.locator("table.heatmap tbody tr").count() == 7
    shot(page, "analytics-dashboard")

    page.select_option("select[name=source]", "spring")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**source=spring**")
    page.wait_for_function("() => window.Chart && Chart.getChart('funnel-chart')")
    assert page.evaluate("Chart.getChart('funnel-chart').data.datasets[0].data") == [1, 1, 1, 1, 1, 0]


def test_series_review_and_roi_model(manager_page):
    page, base = manager_page
    page.goto(f"{base}/analytics/series/?week=2026-12-02")
    assert page.get_by_role("heading", name="Weekly series review").is_visible()
    shot(page, "analytics-series")
    page.goto(f"{base}/analytics/roi/")
    page.fill("#id_monthly_calls", "520")
    page.fill("#id_booking_intent_percent", "48")
    page.fill("#id_recovery_lift_percent", "25")
    page.fill("#id_average_visit_value", "527")
    page.get_by_role("button", name="Recalculate").click()
    page.wait_for_url("**monthly_calls=520**")
    assert "$32,885" in page.locator(".kpi.big").first.inner_text()
    shot(page, "analytics-roi")


def test_front_desk_sees_their_own_figures(browser, live_server, week, settings):
    settings.DEBUG = False
    StaffMemberFactory(practice=week["practice"], user__username="riley", role="front_desk")
    page, errors, _remote = signed_in(browser, live_server.url, "riley", width=820)
    page.goto(f"{live_server.url}/analytics/")
    assert page.get_by_role("heading", name="Your figures").is_visible()
    assert page.locator("canvas").count() == 0
    shot(page, "analytics-front-desk-tablet")
    assert errors == []
    page.close()
