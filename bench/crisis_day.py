"""Benchmark: a crisis day, every role at once, against gunicorn served as `make run` serves it
(tests/servers.py), on a fresh database (the embedded default, SQLite, unless --database-url).

For `--seconds`, seeded and on loopback:
- reporters post field reports through the JSON API (each with an Idempotency-Key; a failed
  connection is retried with the same key and the same report, as a phone does), and a few
  through the web form with a photo (its CSRF token from the form; a failure is sent again with
  the same client_id);
- coordinators read and save the same few pages (overlapping edits included: a 409 is the
  answer a conflicting save is meant to get, counted apart from errors) and change the status
  of reports (each coordinator its own share of them, so the last status each set is known);
- verifiers grade reports from the ones acknowledged so far;
- responders search and pan the map at three zoom levels;
- an administrator runs `crisiswiki create-user` from time to time;
- the background worker runs inside the servers, as it does in production.

Every server runs with WRITE_CHECK=raise. Each request's time is measured from sending to the
last byte of the answer. Then the database is read (the reconciliation): every acknowledged
report, revision, grading and status change is there exactly once, and every report is scored;
the time from the end of the load until the last one was is measured.

With --faults, the background worker is a process of its own (`crisiswiki worker`, the servers
with WORKER_IN_SERVERS=false, as deploy/ runs it) and, while everyone works: one gunicorn worker
is SIGKILLed (its master starts another), the upload disk is full for a few seconds (the upload
folder is a tmpfs of its own, filled to the last byte: root only, else skipped with the reason),
the background worker is SIGKILLed and started again, and the whole server is SIGKILLed and
started again on the same port. Requests that fail or overlap a fault (or the second after it)
are counted apart (`injected_fault_errors`, `requests_during_faults`); the reconciliation is the
same, plus every photo's files present and no temporary upload file left.

With --postgres, the run starts its own throwaway PostgreSQL cluster, durable (fsync,
synchronous_commit and full_page_writes on: bench/two_servers.py's start_postgres), and runs on
it; with --faults too, PostgreSQL is restarted while everyone works (a fast shutdown, every
connection cut, down for 3 s, started again: tests/postgres_cluster.py's Cluster.restart). What
the servers could not do meanwhile must be a 503 that says so, with Retry-After; reporters and
SMS gateways send the same report or message again after a 503 (as phones and gateways do; the
web form's reporters send every failure again), and those retries are counted.

With --two-servers (implies --postgres), the several-server profile: two gunicorn servers (the same
settings, plus bench/two_servers.py's: PostgreSQL search, the proxy's address trusted) sharing one
instance folder, behind one nginx made of deploy/nginx's files (bench/two_servers.py's
start_nginx); every user talks to nginx, the administrator's commands and the reconciliation use
the same PostgreSQL. The background jobs run in every server process (WORKER_IN_SERVERS=auto, as
bench/two_servers.py runs them: each job's deployment-wide lock lets one process at a time do it)
or, with --faults, in one `crisiswiki worker` of its own. With --faults there, instead of a
gunicorn worker and the whole server: one of the two app servers is SIGKILLed (master and
workers; the fault lasts until it is gone, plus the second after) and started again on its port
a while later, nginx serving from the other meanwhile (errors then count as errors); PostgreSQL
restarted, the upload disk full and the background worker SIGKILLed as above. Reporters, gateways
and coordinators send the same request again after nginx's 502 or 504 (the server it was talking
to died), as after a 503. nginx's log says which server answered, also after the restart.

    .venv/bin/python bench/crisis_day.py [--quick] [--seconds 180] [--seed 7]
        [--database-url URL | --postgres | --two-servers] [--faults]

Writes bench/results/crisis_day.json (crisis_day_faults.json with --faults; with --postgres,
crisis_day_postgresql.json and crisis_day_faults_postgresql.json; with --two-servers,
crisis_day_two_servers.json and crisis_day_two_servers_faults.json; its "quick" says which run it
was). Targets (issue 23):
0 errors, 0 lost, 0 "database is locked"; interactive actions p95 under 300 ms, report
acknowledgement p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import platform
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from bench.sms_surge import SECRETS as SMS_SECRETS  # noqa: E402
from bench.sms_surge import channel_of, external_id, request_for  # noqa: E402
from tests.postgres_cluster import find_bindir, free_port  # noqa: E402
from tests.servers import BIN, ROOT, server_env, stop, wait_until_up  # noqa: E402

RESULTS = PROJECT / "bench" / "results"
CRISIS = "crisis-day"
PAGES = ("Sitrep", "Shelter", "Water")
PASSWORD = "crisis-day-password"
QUERIES = ("water", "shelter", "bridge collapsed", "cholera", "medical supplies", "road blocked")
SECTORS = ("wash", "shelter", "health", "logistics", "food")
TITLES = ("No water at the point", "Shelter needed for families", "Bridge collapsed", "Cholera cases", "Road blocked")
# Port-au-Prince and around; the map views at country, region and town zoom.
CENTRE = (-72.33, 18.54)
VIEWS = ((8, 1.6), (11, 0.2), (14, 0.025))
SETTINGS = {"WRITE_CHECK": "raise", "ANONYMOUS_SUBMIT_LIMIT": "100000000", "LOG_LEVEL": "warning", **SMS_SECRETS}
LOCKED = "database is locked"
POSTGRES_DOWN_SECONDS = 3.0  # a restart that takes a while (an upgrade, a failover)


@dataclass(frozen=True)
class Mix:
    reporters: int
    coordinators: int
    verifiers: int
    responders: int
    # Mean pause between one user's actions (seconds, exponential): people, not a flood.
    reporter_pause: float = 0.5
    coordinator_pause: float = 2.0
    verifier_pause: float = 1.0
    responder_pause: float = 1.0
    admin_every: float = 10.0
    web_reporters: int = 0  # the web form, with a photo (beside the JSON reporters)
    web_reporter_pause: float = 2.0
    sms_gateways: int = 0  # Twilio, SMSSync, RapidPro and the generic webhook in turn, as sms_surge.py
    sms_pause: float = 0.5


FULL = Mix(reporters=32, coordinators=6, verifiers=6, responders=20, web_reporters=4, sms_gateways=4)
QUICK = Mix(reporters=8, coordinators=2, verifiers=2, responders=4, admin_every=5.0, web_reporters=1, sms_gateways=1)


@dataclass
class Tally:
    """What every user saw, by action."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # ms
    sent_at: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))  # (start, end)
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    error_times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # time.monotonic()
    conflicts: Counter = field(default_factory=Counter)
    photo_reports: set[str] = field(default_factory=set)  # idempotency keys of reports sent with a photo
    disk_full_answers: list[str] = field(default_factory=list)  # the 507s' messages
    messages: set[tuple[str, str]] = field(default_factory=set)  # (channel, external id) answered 200
    reports: dict[str, int] = field(default_factory=dict)  # idempotency key -> report id (201)
    revisions: list[int] = field(default_factory=list)
    gradings: list[int] = field(default_factory=list)
    statuses: dict[int, str] = field(default_factory=dict)  # report id -> last status acknowledged
    commands: list[tuple[int, float, str]] = field(default_factory=list)  # (exit code, seconds, output tail)
    command_started: list[float] = field(default_factory=list)  # time.monotonic(), one per command
    accounts: list[str] = field(default_factory=list)  # usernames whose create-user succeeded
    # Every 503 answer: (action, time.monotonic(), body, Retry-After); and the requests sent
    # again after one (the same report, message or form), by action.
    unavailable: list[tuple[str, float, str, str | None]] = field(default_factory=list)
    retries_after_503: Counter = field(default_factory=Counter)
    # Requests sent again after nginx's 502 or 504 (the app server it was talking to died), by action.
    retries_after_bad_gateway: Counter = field(default_factory=Counter)
    # Status changes whose last attempt got no answer when the run ended (report id -> status):
    # the change may or may not have been made.
    statuses_unanswered: dict[int, str] = field(default_factory=dict)
    # Every other 5xx but the full disk's 507 (a defect wherever it comes): (action, time, body).
    server_errors: list[tuple[str, float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def timed(
        self, action: str, session: requests.Session, method: str, url: str, **kwargs
    ) -> requests.Response | None:
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=60, **kwargs)
        except requests.RequestException as exc:
            self.failed(action, f"{url}: {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.latencies[action].append(elapsed)
            self.sent_at[action].append((time.monotonic() - elapsed / 1000, time.monotonic()))
        return response

    def error(self, action: str, response: requests.Response) -> None:
        self.failed(action, f"{response.status_code} {response.text[:200]}")
        if response.status_code == 503:
            with self.lock:
                self.unavailable.append(
                    (action, time.monotonic(), response.text[:500], response.headers.get("Retry-After"))
                )
        elif response.status_code >= 500 and response.status_code != 507:
            with self.lock:
                self.server_errors.append((action, time.monotonic(), f"{response.status_code} {response.text[:300]}"))

    def retried(self, action: str, status: int = 503) -> None:
        with self.lock:
            (self.retries_after_503 if status == 503 else self.retries_after_bad_gateway)[action] += 1

    def failed(self, action: str, message: str) -> None:
        with self.lock:
            self.errors[action].append(message)
            self.error_times[action].append(time.monotonic())


# Answers after which a client sends the same request again: the database is away (503), or the
# proxy lost the app server it was talking to (502, 504: nginx in front of several servers).
SEND_AGAIN = (502, 503, 504)


def retry_after(response: requests.Response, cap: float = 5.0) -> float:
    """How long a phone waits before sending again: the answer's Retry-After (at most `cap`)."""
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.1), cap)
    except ValueError:
        return 1.0


