"""A real CalDAV server for the calendar sync tests: Radicale (from PyPI) on loopback, started per test
module in a subprocess with its own storage folder and plain htpasswd users, and stopped afterwards."""

import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest
import requests

USERNAME = "drlee"
PASSWORD = "app-password-1234"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Radicale:
    url: str
    username: str = USERNAME
    password: str = PASSWORD

    def client(self) -> caldav.DAVClient:
        """The practice's other calendar app: how events get into the calendar outside the receptionist."""
        return caldav.DAVClient(url=self.url, username=self.username, password=self.password, timeout=10)

    def new_calendar(self) -> caldav.Calendar:
        return self.client().principal().make_calendar(name="Dr. Lee", cal_id=f"cal-{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="module")
def radicale(tmp_path_factory):
    folder: Path = tmp_path_factory.mktemp("radicale")
    users = folder / "users"
    users.write_text(f"{USERNAME}:{PASSWORD}\n")
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "radicale",
            "--config",
            "",
            "--server-hosts",
            f"127.0.0.1:{port}",
            "--auth-type",
            "htpasswd",
            "--auth-htpasswd-filename",
            str(users),
            "--auth-htpasswd-encryption",
            "plain",
            "--auth-delay",
            "0",
            "--storage-filesystem-folder",
            str(folder / "collections"),
            "--logging-level",
            "error",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                pytest.fail(f"Radicale exited with {process.returncode} before it answered")
            try:
                requests.get(url, timeout=0.5)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    pytest.fail("Radicale did not answer within 30 seconds")
                time.sleep(0.1)
        yield Radicale(url=url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def remote(radicale) -> caldav.Calendar:
    """A fresh, empty calendar for one test."""
    return radicale.new_calendar()


def vevent(uid: str, start: str, end: str, summary: str = "Busy", extra: str = "") -> str:
    """An iCalendar object; `start`/`end` are property values with their parameters, e.g.
    ';TZID=America/New_York:20261102T100000' or ';VALUE=DATE:20261105'."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//The practice's other app//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261101T000000Z",
        f"DTSTART{start}",
        f"DTEND{end}",
        f"SUMMARY:{summary}",
        *[line for line in extra.splitlines() if line.strip()],
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def connect(owner_calendar, remote: caldav.Calendar, radicale: Radicale, *, password: str = PASSWORD, **fields):
    """A connection of the test practice's provider to `remote`, as a manager would set it up."""
    from booking.models import CalendarConnection

    connection = CalendarConnection(
        practice=owner_calendar.practice,
        name=fields.pop("name", "Dr. Lee's calendar"),
        provider=fields.pop("provider", owner_calendar.provider),
        server_url=radicale.url,
        username=radicale.username,
        calendar_url=str(remote.url),
        **fields,
    )
    connection.set_password(password)
    connection.save()
    return connection
