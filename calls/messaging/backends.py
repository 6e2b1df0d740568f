"""Messaging backends, chosen like Django's EMAIL_BACKEND by the MESSAGING_BACKEND setting.

A backend only transports: consent, quiet hours and wording are decided before it is called.
It returns the provider's id and status, or raises SendError saying whether a retry can help.
"""

import logging
import uuid
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

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


@dataclass(frozen=True)
class OutboundCall:
    """An automated voice callback: Twilio dials `to` from our number and runs the TwiML at `url`."""

    to: str  # the patient's E.164 phone
    from_: str  # the practice's Twilio number (E.164)
    url: str
    status_callback: str


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


class FetchError(Exception):
    """A picture could not be fetched; `retryable` when another try later can help (network, 5xx)."""

    def __init__(self, message: str, *, retryable: bool = False):
        super().__init__(message)
        self.retryable = retryable


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

    def place_call(self, *, to: str, from_: str, url: str, status_callback: str) -> Sent:
        raise NotImplementedError

    def fetch_media(self, url: str) -> tuple[str, bytes]:
        """A picture a patient texted: (the content type the server declares, the bytes). Raises FetchError.
        May return one byte more than settings.PATIENT_MEDIA_MAX_BYTES and no more: the caller refuses it."""
        raise NotImplementedError


# A 1x1 grey PNG: what the console backend "fetches" for any picture.
PLACEHOLDER_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010800000000"
    "3a7e9b550000000a49444154789c6338000000c200c1525e57510000000049454e44ae426082"
)


class ConsoleBackend(BaseBackend):
    """Development: nothing leaves the machine. The Message rows are the outbox the simulator shows;
    the log names only the message id."""

    def fetch_media(self, url: str) -> tuple[str, bytes]:
        return "image/png", PLACEHOLDER_PNG

    def send_text(self, outbound: Outbound) -> Sent:
        logger.info("console backend delivered message %s (%s)", outbound.message_id, outbound.channel)
        return Sent(provider_sid=f"SM{uuid.uuid4().hex}", status="sent")

    def place_call(self, *, to: str, from_: str, url: str, status_callback: str) -> Sent:
        sid = f"CA{uuid.uuid4().hex}"
        logger.info("console backend placed call %s (nobody will answer)", sid)
        return Sent(provider_sid=sid, status="queued")


# Tests read what was sent here, like django.core.mail.outbox.
outbox: list[Outbound] = []


# The calls placed, likewise.
calls_placed: list[OutboundCall] = []


class LocmemBackend(BaseBackend):
    def send(self, outbound: Outbound) -> Sent:
        outbox.append(outbound)
        return Sent(provider_sid=f"SM{uuid.uuid4().hex}", status="queued")

    def place_call(self, *, to: str, from_: str, url: str, status_callback: str) -> Sent:
        calls_placed.append(OutboundCall(to=to, from_=from_, url=url, status_callback=status_callback))
        return Sent(provider_sid=f"CA{uuid.uuid4().hex}", status="queued")

    def fetch_media(self, url: str) -> tuple[str, bytes]:
        media_fetches.append(url)
        found = media.get(url)
        if isinstance(found, Exception):
            raise found
        if found is None:
            raise FetchError("Twilio answered 404 for the picture")
        return found


# Pictures tests put up for the locmem backend to fetch: address -> (content type, bytes), or an exception
# to raise; and the addresses it was asked for.
media: dict[str, tuple[str, bytes] | Exception] = {}
media_fetches: list[str] = []

# Credentials go only to Twilio's API; the CDN it redirects a picture to gets a signed address instead.
TWILIO_API_HOST = "api.twilio.com"
MEDIA_REDIRECTS = 3


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
        self.media_http = http_client or self.http_client

    def fetch_media(self, url: str) -> tuple[str, bytes]:
        """GET a MediaUrl with basic auth, following Twilio's redirect to its CDN by hand: the account's
        credentials are sent to https://api.twilio.com only, never to the CDN or anywhere else. Only an
        address on Twilio's API is fetched at all (MediaUrls always are)."""
        from .media_http import MediaHttpClient

        if urlsplit(url).hostname != TWILIO_API_HOST:
            raise FetchError("the picture's address is not Twilio's")
        http = self.media_http or MediaHttpClient(max_bytes=settings.PATIENT_MEDIA_MAX_BYTES)
        for _ in range(MEDIA_REDIRECTS + 1):
            parts = urlsplit(url)
            if parts.scheme != "https":
                raise FetchError("the picture's address is not https")
            api = parts.hostname == TWILIO_API_HOST
            auth = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN) if api else None
            try:
                response = http.request("GET", url, auth=auth, timeout=30, allow_redirects=False)
            except OSError as exc:
                raise FetchError(f"could not reach Twilio ({type(exc).__name__})", retryable=True) from None
            headers = {name.lower(): value for name, value in (response.headers or {}).items()}
            if response.status_code in (301, 302, 303, 307, 308) and headers.get("location"):
                url = urljoin(url, headers["location"])
                continue
            if not 200 <= response.status_code < 300:
                retryable = response.status_code >= 500 or response.status_code == 429
                raise FetchError(f"Twilio answered {response.status_code} for the picture", retryable=retryable)
            if not isinstance(response.content, bytes):
                raise FetchError("the HTTP client returned the picture as text")
            return headers.get("content-type", "").split(";")[0].strip().lower(), response.content
        raise FetchError("too many redirects for the picture")

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

    def place_call(self, *, to: str, from_: str, url: str, status_callback: str) -> Sent:
        """Dial the patient; Twilio fetches our TwiML from `url` when they answer. Answering-machine
        detection waits for the end of a voicemail greeting, so a message left there is heard whole."""
        from twilio.base.exceptions import TwilioRestException

        try:
            call = self.client.calls.create(
                to=to, from_=from_, url=url, status_callback=status_callback, machine_detection="DetectMessageEnd"
            )
        except TwilioRestException as exc:
            code = str(exc.code or "")
            raise SendError(f"Twilio refused the call ({code or exc.status})", code=code) from None
        except OSError as exc:
            # Not retryable: Twilio may have placed the call before the connection broke.
            raise SendError(f"Could not reach Twilio ({type(exc).__name__})") from None
        return Sent(provider_sid=call.sid, status=call.status or "queued")
