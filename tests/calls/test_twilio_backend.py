"""The production backend drives the real twilio library; only its HTTP client is replaced."""

import json
import logging

import pytest
from twilio.http import HttpClient
from twilio.http.response import Response

from calls.messaging.backends import Outbound, SendError, TwilioBackend

ACCOUNT = "AC00000000000000000000000000000000"


class FakeTwilioHttp(HttpClient):
    """Answers like api.twilio.com, and remembers what it was asked."""

    def __init__(self, status=201, body=None):
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)
        self.requests = []
        self.status = status
        self.body = body

    def request(
        self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        self.requests.append({"method": method, "uri": uri, "data": dict(data or {}), "auth": auth})
        body = self.body or {
            "sid": "SM" + "f" * 32,
            "status": "queued",
            "account_sid": ACCOUNT,
            "to": data["To"],
            "body": data["Body"],
            "direction": "outbound-api",
        }
        return Response(self.status, json.dumps(body))


def outbound(channel="sms"):
    return Outbound(
        message_id=1, channel=channel, to="+16465550188", from_="+12125550100", body="Hi, this is Glow Aesthetics!"
    )


def test_it_posts_the_message_with_our_status_callback(settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    http = FakeTwilioHttp()
    sent = TwilioBackend(http_client=http).send(outbound())
    assert sent.provider_sid == "SM" + "f" * 32 and sent.status == "queued"
    [request] = http.requests
    assert request["method"] == "POST"
    assert request["uri"] == f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Messages.json"
    assert request["data"] == {
        "To": "+16465550188",
        "From": "+12125550100",
        "Body": "Hi, this is Glow Aesthetics!",
        "StatusCallback": "https://receptionist.test/webhooks/twilio/sms/status/",
    }
    assert request["auth"] == (ACCOUNT, settings.TWILIO_AUTH_TOKEN)


def test_it_sends_through_the_messaging_service_when_one_is_set(settings):
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG" + "1" * 32
    http = FakeTwilioHttp()
    TwilioBackend(http_client=http).send(outbound())
    data = http.requests[0]["data"]
    assert data["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in data


def test_whatsapp_addresses_carry_the_prefix(settings):
    http = FakeTwilioHttp()
    TwilioBackend(http_client=http).send(outbound("whatsapp"))
    data = http.requests[0]["data"]
    assert (data["To"], data["From"]) == ("whatsapp:+16465550188", "whatsapp:+12125550100")


@pytest.mark.parametrize(
    ("status", "code", "retryable", "opted_out", "unreachable"),
    [
        (400, 21610, False, True, False),
        (400, 30006, False, False, True),
        (429, 20429, True, False, False),
        (500, 20500, True, False, False),
        (400, 21211, False, False, False),
    ],
)
def test_errors_are_sorted_by_what_to_do(status, code, retryable, opted_out, unreachable):
    http = FakeTwilioHttp(
        status=status,
        body={
            "code": code,
            "message": "refused",
            "status": status,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
        },
    )
    with pytest.raises(SendError) as caught:
        TwilioBackend(http_client=http).send(outbound())
    error = caught.value
    assert (error.code, error.retryable, error.opted_out, error.unreachable) == (
        str(code),
        retryable,
        opted_out,
        unreachable,
    )
