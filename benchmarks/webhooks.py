"""Benchmark of the Twilio webhooks and of the missed-call text-back, through gunicorn and a qcluster.

    .venv/bin/python benchmarks/webhooks.py

For each broker (the ORM broker, then Redis at redis://127.0.0.1:6379/15, flushed first) it drops
and recreates the PostgreSQL database `medspa_bench_webhooks`, migrates it and seeds the demo
practice (manage.py migrate / seed_demo), sets the demo practice's quiet hours to 00:00-00:00 so
that nothing is quiet, starts gunicorn (bound to 127.0.0.1 on a free port, 4 sync workers by
default) and `manage.py qcluster`, waits for /healthz, warms up, then measures:

  (a) webhook latency: --runs requests (default 200) of each kind from --threads client threads
      (default 10), each signed like Twilio signs it: missed calls (the incoming-call webhook,
      then the dial-status webhook with DialCallStatus=no-answer: --runs of each), inbound SMS,
      and a trivial view (benchmarks/_bench_urls.py) as the baseline. The queue is drained after
      each kind, and the CPU each part of the system used is read from /proc.
  (b) text-back time: --burst missed calls (default 100) fired at once, then the database is
      polled until every text-back Outreach row (kind text_back, step 0) is sent (timeout 120 s).
      Time from Call.missed_at, and from the moment the webhook that marked the call missed
      returned, to Message.sent_at; with the breakdown (enqueue, queue wait, send) from the
      django-q Task rows and Outreach.claimed_at.
  (b') the same, for --single missed calls one at a time (default 20): the idle latency.

Targets: every webhook's p99 under 100 ms; the text-back's p95 under 2 s (from Call.missed_at).
gunicorn and the qcluster are always stopped at the end, even on error; a round stops with an
error if either exits while it runs.

The load client uses only the standard library (threads and http.client, a new connection per
request, as Twilio opens them); requests go to 127.0.0.1 only. Every loop is bounded in count and
time. Options: --runs, --warmup, --threads, --burst, --single, --brokers orm,redis, --q-workers 4[,8]
(one round per value and broker: Q_WORKERS for the qcluster), --gunicorn-workers, --gunicorn-threads
(more than 1 is the gthread worker), --json PATH. Other arguments (benchmarks/run passes every
script the same ones) are ignored.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import queue
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version as package_version
from pathlib import Path
from urllib.parse import unquote, urlencode, urlsplit
from zoneinfo import ZoneInfo

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DB_NAME = "medspa_bench_webhooks"
SETTINGS_MODULE = "benchmarks._bench_settings"
AUTH_TOKEN = "bench-token"
ACCOUNT_SID = "AC" + "0" * 32
REDIS_BENCH_URL = "redis://127.0.0.1:6379/15"
DEMO_SLUG = "demo"
MIDTOWN_NUMBER = "+12125550100"  # the demo's Midtown line (America/New_York)
NEW_YORK = ZoneInfo("America/New_York")

TARGET_WEBHOOK_P99_MS = 100.0
TARGET_TEXT_BACK_P95_S = 2.0
TEXT_BACK_TIMEOUT_S = 120.0
DRAIN_TIMEOUT_S = 120.0
HEALTH_TIMEOUT_S = 60.0
REQUEST_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 15.0

PATH_VOICE = "/webhooks/twilio/voice/"
PATH_DIAL_STATUS = "/webhooks/twilio/voice/dial-status/"
PATH_SMS = "/webhooks/twilio/sms/"
PATH_TRIVIAL = "/bench/trivial/"
SMS_BODIES = [
    "Do you have anything for botox next week?",
    "Hi! How much is lip filler?",
    "Can I book a HydraFacial on Saturday morning?",
    "Do you have anything for botox next week? Thursday after 5 works best",
]

FIXTURES = REPO_ROOT / "tests" / "fixtures" / "twilio"
KINDS = [
    ("trivial", "trivial view (baseline)"),
    ("sms", "inbound SMS webhook"),
    ("voice", "incoming-call webhook"),
    ("dial_status", "dial-status webhook (no-answer)"),
]
WEBHOOK_KINDS = ["sms", "voice", "dial_status"]


# Small helpers.


def summary(samples: list[float]) -> dict[str, float] | None:
    if not samples:
        return None
    ordered = sorted(samples)

    def pct(p: float) -> float:  # linear interpolation between closest ranks
        k = (len(ordered) - 1) * p
        lo = int(k)
        hi = min(lo + 1, len(ordered) - 1)
        return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)

    return {
        "p50": pct(0.50),
        "p95": pct(0.95),
        "p99": pct(0.99),
        "max": ordered[-1],
        "mean": statistics.fmean(ordered),
        "n": len(ordered),
    }


def calibration_ms() -> float:
    """A fixed pure-Python workload (median of 7): how fast this CPU is right now, to compare runs."""
    samples = []
    for _ in range(7):
        t0 = time.perf_counter_ns()
        sum(i * i for i in range(300_000))
        samples.append((time.perf_counter_ns() - t0) / 1e6)
    return round(statistics.median(samples), 2)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url() -> str:
    """DATABASE_URL's server (benchmarks/run sets one), always with the dedicated database name."""
    base = os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/"
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        parts = urlsplit("postgres://postgres@127.0.0.1:5432/")
    return f"postgres://{parts.netloc}/{DB_NAME}"


def pg_params(url: str, dbname: str) -> dict:
    parts = urlsplit(url)
    params = {
        "dbname": dbname,
        "host": parts.hostname,
        "port": parts.port,
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
    }
    return {key: value for key, value in params.items() if value}


def pg_connect(url: str, dbname: str = DB_NAME):
    import psycopg

    return psycopg.connect(**pg_params(url, dbname), autocommit=True)


