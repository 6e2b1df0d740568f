"""Sustained load of inbound SMS webhooks through gunicorn, PostgreSQL and a Redis-backed qcluster.

    .venv/bin/python benchmarks/load.py

It drops and recreates the PostgreSQL database `medspa_bench_load` (on the server of DATABASE_URL),
migrates it and seeds the demo practice, flushes redis://127.0.0.1:6379/14, then starts gunicorn
(4 sync workers by default) and `manage.py qcluster` the way benchmarks/webhooks.py does, with
`MESSAGING_BACKEND=console` (nothing leaves the machine). django_q_task is filled with save_limit
day-old successes first: the steady state of a server that has run for a while.

The load is an open model: signed inbound SMS webhooks (the fields of
tests/fixtures/twilio/sms_inbound.json) arrive at a fixed mean rate, Poisson by default, whether
or not earlier ones have been answered; latency is counted from each request's scheduled time, so a
late client cannot hide a slow server. Each new conversation comes from a phone never seen before,
with a mix of realistic first texts; 40% of the booking questions get a second text ("2", "yes",
"Thursday after 5 works best"...) 15-30 s later. About 2% of the requests repeat an earlier one with
the same MessageSid and signature, as Twilio retries: half of them right behind the original, half
1-10 s later.

  1. Warm-up, then a probe ladder: --probe-seconds (default 10) at rising rates from --start-rate
     (default 10/s), the queue drained and the qcluster's monitor idle after each. A rate passes when
     the webhooks' p99 is under --p99-ms (default 1000 ms), no request failed (non-2xx, connection
     error, or no answer within --timeout, 15 s like Twilio), the client kept to the schedule, and
     (--criterion keep-up, the default) the background work kept up: within --max-settle seconds
     (default 5) of the last answer, every reply was sent and the qcluster's monitor had saved every
     task result. --criterion webhooks drops that last condition, however far behind the queue falls.
     The rate grows by half while probes pass, then is bisected to within 15%.
  2. The measured run: --duration seconds (default 60) at the highest rate that passed, judged the
     same way. While it fails, it is run again at 85% of its rate, --retries times (default 2).
  3. Drain: the time from the last webhook answer of the run until every inbound message has
     processed_at set and every reply is sent, from the database's own timestamps.
  4. Checks over every request sent (warm-up and probes included): exactly one Message row per
     MessageSid, each processed by one run of inbound_process, exactly one reply (Outreach of kind
     reply or consent, sent, with its own outbound Message) per inbound message, repeated deliveries
     changed nothing, the staff alerts of each escalation sent, no failed task. Any failed check, or a
     measured run that missed the target, makes the script exit non-zero.

`--rate R` skips the ladder; `--q-save-limit N` overrides django-q's save_limit (to compare).
Results go to benchmarks/results/load.json (--json PATH). The client runs in this process on the
same cores as the server (one asyncio loop, a new connection per request, requests built and signed
before the clock starts); its CPU is reported.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import heapq
import json
import os
import random
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from benchmarks.webhooks import (  # noqa: E402 (the path above first)
    ACCOUNT_SID,
    AUTH_TOKEN,
    DEMO_SLUG,
    MIDTOWN_NUMBER,
    SMS_TEMPLATE,
    Proc,
    base_env,
    calibration_ms,
    free_port,
    load_average,
    machine_info,
    manage,
    pg_params,
    print_machine_info,
    start,
    stop,
    summary,
)

DB_NAME = "medspa_bench_load"
REDIS_LOAD_URL = "redis://127.0.0.1:6379/14"  # not webhooks.py's 15: the two may run side by side
QUEUE_KEY = "django_q:medspa:q"  # the django-q Redis broker's list for the cluster name "medspa"
PATH_SMS = "/webhooks/twilio/sms/"
HEALTH_TIMEOUT_S = 60.0
PATIENT_KINDS = ("reply", "consent")  # the Outreach kinds that answer the patient
CLIENT_LAG_LIMIT_MS = 100  # a phase whose client started requests later than this (p99) is not valid

# First texts of a new conversation, with weights (percent). "booking" ones may get a second text.
FIRST_TEXTS = [
    ("Do you have botox next week?", 12, "booking"),
    ("Can I book a HydraFacial on Saturday morning?", 8, "booking"),
    ("Hi! I'd like to book a facial", 7, "booking"),
    ("Do you have anything Friday afternoon?", 6, "booking"),
    ("How much is lip filler?", 8, "question"),
    ("what's the price of laser hair removal", 6, "question"),
    ("What are your hours?", 9, "question"),
    ("Where are you located?", 6, "question"),
    ("Do you take walk-ins?", 5, "question"),
    ("I need to reschedule my appointment", 4, "question"),
    ("yes", 6, "reply to a campaign"),
    ("2", 4, "reply to a campaign"),
    ("ok thanks", 3, "reply to a campaign"),
    ("Can I talk to a real person please?", 4, "escalation"),
    ("Is botox safe while breastfeeding?", 2, "escalation"),
    ("My lip is really swollen and hurts after filler yesterday", 1, "escalation"),
    ("STOP", 2, "consent"),
    ("HELP", 1, "consent"),
]
SECOND_TEXTS = ["2", "yes", "the first one works", "Thursday after 5 works best", "ok thanks"]
SECOND_TURN_SHARE = 0.4  # of the booking first texts
SECOND_TURN_GAP_S = (15.0, 30.0)
AREA_CODES = ["347", "718", "917", "929", "332", "516", "914", "631", "201", "973"]


# The requests.


@dataclass(slots=True)
class Req:
    at: float  # seconds after the phase starts (scheduled)
    sid: str
    phone: str
    body: str
    kind: str  # first, second, duplicate
    raw: bytes
    status: int = -1  # HTTP status; 0 connection error, -2 no answer within the timeout, -1 not sent
    ms: float = 0.0  # scheduled time -> response read (what the patient's carrier waits)
    service_ms: float = 0.0  # connect -> response read
    lag_ms: float = 0.0  # how late the client started it
    ended: float = 0.0  # time.time() when the response was read


class PhoneBook:
    """Fresh valid US numbers (AREA 555 XXXX), never one the database already knows."""

    def __init__(self, taken: set[str]):
        self.taken = taken
        self._numbers = (f"+1{area}555{n:04d}" for area in AREA_CODES for n in range(10_000))

    def take(self) -> str:
        for number in self._numbers:
            if number not in self.taken:
                self.taken.add(number)
                return number
        raise RuntimeError("ran out of phone numbers")


class Signer:
    def __init__(self, port: int):
        from twilio.request_validator import RequestValidator

        self.port = port
        self.url = f"http://127.0.0.1:{port}{PATH_SMS}"
        self.validator = RequestValidator(AUTH_TOKEN)

    def request(self, sid: str, phone: str, body: str) -> bytes:
        params = {
            **SMS_TEMPLATE,
            "AccountSid": ACCOUNT_SID,
            "MessageSid": sid,
            "SmsSid": sid,
            "SmsMessageSid": sid,
            "From": phone,
            "To": MIDTOWN_NUMBER,
            "Body": body,
        }
        form = urlencode(params).encode()
        signature = self.validator.compute_signature(self.url, params)
        head = (
            f"POST {PATH_SMS} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUser-Agent: TwilioProxy/1.1\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(form)}\r\n"
            f"X-Twilio-Signature: {signature}\r\nX-Forwarded-Proto: https\r\nConnection: close\r\n\r\n"
        )
        return head.encode() + form


class Planner:
    """Builds each phase's requests ahead of time: arrival times, conversations, duplicates."""

    def __init__(self, signer: Signer, phones: PhoneBook, seed: int, duplicates: float, arrivals: str):
        self.signer = signer
        self.phones = phones
        self.rng = random.Random(seed)
        self.duplicates = duplicates
        self.arrivals = arrivals
        self.texts = [t for t, _, _ in FIRST_TEXTS]
        self.weights = [w for _, w, _ in FIRST_TEXTS]
        self.kinds = {t: k for t, _, k in FIRST_TEXTS}

    def _times(self, rate: float, seconds: float) -> list[float]:
        count = round(rate * seconds)
        if self.arrivals == "uniform":
            return [i / rate for i in range(count)]
        # A Poisson process given its count: that many uniform times, sorted. Exponential gaps,
        # bursts and lulls, but exactly rate x seconds requests, so every phase sends what it says.
        return sorted(self.rng.uniform(0, seconds) for _ in range(count))

    def _new(self, at: float, phone: str, body: str, kind: str) -> Req:
        sid = f"SM{uuid.uuid4().hex}"
        return Req(at, sid, phone, body, kind, self.signer.request(sid, phone, body))

    def phase(self, rate: float, seconds: float) -> list[Req]:
        rng = self.rng
        second_turns: list[tuple[float, int, str]] = []  # (due, tie-breaker, phone)
        originals: list[Req] = []
        reqs: list[Req] = []
        for at in self._times(rate, seconds):
            if second_turns and second_turns[0][0] <= at:
                _, _, phone = heapq.heappop(second_turns)
                req = self._new(at, phone, rng.choice(SECOND_TEXTS), "second")
            elif originals and rng.random() < self.duplicates:
                if rng.random() < 0.5:  # right behind the original: the two race
                    source = originals[-1]
                else:  # a retry 1-10 s later
                    earlier = [r for r in originals[-int(rate * 10) - 1 :] if 1.0 <= at - r.at <= 10.0]
                    source = rng.choice(earlier) if earlier else originals[-1]
                reqs.append(Req(at, source.sid, source.phone, source.body, "duplicate", source.raw))
                continue
            else:
                body = rng.choices(self.texts, self.weights)[0]
                req = self._new(at, self.phones.take(), body, "first")
                if self.kinds[body] == "booking" and rng.random() < SECOND_TURN_SHARE:
                    due = at + rng.uniform(*SECOND_TURN_GAP_S)
                    if due < seconds:
                        heapq.heappush(second_turns, (due, len(reqs), req.phone))
            originals.append(req)
            reqs.append(req)
        return reqs


