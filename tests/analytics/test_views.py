"""The analytics pages, CSV exports and API: who sees what, what they show, bad input."""

import csv
import io
import json
from decimal import Decimal

import pytest

from booking.models import Appointment
from tests.factories import LocationFactory, StaffMemberFactory

from .conftest import WEEK

WEEK_QUERY = {"start": WEEK[0].isoformat(), "end": WEEK[1].isoformat()}


@pytest.fixture
def manager_client(client, week):
    client.force_login(StaffMemberFactory(practice=week["practice"], role="manager").user)
    return client


@pytest.fixture
def desk_client(client, week):
    client.force_login(StaffMemberFactory(practice=week["practice"], role="front_desk").user)
    return client


def rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_signed_out_goes_to_sign_in(client, db):
    for url in ["/analytics/", "/analytics/series/", "/analytics/roi/", "/analytics/export/funnel.csv"]:
        response = client.get(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_front_desk_sees_only_their_own_queue_figures(desk_client):
    page = desk_client.get("/analytics/", WEEK_QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert "Your queue" in html and "recovery funnel" not in html
    for url in ["/analytics/series/", "/analytics/roi/", "/analytics/export/funnel.csv"]:
        assert desk_client.get(url).status_code == 403
    assert desk_client.get("/api/v1/analytics/summary/").status_code == 403
    assert desk_client.get("/api/v1/analytics/me/", WEEK_QUERY).json()["claimed"] == 0


def test_manager_dashboard_shows_the_weeks_figures_with_tables_beside_the_charts(manager_client):
    page = manager_client.get("/analytics/", WEEK_QUERY)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<canvas id="funnel-chart"' in html and '<canvas id="daily-chart"' in html
    assert '<th scope="row">Replied</th><td>4</td><td>80%</td>' in html
    assert '<th scope="row">Busy</th><td>1</td>' in html
    assert "Spring glow" in html
    assert "vendor/chartjs/chart.umd.min.js" in html and "https://" not in html.split("<main", 1)[1]
    charts = json.loads(html.split('id="analytics-data" type="application/json">', 1)[1].split("</script>", 1)[0])
    assert charts["funnel"]["counts"] == [7, 5, 4, 3, 3, 1]
    assert sum(charts["daily"]["calls"]) == 8


def test_csv_exports_carry_the_chart_numbers(manager_client, week):
    funnel = rows(manager_client.get("/analytics/export/funnel.csv", WEEK_QUERY))
    assert funnel[0] == ["stage", "count", "rate_from_previous_percent"]
    assert [row[1] for row in funnel[1:]] == ["7", "5", "4", "3", "3", "1"]
    heatmap = rows(manager_client.get("/analytics/export/heatmap.csv", WEEK_QUERY))
    tuesday = next(row for row in heatmap if row[0] == "Tue")
    assert tuesday[1 + 23] == "1" and tuesday[-1] == "3"
    daily = rows(manager_client.get("/analytics/export/daily.csv", {**WEEK_QUERY, "location": week["phoenix"].pk}))
    assert [row[1] for row in daily[1:]] == ["0", "1", "0", "0", "0", "0", "0"]
    response = manager_client.get("/analytics/export/campaigns.csv", WEEK_QUERY)
    assert response["Content-Type"].startswith("text/csv") and "attachment" in response["Content-Disposition"]
    assert manager_client.get("/analytics/export/passwords.csv").status_code == 404


def test_what_patients_wrote_is_escaped_on_the_page_and_defused_in_csv(manager_client, week):
    Appointment.objects.filter(status="cancelled").update(
        cancellation_reason='<script>alert(1)</script>=HYPERLINK("x")'
    )
    html = manager_client.get("/analytics/", WEEK_QUERY).content.decode()
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    Appointment.objects.filter(status="cancelled").update(cancellation_reason='=HYPERLINK("http://evil")')
    exported = rows(manager_client.get("/analytics/export/cancellations.csv", WEEK_QUERY))
    assert exported[1][0] == '\'=HYPERLINK("http://evil")'


def test_bad_filters_get_a_clear_error_and_another_practices_ids_are_refused(manager_client, week):
    response = manager_client.get("/analytics/", {"start": "yesterday"})
    assert response.status_code == 400 and "start must be a date" in response.content.decode()
    response = manager_client.get("/analytics/", {"start": "2026-12-07", "end": "2026-12-01"})
    assert response.status_code == 400 and "must not be after" in response.content.decode()
    theirs = LocationFactory(practice=week["other"])
    response = manager_client.get("/api/v1/analytics/summary/", {"location": theirs.pk})
    assert response.status_code == 400 and response.json() == {
        "location": ["There is no such location at this practice."]
    }


def test_api_summary_matches_the_dashboard(manager_client, week):
    data = manager_client.get("/api/v1/analytics/summary/", {**WEEK_QUERY, "source": "spring"}).json()
    assert data["filters"] == {**WEEK_QUERY, "source": "spring"}
    assert [row["count"] for row in data["funnel"]] == [1, 1, 1, 1, 1, 0]
    assert data["recovered"]["booked_value"] == "400.00"
    assert data["series"]["late"] == 2


def test_series_review_page_and_api(manager_client, week):
    page = manager_client.get("/analytics/series/", {"week": "2026-12-02"})
    assert page.status_code == 200
    assert "Tox maintenance" in page.content.decode()
    data = manager_client.get("/api/v1/analytics/series-review/", {"week": "2026-12-02"}).json()
    assert data["week_start"] == "2026-11-30"
    tox = data["templates"][0]
    assert (tox["started"], tox["active"], tox["late"], tox["average_days_overdue"]) == (5, 4, 2, 7.0)
    assert manager_client.get("/analytics/series/", {"week": "soon"}).status_code == 400


def test_roi_model_prefills_and_recalculates(manager_client):
    page = manager_client.get("/analytics/roi/")
    assert page.status_code == 200 and "Modeled each month" in page.content.decode()
    # DOMAIN.md's example: 520 calls x 48% x 25% x $527 is about $32,900 a month.
    page = manager_client.get(
        "/analytics/roi/",
        {
            "monthly_calls": "520",
            "booking_intent_percent": "48",
            "recovery_lift_percent": "25",
            "average_visit_value": "527",
        },
    )
    assert page.context["inputs"].modeled_monthly_value == Decimal("32885")
    assert "$32,885" in page.content.decode()
    bad = manager_client.get("/analytics/roi/", {"recovery_lift_percent": "250"})
    assert bad.status_code == 400 and "between 0 and 100" in bad.content.decode()


def test_roi_defaults_come_from_the_practices_own_records(manager_client):
    data = manager_client.get("/api/v1/analytics/roi/").json()
    # The last 30 days (Nov 11 - Dec 10) hold the whole hand-built week plus Dec 8 and Nov 30.
    assert data["inputs"]["monthly_calls"] == 10
    assert data["actual"]["missed"] == 9 and data["actual"]["recovered_bookings"] == 3
    assert data["inputs"]["average_visit_value"] == "400"  # the one completed visit
    # Every caller who wrote back asked to book; 3 recovered bookings of 10 calls with that intent.
    assert (data["inputs"]["booking_intent_percent"], data["inputs"]["recovery_lift_percent"]) == ("100.0", "30.0")
    assert data["modeled_monthly_visits"] == "3.0"  # the model, prefilled, gives back what happened