# Phone numbers and Twilio payloads.


class Phones:
    """Distinct, valid US numbers in New York area codes, handed out once each."""

    def __init__(self, prefix: str, start: int = 1000):
        import phonenumbers

        self._valid = phonenumbers.is_valid_number
        self._parse = phonenumbers.parse
        self.prefix = prefix
        self.next = start
        self.lock = threading.Lock()

    def take(self) -> str:
        with self.lock:
            while self.next < 10_000:
                number = f"{self.prefix}{self.next:04d}"
                self.next += 1
                if self._valid(self._parse(number)):
                    return number
        raise RuntimeError(f"ran out of numbers in {self.prefix}XXXX")


def _fixture(name: str) -> dict[str, str]:
    return json.loads((FIXTURES / name).read_text())


VOICE_TEMPLATE = _fixture("voice_incoming.json")
DIAL_TEMPLATE = _fixture("voice_dial_status_no_answer.json")
SMS_TEMPLATE = _fixture("sms_inbound.json")


def voice_params(call_sid: str, caller: str) -> dict[str, str]:
    return {
        **VOICE_TEMPLATE,
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": caller,
        "Caller": caller,
        "To": MIDTOWN_NUMBER,
        "Called": MIDTOWN_NUMBER,
    }


def dial_params(call_sid: str, caller: str) -> dict[str, str]:
    return {
        **DIAL_TEMPLATE,
        "AccountSid": ACCOUNT_SID,
        "CallSid": call_sid,
        "From": caller,
        "Caller": caller,
        "To": MIDTOWN_NUMBER,
        "Called": MIDTOWN_NUMBER,
        "DialCallStatus": "no-answer",
        "DialCallSid": f"CA{uuid.uuid4().hex}",
    }


def sms_params(sender: str, body: str) -> dict[str, str]:
    sid = f"SM{uuid.uuid4().hex}"
    return {
        **SMS_TEMPLATE,
        "AccountSid": ACCOUNT_SID,
        "MessageSid": sid,
        "SmsSid": sid,
        "SmsMessageSid": sid,
        "From": sender,
        "To": MIDTOWN_NUMBER,
        "Body": body,
    }


# The load client: standard library only, 127.0.0.1 only.


@dataclass
class Sample:
    kind: str
    status: int  # 0: no answer (connection error or timeout)
    ms: float
    ended: float  # wall clock (time.time()) when the response was read
    call_sid: str = ""


class Client:
    def __init__(self, port: int, check_alive=lambda: None):
        from twilio.request_validator import RequestValidator

        self.check_alive = check_alive  # raises when gunicorn or the qcluster is gone
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.validator = RequestValidator(AUTH_TOKEN)

    def post(self, kind: str, path: str, params: dict[str, str], *, sign: bool = True, call_sid: str = "") -> Sample:
        body = urlencode(params)
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if sign:  # computed before the clock starts: Twilio's side of the work
            headers["X-Twilio-Signature"] = self.validator.compute_signature(self.base + path, params)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        t0 = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            conn.close()
        ms = (time.perf_counter() - t0) * 1000
        return Sample(kind, status, ms, time.time(), call_sid)

    def get_json(self, path: str, timeout: float = 5.0) -> tuple[int, dict]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            raw = response.read()
            try:
                return response.status, json.loads(raw)
            except ValueError:
                return response.status, {}
        finally:
            conn.close()

    # One unit of work each: lists of samples.

    def missed_call(self, caller: str) -> list[Sample]:
        call_sid = f"CA{uuid.uuid4().hex}"
        first = self.post("voice", PATH_VOICE, voice_params(call_sid, caller), call_sid=call_sid)
        second = self.post("dial_status", PATH_DIAL_STATUS, dial_params(call_sid, caller), call_sid=call_sid)
        return [first, second]

    def sms(self, sender: str, body: str) -> list[Sample]:
        return [self.post("sms", PATH_SMS, sms_params(sender, body))]

    def trivial(self, sender: str) -> list[Sample]:
        # The same form body as an SMS webhook, unsigned (the view checks nothing).
        return [self.post("trivial", PATH_TRIVIAL, sms_params(sender, SMS_BODIES[0]), sign=False)]


def run_pool(jobs: list, threads: int, deadline_s: float) -> tuple[list[Sample], int]:
    """Run the jobs (callables returning samples) on `threads` threads; returns (samples, jobs not run)."""
    work: queue.Queue = queue.Queue()
    for job in jobs:
        work.put(job)
    samples: list[Sample] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + deadline_s

    def worker() -> None:
        while time.monotonic() < stop_at:
            try:
                job = work.get_nowait()
            except queue.Empty:
                return
            result = job()
            with lock:
                samples.extend(result)

    pool = [threading.Thread(target=worker, daemon=True) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=max(0.0, stop_at - time.monotonic()) + REQUEST_TIMEOUT_S * 2 + 5)
    return samples, work.qsize()


# Database, processes.


def recreate_database(url: str) -> float:
    from psycopg import sql

    started = time.perf_counter()
    with pg_connect(url, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    return time.perf_counter() - started


def base_env(url: str, *, port: int, redis: bool, q_workers: int | None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "Q_WORKERS", "Q_SYNC", "PYTHONPATH"}
    }
    env.update(
        {
            "PYTHONPATH": str(REPO_ROOT),
            "DJANGO_SETTINGS_MODULE": SETTINGS_MODULE,
            "DEBUG": "0",
            # Plain HTTP on loopback, as behind the TLS-terminating proxy a deployment has.
            "SECURE_SSL_REDIRECT": "0",
            "SECRET_KEY": "bench",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": url,
            "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "MESSAGING_BACKEND": "console",
            "LOG_LEVEL": "WARNING",
            # Set even when empty: an empty value also stops a .env file from filling it in.
            "REDIS_URL": REDIS_BENCH_URL if redis else "",
            "Q_SYNC": "0",
        }
    )
    if q_workers is not None:
        env["Q_WORKERS"] = str(q_workers)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 300) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO_ROOT / "manage.py"), *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    return time.perf_counter() - started