# The client: one asyncio loop, a new connection per request (as Twilio opens them), 127.0.0.1 only.


async def _send(req: Req, scheduled: float, port: int, timeout: float) -> None:
    loop = asyncio.get_running_loop()
    began = loop.time()
    req.lag_ms = (began - scheduled) * 1000
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(req.raw)
                data = await reader.read(-1)  # gunicorn closes the connection after the response
            finally:
                writer.close()
        req.status = int(data[9:12]) if data[:7] == b"HTTP/1." and data[9:12].isdigit() else 0
    except TimeoutError:
        req.status = -2
    except OSError:
        req.status = 0
    done = loop.time()
    req.ms = (done - scheduled) * 1000
    req.service_ms = (done - began) * 1000
    req.ended = time.time()


async def _drive(reqs: list[Req], port: int, timeout: float, redis_conn) -> list[dict]:
    """Fire each request at its time; sample the queue every second. Returns the timeline."""
    loop = asyncio.get_running_loop()
    t0 = loop.time() + 0.1
    timeline: list[dict] = []
    stop_sampling = asyncio.Event()

    async def sample() -> None:
        second = 0
        while not stop_sampling.is_set():
            second += 1
            try:
                await asyncio.wait_for(stop_sampling.wait(), timeout=max(0.0, t0 + second - loop.time()))
            except TimeoutError:
                pass
            now = loop.time() - t0
            sent = sum(1 for r in reqs if r.at <= now)
            answered = sum(1 for r in reqs if r.status != -1)
            timeline.append(
                {"t": round(now, 2), "sent": sent, "in_flight": sent - answered, "queued": redis_conn.llen(QUEUE_KEY)}
            )

    sampler = asyncio.ensure_future(sample())
    tasks = []
    for req in reqs:
        delay = t0 + req.at - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(_send(req, t0 + req.at, port, timeout)))
    await asyncio.gather(*tasks)
    stop_sampling.set()
    await sampler
    return timeline


# Processes, database.


def database_url() -> str:
    base = os.environ.get("DATABASE_URL", "") or "postgres://postgres@127.0.0.1:5432/"
    parts = urlsplit(base)
    if parts.scheme not in {"postgres", "postgresql", "pgsql"}:
        parts = urlsplit("postgres://postgres@127.0.0.1:5432/")
    return f"postgres://{parts.netloc}/{DB_NAME}"


def pg_connect(url: str, dbname: str = DB_NAME):
    import psycopg

    return psycopg.connect(**pg_params(url, dbname), autocommit=True)


def recreate_database(url: str) -> None:
    from psycopg import sql

    with pg_connect(url, "postgres") as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))


