"""Pictures patients text (MMS): stored with the message, fetched into private storage, shown to staff only
through our audited view, attached to escalations, refused politely when too large or not a photo, and
purged with the messages."""

import hashlib
import json
import logging
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.files.storage import storages
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

from calls import tasks
from calls.media import sniff_image
from calls.messaging import backends
from calls.messaging.backends import ConsoleBackend, FetchError, TwilioBackend
from calls.messaging.media_http import MediaHttpClient
from calls.models import Message, MessageMedia
from calls.retention import retention_purge
from escalations.models import Escalation
from practices.models import AuditEvent
from tests.browser import CHROMIUM, shot
from tests.calls.conftest import fixture
from tests.factories import PatientFactory, StaffMemberFactory

SMS = "/webhooks/twilio/sms/"
ACCOUNT = "AC00000000000000000000000000000000"
PATIENT = "+16465550188"
TWILIO_HOST = "api.twilio.com"
CDN = "https://s3-external-1.amazonaws.com/media.twiliocdn.com/AC00000000000000000000000000000000/f00d"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + bytes(range(256)) * 4 + b"\xff\xd9"
PNG = backends.PLACEHOLDER_PNG
GIF = bytes.fromhex("47494638396101000100800000ffffff00000021f90401000000002c00000000010001000002024401003b")
SWOLLEN = "my lip is swollen and blue after filler"


def media_url(n: int, message: int = 1) -> str:
    return f"https://{TWILIO_HOST}/2010-04-01/Accounts/{ACCOUNT}/Messages/MM{message:032d}/Media/ME{n:032d}"


def mms(twilio, body: str, pictures: list[tuple[str, str]], n: int = 1, **extra):
    """A signed inbound MMS: `pictures` are (MediaUrl, MediaContentType) pairs."""
    sid = f"MM{n:032d}"
    params = fixture(
        "sms_inbound", Body=body, MessageSid=sid, SmsSid=sid, SmsMessageSid=sid, NumMedia=str(len(pictures))
    )
    for index, (url, content_type) in enumerate(pictures):
        params[f"MediaUrl{index}"] = url
        params[f"MediaContentType{index}"] = content_type
    return twilio(SMS, params | extra)


@pytest.fixture(autouse=True)
def served():
    """The pictures the locmem backend can fetch, by address."""
    backends.media.clear()
    backends.media_fetches.clear()
    yield backends.media
    backends.media.clear()
    backends.media_fetches.clear()


@pytest.fixture
def nurse(line):
    return StaffMemberFactory(practice=line.practice, role="manager", phone="+19175550134")


@pytest.fixture
def desk(line):
    """A signed-in front-desk browser of the line's practice."""
    client = Client()
    client.staff_user = StaffMemberFactory(practice=line.practice, role="front_desk").user
    client.force_login(client.staff_user)
    return client


def pages(desk, conversation):
    return {
        "conversation": desk.get(reverse("console-conversation", args=[conversation.pk])),
        "escalations": desk.get(reverse("console-escalations")),
        "home": desk.get(reverse("console-home")),
        "conversations": desk.get(reverse("console-conversations")),
        "patient": desk.get(reverse("console-patient", args=[conversation.patient_id])),
    }


