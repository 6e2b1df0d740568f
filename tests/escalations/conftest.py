"""Escalations are opened by the receptionist: these tests drive it through the calls app's signed webhooks."""

from tests.calls.conftest import clock, line, outbox, twilio  # noqa: F401