class CpuMeter:
    """CPU seconds by part, from /proc: gunicorn (its process group), the qcluster's workers, monitor,
    pusher and sentinel, PostgreSQL (the backends of this database, and the rest), redis-server, this
    client, and everything else on the machine. Processes that end count through their parent's
    cutime/cstime, so the workers the qcluster recycles, and PostgreSQL backends that close, are not
    lost (a closed backend of this database is counted in "postgres (other)")."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, gunicorn_pgid: int, qcluster_pgid: int, q_workers: int):
        self.gunicorn = gunicorn_pgid
        self.qcluster = qcluster_pgid
        self.q_workers = q_workers
        self.roles: dict[int, str] = {}  # qcluster pid -> role

    @staticmethod
    def _pids() -> list[int]:
        return [int(p) for p in os.listdir("/proc") if p.isdigit()]

    @staticmethod
    def _stat(pid: int) -> tuple[int, int, int, int] | None:
        try:
            raw = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return None
        f = raw[raw.rindex(")") + 2 :].split()
        # ppid, pgrp, own ticks (utime + stime), ended children's ticks (cutime + cstime)
        return int(f[1]), int(f[2]), int(f[11]) + int(f[12]), int(f[13]) + int(f[14])

    def learn_roles(self) -> dict[str, int]:
        """The qcluster's tree: main -> sentinel -> the workers (spawned first), the monitor, the pusher."""
        stats = {pid: s for pid in self._pids() if (s := self._stat(pid)) and s[1] == self.qcluster}
        children = defaultdict(list)
        for pid, (ppid, *_rest) in stats.items():
            children[ppid].append(pid)
        self.roles = {self.qcluster: "qcluster main"}
        for sentinel in children[self.qcluster]:
            self.roles[sentinel] = "qcluster sentinel"
            for i, pid in enumerate(sorted(children[sentinel])):
                if i < self.q_workers:
                    self.roles[pid] = "qcluster workers"
                else:
                    self.roles[pid] = "qcluster monitor" if i == self.q_workers else "qcluster pusher"
        return dict(Counter(self.roles.values()))

    def role_ticks(self, role: str) -> int:
        return sum(s[2] for pid, r in self.roles.items() if r == role and (s := self._stat(pid)))

    def snapshot(self) -> dict:
        totals: dict[str, int] = defaultdict(int)
        bench_backends: dict[int, int] = {}
        me = os.getpid()
        for pid in self._pids():
            stat = self._stat(pid)
            if stat is None or pid == me:
                continue
            _ppid, pgrp, own, ended = stat
            if pgrp == self.gunicorn:
                totals["gunicorn"] += own + ended
            elif pgrp == self.qcluster:
                role = self.roles.get(pid, "qcluster workers")  # a worker spawned since: a recycled one
                totals[role] += own
                # The sentinel reaps the recycled workers; the main process only the sentinel, at the end.
                totals["qcluster workers" if role == "qcluster sentinel" else role] += ended
            else:
                try:
                    cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                except OSError:
                    continue
                if cmd.startswith("postgres") or "/postgres " in cmd:
                    totals["postgres (all)"] += own + ended  # the postmaster's cutime: backends that closed
                    if f" {DB_NAME} " in cmd:
                        bench_backends[pid] = own
                elif "redis-server" in cmd:
                    totals["redis-server"] += own
        times = os.times()
        with open("/proc/stat") as stat:
            cpu = [int(x) for x in stat.readline().split()[1:]]
        return {
            "totals": dict(totals),
            "bench_backends": bench_backends,
            "client": times.user + times.system,
            "busy": (sum(cpu) - cpu[3] - cpu[4]) / self.TICK,  # all but idle and iowait
            "wall": time.monotonic(),
        }

    def since(self, before: dict) -> dict:
        after = self.snapshot()
        t0, t1 = before["totals"], after["totals"]
        used = {k: (t1.get(k, 0) - t0.get(k, 0)) / self.TICK for k in set(t0) | set(t1)}
        b0, b1 = before["bench_backends"], after["bench_backends"]
        bench = sum(own - b0.get(pid, 0) for pid, own in b1.items()) / self.TICK  # backends still open
        used["postgres (bench db)"] = bench
        used["postgres (other)"] = used.pop("postgres (all)", 0) - bench
        used["load client"] = after["client"] - before["client"]
        used["machine busy"] = after["busy"] - before["busy"]
        ours = sum(v for k, v in used.items() if k != "machine busy")
        used["other processes"] = max(0.0, used["machine busy"] - ours)
        wall = after["wall"] - before["wall"]
        ncpu = len(os.sched_getaffinity(0))
        return {
            "seconds": {k: round(v, 2) for k, v in sorted(used.items())},
            "wall_s": round(wall, 2),
            "machine_busy_pct": round(100 * used["machine busy"] / (wall * ncpu), 1),
        }


class Bench:
    def __init__(self, args, url: str, port: int, procs: list[Proc], log_dir: Path):
        import redis

        self.args = args
        self.url = url
        self.port = port
        self.procs = procs
        self.log_dir = log_dir
        self.redis = redis.from_url(REDIS_LOAD_URL)
        self.conn = pg_connect(url)
        self.meter: CpuMeter | None = None
        self.all_reqs: list[Req] = []
        self.watermarks: dict[str, int] = {}
        self.run_started = datetime.now(UTC)

    def check_alive(self) -> None:
        for proc in self.procs:
            code = proc.popen.poll()
            if code is not None:
                raise RuntimeError(f"{proc.name} exited with code {code} during the run; its log is in {self.log_dir}")

    def backlog(self) -> dict[str, int]:
        row = self.conn.execute(
            """
            SELECT
              (SELECT count(*) FROM calls_message WHERE id > %s AND direction = 'inbound' AND processed_at IS NULL),
              (SELECT count(*) FROM calls_outreach WHERE id > %s AND kind IN ('reply', 'consent')
                 AND state IN ('pending', 'sending') AND due_at <= now())
            """,
            [self.watermarks["message"], self.watermarks["outreach"]],
        ).fetchone()
        return {"queued": int(self.redis.llen(QUEUE_KEY)), "unprocessed": row[0], "replies_unsent": row[1]}

    def drain(self, since: float, timeout: float) -> dict:
        """Poll (bounded) until the qcluster has caught up: the Redis queue empty, every inbound message
        processed, every reply (Outreach of kind reply or consent) sent. Then the exact drain time from the
        rows' own timestamps: the last processed_at, and the last reply's sent_at, after `since`."""
        started = time.monotonic()
        left: dict[str, int] = {}
        while time.monotonic() - started < timeout:
            self.check_alive()
            left = self.backlog()
            if not any(left.values()):
                break
            time.sleep(0.2)
        else:
            return {"drained": False, "left": left, "seconds": None, "polled_s": round(time.monotonic() - started, 2)}
        last_processed, last_sent = self.conn.execute(
            """
            SELECT
              (SELECT max(processed_at) FROM calls_message WHERE id > %s AND direction = 'inbound'),
              (SELECT max(m.sent_at) FROM calls_outreach o JOIN calls_message m ON m.id = o.message_id
                 WHERE o.id > %s AND o.kind IN ('reply', 'consent'))
            """,
            [self.watermarks["message"], self.watermarks["outreach"]],
        ).fetchone()
        last = max((t.timestamp() for t in (last_processed, last_sent) if t is not None), default=since)
        return {
            "drained": True,
            "seconds": round(max(0.0, last - since), 2),
            "last_processed_s": round(last_processed.timestamp() - since, 2) if last_processed else None,
            "last_sent_s": round(last_sent.timestamp() - since, 2) if last_sent else None,
            "polled_s": round(time.monotonic() - started, 2),
        }

    def wait_monitor_idle(self, timeout: float = 300.0) -> float | None:
        """Wait (bounded) until the qcluster's monitor has saved every task result: its CPU stays idle for
        a second. Returns the wall-clock time it went idle (None on timeout), so that one phase's
        bookkeeping does not spill into the next, and the checks see every Task row."""
        started = time.monotonic()
        last, idle_since = self.meter.role_ticks("qcluster monitor"), time.monotonic()
        while time.monotonic() - started < timeout:
            time.sleep(0.25)
            ticks = self.meter.role_ticks("qcluster monitor")
            if ticks - last > 1:  # busier than its idle poll
                idle_since = time.monotonic()
            last = ticks
            if time.monotonic() - idle_since >= 1.0:
                return time.time() - (time.monotonic() - idle_since)
        return None

    def run_phase(self, name: str, reqs: list[Req], rate: float, seconds: float, drain_timeout: float) -> dict:
        self.check_alive()
        self.all_reqs += reqs
        cpu_before = self.meter.snapshot()
        load_before = os.getloadavg()[0]
        wall_start = time.time()
        timeline = asyncio.run(_drive(reqs, self.port, self.args.timeout, self.redis))
        load_cpu = self.meter.since(cpu_before)
        self.check_alive()
        end_of_load = max((r.ended for r in reqs), default=time.time())
        at_end = self.backlog()
        cpu_before = self.meter.snapshot()
        drained = self.drain(end_of_load, drain_timeout)
        idle_at = self.wait_monitor_idle()
        drain_cpu = self.meter.since(cpu_before)  # the drain, then the monitor catching up
        # Settled: every reply sent and every task result saved by the qcluster's monitor (its backlog is
        # work still owed, held in memory, whose CPU the next requests would share).
        drained["monitor_idle_s"] = round(max(0.0, idle_at - end_of_load), 2) if idle_at else None
        if drained["drained"] and idle_at:
            drained["settled_s"] = round(max(drained["seconds"], drained["monitor_idle_s"]), 2)
        else:
            drained["settled_s"] = None
        result = phase_stats(reqs, rate, seconds, self.args)
        # Kept up: within --max-settle seconds of the last answer, every reply was sent and every result saved.
        result["kept_up"] = drained["settled_s"] is not None and drained["settled_s"] <= self.args.max_settle
        result["passed"] = result["webhooks_ok"] and (result["kept_up"] or self.args.criterion == "webhooks")
        result.update(
            {
                "name": name,
                "started_at": datetime.fromtimestamp(wall_start, UTC).isoformat(timespec="seconds"),
                "backlog_at_end_of_load": at_end,
                "drain": drained,
                "cpu_load": load_cpu,
                "cpu_drain": drain_cpu,
                "load_average_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                "timeline": timeline,
            }
        )
        result["replies"] = self.reply_latency(reqs)
        return result

    def reply_latency(self, reqs: list[Req]) -> dict:
        """Inbound message stored -> its reply's sent_at, for the phase's first texts (one inbound per
        conversation so far, so the conversation's first reply is theirs)."""
        phones = [r.phone for r in reqs if r.kind == "first"]
        rows = self.conn.execute(
            """
            SELECT c.phone, i.created_at, i.processed_at, min(o.sent_at)
            FROM calls_conversation c
            JOIN calls_message i ON i.conversation_id = c.id AND i.direction = 'inbound' AND i.id > %s
            JOIN calls_message o ON o.conversation_id = c.id AND o.direction = 'outbound' AND o.id > %s
            WHERE c.phone = ANY(%s)
            GROUP BY c.phone, i.id, i.created_at, i.processed_at
            """,
            [self.watermarks["message"], self.watermarks["message"], phones],
        ).fetchall()
        firsts: dict[str, tuple] = {}
        for phone, created, processed, sent in rows:
            if phone not in firsts or created < firsts[phone][0]:
                firsts[phone] = (created, processed, sent)
        to_processed = [(p - c).total_seconds() for c, p, _ in firsts.values() if p]
        to_sent = [(s - c).total_seconds() for c, _, s in firsts.values() if s]
        return {"stored_to_processed_s": summary(to_processed), "stored_to_reply_sent_s": summary(to_sent)}