def flush_redis() -> str:
    import redis

    connection = redis.from_url(REDIS_BENCH_URL)
    connection.flushdb()
    return connection.info("server")["redis_version"]


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: object  # the open log file


def start(name: str, command: list[str], env: dict[str, str], log_dir: Path) -> Proc:
    log = open(log_dir / f"{name}.log", "w")  # noqa: SIM115 (closed by stop())
    # A session of its own, so that stop() can end the process and its children by its group id.
    popen = subprocess.Popen(
        command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Proc(name, popen, log)


def stop(proc: Proc) -> None:
    """SIGTERM to the process group we created, then SIGKILL to whatever is left of it."""
    popen, pgid = proc.popen, proc.popen.pid
    try:
        if popen.poll() is None:
            os.killpg(pgid, signal.SIGTERM)
            try:
                popen.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                pass
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # children finishing their own shutdown
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.2)
        else:
            os.killpg(pgid, signal.SIGKILL)
        if popen.poll() is None:
            popen.wait(timeout=5)
    except ProcessLookupError:
        pass
    finally:
        proc.log.close()


def wait_healthy(client: Client, procs: list[Proc]) -> dict:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last: tuple[int, dict] = (0, {})
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"{proc.name} exited with code {proc.popen.returncode} before /healthz answered")
        try:
            last = client.get_json("/healthz", timeout=2)
            if last[0] == 200:
                return last[1]
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"/healthz did not answer 200 within {HEALTH_TIMEOUT_S:g} s (last: {last})")


def backlog(conn, client: Client) -> dict[str, int]:
    """What the qcluster still has to do: broker queue, due outreach, unprocessed inbound texts."""
    _, health = client.get_json("/healthz")
    row = conn.execute(
        """
        SELECT
          (SELECT count(*) FROM calls_outreach WHERE state IN ('pending', 'sending') AND due_at <= now()),
          (SELECT count(*) FROM calls_message WHERE direction = 'inbound' AND processed_at IS NULL)
        """
    ).fetchone()
    return {"queued": int(health.get("task_queue", {}).get("queued", 0) or 0), "due": row[0], "inbound": row[1]}


def drain(conn, client: Client, timeout: float = DRAIN_TIMEOUT_S) -> float:
    """Wait (bounded) until the qcluster has caught up; returns the seconds waited."""
    started = time.monotonic()
    left = {}
    while time.monotonic() - started < timeout:
        client.check_alive()
        left = backlog(conn, client)
        if not any(left.values()):
            time.sleep(0.3)  # the monitor saves results just after
            return time.monotonic() - started
        time.sleep(0.2)
    print(f"  (the queue did not drain within {timeout:g} s: {left})")
    return time.monotonic() - started