def test_an_mms_with_two_photos_is_stored_shown_and_attached_to_the_escalation_the_text_opens(
    line, twilio, outbox, served, nurse, desk
):
    PatientFactory(practice=line.practice, phone=PATIENT, first_name="Olivia")
    served[media_url(0)] = ("image/jpeg", JPEG)
    served[media_url(1)] = ("image/png", PNG)
    response = mms(twilio, SWOLLEN, [(media_url(0), "image/jpeg"), (media_url(1), "image/png")])
    assert response.status_code == 200

    message = Message.objects.get(direction="inbound")
    assert (message.body, message.num_media) == (SWOLLEN, 2)
    first, second = MessageMedia.objects.order_by("index")
    for media, data, kind in ((first, JPEG, "image/jpeg"), (second, PNG, "image/png")):
        assert (media.message, media.practice, media.status, media.content_type) == (
            message,
            line.practice,
            "stored",
            kind,
        )
        assert (media.size, media.sha256, media.source_url) == (len(data), hashlib.sha256(data).hexdigest(), "")
        assert media.fetched_at is not None and media.attempts == 1
        with media.file.open("rb") as stored:
            assert stored.read() == data
        assert TWILIO_HOST not in media.file.name and str(message.conversation.phone) not in media.file.name
    assert backends.media_fetches == [media_url(0), media_url(1)]

    # The text still goes to the receptionist: an emergency, with both photos on its card.
    escalation = Escalation.objects.get()
    assert escalation.category == "emergency"
    assert set(escalation.media.all()) == {first, second}
    assert any("911" in sent.body for sent in outbox if sent.to == PATIENT)

    shown = pages(desk, message.conversation)
    for name, page in shown.items():
        assert page.status_code == 200, name
        html = page.content.decode()
        assert TWILIO_HOST not in html and "twiliocdn" not in html and "MM00000" not in html, name
    for name in ("conversation", "escalations", "home"):
        html = shown[name].content.decode()
        for media in (first, second):
            src = reverse("console-media", args=[media.pk])
            assert f'src="{src}"' in html, name
        assert 'alt="Photo 1 the patient texted"' in html and 'alt="Photo 2 the patient texted"' in html
    card = shown["escalations"].content.decode()
    card = card[card.index(f'id="escalation-{escalation.pk}"') :]
    assert card.index('class="photos"') < card.index('class="words"'), "the photos come first on the card"

    for media, data in ((first, JPEG), (second, PNG)):
        picture = desk.get(reverse("console-media", args=[media.pk]))
        assert picture.status_code == 200
        assert b"".join(picture.streaming_content) == data
        assert picture["Content-Type"] == media.content_type
        assert picture["Content-Disposition"] == "inline"
        assert picture["X-Content-Type-Options"] == "nosniff"
        assert picture["Cache-Control"] == "private, no-store"
        assert "img-src 'self'" in picture["Content-Security-Policy"]


def test_each_view_of_a_photo_is_audited_and_another_practice_gets_404(line, twilio, served, desk, other_practice):
    served[media_url(0)] = ("image/jpeg", JPEG)
    mms(twilio, "here is my lip", [(media_url(0), "image/jpeg")])
    media = MessageMedia.objects.get()
    url = reverse("console-media", args=[media.pk])

    assert desk.get(url).status_code == 200
    assert desk.get(url).status_code == 200
    events = AuditEvent.objects.filter(what="patient photo")
    assert events.count() == 2
    assert {(event.practice_id, event.object_id, event.path) for event in events} == {
        (line.practice.pk, str(media.pk), url)
    }

    stranger = Client()
    stranger.force_login(StaffMemberFactory(practice=other_practice, role="manager").user)
    assert stranger.get(url).status_code == 404
    assert Client().get(url).status_code == 302  # signed out: to the sign-in page
    assert AuditEvent.objects.filter(what="patient photo").count() == 2


def test_an_oversize_photo_is_refused_politely_once_and_the_text_is_still_answered(line, twilio, outbox, served, desk):
    too_big = b"\xff\xd8\xff\xe0" + b"\x00" * (5 * 1024 * 1024)
    served[media_url(0)] = ("image/jpeg", too_big)
    served[media_url(1)] = ("image/jpeg", too_big)
    mms(
        twilio,
        "Hi! Do you have anything for botox next week?",
        [(media_url(0), "image/jpeg"), (media_url(1), "image/jpeg")],
    )

    assert list(MessageMedia.objects.values_list("status", flat=True)) == ["refused", "refused"]
    assert not any(media.file for media in MessageMedia.objects.all())
    assert MessageMedia.objects.filter(source_url="").count() == 2
    refusals = [sent for sent in outbox if "too large" in sent.body]
    assert len(refusals) == 1, "one reply for the message, not one per picture"
    assert refusals[0].to == PATIENT
    assert "Thanks! That picture is too large for us to receive (the limit is 5 MB)." in refusals[0].body
    assert "Could you send a smaller one?" in refusals[0].body
    answered = [sent for sent in outbox if sent not in refusals and sent.to == PATIENT]
    assert len(answered) == 1 and Message.objects.get(direction="inbound").intent == "book"

    html = desk.get(reverse("console-conversation", args=[Message.objects.first().conversation_id])).content.decode()
    assert html.count("Picture not accepted: Larger than the 5 MB limit.") == 2
    assert "console/media/" not in html