def phase_stats(reqs: list[Req], rate: float, seconds: float, args) -> dict:
    ok = [r for r in reqs if 200 <= r.status < 300]
    errors = Counter(
        "timeout"
        if r.status == -2
        else "connection error"
        if r.status == 0
        else "not sent"
        if r.status == -1
        else str(r.status)
        for r in reqs
        if not 200 <= r.status < 300
    )
    span = max((r.at for r in reqs), default=0.0)
    latency = summary([r.ms for r in reqs if r.status not in (-1,)])
    lag = summary([r.lag_ms for r in reqs])
    sent = [r for r in reqs if r.status != -1]
    first_start = min((r.ended - r.service_ms / 1000 for r in sent), default=0.0)
    last_start = max((r.ended - r.service_ms / 1000 for r in sent), default=0.0)
    achieved = (len(sent) - 1) / (last_start - first_start) if last_start > first_start else 0.0
    webhooks_ok = (
        latency is not None
        and latency["p99"] < args.p99_ms
        and not errors
        and lag is not None
        and lag["p99"] < CLIENT_LAG_LIMIT_MS
    )
    return {
        "target_rate": rate,
        "seconds": seconds,
        "requests": len(reqs),
        "kinds": dict(Counter(r.kind for r in reqs)),
        "achieved_rate": round(achieved, 2),
        "last_arrival_s": round(span, 2),
        "answered_2xx": len(ok),
        "errors": sum(errors.values()),
        "error_kinds": dict(errors),
        "latency_ms": latency,
        "service_ms": summary([r.service_ms for r in reqs if r.status not in (-1,)]),
        "client_lag_ms": lag,
        "webhooks_ok": webhooks_ok,
    }


# The exactly-once checks.