class CpuMeter:
    """CPU seconds used by each part of the system, read from /proc: gunicorn and the qcluster (by the
    process groups we started), PostgreSQL backends of the bench database, the rest of PostgreSQL,
    redis-server, this load client, and the whole machine (which includes other people's work)."""

    TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def __init__(self, groups: dict[str, int]):
        self.groups = groups  # name -> process group id

    @staticmethod
    def _stat(pid: str) -> tuple[int, int] | None:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        fields = raw[raw.rindex(")") + 2 :].split()
        return int(fields[2]), int(fields[11]) + int(fields[12])  # process group, utime + stime

    def snapshot(self) -> dict[str, float]:
        totals = dict.fromkeys([*self.groups, "postgres (bench db)", "postgres (other)", "redis-server"], 0)
        me = os.getpid()
        try:
            pids = [p for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return {}
        by_group = {pgid: name for name, pgid in self.groups.items()}
        for pid in pids:
            stat = self._stat(pid)
            if stat is None or int(pid) == me:
                continue
            pgrp, ticks = stat
            if pgrp in by_group:
                totals[by_group[pgrp]] += ticks
                continue
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if cmdline.startswith("postgres") or "/postgres " in cmdline:
                totals["postgres (bench db)" if f" {DB_NAME} " in cmdline else "postgres (other)"] += ticks
            elif "redis-server" in cmdline:
                totals["redis-server"] += ticks
        out = {name: ticks / self.TICK for name, ticks in totals.items()}
        times = os.times()
        out["load client"] = times.user + times.system
        with open("/proc/stat") as stat:
            cpu = [int(x) for x in stat.readline().split()[1:]]
        out["machine busy"] = (sum(cpu) - cpu[3] - cpu[4]) / self.TICK  # all but idle and iowait
        out["_wall"] = time.monotonic()
        return out

    def since(self, before: dict[str, float]) -> dict:
        """CPU seconds per part since `before`, with the machine's use of all its CPUs in percent."""
        after = self.snapshot()
        if not before or not after:
            return {}
        wall = after["_wall"] - before["_wall"]
        used = {name: round(after[name] - before.get(name, 0), 2) for name in after if name != "_wall"}
        ours = sum(v for k, v in used.items() if k != "machine busy")
        used["other processes"] = round(max(0.0, used["machine busy"] - ours), 2)
        ncpu = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return {
            "seconds": used,
            "wall_s": round(wall, 2),
            "machine_busy_pct": round(100 * used["machine busy"] / (wall * ncpu), 1),
        }


# The scenarios.


def scenario_latency(
    client: Client, conn, runs: int, threads: int, callers: Phones, senders: Phones, meter: CpuMeter
) -> dict:
    results = {}
    plans = [
        ("trivial", lambda: [partial(client.trivial, senders.take()) for _ in range(runs)]),
        ("sms", lambda: [partial(client.sms, senders.take(), SMS_BODIES[i % 4]) for i in range(runs)]),
        ("missed_call", lambda: [partial(client.missed_call, callers.take()) for _ in range(runs)]),
    ]
    samples: list[Sample] = []
    for name, plan in plans:
        jobs = plan()
        load_before = os.getloadavg()[0]
        cpu_before = meter.snapshot()
        started = time.perf_counter()
        got, not_run = run_pool(jobs, threads, deadline_s=300)
        seconds = time.perf_counter() - started
        waited = drain(conn, client)  # the CPU below includes the tasks these requests queued
        samples += got
        results[f"{name}_run"] = {
            "seconds": round(seconds, 2),
            "requests": len(got),
            "requests_per_s": round(len(got) / seconds, 1),
            "not_run": not_run,
            "drain_seconds": round(waited, 2),
            "cpu": meter.since(cpu_before),
            "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
        }
    for kind, _ in KINDS:
        mine = [s for s in samples if s.kind == kind]
        errors = [s.status for s in mine if not 200 <= s.status < 300]
        results[kind] = {
            "ms": summary([s.ms for s in mine]),
            "errors": len(errors),
            "error_statuses": sorted(set(errors)),
        }
    both = [s for s in samples if s.kind in ("voice", "dial_status")]
    results["missed_call_both"] = {
        "ms": summary([s.ms for s in both]),
        "errors": sum(1 for s in both if not 200 <= s.status < 300),
    }
    trivial = results["trivial"]["ms"]
    for kind in WEBHOOK_KINDS + ["missed_call_both"]:
        stats = results[kind]["ms"]
        if stats and trivial:
            results[kind]["ratio_to_trivial"] = {
                "p50": round(stats["p50"] / trivial["p50"], 2),
                "p99": round(stats["p99"] / trivial["p99"], 2),
            }
    return results


TEXT_BACK_QUERY = """
    SELECT c.call_sid, c.missed_at, c.missed_reason, o.id, o.state, o.state_reason, o.claimed_at, m.sent_at
    FROM calls_call c
    LEFT JOIN calls_outreach o ON o.call_id = c.id AND o.kind = 'text_back' AND o.step = 0
    LEFT JOIN calls_message m ON m.id = o.message_id
    WHERE c.call_sid = ANY(%s)
"""


def wait_text_backs(client: Client, conn, sids: list[str], timeout: float, interval: float = 0.1) -> tuple[list, int]:
    """Poll (bounded) until every call's text-back is sent; returns the rows and the number of polls."""
    deadline = time.monotonic() + timeout
    rows: list = []
    polls = 0
    while time.monotonic() < deadline:
        client.check_alive()
        rows = conn.execute(TEXT_BACK_QUERY, [sids]).fetchall()
        polls += 1
        if len(rows) == len(sids) and all(r[4] == "sent" and r[7] is not None for r in rows):
            break
        time.sleep(interval)
    return rows, polls


def task_times(conn, rows: list) -> dict[str, tuple]:
    """The django-q Task rows of the text-backs: (enqueued, stopped). The monitor saves them just after."""
    names = [f"outreach-{r[3]}" for r in rows if r[3] is not None]
    tasks: dict[str, tuple] = {}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        tasks = {
            name: (started, stopped)
            for name, started, stopped in conn.execute(
                "SELECT name, started, stopped FROM django_q_task WHERE name = ANY(%s)", [names]
            ).fetchall()
        }
        if len(tasks) >= len(names):
            break
        time.sleep(0.2)
    return tasks


def text_back_analysis(rows: list, tasks: dict, by_sid: dict, fired_at: dict[str, float]) -> dict:
    parts: dict[str, list[float]] = {
        "missed_to_sent": [],
        "response_to_sent": [],
        "fired_to_missed": [],
        "missed_to_enqueued": [],
        "enqueued_to_claimed": [],
        "claimed_to_sent_at": [],
        "sent_at_to_task_end": [],
    }
    states: dict[str, int] = {}
    reasons: dict[str, int] = {}
    sent_times = []
    for call_sid, missed_at, reason, pk, state, state_reason, claimed_at, sent_at in rows:
        label = state or "no outreach row"
        if state and state != "sent" and state_reason:
            label = f"{state} ({state_reason})"
        states[label] = states.get(label, 0) + 1
        reasons[reason or "not missed"] = reasons.get(reason or "not missed", 0) + 1
        if state != "sent" or sent_at is None or missed_at is None:
            continue
        sent = sent_at.timestamp()
        sent_times.append(sent)
        parts["missed_to_sent"].append(sent - missed_at.timestamp())
        # The webhook that marked the call missed: the incoming call when closed, else the dial status.
        marked_by = "voice" if reason == "after_hours" else "dial_status"
        response = by_sid.get(call_sid, {}).get(marked_by)
        if response is not None:
            parts["response_to_sent"].append(sent - response.ended)
        if call_sid in fired_at:
            parts["fired_to_missed"].append(missed_at.timestamp() - fired_at[call_sid])
        task = tasks.get(f"outreach-{pk}")
        if task is not None:
            enqueued, stopped = task
            parts["missed_to_enqueued"].append((enqueued - missed_at).total_seconds())
            if claimed_at is not None:
                parts["enqueued_to_claimed"].append((claimed_at - enqueued).total_seconds())
                parts["claimed_to_sent_at"].append((sent_at - claimed_at).total_seconds())
            if stopped is not None:
                parts["sent_at_to_task_end"].append((stopped - sent_at).total_seconds())
    sent_count = len(parts["missed_to_sent"])
    return {
        "calls_recorded": len(rows),
        "sent": sent_count,
        "outreach_states": states,
        "missed_reasons": reasons,
        "send_rate_per_s": round(sent_count / (max(sent_times) - min(sent_times)), 1) if len(sent_times) > 1 else None,
        "task_rows_found": len(tasks),
        "seconds": {key: summary(values) for key, values in parts.items()},
    }


def _by_sid(samples: list[Sample]) -> dict[str, dict[str, Sample]]:
    by_sid: dict[str, dict[str, Sample]] = {}
    for sample in samples:
        by_sid.setdefault(sample.call_sid, {})[sample.kind] = sample
    return by_sid


def scenario_text_back(client: Client, conn, burst: int, callers: Phones, meter: CpuMeter) -> dict:
    """`burst` missed calls released at once by a barrier, then every text-back awaited."""
    callers_list = [callers.take() for _ in range(burst)]
    fired: list[float] = []
    barrier = threading.Barrier(burst, action=lambda: fired.append(time.time()), timeout=60)
    flows: list[list[Sample]] = [[] for _ in range(burst)]

    def flow(i: int) -> None:
        try:
            barrier.wait()
        except threading.BrokenBarrierError:
            return
        flows[i] = client.missed_call(callers_list[i])

    threads = [threading.Thread(target=flow, args=(i,), daemon=True) for i in range(burst)]
    load_before = os.getloadavg()[0]
    cpu_before = meter.snapshot()
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + REQUEST_TIMEOUT_S * 2 + 30
    for thread in threads:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))
    fired_at = fired[0] if fired else time.time()
    samples = [s for f in flows for s in f]
    webhooks_done_s = max((s.ended for s in samples), default=fired_at) - fired_at
    by_sid = _by_sid(samples)
    sids = sorted(by_sid)
    rows, polls = wait_text_backs(client, conn, sids, TEXT_BACK_TIMEOUT_S)
    all_sent_s = time.time() - fired_at
    cpu = meter.since(cpu_before)
    result = text_back_analysis(rows, task_times(conn, rows), by_sid, dict.fromkeys(sids, fired_at))
    errors = [s.status for s in samples if not 200 <= s.status < 300]
    return {
        "burst": burst,
        **result,
        "not_sent_within_timeout": burst - result["sent"],
        "timeout_s": TEXT_BACK_TIMEOUT_S,
        "webhook_errors": len(errors),
        "webhook_error_statuses": sorted(set(errors)),
        "webhook_ms": {
            "voice": summary([s.ms for s in samples if s.kind == "voice"]),
            "dial_status": summary([s.ms for s in samples if s.kind == "dial_status"]),
        },
        "webhooks_done_s": round(webhooks_done_s, 3),
        "all_sent_s": round(all_sent_s, 3),
        "polls": polls,
        "cpu": cpu,
        "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def scenario_text_back_single(client: Client, conn, count: int, callers: Phones) -> dict:
    """`count` missed calls one at a time, each after the previous text-back went out: the idle latency."""
    samples: list[Sample] = []
    fired_at: dict[str, float] = {}
    rows: list = []
    for i in range(count):
        started = time.time()
        flow = client.missed_call(callers.take())
        samples += flow
        fired_at[flow[0].call_sid] = started
        rows += wait_text_backs(client, conn, [flow[0].call_sid], timeout=10, interval=0.02)[0]
        time.sleep(0.1 + 0.3 * ((i * 7) % 10) / 10)  # spread the calls over the ORM broker's poll cycle
    result = text_back_analysis(rows, task_times(conn, rows), _by_sid(samples), fired_at)
    return {"count": count, **result, "not_sent": count - result["sent"]}


@dataclass
class Round:
    broker: str
    q_workers: int | None
    result: dict = field(default_factory=dict)

    @property
    def label(self) -> str:
        workers = self.q_workers if self.q_workers is not None else "4 (default)"
        return f"{'ORM broker (poll 0.2 s)' if self.broker == 'orm' else 'Redis broker'}, Q_WORKERS={workers}"


def run_round(rnd: Round, args, log_dir: Path) -> dict:
    url = database_url()
    port = free_port()
    env = base_env(url, port=port, redis=rnd.broker == "redis", q_workers=rnd.q_workers)
    out: dict = {"broker": rnd.broker, "q_workers": rnd.q_workers or 4, "port": port}
    print(f"\n=== {rnd.label}")
    seconds = recreate_database(url)
    migrate_s = manage(env, "migrate", "--noinput", "-v", "0")
    seed_s = manage(env, "seed_demo")
    print(f"Recreated {DB_NAME} ({seconds:.1f} s), migrated ({migrate_s:.1f} s), seeded the demo ({seed_s:.1f} s).")
    with pg_connect(url) as conn:
        changed = conn.execute(
            "UPDATE practices_practice SET quiet_hours_start = '00:00', quiet_hours_end = '00:00' WHERE slug = %s",
            [DEMO_SLUG],
        ).rowcount
    now_ny = datetime.now(NEW_YORK)
    quiet_now = now_ny.hour >= 21 or now_ny.hour < 8
    print(
        f"Set quiet hours of practice '{DEMO_SLUG}' to 00:00-00:00 ({changed} row): nothing is quiet, so text-backs go "
        f"out at any hour (New York time is {now_ny:%H:%M}, {'inside' if quiet_now else 'outside'} the default "
        "21:00-08:00)."
    )
    if rnd.broker == "redis":
        out["redis_version"] = flush_redis()
        print(f"Flushed {REDIS_BENCH_URL} (Redis {out['redis_version']}).")

    gunicorn = Path(sys.executable).with_name("gunicorn")
    if not gunicorn.exists():
        raise RuntimeError(f"{gunicorn} is missing: .venv/bin/pip install gunicorn (it is in requirements.txt)")
    gunicorn_cmd = [
        str(gunicorn),
        "medspa_receptionist.wsgi",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(args.gunicorn_workers),
        "--threads",
        str(args.gunicorn_threads),
        "--log-level",
        "warning",
        "--timeout",
        "60",
    ]
    procs: list[Proc] = []

    def check_alive() -> None:
        for proc in procs:
            code = proc.popen.poll()
            if code is not None:
                raise RuntimeError(
                    f"{proc.name} exited with code {code} in the middle of the round (a negative code is the signal "
                    f"that ended it: was it stopped from outside?); its log is in {log_dir}"
                )

    client = Client(port, check_alive)
    try:
        procs.append(start(f"{rnd.broker}-{rnd.q_workers or 4}-gunicorn", gunicorn_cmd, env, log_dir))
        procs.append(
            start(
                f"{rnd.broker}-{rnd.q_workers or 4}-qcluster",
                # Optionally at a lower CPU priority, so that on shared cores webhooks win over background work.
                (["nice", "-n", str(args.qcluster_nice)] if args.qcluster_nice else [])
                + [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"],
                env,
                log_dir,
            )
        )
        health = wait_healthy(client, procs)
        out["health"] = health
        print(f"gunicorn on 127.0.0.1:{port} and the qcluster are up; /healthz says broker {health['task_queue']}.")
        callers = Phones("+1646555")
        senders = Phones("+1347555")
        with pg_connect(url) as conn:
            # Warm-up, untimed: every gunicorn worker and thread, and the qcluster workers.
            warm = [partial(client.trivial, senders.take()) for _ in range(args.warmup)]
            warm += [partial(client.sms, senders.take(), SMS_BODIES[0]) for _ in range(args.warmup)]
            warm += [partial(client.missed_call, callers.take()) for _ in range(args.warmup)]
            got, _ = run_pool(warm, args.threads, deadline_s=120)
            bad = sum(1 for s in got if not 200 <= s.status < 300)
            waited = drain(conn, client)
            print(f"Warm-up: {len(got)} requests ({bad} non-2xx), queue drained in {waited:.1f} s.")
            if bad:
                statuses = sorted({s.status for s in got if not 200 <= s.status < 300})
                raise RuntimeError(f"warm-up requests failed with {statuses}: see the logs in {log_dir}")

            meter = CpuMeter({"gunicorn": procs[0].popen.pid, "qcluster": procs[1].popen.pid})
            started = time.perf_counter()
            out["latency"] = scenario_latency(client, conn, args.runs, args.threads, callers, senders, meter)
            print(f"(a) webhook latency measured in {time.perf_counter() - started:.1f} s")
            started = time.perf_counter()
            out["text_back"] = scenario_text_back(client, conn, args.burst, callers, meter)
            print(f"(b) text-back burst measured in {time.perf_counter() - started:.1f} s")
            drain(conn, client)
            if args.single:
                started = time.perf_counter()
                out["text_back_single"] = scenario_text_back_single(client, conn, args.single, callers)
                print(f"(b') text-backs one at a time measured in {time.perf_counter() - started:.1f} s")
            check_alive()
            out["follow_ups_sent_during_round"] = conn.execute(
                "SELECT count(*) FROM calls_outreach WHERE kind = 'follow_up' AND state = 'sent'"
            ).fetchone()[0]
    finally:
        for proc in reversed(procs):
            stop(proc)
    crashed = [p.name for p in procs if p.popen.returncode not in (0, -signal.SIGTERM, -signal.SIGKILL)]
    if crashed:
        print(f"note: {', '.join(crashed)} exited with an error code; logs in {log_dir}")
    return out


# Report.


def print_machine_info(info: dict) -> None:
    """The two header lines every run prints: the machine, then the versions measured."""
    print(
        "Machine: {nproc} CPU(s) ({cpu}), load average {load_average}, calibration loop {calibration_ms} ms".format(
            **info
        )
    )
    print(
        f"Python {info['python']}, Django {info['django']}, django-q2 {info['django_q2']}, gunicorn "
        f"{info['gunicorn']}, PostgreSQL {info['postgresql']}, Redis {info['redis']}"
    )


def machine_info(url: str) -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    with pg_connect(url, "postgres") as conn:
        pg_version = conn.execute("SHOW server_version").fetchone()[0]
    try:
        import redis

        redis_version = redis.from_url(REDIS_BENCH_URL).info("server")["redis_version"]
    except Exception as exc:  # reported, not fatal: the Redis round will fail on its own
        redis_version = f"unavailable ({type(exc).__name__})"
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "load_average": load_average(),
        "calibration_ms": calibration_ms(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "django": package_version("django"),
        "django_q2": package_version("django-q2"),
        "gunicorn": package_version("gunicorn"),
        "postgresql": pg_version,
        "redis": redis_version,
    }


def _row(name: str, stats: dict | None, extra: str = "") -> str:
    if not stats:
        return f"  {name:<40}{'(no samples)':>32}"
    return (
        f"  {name:<40}{stats['p50']:>8.1f}{stats['p95']:>8.1f}{stats['p99']:>8.1f}{stats['max']:>8.1f}"
        f"{stats['n']:>6}  {extra}"
    )


def _srow(name: str, stats: dict | None) -> str:
    if not stats:
        return f"  {name:<48}{'(no samples)':>26}"
    return f"  {name:<48}{stats['p50']:>8.3f}{stats['p95']:>8.3f}{stats['max']:>8.3f}{stats['n']:>6}"


CPU_PARTS = [
    ("gunicorn", "gunicorn"),
    ("qcluster", "qcluster"),
    ("postgres (bench db)", "postgres"),
    ("postgres (other)", "pg other"),
    ("redis-server", "redis"),
    ("load client", "client"),
    ("other processes", "others"),
]


def _cpu_line(cpu: dict, units: int, unit: str) -> str:
    if not cpu or not units:
        return "  CPU: (not measured)"
    seconds = cpu["seconds"]
    parts = ", ".join(
        f"{short} {1000 * seconds[name] / units:.1f}" for name, short in CPU_PARTS if seconds.get(name, 0) >= 0.005
    )
    return (
        f"    CPU ms per {unit}: {parts}; the machine's {os.cpu_count()} CPUs {cpu['machine_busy_pct']:.0f}% busy "
        f"over {cpu['wall_s']:.1f} s"
    )


def print_round(out: dict, label: str, args) -> None:
    lat = out["latency"]
    print(f"\n--- {label}: results")
    print(f"(a) webhook latency, {args.runs} of each kind, {args.threads} client threads, a new connection per request")
    print(f"  {'kind':<40}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}{'n':>6}  (ms)  errors (non-2xx)")
    for kind, title in KINDS:
        res = lat[kind]
        ratio = res.get("ratio_to_trivial")
        extra = f"errors {res['errors']}" + (f" {res['error_statuses']}" if res["errors"] else "")
        if ratio:
            extra += f"; x trivial: p50 {ratio['p50']:.1f}, p99 {ratio['p99']:.1f}"
        print(_row(title, res["ms"], extra))
    both = lat["missed_call_both"]
    ratio = both.get("ratio_to_trivial", {})
    print(
        _row(
            "missed call, both webhooks",
            both["ms"],
            f"errors {both['errors']}; x trivial: p50 {ratio.get('p50', 0):.1f}, p99 {ratio.get('p99', 0):.1f}",
        )
    )
    for name in ("trivial", "sms", "missed_call"):
        run = lat[f"{name}_run"]
        print(
            f"  {name} run: {run['seconds']:.1f} s, {run['requests_per_s']:.0f} requests/s, queue drained "
            f"{run['drain_seconds']:.1f} s after, 1-min load {run['load_average_1min'][0]:.2f} -> "
            f"{run['load_average_1min'][1]:.2f}"
        )
        flows = run["requests"] // 2 if name == "missed_call" else run["requests"]
        print(_cpu_line(run["cpu"], flows, "call (2 webhooks + text-back)" if name == "missed_call" else "request"))
    tb = out["text_back"]
    print(
        f"(b) text-back: {tb['burst']} missed calls fired at once; {tb['sent']} sent, "
        f"{tb['not_sent_within_timeout']} not sent within {tb['timeout_s']:g} s"
    )
    print(
        f"  missed by: {tb['missed_reasons']}; text-back states: {tb['outreach_states']}; webhook errors "
        f"{tb['webhook_errors']}{' ' + str(tb['webhook_error_statuses']) if tb['webhook_errors'] else ''}"
    )
    print(
        f"  all webhooks answered {tb['webhooks_done_s']:.2f} s after firing; all text-backs sent "
        f"{tb['all_sent_s']:.2f} s after firing ({tb['send_rate_per_s']} sends/s); 1-min load "
        f"{tb['load_average_1min'][0]:.2f} -> {tb['load_average_1min'][1]:.2f}"
    )
    print(_cpu_line(tb["cpu"], tb["burst"], "call"))
    wm = tb["webhook_ms"]
    print(_row("  burst: incoming-call webhook (ms)", wm["voice"]))
    print(_row("  burst: dial-status webhook (ms)", wm["dial_status"]))
    print(f"  {'seconds':<48}{'p50':>8}{'p95':>8}{'max':>8}{'n':>6}")
    sec = tb["seconds"]
    print(_srow("missed_at -> Message.sent_at  (target)", sec["missed_to_sent"]))
    print(_srow("webhook response returned -> sent_at", sec["response_to_sent"]))
    print("  breakdown:")
    print(_srow("  fired -> Call.missed_at (webhooks under burst)", sec["fired_to_missed"]))
    print(_srow("  missed_at -> enqueued (commit, async_task)", sec["missed_to_enqueued"]))
    print(_srow("  enqueued -> claimed (broker + worker wait)", sec["enqueued_to_claimed"]))
    print(_srow("  claimed -> sent_at (claim, load the row)", sec["claimed_to_sent_at"]))
    print(_srow("  sent_at -> task end (message, send, save)", sec["sent_at_to_task_end"]))
    single = out.get("text_back_single")
    if single:
        print(
            f"(b') text-back, {single['count']} missed calls one at a time (each after the previous text-back "
            f"went out): {single['sent']} sent"
        )
        sec = single["seconds"]
        print(_srow("missed_at -> Message.sent_at", sec["missed_to_sent"]))
        print(_srow("webhook response returned -> sent_at", sec["response_to_sent"]))
        print(_srow("  missed_at -> enqueued (commit, async_task)", sec["missed_to_enqueued"]))
        print(_srow("  enqueued -> claimed (broker + worker wait)", sec["enqueued_to_claimed"]))
        print(_srow("  claimed -> sent_at (claim, load the row)", sec["claimed_to_sent_at"]))
        print(_srow("  sent_at -> task end (message, send, save)", sec["sent_at_to_task_end"]))
    if out.get("follow_ups_sent_during_round"):
        print(f"  note: {out['follow_ups_sent_during_round']} follow-ups were sent by the sweep during this round")


def verdicts(out: dict) -> dict:
    lat, tb = out["latency"], out["text_back"]
    webhook_p99 = {kind: lat[kind]["ms"]["p99"] if lat[kind]["ms"] else None for kind in WEBHOOK_KINDS}
    worst = max((v for v in webhook_p99.values() if v is not None), default=None)
    stats = tb["seconds"]["missed_to_sent"]
    p95 = stats["p95"] if stats else None
    all_sent = tb["not_sent_within_timeout"] == 0
    return {
        "webhook_p99_ms": webhook_p99,
        "webhook_p99_met": worst is not None and worst < TARGET_WEBHOOK_P99_MS,
        "webhook_errors": sum(lat[kind]["errors"] for kind in WEBHOOK_KINDS),
        "text_back_p95_s": p95,
        "text_back_p95_met": p95 is not None and p95 < TARGET_TEXT_BACK_P95_S and all_sent,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="requests of each webhook kind in (a) (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests of each kind first (default 20)")
    parser.add_argument("--threads", type=int, default=10, help="client threads in (a) (default 10)")
    parser.add_argument("--burst", type=int, default=100, help="missed calls fired at once in (b) (default 100)")
    parser.add_argument(
        "--single", type=int, default=20, help="missed calls one at a time after (b), the idle latency (default 20)"
    )
    parser.add_argument("--brokers", default="orm,redis", help="comma-separated: orm, redis (default both)")
    parser.add_argument(
        "--q-workers", default="", help="comma-separated Q_WORKERS values, one round each (default: the settings' 4)"
    )
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument(
        "--gunicorn-threads",
        type=int,
        default=1,
        help="threads per gunicorn worker; more than 1 is gthread (default 1)",
    )
    parser.add_argument(
        "--qcluster-nice", type=int, default=0, help="run the qcluster under `nice -n N` (default 0: same priority)"
    )
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "webhooks.json", help="results file"
    )
    args, ignored = parser.parse_known_args()
    if ignored:  # benchmarks/run passes every script the same arguments
        print(f"Ignoring arguments meant for other benchmarks: {' '.join(ignored)}")
    for name in ("runs", "warmup", "threads", "burst", "single", "gunicorn_workers", "gunicorn_threads"):
        if getattr(args, name) < (0 if name in ("warmup", "single") else 1):
            parser.error(f"--{name.replace('_', '-')} is too small")
    brokers = [b.strip() for b in args.brokers.split(",") if b.strip()]
    if not brokers or set(brokers) - {"orm", "redis"}:
        parser.error("--brokers takes orm and/or redis")
    q_workers = [int(v) for v in args.q_workers.split(",") if v.strip()] or [None]

    # SIGTERM (a CI timeout, kill) ends the run through the finally blocks that stop the servers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    url = database_url()
    info = machine_info(url)
    print_machine_info(info)
    print(
        f"gunicorn: {args.gunicorn_workers} workers x {args.gunicorn_threads} threads "
        f"({'gthread' if args.gunicorn_threads > 1 else 'sync'}), "
        f"{args.gunicorn_workers * args.gunicorn_threads} requests at once; database {DB_NAME}"
    )

    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    rounds = [Round(broker, workers) for workers in q_workers for broker in brokers]
    started = time.perf_counter()
    failed = False
    try:
        for rnd in rounds:
            rnd.result = run_round(rnd, args, log_dir)
            rnd.result["verdicts"] = verdicts(rnd.result)
            print_round(rnd.result, rnd.label, args)
    except BaseException:
        failed = True
        print(f"\nThe benchmark failed; gunicorn and qcluster logs are in {log_dir}", file=sys.stderr)
        raise
    finally:
        if not failed:
            for path in log_dir.iterdir():
                path.unlink()
            log_dir.rmdir()

    info["load_average_after"] = load_average()
    info["calibration_ms_after"] = calibration_ms()
    print(
        f"\nLoad average before {info['load_average']}, after {info['load_average_after']}; calibration loop "
        f"{info['calibration_ms']} ms before, {info['calibration_ms_after']} ms after; "
        f"{time.perf_counter() - started:.0f} s in all"
    )
    print()
    for rnd in rounds:
        v = rnd.result["verdicts"]
        p99 = ", ".join(f"{kind} {ms:.1f}" for kind, ms in v["webhook_p99_ms"].items() if ms is not None)
        print(
            f"{rnd.label}: webhook p99 < {TARGET_WEBHOOK_P99_MS:g} ms ({p99} ms) -> "
            f"{'MET' if v['webhook_p99_met'] else 'NOT MET'}"
        )
        p95 = v["text_back_p95_s"]
        print(
            f"{rnd.label}: text-back p95 < {TARGET_TEXT_BACK_P95_S:g} s "
            f"({'no samples' if p95 is None else f'{p95:.2f} s'}, "
            f"{rnd.result['text_back']['sent']}/{rnd.result['text_back']['burst']} sent) -> "
            f"{'MET' if v['text_back_p95_met'] else 'NOT MET'}"
        )

    args.json.parent.mkdir(parents=True, exist_ok=True)
    payload = {
        "benchmark": "webhooks",
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "targets": {"webhook_p99_ms": TARGET_WEBHOOK_P99_MS, "text_back_p95_s": TARGET_TEXT_BACK_P95_S},
        "config": {
            "runs": args.runs,
            "warmup": args.warmup,
            "burst": args.burst,
            "client_threads": args.threads,
            "single": args.single,
            "gunicorn_workers": args.gunicorn_workers,
            "gunicorn_threads": args.gunicorn_threads,
            "database": DB_NAME,
        },
        "machine": info,
        "rounds": [{"label": rnd.label, **rnd.result} for rnd in rounds],
    }
    args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    shown = args.json.relative_to(REPO_ROOT) if args.json.is_relative_to(REPO_ROOT) else args.json
    print(f"\nWrote {shown}")


if __name__ == "__main__":
    main()