def test_a_picture_of_another_type_is_refused_without_fetching_it(line, twilio, outbox, served):
    served[media_url(0)] = ("video/mp4", b"\x00\x00\x00\x18ftypmp42")
    mms(twilio, "", [(media_url(0), "video/mp4")])

    media = MessageMedia.objects.get()
    assert (media.status, media.source_url, media.file.name or "") == ("refused", "", "")
    assert backends.media_fetches == []
    [refusal] = [sent for sent in outbox if "only receive photos" in sent.body]
    assert "We can only receive photos (JPEG, PNG, GIF, WebP, HEIC or HEIF)" in refusal.body


def test_a_declared_jpeg_that_is_not_an_image_is_refused_after_the_bytes_are_sniffed(line, twilio, outbox, served):
    served[media_url(0)] = ("image/jpeg", b"<html><script>alert(1)</script></html>")
    mms(twilio, "see attached", [(media_url(0), "image/jpeg")])

    media = MessageMedia.objects.get()
    assert (media.status, media.file.name or "", media.sha256) == ("refused", "", "")
    assert "not a photo" in media.status_reason
    assert len([sent for sent in outbox if "only receive photos" in sent.body]) == 1


def test_a_duplicate_webhook_stores_and_fetches_nothing_twice(line, twilio, outbox, served, nurse):
    served[media_url(0)] = ("image/jpeg", JPEG)
    served[media_url(1)] = ("image/png", PNG)
    pictures = [(media_url(0), "image/jpeg"), (media_url(1), "image/png")]
    assert mms(twilio, SWOLLEN, pictures).status_code == 200
    assert mms(twilio, SWOLLEN, pictures).status_code == 200

    assert Message.objects.filter(direction="inbound").count() == 1
    assert MessageMedia.objects.count() == 2
    assert len(backends.media_fetches) == 2
    assert Escalation.objects.count() == 1


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"NumMedia": "2", "MediaUrl0": media_url(0), "MediaContentType0": "image/jpeg"}, "MediaUrl1"),
        ({"NumMedia": "1", "MediaUrl0": media_url(0)}, "MediaContentType0"),
        ({"NumMedia": "1", "MediaContentType0": "image/jpeg"}, "MediaUrl0"),
        ({"NumMedia": "1", "MediaUrl0": "http://example.com/a.jpg", "MediaContentType0": "image/jpeg"}, "https"),
        ({"NumMedia": "-1"}, "NumMedia"),
    ],
)
def test_a_picture_without_its_address_or_type_is_a_400_that_says_which(line, twilio, fields, error):
    sid = "MM" + "7" * 32
    params = fixture("sms_inbound", MessageSid=sid, SmsSid=sid, SmsMessageSid=sid) | fields
    response = twilio(SMS, params)
    assert response.status_code == 400 and error in response.content.decode()
    assert not Message.objects.exists() and not MessageMedia.objects.exists()


def test_more_than_ten_pictures_are_capped_at_ten_like_twilio(line, twilio, served):
    pictures = [(media_url(n), "image/png") for n in range(12)]
    for url, _ in pictures:
        served[url] = ("image/png", PNG)
    mms(twilio, "lots of pics", pictures)
    assert Message.objects.get(direction="inbound").num_media == 10
    assert list(MessageMedia.objects.values_list("index", flat=True)) == list(range(10))


def test_a_fetch_that_keeps_failing_is_retried_with_growing_waits_then_failed(line, twilio, served, desk, clock):
    served[media_url(0)] = FetchError("could not reach Twilio (ConnectionError)", retryable=True)
    mms(twilio, "photo of my lip", [(media_url(0), "image/jpeg")])
    media = MessageMedia.objects.get()
    assert (media.status, media.attempts) == ("pending", 1)
    conversation_page = reverse("console-conversation", args=[media.message.conversation_id])
    assert "Picture on its way" in desk.get(conversation_page).content.decode()

    tasks.outreach_sweep()  # too soon: the next try is 2 minutes after the message
    assert MessageMedia.objects.get().attempts == 1
    for wait, attempts in ((2, 2), (4, 3)):
        clock.shift(timedelta(minutes=wait))
        tasks.outreach_sweep()
        media = MessageMedia.objects.get()
        assert (media.status, media.attempts) == ("pending", attempts)
    clock.shift(timedelta(minutes=4))
    tasks.outreach_sweep()
    media = MessageMedia.objects.get()
    assert (media.status, media.attempts) == ("failed", 4)
    assert media.status_reason == "Could not be fetched after 4 tries: could not reach Twilio (ConnectionError)."
    assert len(backends.media_fetches) == 4
    clock.shift(timedelta(minutes=30))
    tasks.outreach_sweep()
    assert len(backends.media_fetches) == 4, "a failed picture is not tried again"
    desk.force_login(desk.staff_user)  # the idle session has ended meanwhile
    assert "A picture could not be fetched" in desk.get(conversation_page).content.decode()