def settle(bench: Bench, timeout: float = 20.0) -> int:
    """Wait (bounded) for the last outreach of any kind (staff alerts) to leave pending and sending; rows
    whose task failed stay in sending, so they are not waited for. Returns the rows still in flight."""
    deadline = time.monotonic() + timeout
    while True:
        left = bench.conn.execute(
            """SELECT count(*) FROM calls_outreach o
               WHERE o.id > %s AND ((o.state = 'pending' AND o.due_at <= now()) OR o.state = 'sending')
                 AND NOT EXISTS (SELECT 1 FROM django_q_task t WHERE t.name = 'outreach-' || o.id AND NOT t.success)""",
            [bench.watermarks["outreach"]],
        ).fetchone()[0]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def verify(bench: Bench) -> dict:
    """Every request sent in the whole run against the database."""
    conn, wm = bench.conn, bench.watermarks
    in_flight = settle(bench)
    reqs = bench.all_reqs
    originals = {r.sid: r for r in reqs if r.kind != "duplicate"}
    duplicates = [r for r in reqs if r.kind == "duplicate"]
    failed_sids = {r.sid for r in reqs if not 200 <= r.status < 300}

    inbound = conn.execute(
        """SELECT id, provider_sid, conversation_id, processed_at, created_at, intent
           FROM calls_message WHERE id > %s AND direction = 'inbound'""",
        [wm["message"]],
    ).fetchall()
    by_sid = Counter(row[1] for row in inbound)
    stored = set(by_sid)
    missing = sorted(set(originals) - stored)
    unexpected = sorted(stored - set(originals))
    twice = sorted(sid for sid, n in by_sid.items() if n > 1)
    unprocessed = [row[0] for row in inbound if row[3] is None]
    # Where the app counts the tries of inbound_process (calls.tasks), each message must have had exactly one.
    has_attempts = conn.execute(
        """SELECT 1 FROM information_schema.columns
           WHERE table_name = 'calls_message' AND column_name = 'process_attempts'"""
    ).fetchone()
    attempts = (
        dict(
            conn.execute(
                """SELECT process_attempts, count(*) FROM calls_message
                   WHERE id > %s AND direction = 'inbound' GROUP BY 1""",
                [wm["message"]],
            ).fetchall()
        )
        if has_attempts
        else None
    )

    conv_phone = dict(
        conn.execute(
            "SELECT id, phone FROM calls_conversation WHERE id = ANY(%s)", [list({row[2] for row in inbound})]
        ).fetchall()
    )
    wrong_thread = [
        row[1] for row in inbound if row[1] in originals and conv_phone.get(row[2]) != originals[row[1]].phone
    ]

    outreach = conn.execute(
        """SELECT o.id, o.kind, o.state, o.state_reason, o.conversation_id, o.phone, o.created_at, o.message_id,
                  m.sent_at, m.direction, m.conversation_id
           FROM calls_outreach o LEFT JOIN calls_message m ON m.id = o.message_id
           WHERE o.id > %s""",
        [wm["outreach"]],
    ).fetchall()
    bench_phones = {r.phone for r in reqs}
    patient = [o for o in outreach if o[1] in PATIENT_KINDS and o[5] in bench_phones]
    other_kinds = Counter(o[1] for o in outreach if o[1] not in PATIENT_KINDS)
    not_sent = Counter(
        f"{o[1]}: {o[2]}{f' ({o[3]})' if o[3] else ''}" for o in patient if o[2] != "sent" or o[8] is None
    )
    message_ids = [o[7] for o in patient if o[7] is not None]
    shared_messages = sum(n - 1 for n in Counter(message_ids).values() if n > 1)

    # Each reply belongs to the conversation's latest inbound message processed before it was created
    # (a reply is created in the same transaction that sets processed_at).
    inbound_by_conv: dict[int, list[tuple]] = defaultdict(list)
    for row in inbound:
        if row[3] is not None:
            inbound_by_conv[row[2]].append((row[3], row[0]))
    for rows in inbound_by_conv.values():
        rows.sort()
    replies_per_message: Counter = Counter()
    orphan_replies = 0
    for o in patient:
        rows = inbound_by_conv.get(o[4], [])
        i = bisect.bisect_right([p for p, _ in rows], o[6]) - 1
        if i < 0:
            orphan_replies += 1
        else:
            replies_per_message[rows[i][1]] += 1
    distribution = Counter(replies_per_message.get(row[0], 0) for row in inbound)
    conv_inbound = Counter(row[2] for row in inbound)
    conv_replies = Counter(o[4] for o in patient)
    conv_mismatch = [c for c in conv_inbound if conv_replies.get(c, 0) != conv_inbound[c]]

    outbound_per_conv = dict(
        conn.execute(
            """SELECT conversation_id, count(*) FROM calls_message
               WHERE id > %s AND direction = 'outbound' AND conversation_id = ANY(%s) GROUP BY conversation_id""",
            [wm["message"], list(conv_inbound)],
        ).fetchall()
    )
    outbound_mismatch = [c for c in conv_inbound if outbound_per_conv.get(c, 0) != conv_replies.get(c, 0)]

    escalations = conn.execute(
        "SELECT id, category, conversation_id FROM escalations_escalation WHERE id > %s", [wm["escalation"]]
    ).fetchall()
    per_conv_category = Counter((e[2], e[1]) for e in escalations)
    alerts = [o for o in outreach if o[1] == "staff_alert"]
    expected_alerts = len(escalations) * wm["alert_staff"]
    alert_states = Counter(o[2] for o in alerts)

    tasks = task_outcomes(conn, bench.run_started)

    dup_not_2xx = sum(1 for r in duplicates if not 200 <= r.status < 300)
    dup_sids = {r.sid for r in duplicates}
    dup_extra_rows = sum(by_sid.get(sid, 0) - 1 for sid in dup_sids if by_sid.get(sid, 0) > 1)
    sid_to_id = {row[1]: row[0] for row in inbound}
    dup_extra_replies = sum(max(0, replies_per_message.get(sid_to_id.get(sid), 0) - 1) for sid in dup_sids)
    intents = Counter(row[5] or "(none)" for row in inbound)

    checks = {
        "one Message row per MessageSid sent": not missing and not unexpected and not twice,
        "every inbound message in its phone's thread": not wrong_thread,
        "every inbound message processed": not unprocessed,
        "inbound_process ran once per message (process_attempts)": attempts is None or set(attempts) <= {1},
        "exactly one reply per inbound message": set(distribution) <= {1} and not orphan_replies,
        "every reply sent, with its own outbound message": not not_sent and shared_messages == 0,
        "outbound messages = sent replies, per thread": not outbound_mismatch,
        "repeated deliveries: nothing stored or answered twice": not dup_extra_rows and not dup_extra_replies,
        "one escalation per thread and category, with its staff alerts": all(n == 1 for n in per_conv_category.values())
        and len(alerts) == expected_alerts,
        "every staff alert sent": alert_states.get("sent", 0) == len(alerts),
        "no task failed": not tasks["failed"],
    }
    return {
        "outreach_still_in_flight": in_flight,
        "requests_sent": len(reqs),
        "unique_message_sids": len(originals),
        "requests_not_2xx": len(failed_sids),
        "inbound_rows": len(inbound),
        "missing_sids": missing[:20],
        "missing_count": len(missing),
        "unexpected_rows": len(unexpected),
        "sids_stored_twice": len(twice),
        "wrong_thread": len(wrong_thread),
        "unprocessed": len(unprocessed),
        "process_attempts": {str(k): v for k, v in sorted(attempts.items())}
        if attempts is not None
        else "no such column",
        "conversations": len(conv_inbound),
        "conversations_by_inbound_count": dict(Counter(conv_inbound.values())),
        "replies_per_inbound": {str(k): v for k, v in sorted(distribution.items())},
        "orphan_replies": orphan_replies,
        "conversations_with_reply_count_mismatch": len(conv_mismatch),
        "patient_outreach": len(patient),
        "other_outreach": dict(other_kinds),
        "outreach_not_sent": dict(not_sent),
        "outreach_sharing_a_message": shared_messages,
        "threads_outbound_mismatch": len(outbound_mismatch),
        "duplicates_sent": len(duplicates),
        "duplicates_not_2xx": dup_not_2xx,
        "duplicates_extra_rows": dup_extra_rows,
        "duplicates_extra_replies": dup_extra_replies,
        "escalations": dict(Counter(e[1] for e in escalations)),
        "staff_alerts": len(alerts),
        "staff_alerts_expected": expected_alerts,
        "staff_alert_states": dict(alert_states),
        "tasks": tasks,
        "inbound_intents": dict(intents.most_common()),
        "checks": checks,
        "all_passed": all(checks.values()),
    }


def _decode(value):
    """A django-q result as picklefield stores it (base64 of a pickle); the raw text if that fails."""
    import base64
    import pickle

    try:
        return pickle.loads(base64.b64decode(value))  # noqa: S301 (our own qcluster wrote it)
    except Exception:
        return value


def task_outcomes(conn, since: datetime) -> dict:
    """What the django-q Task rows say: every failure (django-q keeps them all), and the results of the
    successful inbound and outreach tasks it kept (save_limit: the newest 1000). A second task for the same
    message would say "already processed" or "not claimed"."""
    rows = conn.execute("SELECT name, func, success, result FROM django_q_task WHERE started > %s", [since]).fetchall()
    failed: Counter = Counter()
    results: dict[str, Counter] = {"inbound": Counter(), "outreach": Counter()}
    for name, func, success, result in rows:
        value = _decode(result)
        if not success:
            first = str(value).strip().splitlines()[0][:160] if value else ""
            failed[f"{func}: {first}"] += 1
            continue
        kind = name.split("-", 1)[0]
        if kind in results:
            text = str(value)
            results[kind][text.split(" (")[0] if kind == "inbound" else text] += 1
    return {
        "failed": dict(failed),
        "kept_inbound_results": dict(results["inbound"]),
        "kept_outreach_results": dict(results["outreach"]),
        "second_runs_seen": results["inbound"].get("already processed", 0) + results["outreach"].get("not claimed", 0),
    }


