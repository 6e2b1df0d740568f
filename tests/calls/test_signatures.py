"""Every webhook accepts what Twilio signs and refuses what it does not."""

import pytest

from calls.models import Call, Message
from tests.calls.conftest import fixture, sign

ENDPOINTS = [
    ("/webhooks/twilio/voice/", "voice_incoming"),
    ("/webhooks/twilio/voice/dial-status/", "voice_dial_status_no_answer"),
    ("/webhooks/twilio/voice/screen/", "voice_screen"),
    ("/webhooks/twilio/voice/screen/accept/", "voice_screen_accept"),
    ("/webhooks/twilio/voice/gather/", "voice_gather"),
    ("/webhooks/twilio/voice/status/", "voice_status_completed"),
    ("/webhooks/twilio/sms/", "sms_inbound"),
    ("/webhooks/twilio/sms/status/", "sms_status_delivered"),
]


@pytest.mark.parametrize(("path", "name"), ENDPOINTS)
def test_a_valid_signature_is_accepted(line, twilio, path, name):
    response = twilio(path, fixture(name))
    assert response.status_code in (200, 204), response.content


@pytest.mark.parametrize(("path", "name"), ENDPOINTS)
def test_one_changed_parameter_is_refused(line, twilio, path, name):
    params = fixture(name)
    signature = sign(path, params)
    params["From"] = "+16465550199"
    assert twilio(path, params, signature=signature).status_code == 403


@pytest.mark.parametrize(("path", "name"), ENDPOINTS)
def test_a_signature_for_another_url_is_refused(line, twilio, path, name):
    params = fixture(name)
    assert twilio(path, params, signature=sign(path, params, base="https://attacker.example")).status_code == 403
    assert twilio(path, params, signature=sign("/webhooks/twilio/other/", params)).status_code == 403


@pytest.mark.parametrize(("path", "name"), ENDPOINTS)
def test_a_missing_or_wrong_key_signature_is_refused(line, client, twilio, path, name):
    params = fixture(name)
    assert client.post(path, params).status_code == 403
    assert twilio(path, params, signature=sign(path, params, token="another-accounts-token")).status_code == 403


def test_the_host_header_does_not_decide_the_signed_url(line, twilio):
    params = fixture("sms_inbound")
    response = twilio("/webhooks/twilio/sms/", params, headers={"HTTP_HOST": "evil.example"})
    assert response.status_code == 200
    forged = sign("/webhooks/twilio/sms/", params, base="http://evil.example")
    assert (
        twilio("/webhooks/twilio/sms/", params, signature=forged, headers={"HTTP_HOST": "evil.example"}).status_code
        == 403
    )


def test_refused_requests_store_nothing(line, twilio):
    twilio("/webhooks/twilio/sms/", fixture("sms_inbound"), signature="bm90IGEgc2lnbmF0dXJl")
    twilio("/webhooks/twilio/voice/", fixture("voice_incoming"), signature="bm90IGEgc2lnbmF0dXJl")
    assert not Message.objects.exists() and not Call.objects.exists()


def test_webhooks_refuse_get(line, client):
    assert client.get("/webhooks/twilio/sms/").status_code == 405