def test_a_fetch_that_fails_once_is_stored_on_the_next_try(line, twilio, served, clock):
    served[media_url(0)] = FetchError("Twilio answered 503 for the picture", retryable=True)
    mms(twilio, "photo of my lip", [(media_url(0), "image/jpeg")])
    served[media_url(0)] = ("image/jpeg", JPEG)
    clock.shift(timedelta(minutes=2))
    tasks.outreach_sweep()
    media = MessageMedia.objects.get()
    assert (media.status, media.attempts, media.size) == ("stored", 2, len(JPEG))


def test_a_picture_twilio_no_longer_has_fails_at_once(line, twilio, served):
    mms(twilio, "photo", [(media_url(0), "image/jpeg")])  # nothing served: a 404
    media = MessageMedia.objects.get()
    assert (media.status, media.attempts) == ("failed", 1)
    assert "404" in media.status_reason


def test_a_photo_without_words_in_an_open_escalation_is_attached_and_acknowledged_once(
    line, twilio, outbox, served, nurse, desk
):
    mms(twilio, SWOLLEN, [], n=1)
    escalation = Escalation.objects.get()
    outbox.clear()
    served[media_url(0, 2)] = ("image/jpeg", JPEG)
    served[media_url(0, 3)] = ("image/jpeg", JPEG)
    mms(twilio, "", [(media_url(0, 2), "image/jpeg")], n=2)
    mms(twilio, "", [(media_url(0, 3), "image/jpeg")], n=3)

    assert MessageMedia.objects.filter(escalation=escalation, status="stored").count() == 2
    to_patient = [sent.body for sent in outbox if sent.to == PATIENT]
    assert len(to_patient) == 1 and "Thanks for the photo, our team will take a look." in to_patient[0]
    assert Escalation.objects.count() == 1
    html = desk.get(reverse("console-escalations")).content.decode()
    for media in MessageMedia.objects.all():
        assert reverse("console-media", args=[media.pk]) in html


def test_photos_without_words_and_no_escalation_are_asked_about_not_misunderstood(line, twilio, outbox, served):
    for n in (1, 2):
        served[media_url(0, n)] = ("image/jpeg", JPEG)
        mms(twilio, "", [(media_url(0, n), "image/jpeg")], n=n)
    assert [media.escalation for media in MessageMedia.objects.filter(status="stored")] == [None, None]
    to_patient = [sent.body for sent in outbox if sent.to == PATIENT]
    assert len(to_patient) == 1, "asked once, not for each picture"
    assert "Thanks for the photo! Is it about booking a treatment, or a question for our team?" in to_patient[0]
    conversation = Message.objects.filter(direction="inbound").first().conversation
    assert conversation.state == "greeting" and not conversation.context.get("misses")
    assert not Message.objects.filter(direction="inbound", processed_at__isnull=True).exists()

    mms(twilio, "Do you have anything for botox next week?", [], n=3)
    assert Message.objects.get(provider_sid=f"MM{3:032d}").intent == "book"
    assert len([sent for sent in outbox if sent.to == PATIENT]) == 2, "words go the usual way"


def test_a_photo_without_words_in_a_thread_staff_took_over_is_left_to_them(line, twilio, outbox, served, desk):
    mms(twilio, "hi there", [], n=1)
    conversation = Message.objects.get(direction="inbound").conversation
    desk.post(reverse("console-conversation-take-over", args=[conversation.pk]))
    outbox.clear()
    served[media_url(0, 2)] = ("image/jpeg", JPEG)
    mms(twilio, "", [(media_url(0, 2), "image/jpeg")], n=2)
    assert MessageMedia.objects.get().status == "stored"
    assert [sent for sent in outbox if sent.to == PATIENT] == []


def test_an_escalation_gets_the_patients_photos_of_the_last_day(line, twilio, outbox, served, nurse, clock):
    served[media_url(0, 1)] = ("image/jpeg", JPEG)
    served[media_url(0, 2)] = ("image/png", PNG)
    mms(twilio, "", [(media_url(0, 1), "image/jpeg")], n=1)
    clock.shift(timedelta(hours=20))
    mms(twilio, "", [(media_url(0, 2), "image/png")], n=2)
    clock.shift(timedelta(hours=5))
    mms(twilio, SWOLLEN, [], n=3)

    escalation = Escalation.objects.get()
    day_old, recent = MessageMedia.objects.order_by("created_at")
    assert list(escalation.media.all()) == [recent], "the photo of 25 hours ago stays out"
    assert day_old.escalation is None