# Report.


def _ms(stats: dict | None) -> str:
    if not stats:
        return "(no samples)"
    return f"p50 {stats['p50']:.0f}  p95 {stats['p95']:.0f}  p99 {stats['p99']:.0f}  max {stats['max']:.0f}"


def _s(stats: dict | None) -> str:
    if not stats:
        return "(no samples)"
    return f"p50 {stats['p50']:.2f}  p95 {stats['p95']:.2f}  p99 {stats['p99']:.2f}  max {stats['max']:.2f}"


CPU_PARTS = [
    ("gunicorn", "gunicorn"),
    ("qcluster workers", "q workers"),
    ("qcluster monitor", "q monitor"),
    ("qcluster pusher", "q pusher"),
    ("qcluster sentinel", "q sentinel"),
    ("postgres (bench db)", "postgres"),
    ("postgres (other)", "pg other"),
    ("redis-server", "redis"),
    ("load client", "client"),
    ("other processes", "others"),
]


def cpu_line(cpu: dict, units: int) -> str:
    if not cpu or not units:
        return "(not measured)"
    seconds = cpu["seconds"]
    parts = ", ".join(
        f"{short} {1000 * seconds.get(name, 0) / units:.1f}"
        for name, short in CPU_PARTS
        if seconds.get(name, 0) >= 0.01
    )
    return f"{parts} (CPUs {cpu['machine_busy_pct']:.0f}% busy over {cpu['wall_s']:.0f} s)"


def print_phase(res: dict) -> None:
    verdict = (
        f"webhooks {'ok' if res['webhooks_ok'] else 'FAIL'}, {'kept up' if res['kept_up'] else 'fell behind'}"
        f" -> {'pass' if res['passed'] else 'FAIL'}"
    )
    err = f"{res['errors']} errors {res['error_kinds']}" if res["errors"] else "0 errors"
    drain = res["drain"]
    drained = f"replies done {drain['seconds']:.1f} s" if drain["drained"] else f"NOT drained ({drain['left']})"
    if drain.get("monitor_idle_s") is not None:
        drained += f", monitor done {drain['monitor_idle_s']:.1f} s after the load"
    print(
        f"  {res['name']:<10} {res['target_rate']:>6.1f}/s  sent {res['requests']:>5} ({res['achieved_rate']:.1f}/s)  "
        f"latency ms {_ms(res['latency_ms'])}  {err}  client lag p99 {res['client_lag_ms']['p99']:.0f} ms  "
        f"queue at end {res['backlog_at_end_of_load']['queued']}, {drained}; {verdict}"
    )


def print_main(res: dict, label: str) -> None:
    n = res["requests"]
    print(f"\n{label}: {res['seconds']:g} s at {res['target_rate']:g} webhooks/s ({res['kinds']})")
    print(
        f"  achieved {res['achieved_rate']:.2f} webhooks/s; {res['answered_2xx']} answered 2xx; errors {res['errors']} {res['error_kinds'] or ''}"
    )
    print(f"  webhook latency from the scheduled time (ms): {_ms(res['latency_ms'])}")
    print(f"  from the connection (ms):                      {_ms(res['service_ms'])}")
    print(f"  client lag behind the schedule (ms):          {_ms(res['client_lag_ms'])}")
    rep = res["replies"]
    print(f"  first texts, stored -> processed (s):          {_s(rep['stored_to_processed_s'])}")
    print(f"  first texts, stored -> reply sent_at (s):      {_s(rep['stored_to_reply_sent_s'])}")
    at_end = res["backlog_at_end_of_load"]
    print(
        f"  at the end of the load: {at_end['queued']} tasks in Redis, {at_end['unprocessed']} inbound not processed, "
        f"{at_end['replies_unsent']} replies not sent"
    )
    drain = res["drain"]
    if drain["drained"]:
        print(
            f"  queue drain time: {drain['seconds']:.2f} s after the last webhook answer (last processed_at "
            f"+{drain['last_processed_s']} s, last reply sent_at +{drain['last_sent_s']} s)"
        )
    else:
        print(f"  queue NOT drained within the timeout: {drain['left']}")
    if drain.get("monitor_idle_s") is not None:
        print(
            f"  the qcluster monitor saved its last task result {drain['monitor_idle_s']:.1f} s after the last webhook "
            f"answer (settled {drain['settled_s']} s after the load)"
        )
    peak = max((p["queued"] for p in res["timeline"]), default=0)
    print(f"  Redis queue length, per 5 s: {[p['queued'] for p in res['timeline'][4::5]]} (peak {peak})")
    print(f"  CPU ms per webhook during the load: {cpu_line(res['cpu_load'], n)}")
    print(f"  CPU ms per webhook after it (drain, monitor catching up): {cpu_line(res['cpu_drain'], n)}")
    print(f"  1-min load average {res['load_average_1min'][0]:.2f} -> {res['load_average_1min'][1]:.2f}")
    print(
        f"  webhooks {'met' if res['webhooks_ok'] else 'MISSED'} the target; the background work "
        f"{'kept up' if res['kept_up'] else 'FELL BEHIND'} -> {'held' if res['passed'] else 'NOT HELD'}"
    )


def print_verify(v: dict) -> None:
    print(
        f"\nExactly once, over all {v['requests_sent']} requests of the run ({v['unique_message_sids']} MessageSids, "
        f"{v['duplicates_sent']} repeated deliveries, {v['conversations']} threads "
        f"{v['conversations_by_inbound_count']} by inbound texts):"
    )
    print(
        f"  inbound rows {v['inbound_rows']}; missing {v['missing_count']}, unexpected {v['unexpected_rows']}, "
        f"stored twice {v['sids_stored_twice']}, in the wrong thread {v['wrong_thread']}; unprocessed {v['unprocessed']}; "
        f"process_attempts (tries: messages) {v['process_attempts']}"
    )
    print(
        f"  replies per inbound message {v['replies_per_inbound']} (count: messages); replies with no inbound before "
        f"them {v['orphan_replies']}; threads whose replies != inbound texts {v['conversations_with_reply_count_mismatch']}"
    )
    print(
        f"  patient replies {v['patient_outreach']}; other outreach {v['other_outreach']}; not sent "
        f"{v['outreach_not_sent'] or 0}; threads whose outbound messages != sent replies {v['threads_outbound_mismatch']}"
    )
    print(
        f"  repeated deliveries: {v['duplicates_sent']} sent, {v['duplicates_not_2xx']} not 2xx, extra rows "
        f"{v['duplicates_extra_rows']}, extra replies {v['duplicates_extra_replies']}"
    )
    print(
        f"  escalations {v['escalations']}; staff alerts {v['staff_alerts']} (expected {v['staff_alerts_expected']}), "
        f"states {v['staff_alert_states']}"
    )
    t = v["tasks"]
    print(
        f"  task rows django-q kept: inbound {t['kept_inbound_results']}, outreach {t['kept_outreach_results']}; "
        f"second runs of a task seen: {t['second_runs_seen']}"
    )
    for what, n in t["failed"].items():
        print(f"  FAILED TASKS: {n} x {what}")
    print(f"  intents of the inbound texts: {v['inbound_intents']}")
    for name, ok in v["checks"].items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")


# The run.


