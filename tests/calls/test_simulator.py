"""The demo's patient phone drives the real, signed webhooks."""

import pytest

from calls.models import Call, Message
from tests.factories import StaffMemberFactory


@pytest.fixture
def staff_client(client, line, django_capture_on_commit_callbacks):
    client.force_login(StaffMemberFactory(practice=line.practice).user)
    return client


def test_calling_the_spa_misses_the_call_and_texts_back(
    staff_client, line, outbox, settings, django_capture_on_commit_callbacks
):
    settings.DEMO_MODE = True
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/simulator/call/", {"phone": "+13475550123", "number": line.number, "speech": "Botox next week?"}
        )
    assert response.status_code == 302
    call = Call.objects.get()
    assert call.missed and call.missed_reason == "no_answer" and call.status == "completed"
    assert [m.body for m in Message.objects.filter(channel="voice")] == ["Botox next week?"]
    assert len(outbox) == 1 and outbox[0].to == "+13475550123"
    page = staff_client.get(response["Location"]).content.decode()
    assert "Sorry we missed your call" in page and "What the caller heard" in page


def test_texting_the_spa_goes_through_the_sms_webhook(
    staff_client, line, outbox, settings, django_capture_on_commit_callbacks
):
    settings.DEMO_MODE = True
    with django_capture_on_commit_callbacks(execute=True):
        staff_client.post(
            "/simulator/text/",
            {"phone": "+13475550123", "number": line.number, "body": "<script>alert(1)</script> openings?"},
        )
    inbound = Message.objects.get(direction="inbound")
    assert inbound.provider_sid.startswith("SM") and inbound.body.startswith("<script>")
    fragment = staff_client.get("/simulator/?phone=%2B13475550123", HTTP_HX_REQUEST="true").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment and "<script>alert(1)" not in fragment
    assert fragment.count('class="bubble theirs"') == 1  # the receptionist answered


def test_the_simulator_is_off_outside_demo_mode(staff_client, settings):
    settings.DEMO_MODE = False
    assert staff_client.get("/simulator/").status_code == 404
    assert staff_client.post("/simulator/text/", {"body": "hi"}).status_code == 404


def test_the_simulator_needs_a_signed_in_staff_member(client, line, settings):
    settings.DEMO_MODE = True
    response = client.get("/simulator/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_front_desk_staff_sign_in_on_our_own_page(client, front_desk):
    response = client.post("/accounts/login/", {"username": front_desk.username, "password": "a-long-test-password"})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/")["Location"] == "/console/"
    assert client.get("/console/").status_code == 200