def test_the_retention_purge_deletes_the_files_and_keeps_the_rows(line, twilio, served, desk):
    served[media_url(0)] = ("image/jpeg", JPEG)
    mms(twilio, "my lip", [(media_url(0), "image/jpeg")])
    media = MessageMedia.objects.get()
    name = media.file.name
    storage = storages["patient_media"]
    assert storage.exists(name)
    practice = line.practice
    practice.retention_days = 30
    practice.save()

    later = timezone.now() + timedelta(days=31)
    erased = retention_purge(practice=practice, now=later)
    assert erased["media"] == 1
    assert not storage.exists(name)
    media.refresh_from_db()
    assert (media.file.name or "", media.sha256, media.source_url, media.size) == ("", "", "", len(JPEG))
    assert desk.get(reverse("console-media", args=[media.pk])).status_code == 404
    html = desk.get(reverse("console-conversation", args=[media.message.conversation_id])).content.decode()
    assert "Picture removed after the retention period" in html
    assert retention_purge(practice=practice, now=later)["media"] == 0


def test_the_console_backend_serves_a_placeholder_photo():
    content_type, data = ConsoleBackend().fetch_media(media_url(0))
    assert content_type == "image/png" and sniff_image(data) == "image/png"


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (JPEG, "image/jpeg"),
        (PNG, "image/png"),
        (b"GIF89a\x01\x00", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00", "image/heif"),
        (b"\x00\x00\x00\x18ftypmp42\x00\x00", None),
        (b"%PDF-1.7", None),
        (b"", None),
    ],
)
def test_pictures_are_known_by_their_bytes(data, kind):
    assert sniff_image(data) == kind


# The Twilio backend, through the real twilio library with a fake HTTP client.


class FakeMediaHttp(HttpClient):
    """Answers like api.twilio.com (a redirect to the CDN) and the CDN (the picture); remembers what it was asked."""

    def __init__(self, answers):
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)
        self.answers = list(answers)
        self.requests = []

    def request(
        self, method, uri, params=None, data=None, headers=None, auth=None, timeout=None, allow_redirects=False
    ):
        self.requests.append({"method": method, "uri": uri, "auth": auth, "allow_redirects": allow_redirects})
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def test_the_twilio_backend_sends_credentials_to_twilio_only_and_follows_the_redirect_to_the_cdn(settings):
    http = FakeMediaHttp(
        [
            Response(307, "", {"Location": f"{CDN}?X-Amz-Signature=abc"}),
            Response(200, JPEG, {"Content-Type": "image/jpeg", "Content-Length": str(len(JPEG))}),
        ]
    )
    content_type, data = TwilioBackend(http_client=http).fetch_media(media_url(0))
    assert (content_type, data) == ("image/jpeg", JPEG)
    to_twilio, to_cdn = http.requests
    assert (to_twilio["method"], to_twilio["uri"]) == ("GET", media_url(0))
    assert to_twilio["auth"] == (ACCOUNT, settings.TWILIO_AUTH_TOKEN)
    assert to_cdn["uri"] == f"{CDN}?X-Amz-Signature=abc" and to_cdn["auth"] is None
    assert not to_twilio["allow_redirects"] and not to_cdn["allow_redirects"], "redirects are followed by hand"


def test_the_twilio_backend_never_sends_credentials_to_another_host_or_over_http():
    http = FakeMediaHttp([Response(302, "", {"location": "http://api.twilio.com/elsewhere"})])
    with pytest.raises(FetchError) as caught:
        TwilioBackend(http_client=http).fetch_media(media_url(0))
    assert "not https" in str(caught.value) and len(http.requests) == 1
    http = FakeMediaHttp([])
    with pytest.raises(FetchError, match="not Twilio's"):
        TwilioBackend(http_client=http).fetch_media("https://api.twilio.com.example.com/Media/ME1")
    assert http.requests == []