def round_rate(rate: float) -> float:
    return float(round(rate)) if rate >= 10 else round(rate, 1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds of the measured run (default 60)")
    parser.add_argument("--rate", type=float, default=0, help="run at this rate, without the probe ladder")
    parser.add_argument("--start-rate", type=float, default=10, help="the ladder's first rate (default 10/s)")
    parser.add_argument("--probe-seconds", type=float, default=10, help="seconds of each probe (default 10)")
    parser.add_argument("--max-probes", type=int, default=7, help="probes at most (default 7)")
    parser.add_argument("--p99-ms", type=float, default=1000, help="the webhooks' p99 target (default 1000 ms)")
    parser.add_argument(
        "--criterion",
        choices=["keep-up", "webhooks"],
        default="keep-up",
        help="keep-up (default): the webhook target, and the background work keeps up (see --max-settle); "
        "webhooks: the webhook target only, however far the replies fall behind",
    )
    parser.add_argument(
        "--max-settle",
        type=float,
        default=5,
        help="keep-up: at most this many seconds from the last answer until every reply is sent and the qcluster's "
        "monitor has saved every result (default 5)",
    )
    parser.add_argument(
        "--retries", type=int, default=2, help="measured runs again at 85%% of the rate while one fails (default 2)"
    )
    parser.add_argument("--timeout", type=float, default=15, help="a request unanswered after this fails (15 s)")
    parser.add_argument("--duplicates", type=float, default=0.02, help="share of repeated deliveries (0.02)")
    parser.add_argument("--arrivals", choices=["poisson", "uniform"], default="poisson", help="arrival process")
    parser.add_argument("--seed", type=int, default=7, help="random seed of the mix and the arrivals")
    parser.add_argument("--gunicorn-workers", type=int, default=4, help="gunicorn worker processes (default 4)")
    parser.add_argument("--gunicorn-threads", type=int, default=1, help="threads per worker; >1 is gthread")
    parser.add_argument("--q-workers", type=int, default=4, help="Q_WORKERS of the qcluster (default 4)")
    parser.add_argument(
        "--q-save-limit",
        type=int,
        default=None,
        help="override Q_CLUSTER['save_limit'] (default: the app's own; 0 keeps all, -1 none)",
    )
    parser.add_argument("--drain-timeout", type=float, default=600, help="longest wait for the queue (600 s)")
    parser.add_argument(
        "--json", type=Path, default=REPO_ROOT / "benchmarks" / "results" / "load.json", help="results file"
    )
    args, ignored = parser.parse_known_args()
    if ignored:
        print(f"Ignoring arguments meant for other benchmarks: {' '.join(ignored)}")
    if args.duration <= 0 or args.probe_seconds <= 0 or args.start_rate <= 0 or args.rate < 0:
        parser.error("durations and rates must be positive")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    url = database_url()
    info = machine_info(url)
    print_machine_info(info)
    shape = "gthread" if args.gunicorn_threads > 1 else "sync"
    print(
        f"gunicorn {args.gunicorn_workers} x {args.gunicorn_threads} ({shape}); qcluster Q_WORKERS={args.q_workers}, "
        f"Redis broker {REDIS_LOAD_URL}; database {DB_NAME}; {args.arrivals} arrivals; target p99 < {args.p99_ms:g} ms"
    )

    began = time.perf_counter()
    port = free_port()
    env = base_env(url, port=port, redis=True, q_workers=args.q_workers)
    env["REDIS_URL"] = REDIS_LOAD_URL
    env["DJANGO_SETTINGS_MODULE"] = "benchmarks._load_settings"
    env.pop("BENCH_Q_SAVE_LIMIT", None)
    if args.q_save_limit is not None:
        env["BENCH_Q_SAVE_LIMIT"] = str(args.q_save_limit)
    recreate_database(url)
    migrate_s = manage(env, "migrate", "--noinput", "-v", "0")
    seed_s = manage(env, "seed_demo")
    import redis

    redis.from_url(REDIS_LOAD_URL).flushdb()
    print(
        f"Recreated and migrated {DB_NAME} ({migrate_s:.0f} s), seeded the demo ({seed_s:.0f} s), flushed Redis db 14."
    )
    q_cluster = effective_q_cluster(env)
    info["q_cluster"] = q_cluster
    print(
        f"Q_CLUSTER as the qcluster sees it: workers {q_cluster.get('workers')}, save_limit {q_cluster.get('save_limit')}"
        f"{' (overridden by --q-save-limit)' if args.q_save_limit is not None else ''}, recycle "
        f"{q_cluster.get('recycle', 'default')}, timeout {q_cluster.get('timeout')}"
    )

    gunicorn = Path(sys.executable).with_name("gunicorn")
    command = [
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
    log_dir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    procs: list[Proc] = []
    out: dict = {"benchmark": "load", "recorded_at": datetime.now(UTC).isoformat(timespec="seconds")}
    failed = True
    try:
        procs.append(start("gunicorn", command, env, log_dir))
        procs.append(start("qcluster", [sys.executable, str(REPO_ROOT / "manage.py"), "qcluster"], env, log_dir))
        bench = Bench(args, url, port, procs, log_dir)
        wait_healthy(bench)
        time.sleep(2)  # the qcluster's processes are up
        bench.meter = CpuMeter(procs[0].popen.pid, procs[1].popen.pid, args.q_workers)
        roles = bench.meter.learn_roles()
        print(f"gunicorn on 127.0.0.1:{port} and the qcluster {dict(roles)} are up.")

        conn = bench.conn
        wm = conn.execute(
            """SELECT (SELECT coalesce(max(id), 0) FROM calls_message), (SELECT coalesce(max(id), 0) FROM calls_outreach),
                      (SELECT coalesce(max(id), 0) FROM escalations_escalation)"""
        ).fetchone()
        alert_staff = conn.execute(
            """SELECT count(*) FROM practices_staffmember s JOIN practices_practice p ON p.id = s.practice_id
               WHERE p.slug = %s AND s.receives_alerts""",
            [DEMO_SLUG],
        ).fetchone()[0]
        bench.watermarks = {"message": wm[0], "outreach": wm[1], "escalation": wm[2], "alert_staff": alert_staff}
        bench.run_started = datetime.now(UTC)
        save_limit = None if "error" in q_cluster else q_cluster.get("save_limit", 250)
        if isinstance(save_limit, int) and save_limit > 0:
            prefill_task_results(conn, save_limit)
            print(
                f"Filled django_q_task with {save_limit} day-old successful tasks (save_limit): the state of a server "
                "that has run for a while, where each task saved prunes the oldest."
            )
        taken = {
            row[0]
            for row in conn.execute("SELECT phone FROM practices_patient UNION SELECT phone FROM calls_conversation")
        }
        planner = Planner(Signer(port), PhoneBook(taken), args.seed, args.duplicates, args.arrivals)

        warm = bench.run_phase("warm-up", planner.phase(5, 6), 5, 6, args.drain_timeout)
        print("Warm-up:")
        print_phase(warm)
        if warm["errors"]:
            raise RuntimeError(f"warm-up requests failed: {warm['error_kinds']}; logs in {log_dir}")

        probes: list[dict] = []
        best = kept_up = None
        if args.rate:
            chosen = args.rate
        else:
            print(f"Probe ladder, {args.probe_seconds:g} s each, the queue drained after each:")
            rate, worst = round_rate(args.start_rate), None
            for _ in range(args.max_probes):
                res = bench.run_phase(
                    "probe", planner.phase(rate, args.probe_seconds), rate, args.probe_seconds, args.drain_timeout
                )
                probes.append(res)
                print_phase(res)
                if res["passed"]:
                    best = rate
                else:
                    worst = rate
                if worst is None:
                    rate = round_rate(rate * 1.5)
                elif best is None:
                    rate = round_rate(rate / 2)
                else:
                    if worst - best <= max(2.0, 0.15 * best):
                        break
                    rate = round_rate((best + worst) / 2)
                    if rate in (best, worst):
                        break
            if best is None:
                raise RuntimeError("no probe rate passed; try --start-rate lower")
            chosen = best
            webhooks_ok = [p["target_rate"] for p in probes if p["webhooks_ok"]]
            kept = [p["target_rate"] for p in probes if p["webhooks_ok"] and p["kept_up"]]
            kept_up = max(kept) if kept else None
            print(
                f"Probes: highest rate with webhook p99 < {args.p99_ms:g} ms and no error "
                f"{max(webhooks_ok) if webhooks_ok else 'none'}/s; with the background work keeping up too (settled "
                f"within {args.max_settle:g} s) {kept_up if kept_up is not None else 'none'}/s. Criterion: {args.criterion}."
            )
        runs = []
        main_res = bench.run_phase(
            "measured", planner.phase(chosen, args.duration), chosen, args.duration, args.drain_timeout
        )
        runs.append(main_res)
        print_main(main_res, "Measured run")
        for attempt in range(args.retries):
            if main_res["passed"]:
                break
            lower = round_rate(main_res["target_rate"] * 0.85)
            print(f"The measured run did not hold {main_res['target_rate']:g}/s: again at {lower:g}/s.")
            main_res = bench.run_phase(
                "measured", planner.phase(lower, args.duration), lower, args.duration, args.drain_timeout
            )
            runs.append(main_res)
            print_main(main_res, f"Measured run, try {attempt + 2}")
        bench.check_alive()
        checks = verify(bench)
        print_verify(checks)
        info["load_average_after"] = load_average()
        info["calibration_ms_after"] = calibration_ms()
        held = main_res["passed"]
        print(
            f"\nLoad average before {info['load_average']}, after {info['load_average_after']}; calibration loop "
            f"{info['calibration_ms']} ms before, {info['calibration_ms_after']} ms after; "
            f"{time.perf_counter() - began:.0f} s in all"
        )
        print(
            f"\nRESULT: {main_res['target_rate']:g} inbound SMS webhooks/s for {args.duration:g} s "
            f"({main_res['achieved_rate']:.2f}/s achieved): p99 {main_res['latency_ms']['p99']:.0f} ms "
            f"(target < {args.p99_ms:g}); errors {main_res['errors']}; queue drained {main_res['drain']['seconds']} s "
            f"after the load, settled {main_res['drain']['settled_s']} s (keep-up: within {args.max_settle:g} s) -> "
            f"{'HELD' if held else 'NOT HELD'} "
            f"({args.criterion}); replies sent "
            f"{_s(main_res['replies']['stored_to_reply_sent_s'])} s after the text was stored; checks: "
            + (
                "all passed"
                if checks["all_passed"]
                else "FAILED: " + "; ".join(k for k, ok in checks["checks"].items() if not ok)
            )
        )
        out.update(
            {
                "target": {
                    "p99_ms": args.p99_ms,
                    "errors": 0,
                    "criterion": args.criterion,
                    "max_settle_s": args.max_settle,
                },
                "config": {
                    k: getattr(args, k)
                    for k in (
                        "duration",
                        "probe_seconds",
                        "start_rate",
                        "timeout",
                        "duplicates",
                        "arrivals",
                        "seed",
                        "gunicorn_workers",
                        "gunicorn_threads",
                        "q_workers",
                        "criterion",
                        "max_settle",
                        "q_save_limit",
                    )
                }
                | {"database": DB_NAME, "redis": REDIS_LOAD_URL},
                "machine": info,
                "rate_found": main_res["target_rate"] if held else None,
                "highest_probe_rate_kept_up": kept_up,
                "warmup": warm,
                "probes": probes,
                "measured_runs": runs,
                "latency_samples_ms": [round(r.ms, 1) for r in bench.all_reqs[-main_res["requests"] :]],
                "exactly_once": checks,
            }
        )
        failed = not checks["all_passed"] or not held
    finally:
        for proc in reversed(procs):
            stop(proc)
        if failed:
            print(f"\ngunicorn and qcluster logs are kept in {log_dir}", file=sys.stderr)
        else:
            for path in log_dir.iterdir():
                path.unlink()
            log_dir.rmdir()
    if "exactly_once" in out:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=2, default=str) + "\n")
        shown = args.json.relative_to(REPO_ROOT) if args.json.is_relative_to(REPO_ROOT) else args.json
        print(f"\nWrote {shown}")
    return 1 if failed else 0