def prepare(instance: Path, database_url: str, mix: Mix) -> dict:
    """Migrate, then make the crisis, its pages and everyone's tokens (before any server runs)."""
    env = server_env(instance, database_url, **SETTINGS)
    subprocess.run(
        [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    os.environ.update({k: v for k, v in env.items() if k.startswith(("CRISISWIKI_", "DATABASE_URL"))})
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.database import write_transaction
    from wiki.extensions import db
    from wiki.models import ApiToken
    from wiki.pages.revisions import create_page

    app = create_app()
    tokens: dict[str, list[str]] = {"coordinator": [], "verifier": []}
    with app.test_request_context():
        with write_transaction():
            admin = create_user("crisis-day-admin", PASSWORD, role="admin", display_name="Administrator")
            crisis = create_crisis(
                {"name": "Crisis day", "slug": CRISIS, "bbox": "-74.5,17.9,-71.6,20.1", "start_date": "2010-01-12"},
                admin,
            )
            for title in PAGES:
                create_page(crisis, title, f"# {title}\n\nThe first lines.\n", admin, "crisis day", [])
        for role, count in (("coordinator", mix.coordinators), ("verifier", mix.verifiers)):
            for n in range(count):
                with write_transaction():
                    user = create_user(f"{role}-{n}", PASSWORD, role=role)
                    tokens[role].append(ApiToken.issue(user, "crisis day")[1])
        map_path = next(rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "api.map_reports")
        durability = {
            key: app.config.get(key) for key in ("SQLITE_SYNCHRONOUS", "SQLITE_BUSY_TIMEOUT_MS", "WRITE_CHECK")
        }
        db.engine.dispose()
    return {"tokens": tokens, "map_path": map_path, "durability": durability}


class Server:
    """gunicorn as `make run` serves it, on a port that stays the same when it is killed and
    started again (the clients keep their address, as behind a proxy)."""

    def __init__(
        self, instance: Path, database_url: str, workers: int, settings: dict, log: str = "gunicorn.log"
    ) -> None:
        self.env = server_env(instance, database_url, **settings)
        self.env.update(CRISISWIKI_BIND=f"127.0.0.1:{free_port()}", CRISISWIKI_WORKERS=str(workers))
        self.base = "http://" + self.env["CRISISWIKI_BIND"]
        self.port = int(self.env["CRISISWIKI_BIND"].rsplit(":", 1)[1])
        self.log_path = instance / log
        self.log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop())
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until_up(self.base, self.process, timeout=180)  # a loaded machine starts slowly

    def workers(self) -> list[int]:
        pid = self.process.pid
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(child) for child in children]

    def kill_one_worker(self) -> int:
        """SIGKILL one of gunicorn's worker processes (the master starts another)."""
        victim = self.workers()[0]
        os.kill(victim, signal.SIGKILL)
        return victim

    def kill(self) -> None:
        """SIGKILL the whole server, master and workers."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        self.log.close()


class BackgroundWorker:
    """`crisiswiki worker`, the deployment's background worker of its own (the servers run
    with WORKER_IN_SERVERS=false), killed and started again as any process can be."""

    def __init__(self, instance: Path, env: dict) -> None:
        self.env = {**env, "CRISISWIKI_WORKER_IN_SERVERS": "false"}
        self.log = open(instance / "worker.log", "ab")  # noqa: SIM115 (closed in stop())
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(BIN / "crisiswiki"), "worker"],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
        self.log.close()


class UploadDisk:
    """The upload folder on a small filesystem of its own (a tmpfs; mounting one needs root),
    so that filling it makes the kernel answer ENOSPC to the server's writes, as a full disk
    does. `available` says why not when it cannot be made."""

    FILLER = ".filler"

    def __init__(self, folder: Path, size_mb: int = 64) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.mounted, self.reason = False, ""
        if os.geteuid() != 0:
            self.reason = "mounting a tmpfs needs root"
            return
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)], capture_output=True, text=True
        )
        self.mounted, self.reason = done.returncode == 0, done.stderr.strip()

    def fill(self) -> None:
        with open(self.folder / self.FILLER, "ab") as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
                    handle.flush()
            except OSError:
                pass

    def free(self) -> None:
        (self.folder / self.FILLER).unlink(missing_ok=True)

    def files(self) -> dict[str, list[str]]:
        """The stored files and any temporary file left behind (names relative to the folder)."""
        found: dict[str, list[str]] = {"stored": [], "temporary": []}
        for path in self.folder.rglob("*"):
            if path.is_file() and path.name != self.FILLER:
                found["temporary" if path.name.startswith(".upload-") else "stored"].append(path.name)
        return found

    def unmount(self) -> None:
        if self.mounted:
            subprocess.run(["umount", "-l", str(self.folder)], check=False)


_photo_lock = threading.Lock()
_photo_base: list = []


def photo_bytes(n: int) -> bytes:
    """A phone's photo, 800 x 600; the n-th is another file than every other (each upload
    writes new files: a photo already stored would not need the disk)."""
    from PIL import Image, ImageDraw

    with _photo_lock:
        if not _photo_base:
            _photo_base.append(Image.merge("RGB", [Image.effect_noise((400, 300), 30 + 10 * k) for k in range(3)]))
        image = _photo_base[0].copy()
    draw = ImageDraw.Draw(image)
    for bit in range(24):
        colour = (255, 255, 255) if (n >> bit) & 1 else (0, 0, 0)
        draw.rectangle((bit * 15, 0, bit * 15 + 14, 14), fill=colour)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=75)
    return out.getvalue()


@dataclass
class Fault:
    name: str
    started: float  # time.monotonic()
    ended: float | None = None  # when service was back (or the fault lifted)
    detail: str = ""


class Day:
    def __init__(
        self,
        server: Server,
        setup: dict,
        mix: Mix,
        seed: int,
        instance: Path,
        database_url: str,
        worker: BackgroundWorker | None = None,
        disk: UploadDisk | None = None,
        cluster=None,  # tests.postgres_cluster.Cluster, when the run started its own PostgreSQL
        servers: list[Server] | None = None,  # the several-server profile: the app servers behind nginx
        base: str | None = None,  # where users send their requests (there: nginx), else the server's
        settings: dict | None = None,  # the administrator's commands' settings (default SETTINGS)
        upstream_log: Path | None = None,  # nginx's log of which server answered each request
    ) -> None:
        self.base, self.setup, self.mix, self.seed = base or server.base, setup, mix, seed
        self.server, self.worker, self.disk, self.cluster = server, worker, disk, cluster
        self.servers = servers or [server]
        self.settings, self.upstream_log = settings or SETTINGS, upstream_log
        self.restarted: dict = {}  # the app server killed and started again: when, and how long it took
        self.instance, self.database_url = instance, database_url
        self.tally = Tally()
        self.stop = threading.Event()
        self.faults: list[Fault] = []
        self.crashed: list[str] = []  # client threads that died of an exception

    def pause(self, rng: random.Random, mean: float) -> None:
        self.stop.wait(rng.expovariate(1 / mean))

    def user(self, salt: int, number: int, role: str | None = None) -> tuple[random.Random, requests.Session]:
        """One user's own random stream and connection (with their token when `role` has them)."""
        session = requests.Session()
        if role is not None:
            session.headers["Authorization"] = f"Bearer {self.setup['tokens'][role][number]}"
        return random.Random(self.seed * salt + number), session

    def acknowledged_ids(self) -> list[int]:
        with self.tally.lock:
            return list(self.tally.reports.values())

    def reporter(self, number: int) -> None:
        (rng, session), tally = self.user(1000, number), self.tally
        i, body = 0, None
        while not self.stop.is_set():
            key = f"cd-{number}-{i}"
            if body is None:  # a retry sends the same report again, with the same key
                n = rng.randrange(len(TITLES))
                body = {
                    "type": "Feature",
                    "geometry": {
                        "type": "Point",
                        "coordinates": [CENTRE[0] + rng.uniform(-0.3, 0.3), CENTRE[1] + rng.uniform(-0.2, 0.2)],
                    },
                    "properties": {"crisis": CRISIS, "title": f"{TITLES[n]} ({key})", "sector": SECTORS[n]},
                }
            response = tally.timed(
                "report", session, "POST", f"{self.base}/api/v1/reports", json=body, headers={"Idempotency-Key": key}
            )
            if response is None:
                self.stop.wait(0.2)
                continue  # the same key again
            if response.status_code in (200, 201):  # 200: stored by an attempt whose answer was lost
                with tally.lock:
                    tally.reports[key] = response.json()["id"]
            else:
                tally.error("report", response)
                if response.status_code in SEND_AGAIN:  # the database or the server is away: the same report again
                    tally.retried("report", response.status_code)
                    self.stop.wait(retry_after(response))
                    continue
            i, body = i + 1, None
            self.pause(rng, self.mix.reporter_pause)

    def web_reporter(self, number: int) -> None:
        """The web form with a photo, as a volunteer's phone sends it: the form first (its CSRF
        token), then the post; a failed connection or a full disk (507) is sent again later
        with the same report id (client_id), as the form's offline draft does."""
        (rng, session), tally = self.user(5000, number), self.tally
        url = f"{self.base}/c/{CRISIS}/report"
        token, i, fields, photo = None, 0, None, b""
        while not self.stop.is_set():
            if token is None:
                form = tally.timed("report form", session, "GET", url)
                found = re.search(r'name="csrf_token" value="([^"]+)"', form.text) if form is not None else None
                if found is None:
                    if form is not None:
                        tally.error("report form", form)
                    self.stop.wait(0.5)
                    continue
                token = found.group(1)
            key = f"cd-web-{number}-{i}"
            if fields is None:  # a retry sends the same report again, with the same id
                n = rng.randrange(len(TITLES))
                lon, lat = CENTRE[0] + rng.uniform(-0.3, 0.3), CENTRE[1] + rng.uniform(-0.2, 0.2)
                fields = {
                    "client_id": key,
                    "title": f"{TITLES[n]} ({key})",
                    "description": "Sent from the form with a photo",
                    "sector": SECTORS[n],
                    "lat": f"{lat:.5f}",
                    "lon": f"{lon:.5f}",
                }
                photo = photo_bytes(self.seed * 100_000 + number * 10_000 + i)
            fields["csrf_token"] = token
            sent = tally.timed(
                "web report with photo",
                session,
                "POST",
                url,
                data=fields,
                files={"photos": (f"IMG_{i:04d}.jpg", photo, "image/jpeg")},
                allow_redirects=False,
            )
            if sent is None:
                self.stop.wait(0.5)
                continue  # the same report again
            thanks = re.search(r"/reports/(\d+)/thanks", sent.headers.get("Location", ""))
            if sent.status_code == 302 and thanks:
                with tally.lock:
                    tally.reports[key] = int(thanks.group(1))
                    tally.photo_reports.add(key)
                i, fields = i + 1, None
            else:
                tally.error("web report with photo", sent)
                if sent.status_code == 507:
                    with tally.lock:
                        tally.disk_full_answers.append(sent.text)
                if sent.status_code == 400:
                    token = None  # a stale form: load it again
                if sent.status_code in SEND_AGAIN:
                    tally.retried("web report with photo", sent.status_code)
                self.stop.wait(1.0)  # a full disk: the same report again in a moment
                continue
            self.pause(rng, self.mix.web_reporter_pause)

    def sms_gateway(self, number: int) -> None:
        """An SMS gateway delivering messages as sms_surge.py does (each gateway its own share
        of message numbers); one whose answer never came is delivered again, as gateways do."""
        session, tally = requests.Session(), self.tally
        rng = random.Random(self.seed * 6000 + number)
        i = 0
        while not self.stop.is_set():
            message = number * 100_000 + i
            channel = channel_of(message)
            path, body, headers = request_for(channel, message, self.base, CRISIS)
            answer = tally.timed("sms", session, "POST", self.base + path, data=body, headers=headers)
            if answer is None:
                self.stop.wait(0.2)
                continue  # the same message again
            if answer.status_code == 200:
                with tally.lock:
                    tally.messages.add((channel, external_id(channel, message)))
            else:
                tally.error("sms", answer)
                if answer.status_code in SEND_AGAIN:  # the database or the server is away: the same message again
                    tally.retried("sms", answer.status_code)
                    self.stop.wait(retry_after(answer))
                    continue
            i += 1
            self.pause(rng, self.mix.sms_pause)

    def coordinator(self, number: int) -> None:
        (rng, session), tally = self.user(2000, number, "coordinator"), self.tally
        n = 0
        while not self.stop.is_set():
            title = PAGES[rng.randrange(len(PAGES))]
            url = f"{self.base}/api/v1/pages/{CRISIS}/{title}"
            page = tally.timed("page view", session, "GET", url)
            if page is not None and page.status_code == 200:
                current = page.json()
                body = current["body"] + f"\n- coordinator {number}, update {n}\n"
                self.pause(rng, self.mix.coordinator_pause / 2)  # typing
                saved = tally.timed(
                    "save", session, "PUT", url, json={"body": body, "base_revision": current["base_revision"]}
                )
                if saved is not None and saved.status_code == 200:
                    with tally.lock:
                        tally.revisions.append(saved.json()["revision"]["id"])
                elif saved is not None and saved.status_code == 409:
                    with tally.lock:
                        tally.conflicts["save"] += 1
                elif saved is not None:
                    tally.error("save", saved)
            elif page is not None:
                tally.error("page view", page)
            mine = [rid for rid in self.acknowledged_ids() if rid % self.mix.coordinators == number]
            if mine:
                report_id = mine[rng.randrange(len(mine))]
                status = rng.choice(("under_review", "verified", "refuted", "archived"))
                self.change_status(session, report_id, status)
            n += 1
            self.pause(rng, self.mix.coordinator_pause)

    def change_status(self, session: requests.Session, report_id: int, status: str) -> None:
        """A status change; one that got no answer (the connection failed, or a 502, 503 or 504)
        may or may not have been made, so the coordinator clicks again until an answer comes
        (or the day ends: then the report is left out of the reconciliation's status check)."""
        tally = self.tally
        while True:
            changed = tally.timed(
                "status change", session, "PATCH", f"{self.base}/api/v1/reports/{report_id}", json={"status": status}
            )
            if changed is not None and changed.status_code == 200:
                with tally.lock:
                    tally.statuses[report_id] = status
                    tally.statuses_unanswered.pop(report_id, None)
                return
            if changed is not None:
                tally.error("status change", changed)
                if changed.status_code not in SEND_AGAIN:
                    return
                tally.retried("status change", changed.status_code)
            with tally.lock:
                tally.statuses_unanswered[report_id] = status
            if self.stop.wait(retry_after(changed) if changed is not None else 0.5):
                return

    def verifier(self, number: int) -> None:
        (rng, session), tally = self.user(3000, number, "verifier"), self.tally
        while not self.stop.is_set():
            ids = self.acknowledged_ids()
            if ids:
                report_id = ids[rng.randrange(len(ids))]
                grade = {"reliability": rng.choice("ABCDEF"), "credibility": rng.randint(1, 6)}
                graded = tally.timed(
                    "grading", session, "POST", f"{self.base}/api/v1/reports/{report_id}/assessments", json=grade
                )
                if graded is not None and graded.status_code == 201:
                    with tally.lock:
                        tally.gradings.append(graded.json()["id"])
                elif graded is not None:
                    tally.error("grading", graded)
            self.pause(rng, self.mix.verifier_pause)

    def responder(self, number: int) -> None:
        (rng, session), tally = self.user(4000, number), self.tally
        while not self.stop.is_set():
            if rng.random() < 0.5:
                query = rng.choice(QUERIES)
                found = tally.timed("search", session, "GET", f"{self.base}/api/v1/search", params={"q": query})
                if found is not None and found.status_code != 200:
                    tally.error("search", found)
            else:
                zoom, half = rng.choice(VIEWS)
                lon = CENTRE[0] + rng.uniform(-0.2, 0.2)
                lat = CENTRE[1] + rng.uniform(-0.1, 0.1)
                bbox = f"{lon - half:.4f},{lat - half / 2:.4f},{lon + half:.4f},{lat + half / 2:.4f}"
                params = {"crisis": CRISIS, "zoom": zoom, "bbox": bbox}
                shown = tally.timed("map viewport", session, "GET", self.base + self.setup["map_path"], params=params)
                if shown is not None and shown.status_code != 200:
                    tally.error("map viewport", shown)
            self.pause(rng, self.mix.responder_pause)

    def administrator(self) -> None:
        env = server_env(self.instance, self.database_url, **self.settings)
        n = 0
        while not self.stop.wait(self.mix.admin_every):
            argv = ["create-user", f"made-on-the-day-{n}", "--role", "volunteer", "--password", PASSWORD]
            started, at = time.perf_counter(), time.monotonic()
            done = subprocess.run([str(BIN / "crisiswiki"), *argv], env=env, cwd=ROOT, capture_output=True, text=True)
            with self.tally.lock:
                self.tally.commands.append(
                    (done.returncode, time.perf_counter() - started, (done.stdout + done.stderr)[-500:])
                )
                self.tally.command_started.append(at)
                if done.returncode == 0:
                    self.tally.accounts.append(argv[1])
            n += 1

    def inject_faults(self, seconds: float) -> None:
        """Faults at set moments of the run, each followed by its recovery: SIGKILL of one
        gunicorn worker (its master starts another), of the background worker (started again
        a second later), of the whole server (started again at once, on the same port), the
        upload disk full for a while (when it is a filesystem of its own), and PostgreSQL
        restarted (when the run started its own cluster)."""
        if len(self.servers) > 1:  # behind nginx: one app server killed (and started again) instead
            plan = [(0.1, self.kill_app_server), (0.55, self.kill_background_worker)]
        else:
            plan = [(0.1, self.kill_server_worker), (0.4, self.kill_background_worker), (0.55, self.kill_server)]
        if self.disk is not None and self.disk.mounted:
            plan.insert(1, (0.2, self.fill_upload_disk))
        if self.cluster is not None:  # before the disk (which may last long): load before and after it
            plan.insert(1, (0.2, self.restart_postgres))
        started = time.monotonic()
        for at, fault in plan:
            if self.stop.wait(max(0.0, started + at * seconds - time.monotonic())):
                return
            try:
                fault(seconds)
            except Exception as exc:  # a recovery that failed is a result, not a crash of the run
                self.faults[-1].detail += f" recovery failed: {exc!r}"

    def _fault(self, name: str, detail: str = "") -> Fault:
        fault = Fault(name, time.monotonic(), detail=detail)
        self.faults.append(fault)
        return fault

    def _up_again(self, fault: Fault) -> None:
        """When the server answers again: the end of the fault."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.base}/api/v1/health", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.05)
        fault.ended = time.monotonic()

    def kill_server_worker(self, _seconds: float) -> None:
        fault = self._fault("SIGKILL of one gunicorn worker")
        fault.detail = f"pid {self.server.kill_one_worker()}"
        self._up_again(fault)
        # The master notices the death and forks another within a second or so: until then
        # a connection may still reach the dead one's socket backlog.
        self.stop.wait(2.0)
        fault.ended = time.monotonic()

    def kill_background_worker(self, _seconds: float) -> None:
        if self.worker is None:
            return
        fault = self._fault("SIGKILL of the background worker (crisiswiki worker)")
        self.worker.kill()
        self.stop.wait(1.0)
        self.worker.start()
        fault.ended = time.monotonic()

    def kill_server(self, _seconds: float) -> None:
        fault = self._fault("SIGKILL of the whole gunicorn server, then started again")
        self.server.kill()
        self.server.start()
        fault.ended = time.monotonic()

    def kill_app_server(self, seconds: float) -> None:
        """SIGKILL of one of the app servers behind nginx, master and workers at once: the
        requests it was answering fail (the fault lasts from the kill until it is gone, and
        the second after); nginx sends every other request to the other server. It is started
        again on the same port a while later, outside the fault: meanwhile and while it boots,
        nginx must go on answering from the other, with no error, and take it back once up."""
        victim = self.servers[0]
        fault = self._fault("SIGKILL of one app server (master and workers), the other serving through nginx")
        killed = time.monotonic()
        victim.kill()
        fault.ended = time.monotonic()
        down = max(3.0, 0.1 * seconds)
        fault.detail = f"{victim.base}, down {down:g} s"
        if self.stop.wait(down):
            fault.detail += "; the day ended before its restart"
            return
        started = time.monotonic()
        victim.start()
        self.restarted = {
            "server": victim.base.removeprefix("http://"),
            "started_again_at_s": round(started - self.started, 1),
            "answering_after_s": round(time.monotonic() - started, 1),  # gunicorn's boot on the loaded machine
            "down_s": round(time.monotonic() - killed, 1),
            # Where nginx's log stood when it answered again (nginx flushes it each second).
            "upstream_log_offset": self.upstream_log.stat().st_size if self.upstream_log.exists() else 0,
        }
        fault.detail += f", started again (answering {self.restarted['answering_after_s']} s after its start)"

    def restart_postgres(self, _seconds: float) -> None:
        """PostgreSQL stopped with a fast shutdown (every connection cut, committed work kept),
        down for a few seconds, started again; the fault lasts until the app answers again
        from the database (its health check reads it), with no restart of its own."""
        fault = self._fault(f"PostgreSQL restarted (fast shutdown, down {POSTGRES_DOWN_SECONDS:g} s, started again)")
        started = time.monotonic()
        self.cluster.restart(down_seconds=POSTGRES_DOWN_SECONDS)
        fault.detail = f"stopped, down and started again in {time.monotonic() - started:.1f} s"
        self._up_again(fault)

    def fill_upload_disk(self, seconds: float) -> None:
        fault = self._fault("upload disk full")
        self.disk.fill()
        # Full for a while, and until an upload has met it (a few seconds at most more).
        until = time.monotonic() + min(max(3.0, 0.05 * seconds), 10.0)
        while not self.stop.wait(0.1) and (time.monotonic() < until or not self.tally.disk_full_answers):
            if time.monotonic() > until + 10.0:
                break
        self.disk.free()
        fault.ended = time.monotonic()

    @staticmethod
    def within(fault: Fault, moment: float) -> bool:
        """Was `moment` within `fault`, or within a second after it ended?"""
        return fault.started <= moment <= (fault.ended or math.inf) + 1.0

    def during_fault(self, moment: float, name: str | None = None) -> bool:
        """Was `moment` within a fault (of this name), or within a second after it ended?"""
        return any(self.within(fault, moment) for fault in self.faults if name is None or fault.name == name)

    def run(self, seconds: float, faults: bool = False) -> float:
        mix = self.mix
        threads = [threading.Thread(target=self.reporter, args=(n,)) for n in range(mix.reporters)]
        threads += [threading.Thread(target=self.web_reporter, args=(n,)) for n in range(mix.web_reporters)]
        threads += [threading.Thread(target=self.sms_gateway, args=(n,)) for n in range(mix.sms_gateways)]
        threads += [threading.Thread(target=self.coordinator, args=(n,)) for n in range(mix.coordinators)]
        threads += [threading.Thread(target=self.verifier, args=(n,)) for n in range(mix.verifiers)]
        threads += [threading.Thread(target=self.responder, args=(n,)) for n in range(mix.responders)]
        threads.append(threading.Thread(target=self.administrator))
        if faults:
            threads.append(threading.Thread(target=self.inject_faults, args=(seconds,)))
        # A user's thread that dies stops sending: the run would look better than it was.
        previous_hook = threading.excepthook

        def crashed(hook_args) -> None:
            self.crashed.append(f"{hook_args.thread.name}: {hook_args.exc_type.__name__}: {hook_args.exc_value}")
            previous_hook(hook_args)

        threading.excepthook = crashed
        started = time.perf_counter()
        self.started = time.monotonic()
        for thread in threads:
            thread.start()
        self.stop.wait(seconds)
        self.stop.set()
        for thread in threads:
            thread.join()
        return time.perf_counter() - started


def answered_by_server(log: Path, restarted: dict) -> dict:
    """How many requests each app server answered (nginx's log, read once nginx has stopped:
    bench/two_servers.py's answered_by), and of those after the killed one answered again, how
    many it answered (it must have been taken back)."""
    from bench.two_servers import answered_by

    counts = {"whole_day": answered_by(log)}
    if restarted and log.exists():
        after = log.parent / "upstream-after-restart.log"
        with open(log, "rb") as handle:
            handle.seek(restarted["upstream_log_offset"])
            after.write_bytes(handle.read())
        counts["after_the_restart"] = answered_by(after)
    return counts


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q))], 1)


def _rows(database_url: str, sql: str) -> list:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).all()
    finally:
        engine.dispose()


def reconcile(tally: Tally, database_url: str, settle_timeout: float, uploads: Path | None = None) -> dict:
    """Everything acknowledged is in the database exactly once, with its photo's files (in
    `uploads`) and no temporary file left; every report gets scored."""
    stored = _rows(database_url, "SELECT id, client_id, status FROM reports WHERE client_id LIKE 'cd-%'")
    by_key = Counter(row.client_id for row in stored)
    acknowledged = set(tally.reports)
    ids = {row.id for row in stored}
    status_of = {row.id: row.status for row in stored}
    revisions = {row.id for row in _rows(database_url, "SELECT id FROM revisions")}
    gradings = {row.id for row in _rows(database_url, "SELECT id FROM validation_assessments")}
    users = {row.username for row in _rows(database_url, "SELECT username FROM users")}
    made = len(tally.accounts)
    result = {
        "reports_acknowledged": len(acknowledged),
        "reports_lost": len(acknowledged - set(by_key)),
        "reports_duplicated": sum(1 for key in acknowledged if by_key[key] > 1),
        "reports_unacknowledged_in_db": len(set(by_key) - acknowledged),
        "report_ids_match": ids == set(tally.reports.values()),
        "revisions_acknowledged": len(tally.revisions),
        "revisions_lost": len(set(tally.revisions) - revisions),
        "revisions_duplicated": len(tally.revisions) - len(set(tally.revisions)),
        "gradings_acknowledged": len(tally.gradings),
        "gradings_lost": len(set(tally.gradings) - gradings),
        "gradings_duplicated": len(tally.gradings) - len(set(tally.gradings)),
        "status_changes_reports": len(tally.statuses),
        # A change that got no answer at the end may have been made: that status counts too.
        "status_changes_lost": sum(
            1
            for rid, status in tally.statuses.items()
            if status_of.get(rid) not in (status, tally.statuses_unanswered.get(rid))
        ),
        "status_changes_unanswered_at_the_end": len(tally.statuses_unanswered),
        "accounts_made_by_cli": made,
        "accounts_lost": sum(1 for name in tally.accounts if name not in users),
    }
    if tally.photo_reports:
        photos = _rows(
            database_url,
            "SELECT r.client_id, p.sha256, p.display_sha256, p.thumb_sha256 FROM report_photos p "
            "JOIN reports r ON r.id = p.report_id WHERE r.client_id LIKE 'cd-web-%'",
        )
        per_report = Counter(row.client_id for row in photos)
        result["photo_reports_acknowledged"] = len(tally.photo_reports)
        result["photo_reports_without_exactly_one_photo"] = sum(1 for k in tally.photo_reports if per_report[k] != 1)
        if uploads is not None:
            missing = [
                digest
                for row in photos
                for digest in (row.sha256, row.display_sha256, row.thumb_sha256)
                if not (uploads / digest[:2] / digest[2:4] / digest).is_file()
            ]
            result["photo_files_missing"] = len(missing)
            result["upload_temporary_files_left"] = sum(1 for _p in uploads.rglob(".upload-*"))
    if tally.messages:
        stored_messages = Counter(
            (row.channel, row.external_id)
            for row in _rows(database_url, "SELECT channel, external_id FROM inbound_messages")
        )
        result["sms_acknowledged"] = len(tally.messages)
        result["sms_lost"] = sum(1 for key in tally.messages if not stored_messages[key])
        result["sms_duplicated"] = sum(1 for key in tally.messages if stored_messages[key] > 1)
        started = time.perf_counter()
        while True:  # every message processed by the background job (a report made where a rule says so)
            waiting = _rows(database_url, "SELECT count(*) AS n FROM inbound_messages WHERE processed_at IS NULL")[0].n
            if not waiting or time.perf_counter() - started > settle_timeout:
                break
            time.sleep(0.5)
        result["sms_unprocessed"] = waiting
    # Scored: a score row that no later change has marked stale (itself, or its source since).
    started = time.perf_counter()
    query = (
        "SELECT count(*) AS n FROM reports r JOIN validation_scores s ON s.report_id = r.id "
        "WHERE r.client_id LIKE 'cd-%' AND NOT s.stale AND NOT EXISTS (SELECT 1 FROM validation_stale_sources m "
        "WHERE m.source_id = r.source_id AND m.generation > s.source_generation)"
    )
    first = None
    while True:
        scored = _rows(database_url, query)[0].n
        first = scored if first is None else first
        waited = time.perf_counter() - started
        if scored >= len(ids) or waited > settle_timeout:
            break
        time.sleep(0.5)
    result["reports_scored_when_the_load_ended"] = first  # the background worker's backlog then
    result["reports_scored"] = scored
    result["settle_timeout_s"] = settle_timeout
    result["seconds_until_all_scored"] = round(waited, 1) if scored >= len(ids) else None
    return result


def summarise(day: Day, seconds: float) -> dict:
    """Figures per action; errors during an injected fault (or within a second after it) are
    counted apart, as `injected_fault_errors`."""
    tally = day.tally
    actions = {}
    for action in sorted(set(tally.latencies) | set(tally.errors)):
        spans = tally.sent_at.get(action, [])
        overlapping = [day.during_fault(start) or day.during_fault(end) for start, end in spans]
        times = [ms for ms, hit in zip(tally.latencies.get(action, []), overlapping, strict=True) if not hit]
        messages = tally.errors.get(action, [])
        during = [day.during_fault(moment) for moment in tally.error_times.get(action, [])]
        actions[action] = {
            "requests": len(times),
            "requests_during_faults": sum(overlapping),  # answered, but left out of the figures
            "per_second": round(len(times) / seconds, 1),
            "p50_ms": percentile(times, 0.50),
            "p95_ms": percentile(times, 0.95),
            "p99_ms": percentile(times, 0.99),
            "max_ms": round(max(times), 1) if times else None,
            "errors": sum(1 for injected in during if not injected),
            "injected_fault_errors": sum(during),
            "expected_conflicts": tally.conflicts.get(action, 0),
            "first_errors": [message for message, injected in zip(messages, during, strict=True) if not injected][:3],
            "first_injected_fault_errors": [m for m, injected in zip(messages, during, strict=True) if injected][:3],
        }
    commands = [seconds_taken for _c, seconds_taken, _o in tally.commands]
    # A command that ran while a fault lasted (or within a second after it) is counted apart.
    hit = [
        day.during_fault(at) or day.during_fault(at + taken)
        for at, (_c, taken, _o) in zip(tally.command_started, tally.commands, strict=True)
    ]
    actions["cli create-user"] = {
        "requests": len(commands),
        "p50_ms": percentile([s * 1000 for s in commands], 0.5),
        "max_ms": round(max(commands) * 1000, 1) if commands else None,
        "errors": sum(1 for (code, _s, _o), h in zip(tally.commands, hit, strict=True) if code != 0 and not h),
        "injected_fault_errors": sum(1 for (code, _s, _o), h in zip(tally.commands, hit, strict=True) if code and h),
        "first_errors": [out for (code, _s, out), h in zip(tally.commands, hit, strict=True) if code and not h][:3],
        "first_injected_fault_errors": [
            out for (code, _s, out), h in zip(tally.commands, hit, strict=True) if code and h
        ][:3],
    }
    return actions


def exception_lines(log: str, most: int = 5) -> dict[str, int]:
    """The last line of each traceback in a log (the exception and its message), counted."""
    found = Counter(
        line[:300] for line in log.splitlines() if re.match(r"^[A-Za-z_][\w.]*(Error|Exception|Exit)\b", line)
    )
    return dict(found.most_common(most))


def unavailable_answers(day: Day) -> dict:
    """The 503s: when they came (during a fault or not), whether each said what is wrong and
    when to try again, and how many requests were sent again after one."""
    answers = day.tally.unavailable
    during = [day.during_fault(at) for _a, at, _b, _r in answers]
    return {
        "count": len(answers),
        "during_faults": sum(during),
        "outside_faults": len(answers) - sum(during),
        "by_action": dict(Counter(action for action, _t, _b, _r in answers)),
        "with_a_message_naming_the_database": sum("database" in body.lower() for _a, _t, body, _r in answers),
        "with_retry_after": sum(retry is not None for _a, _t, _b, retry in answers),
        "sent_again_after_a_503": dict(day.tally.retries_after_503),
        "sent_again_after_a_502_or_504": dict(day.tally.retries_after_bad_gateway),
        "first_bodies": sorted({body[:300] for _a, _t, body, _r in answers})[:3],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer users for 30 s (the suite's and bench-quick's run)")
    parser.add_argument("--seconds", type=float, help="how long everyone works (default 180, quick 30)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--database-url", help="default: a fresh SQLite database in a temporary folder")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run on a throwaway, durable PostgreSQL cluster started here (with --faults: restarted during the run); "
        "without PostgreSQL's server binaries, say so and exit 0",
    )
    parser.add_argument(
        "--two-servers",
        action="store_true",
        help="the several-server profile (implies --postgres): two gunicorn servers behind one nginx made of "
        "deploy/nginx's files (bench/two_servers.py's), every user sent to nginx; with --faults one app server is "
        "SIGKILLed and started again instead of a gunicorn worker and the whole server. Without nginx or "
        "PostgreSQL's server binaries, say so and exit 0",
    )
    parser.add_argument(
        "--settle-seconds",
        type=float,
        default=300.0,
        help="how long the reconciliation waits, after the load, for every report to be scored (default 300)",
    )
    parser.add_argument("--output", type=Path, help="default: bench/results/crisis_day.json")
    parser.add_argument("--keep-logs", type=Path, help="copy the server's and the background worker's logs there")
    parser.add_argument(
        "--faults",
        action="store_true",
        help="inject faults (SIGKILL of a server worker, of the background worker, of the whole server; the upload "
        "disk full) with the background worker as a process of its own; default output crisis_day_faults.json",
    )
    args = parser.parse_args()
    args.postgres = args.postgres or args.two_servers
    if args.postgres and args.database_url:
        parser.error("--postgres (and --two-servers) start their own PostgreSQL: leave out --database-url")
    mix = QUICK if args.quick else FULL
    seconds = args.seconds or (30.0 if args.quick else 180.0)
    if args.two_servers:
        name = "crisis_day_two_servers" + ("_faults" if args.faults else "")
    else:
        name = ("crisis_day_faults" if args.faults else "crisis_day") + ("_postgresql" if args.postgres else "")
    output = args.output or RESULTS / (name + ".json")
    cluster, postgres = None, {}
    if args.postgres:
        from bench.two_servers import postgres_settings, start_postgres

        if find_bindir() is None:
            print("skipped: PostgreSQL's server binaries are not installed (`make postgres` installs them)")
            return
        if args.two_servers and shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
            print("skipped: nginx is not installed (`make bench-tools` installs nginx-light)")
            return
        cluster, args.database_url = start_postgres()
        postgres["before"] = postgres_settings(args.database_url)
    load_before = os.getloadavg()[0]  # the cores are shared: say how busy they were
    with tempfile.TemporaryDirectory(prefix="crisis-day-") as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        database_url = args.database_url or f"sqlite:///{Path(folder) / 'crisiswiki.db'}"
        try:
            setup = prepare(instance, database_url, mix)
        except BaseException:
            if cluster is not None:
                cluster.stop()
            raise
        settings = dict(SETTINGS)
        if args.two_servers:  # what several servers behind nginx need (bench/two_servers.py's settings)
            from bench.two_servers import SETTINGS as TWO_SERVER_SETTINGS

            settings.update({key.removeprefix("CRISISWIKI_"): value for key, value in TWO_SERVER_SETTINGS.items()})
        if args.faults:  # the background worker a process of its own, to be killed
            settings["WORKER_IN_SERVERS"] = "false"
        disk = UploadDisk(instance / "uploads") if args.faults else None
        servers = [
            Server(
                instance,
                database_url,
                args.workers,
                settings,
                log=f"gunicorn-{n}.log" if args.two_servers else "gunicorn.log",
            )
            for n in range(2 if args.two_servers else 1)
        ]
        server, nginx, front = servers[0], None, {}
        worker = BackgroundWorker(instance, server.env) if args.faults else None
        try:
            for each in servers:
                each.start()
            if args.two_servers:
                from bench.two_servers import start_nginx

                front = {"root": instance / "nginx", "port": free_port()}
                nginx = start_nginx(instance, front["root"], tuple(each.port for each in servers), front["port"])
                front["base"] = f"http://127.0.0.1:{front['port']}"
            if worker is not None:
                worker.start()
            day = Day(
                server,
                setup,
                mix,
                args.seed,
                instance,
                database_url,
                worker,
                disk,
                cluster,
                servers=servers,
                base=front.get("base"),
                settings=settings,
                upstream_log=front["root"] / "upstream.log" if front else None,
            )
            elapsed = day.run(seconds, faults=args.faults)
            reconciliation = reconcile(
                day.tally, database_url, settle_timeout=args.settle_seconds, uploads=instance / "uploads"
            )
            if cluster is not None:  # the restart kept the durable settings
                postgres["after"] = postgres_settings(database_url)
            # The app carried on by itself: what served the day (nginx, on that profile) answers from the database.
            health = requests.get(f"{day.base}/api/v1/health", timeout=30)
            reconciliation["health_after_run"] = health.status_code
            if args.two_servers:
                reconciliation["health_after_run_per_server"] = {
                    each.base.removeprefix("http://"): requests.get(
                        f"{each.base}/api/v1/health", timeout=30
                    ).status_code
                    for each in servers
                }
        finally:
            if nginx is not None:
                stop(nginx)
            if worker is not None:
                worker.stop()
            for each in servers:
                each.stop()
            if disk is not None:
                disk.unmount()
            if cluster is not None:
                cluster.stop()
        log = "".join(each.log_path.read_text(errors="replace") for each in servers)
        if front:
            front["answered_by"] = answered_by_server(front["root"] / "upstream.log", day.restarted)
        worker_log = (instance / "worker.log").read_text(errors="replace") if args.faults else ""
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            (args.keep_logs / "gunicorn.log").write_text(log)
            if front:
                (args.keep_logs / "nginx-error.log").write_text(
                    (front["root"] / "error.log").read_text(errors="replace")
                )
            (args.keep_logs / "worker.log").write_text(worker_log)
    faults = [
        {
            "fault": fault.name,
            "at_s": round(fault.started - day.started, 1),
            "lasted_s": round(fault.ended - fault.started, 2) if fault.ended else None,
            "detail": fault.detail,
            # What the users met within it (or the second after): failed requests of every kind, and
            # of them the 503s.
            "failed_requests": sum(
                1 for times in day.tally.error_times.values() for moment in times if day.within(fault, moment)
            ),
            "answers_503": sum(1 for _a, moment, _b, _r in day.tally.unavailable if day.within(fault, moment)),
            "answers_5xx_other_than_503_507": sum(
                1 for _a, moment, _b in day.tally.server_errors if day.within(fault, moment)
            ),
            "first_failures_other_than_503": [
                f"{action}: {message[:300]}"
                for action, messages in day.tally.errors.items()
                for message, moment in zip(messages, day.tally.error_times[action], strict=True)
                if day.within(fault, moment) and not message.startswith("503 ")
            ][:3],
        }
        for fault in day.faults
    ]
    if disk is not None and not disk.mounted:
        faults.append({"fault": "upload disk full", "skipped": disk.reason})
    commands_output = "".join(out for _c, _s, out in day.tally.commands)
    result = {
        "command": " ".join([".venv/bin/python", "bench/crisis_day.py", *sys.argv[1:]]),
        "quick": args.quick,
        "database": database_url.split(":", 1)[0],
        "profile": (
            "two app servers behind nginx (deploy/nginx's files), one PostgreSQL"
            if args.two_servers
            else "one app server" + (", PostgreSQL" if args.postgres else ", SQLite")
        ),
        "gunicorn_workers": args.workers,
        # Where the background jobs ran: a `crisiswiki worker` of its own (WORKER_IN_SERVERS=false, as
        # deploy/ runs it), or a thread in every server process (WORKER_IN_SERVERS=auto, each job's
        # deployment-wide lock letting one process at a time run it).
        "background_worker": "crisiswiki worker, a process of its own" if args.faults else "in every server process",
        **({"nginx": {"answered_by": front["answered_by"], "app_server_restarted": day.restarted}} if front else {}),
        "seconds": round(elapsed, 1),
        "seed": args.seed,
        "users": {
            "reporters": mix.reporters,
            "coordinators": mix.coordinators,
            "verifiers": mix.verifiers,
            "responders": mix.responders,
            "web_reporters_with_photo": mix.web_reporters,
            "sms_gateways": mix.sms_gateways,
            "administrator": 1,
        },
        "pauses_s": {
            "reporter": mix.reporter_pause,
            "coordinator": mix.coordinator_pause,
            "verifier": mix.verifier_pause,
            "responder": mix.responder_pause,
            "admin_command_every": mix.admin_every,
        },
        "durability": ({"postgresql": postgres, "app": setup["durability"]} if postgres else setup["durability"]),
        "actions": summarise(day, elapsed),
        "reconciliation": reconciliation,
        "faults": faults,
        "unavailable_answers": unavailable_answers(day),
        "upload_disk_full_answers": {
            "count": len(day.tally.disk_full_answers),
            "said_full": sum("storage for uploads is full" in text for text in day.tally.disk_full_answers),
        },
        "database_is_locked": log.count(LOCKED) + commands_output.count(LOCKED),
        "write_discipline_errors": log.count("WriteDisciplineError") + commands_output.count("WriteDisciplineError"),
        "server_errors_5xx": {
            "count": len(day.tally.server_errors),
            "outside_faults": sum(1 for _a, moment, _b in day.tally.server_errors if not day.during_fault(moment)),
            "answers": [
                {"action": action, "at_s": round(moment - day.started, 1), "answer": body}
                for action, moment, body in day.tally.server_errors[:5]
            ],
        },
        "server_tracebacks": log.count("Traceback"),
        "server_exceptions": exception_lines(log),
        "worker_exceptions": exception_lines(worker_log),
        "worker_tracebacks": worker_log.count("Traceback"),
        # The background worker logs a job that failed (its work stays queued, retried later) with
        # its traceback: while the database is away, every job's turn fails so.
        "worker_job_failures_logged": worker_log.count("failed; its work stays queued"),
        "server_database_unreachable_logged": log.count("the database is not reachable"),
        "client_threads_crashed": day.crashed,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_1m_before": round(load_before, 2),
            "load_average_1m_after": round(os.getloadavg()[0], 2),
        },
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    shown = ("actions", "reconciliation", "faults", "unavailable_answers", "database_is_locked", "server_tracebacks")
    print(json.dumps({k: result[k] for k in shown}, indent=2))
    print(f"written to {output}")


if __name__ == "__main__":
    main()
