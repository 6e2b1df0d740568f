"""Inputs Schemathesis found that once gave 500s or off-schema answers: each now a clear 400 or 404."""

import pytest

from tests.console.conftest import build_desk
from tests.factories import StaffMemberFactory


@pytest.fixture
def api(client, db):
    desk = build_desk()
    client.force_login(StaffMemberFactory(practice=desk["practice"], role="manager").user)
    client.desk = desk
    return client


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/availability/?service=%C2%B9",  # "¹": str.isdigit() says yes, int() says no
        "/api/v1/availability/?service=1&start=9999-12-30",
        "/api/v1/appointments/?date=9999-12-31",
        "/api/v1/analytics/summary/?end=0001-01-01",
        "/api/v1/analytics/summary/?start=9999-12-31&end=9999-12-31",
        "/api/v1/analytics/me/?start=9999-12-31&end=9999-12-31",
        "/api/v1/analytics/series-review/?week=9999-12-31",
        "/api/v1/analytics/summary/?location=%C2%B2",
        "/analytics/?end=0001-01-01",
        "/analytics/series/?week=9999-12-31",
    ],
)
def test_impossible_days_and_digits_are_a_400(api, url):
    response = api.get(url)
    assert response.status_code == 400, response.content[:300]


def test_an_impossible_time_is_a_400_not_a_500(api):
    desk = api.desk
    response = api.post(
        "/api/v1/appointments/",
        {
            "patient": desk["patient"].pk,
            "service": desk["service"].pk,
            "location": desk["location"].pk,
            "provider": desk["provider"].pk,
            "starts_at": "2026-12-03T12:99:00-05:00",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and "starts_at" in response.json()


def test_an_address_the_api_does_not_have_is_a_json_404(api):
    for url in ["/api/v1/appointments/-5/", "/api/v1/escalations/1.5/", "/api/v1/nothing-here/"]:
        response = api.get(url)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    page = api.get("/console/nothing-here/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")


def test_an_unclaimed_escalation_has_a_null_claimer(api):
    rows = api.get("/api/v1/escalations/").json()
    assert rows and rows[0]["claimed_by"] is None