def prefill_task_results(conn, count: int) -> int:
    """Fill django_q_task with `count` day-old successful tasks: the steady state of a server that has run
    for a while, where every save prunes the oldest (django-q2 with save_limit > 0). Stored as picklefield
    stores them: base64 of a pickle."""
    import base64
    import pickle

    def enc(value) -> str:
        return base64.b64encode(pickle.dumps(value)).decode()

    if count <= 0:
        return 0
    rows = [
        (uuid.uuid4().hex, f"bench-prefill-{i}", "medspa_receptionist.tasks.heartbeat", enc(()), enc({}), enc("ok"), i)
        for i in range(count)
    ]
    with conn.cursor() as cur:
        cur.executemany(
            """INSERT INTO django_q_task
                 (id, name, func, hook, args, kwargs, result, started, stopped, success, "group", attempt_count, cluster)
               VALUES (%s, %s, %s, NULL, %s, %s, %s, now() - interval '1 day' + %s * interval '1 second',
                       now() - interval '1 day', true, NULL, 1, 'medspa')""",
            rows,
        )
    return count


def effective_q_cluster(env: dict[str, str]) -> dict:
    """Q_CLUSTER from the settings the qcluster will load (without the Redis URL)."""
    import subprocess

    code = "import json; from django.conf import settings as s; print(json.dumps(s.Q_CLUSTER, default=str))"
    result = subprocess.run(
        [sys.executable, "-W", "ignore", str(REPO_ROOT / "manage.py"), "shell", "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        conf = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": result.stderr[-300:]}
    conf.pop("redis", None)
    return conf


def wait_healthy(bench: Bench) -> None:
    import http.client

    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    last = ""
    while time.monotonic() < deadline:
        bench.check_alive()
        try:
            conn = http.client.HTTPConnection("127.0.0.1", bench.port, timeout=2)
            conn.request("GET", "/healthz")
            response = conn.getresponse()
            last = f"{response.status} {response.read()[:200]!r}"
            conn.close()
            if response.status == 200:
                return
        except OSError as exc:
            last = type(exc).__name__
        time.sleep(0.25)
    raise RuntimeError(f"/healthz did not answer 200 within {HEALTH_TIMEOUT_S:g} s (last: {last})")


if __name__ == "__main__":
    sys.exit(main())