@pytest.mark.parametrize(
    ("answer", "retryable"),
    [
        (Response(404, json.dumps({"code": 20404, "message": "not found"}), {}), False),
        (Response(503, "unavailable", {}), True),
        (Response(429, "slow down", {}), True),
        (ConnectionError("connection reset"), True),
    ],
)
def test_the_twilio_backend_says_whether_another_try_can_help(answer, retryable):
    with pytest.raises(FetchError) as caught:
        TwilioBackend(http_client=FakeMediaHttp([answer])).fetch_media(media_url(0))
    assert caught.value.retryable is retryable


def test_the_twilio_backend_stops_after_a_few_redirects():
    http = FakeMediaHttp([Response(302, "", {"Location": f"{CDN}/{n}"}) for n in range(5)])
    with pytest.raises(FetchError, match="too many redirects"):
        TwilioBackend(http_client=http).fetch_media(media_url(0))


class _Picture(BaseHTTPRequestHandler):
    body = b""

    def do_GET(self):  # noqa: N802 (the standard library's name)
        self.send_response(200)
        self.send_header("Content-Type", "image/jpeg")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def picture_server(monkeypatch):
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Picture)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_the_media_http_client_keeps_the_bytes_and_reads_no_more_than_the_limit(picture_server):
    url = f"http://127.0.0.1:{picture_server.server_address[1]}/picture"
    _Picture.body = JPEG  # not valid UTF-8: the library's own client would mangle it
    response = MediaHttpClient(max_bytes=10_000).request("GET", url)
    assert (response.status_code, response.content) == (200, JPEG)
    assert response.headers["Content-Type"] == "image/jpeg"
    _Picture.body = JPEG * 100
    response = MediaHttpClient(max_bytes=10_000).request("GET", url)
    assert len(response.content) == 10_001 and response.content == (JPEG * 100)[:10_001]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="Chromium is not installed (apt-get install chromium)")
def test_a_browser_shows_the_photos_through_our_view_with_nothing_blocked(
    line, twilio, served, nurse, browser, live_server, settings
):
    settings.DEBUG = False
    StaffMemberFactory(practice=line.practice, user__username="riley", role="front_desk")
    served[media_url(0)] = ("image/png", PNG)
    served[media_url(1)] = ("image/gif", GIF)
    mms(twilio, SWOLLEN, [(media_url(0), "image/png"), (media_url(1), "image/gif")])
    conversation = Message.objects.get(direction="inbound").conversation

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(20_000)
    errors, asked, pictures = [], [], []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "console", lambda message: errors.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on("request", lambda request: asked.append(request.url))
    page.on("requestfinished", lambda request: "/console/media/" in request.url and pictures.append(request.url))
    page.goto(f"{live_server.url}{reverse('login')}")
    page.fill("#id_username", "riley")
    page.fill("#id_password", "a-long-test-password")
    page.click("button[type=submit]")
    page.wait_for_url(f"{live_server.url}/console/")  # the home page: its escalation card shows the pictures too
    # Both pictures load (and decode: real images), through our own view. Each page's pictures finish
    # loading before the next page, so no request is cut off after the server has audited it.
    loaded = (
        "() => { const images = [...document.querySelectorAll('img.thumb')];"
        " return images.length === 2 && images.every(image => image.complete && image.naturalWidth > 0); }"
    )
    page.wait_for_function(loaded)
    page.wait_for_load_state("networkidle")
    thread = reverse("console-conversation", args=[conversation.pk])
    for path in (thread, reverse("console-escalations")):
        page.goto(f"{live_server.url}{path}")
        page.wait_for_function(loaded)
        page.wait_for_load_state("networkidle")
        shot(page, f"photos-{path.strip('/').replace('/', '-')}")

    # The thread polls every 5 s: the swap keeps the pictures, so each is fetched (and audited) once a view.
    page.goto(f"{live_server.url}{thread}")
    page.wait_for_load_state("networkidle")
    fetched = len(pictures)
    for _ in range(2):
        with page.expect_response(lambda response: response.url.endswith(thread)):
            page.evaluate("url => { htmx.ajax('GET', url, {target: '#thread', swap: 'innerHTML'}); }", thread)
    page.wait_for_timeout(500)  # time for a swapped-in picture to be asked for, if it were
    assert len(pictures) == fetched, pictures
    page.wait_for_load_state("networkidle")
    page.close()
    assert errors == []
    assert asked and all(url.startswith(live_server.url) for url in asked), "nothing but our own server is asked"
    assert AuditEvent.objects.filter(what="patient photo").count() == len(pictures), "one audit row per picture shown"
