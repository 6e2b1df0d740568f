"""Conversations and escalations through the API, scoped to the caller's practice."""

import pytest
from rest_framework.test import APIClient

from escalations.models import Escalation
from tests.calls.conftest import fixture
from tests.factories import PracticeFactory, ServiceFactory, StaffMemberFactory


@pytest.fixture
def api(line):
    client = APIClient()
    client.force_authenticate(StaffMemberFactory(practice=line.practice).user)
    return client


def text(twilio, body, n):
    sid = f"SM{n:032d}"
    twilio("/webhooks/twilio/sms/", fixture("sms_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid))


def test_a_conversation_lists_its_messages_with_what_was_understood(api, line, twilio):
    ServiceFactory(practice=line.practice, name="Botox", slug="botox", synonyms=["tox"])
    text(twilio, "do you have anything for botx next tuesday after 3?", 1)
    [row] = api.get("/api/v1/conversations/").json()
    assert row["state"] == "qualifying" and row["message_count"] == 2 and row["glow_scores"]["goals"] == 5
    detail = api.get(f"/api/v1/conversations/{row['id']}/").json()
    inbound = detail["messages"][0]
    assert (inbound["intent"], inbound["service"], inbound["times"]["earliest"]) == ("book", "botox", "15:00")
    assert detail["messages"][1]["direction"] == "outbound"


def test_escalations_come_emergencies_first_and_can_be_claimed_and_resolved(api, line, twilio):
    text(twilio, "I want a refund for my last peel", 1)
    text(twilio, "my lip is turning white after filler", 2)
    rows = api.get("/api/v1/escalations/").json()
    assert [row["category"] for row in rows] == ["emergency", "exception"]
    assert rows[0]["summary"]["exact_words"] == "my lip is turning white after filler"
    emergency = rows[0]["id"]
    assert api.post(f"/api/v1/escalations/{emergency}/claim/").json()["status"] == "claimed"
    assert api.post(f"/api/v1/escalations/{emergency}/resolve/", {"note": ""}, format="json").status_code == 400
    done = api.post(f"/api/v1/escalations/{emergency}/resolve/", {"note": "Called, came in"}, format="json").json()
    assert done["status"] == "resolved" and done["resolution_note"] == "Called, came in"
    assert api.get("/api/v1/escalations/", {"status": "open"}).json()[0]["category"] == "exception"


def test_another_practices_conversation_and_escalation_are_404(api, line, twilio):
    text(twilio, "my throat feels tight after botox", 1)
    stranger = APIClient()
    stranger.force_authenticate(StaffMemberFactory(practice=PracticeFactory()).user)
    escalation = Escalation.objects.get()
    assert stranger.get(f"/api/v1/escalations/{escalation.pk}/").status_code == 404
    assert stranger.post(f"/api/v1/escalations/{escalation.pk}/claim/").status_code == 404
    assert stranger.get(f"/api/v1/conversations/{escalation.conversation_id}/").status_code == 404
    assert stranger.get("/api/v1/conversations/").json() == []
    assert stranger.get("/api/v1/escalations/").json() == []
