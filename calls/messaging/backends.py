"""Messaging backends, chosen like Django's EMAIL_BACKEND by the MESSAGING_BACKEND setting.

A backend only transports: consent, quiet hours and wording are decided before it is called.
It returns the provider's id and status, or raises SendError saying whether a retry can help.
"""

import logging
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

# Twilio error codes, by what we do about them.
OPTED_OUT_CODES = {"21610"}
UNREACHABLE_CODES = {"30003", "30005", "30006"}
RETRYABLE_CODES = {"20429", "20500", "20503", "30001"}


@dataclass(frozen=True)
class Outbound:
    message_id: int
    channel: str  # sms, whatsapp, email
    to: str  # E.164 phone, or an email address
    from_: str  # the practice's number (E.164), or the From email
    body: str
    subject: str = ""


@dataclass(frozen=True)
class Sent:
    provider_sid: str
    status: str


class SendError(Exception):
    def __init__(self, message: str, *, code: str = "", retryable: bool = False):
        super().__init__(message)
        self.code = code
        self.retryable = retryable

    @property
    def opted_out(self) -> bool:
        return self.code in OPTED_OUT_CODES

    @property
    def unreachable(self) -> bool:
        return self.code in UNREACHABLE_CODES


def get_backend():
    return import_string(settings.MESSAGING_BACKENDS[settings.MESSAGING_BACKEND])()


class BaseBackend:
    def send(self, outbound: Outbound) -> Sent:
        if outbound.channel == "email":
            return self.send_email(outbound)
        return self.send_text(outbound)

    def send_email(self, outbound: Outbound) -> Sent:
        send_mail(outbound.subject, outbound.body, outbound.from_, [outbound.to])
        return Sent(provider_sid=f"EM{uuid.uuid4().hex}", status="sent")

    def send_text(self, outbound: Outbound) -> Sent:
        raise NotImplementedError


class ConsoleBackend(BaseBackend):
    """Development: nothing leaves the machine. The Message rows are the outbox the simulator shows;
    the log names only the message id."""

    def send_text(self, outbound: Outbound) -> Sent:
        logger.info("console backend delivered message %s (%s)", outbound.message_id, outbound.channel)
        return Sent(provider_sid=f"SM{uuid.uuid4().hex}", status="sent")


# Tests read what was sent here, like django.core.mail.outbox.
outbox: list[Outbound] = []


class LocmemBackend(BaseBackend):
    def send(self, outbound: Outbound) -> Sent:
        outbox.append(outbound)
        return Sent(provider_sid=f"SM{uuid.uuid4().hex}", status="queued")


class TwilioBackend(BaseBackend):
    """Production: Twilio's REST client, with our status callback and, when set, a messaging service.

    `http_client` lets tests pass a twilio.http.HttpClient that answers without the network.
    """

    http_client = None

    def __init__(self, http_client=None):
        from twilio.rest import Client

        self.client = Client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client or self.http_client
        )

    def send_text(self, outbound: Outbound) -> Sent:
        from twilio.base.exceptions import TwilioRestException

        prefix = "whatsapp:" if outbound.channel == "whatsapp" else ""
        params = {
            "to": f"{prefix}{outbound.to}",
            "body": outbound.body,
            "status_callback": f"{settings.PUBLIC_BASE_URL}/webhooks/twilio/sms/status/",
        }
        if settings.TWILIO_MESSAGING_SERVICE_SID and not prefix:
            params["messaging_service_sid"] = settings.TWILIO_MESSAGING_SERVICE_SID
        else:
            params["from_"] = f"{prefix}{outbound.from_}"
        try:
            message = self.client.messages.create(**params)
        except TwilioRestException as exc:
            code = str(exc.code or "")
            retryable = code in RETRYABLE_CODES or (exc.status or 0) >= 500
            raise SendError(
                f"Twilio refused the message ({code or exc.status})", code=code, retryable=retryable
            ) from None
        except OSError as exc:  # connection trouble: worth another try
            raise SendError(f"Could not reach Twilio ({type(exc).__name__})", retryable=True) from None
        return Sent(provider_sid=message.sid, status=message.status or "queued")
