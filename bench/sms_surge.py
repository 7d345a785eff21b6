"""Benchmark: a surge of SMS through the gateways' webhooks, against gunicorn served as `make run`
serves it (tests/servers.py), on a fresh database.

Clients (threads spread over several processes, each with its own keep-alive connection) post
messages exactly as the gateways do, in a fixed mix: Twilio (signed form posts) 40%, SMSSync
(form with its secret) 30%, the generic webhook 20%, RapidPro's webhook JSON 10%. Every
`retry_every`-th message is delivered a second time after its answer came, as a gateway does
when it never saw our answer. Each request's time is measured from sending to the last byte of
the answer. Then the database is read: every message that was answered 200 must be there
exactly once (lost: answered but not stored; duplicated: stored more than once, or stored
without having been sent), and the background job must process all of them.

    .venv/bin/python bench/sms_surge.py [--messages 10000] [--clients 32] [--processes 4]
                                        [--retry-every 10] [--database-url URL]
                                        [--worker-in-servers | --no-worker]

The background jobs run in a `crisiswiki worker` process beside gunicorn, as deploy/ runs them
(--worker-in-servers: in the gunicorn processes, as `make run` does).

Writes bench/results/sms_surge.json. Target: 0 lost, 0 duplicated, p99 under 100 ms.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

RESULTS = PROJECT / "bench" / "results" / "sms_surge.json"
SECRETS = {
    "TWILIO_AUTH_TOKEN": "surge-twilio-token",
    "TWILIO_ACCOUNT_SID": "AC0000000000000000000000000000surge",
    "SMSSYNC_SECRET": "surge-smssync",
    "RAPIDPRO_SECRET": "surge-rapidpro",
    "WEBHOOK_SECRET": "surge-webhook",
}
MIX = (("twilio", 4), ("smssync", 3), ("webhook", 2), ("rapidpro", 1))
TEXTS = (
    "nou bezwen dlo nan delmas 33 depi lendi",
    "moun blese anpil nan kafou bo lekol la",
    "Besoin urgent de tentes a Leogane, 40 familles dehors",
    "WATER Delmas 33 no water since Monday",
    "cas de cholera au camp corail",
)


def channel_of(number: int) -> str:
    slot = number % sum(weight for _name, weight in MIX)
    for name, weight in MIX:
        if slot < weight:
            return name
        slot -= weight
    return MIX[0][0]


def external_id(channel: str, number: int) -> str:
    """The id the gateway gives message `number`, as it is stored (SMSSync's prefixed by its device)."""
    base = f"surge-{number:07d}"
    if channel == "twilio":
        return "SM" + base
    if channel == "smssync":
        return f"phone-1:{base}"
    return base


def request_for(channel: str, number: int, base: str, crisis: str = "haiti") -> tuple[str, bytes, dict[str, str]]:
    """(path, body, headers) exactly as the gateway sends message `number` (to `crisis`)."""
    from tests.channels_helpers import twilio_signature

    text = TEXTS[number % len(TEXTS)]
    sender = f"+509370{number % 10000:05d}"
    mid = f"surge-{number:07d}"
    if channel == "twilio":
        path = f"/channels/twilio/inbound?crisis={crisis}"
        params = {
            "MessageSid": "SM" + mid,
            "SmsSid": "SM" + mid,
            "AccountSid": SECRETS["TWILIO_ACCOUNT_SID"],
            "From": sender,
            "To": "+15005550006",
            "Body": text,
            "NumMedia": "0",
            "ApiVersion": "2010-04-01",
        }
        signature = twilio_signature(base + path, params, SECRETS["TWILIO_AUTH_TOKEN"])
        return (
            path,
            urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature},
        )
    if channel == "smssync":
        params = {
            "from": sender,
            "message": text,
            "message_id": mid,
            "sent_to": "+50937999999",
            "secret": SECRETS["SMSSYNC_SECRET"],
            "device_id": "phone-1",
            "sent_timestamp": "1263315180000",
        }
        return (
            f"/channels/smssync/inbound?crisis={crisis}",
            urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )
    if channel == "rapidpro":
        body = {
            "contact": {"urn": f"tel:{sender}"},
            "run": {"created_on": "2010-01-13T10:00:00Z"},
            "input": {
                "uuid": mid,
                "urn": f"tel:{sender}",
                "text": text,
                "attachments": [],
                "channel": {"address": "4636"},
            },
        }
        return (
            f"/channels/rapidpro/inbound?crisis={crisis}",
            json.dumps(body).encode(),
            {"Content-Type": "application/json", "X-Crisiswiki-Secret": SECRETS["RAPIDPRO_SECRET"]},
        )
    body = {"id": mid, "from": sender, "to": "4636", "text": text}
    return (
        f"/channels/webhook/inbound?crisis={crisis}",
        json.dumps(body).encode(),
        {"Content-Type": "application/json", "X-Crisiswiki-Secret": SECRETS["WEBHOOK_SECRET"]},
    )


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    started: list[float] = field(default_factory=list)  # when each request was sent (time.time())
    acknowledged: list[tuple[str, str]] = field(default_factory=list)  # (channel, external id) answered 200
    failures: list[str] = field(default_factory=list)
    sent: int = 0


def _client(base: str, numbers: list[int], retry_every: int, tally: Tally, lock: threading.Lock) -> None:
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    for number in numbers:
        channel = channel_of(number)
        path, body, headers = request_for(channel, number, base)
        for _attempt in range(2 if retry_every and number % retry_every == 0 else 1):
            started = time.perf_counter()
            sent_at = time.time()
            try:
                connection.request("POST", path, body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                with lock:
                    tally.failures.append(f"{channel} {number}: {exc}")
                continue
            elapsed = time.perf_counter() - started
            with lock:
                tally.sent += 1
                tally.latencies.append(elapsed)
                tally.started.append(sent_at)
                if status == 200:
                    tally.acknowledged.append((channel, external_id(channel, number)))
                else:
                    tally.failures.append(f"{channel} {number}: {status}")
    connection.close()


def _process(base: str, numbers: list[int], threads: int, retry_every: int) -> Tally:
    tally, lock = Tally(), threading.Lock()
    shares = [numbers[i::threads] for i in range(threads)]
    workers = [threading.Thread(target=_client, args=(base, share, retry_every, tally, lock)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tally


def surge(base: str, messages: int, clients: int, processes: int, retry_every: int) -> tuple[Tally, float]:
    """Send `messages` SMS from `clients` clients; the merged tally and the seconds it took."""
    processes = max(1, min(processes, clients))
    per_process = [clients // processes + (1 if i < clients % processes else 0) for i in range(processes)]
    numbers = list(range(messages))
    chunks, start = [], 0
    for count in per_process:
        share = count * messages // clients
        chunks.append(numbers[start : start + share])
        start += share
    chunks[-1] += numbers[start:]
    started = time.perf_counter()
    with ProcessPoolExecutor(max_workers=processes) as pool:
        futures = [
            pool.submit(_process, base, chunk, count, retry_every)
            for chunk, count in zip(chunks, per_process, strict=True)
        ]
        results = [future.result() for future in futures]
    seconds = time.perf_counter() - started
    merged = Tally()
    for tally in results:
        merged.latencies += tally.latencies
        merged.started += tally.started
        merged.acknowledged += tally.acknowledged
        merged.failures += tally.failures
        merged.sent += tally.sent
    return merged, seconds


WARM_UP = 200  # messages sent (and processed) before the surge, numbered after it


def warm_up(base: str, messages: int, database_url: str, processed: bool = True) -> None:
    """A server as it runs in a crisis: every worker process started and answering, the crisis's
    gazetteer built, the background job idle. Its messages are numbered after the surge's and
    left out of its figures (they are in the database, counted as expected)."""
    tally, _seconds = surge_numbers(base, list(range(messages, messages + WARM_UP)), 8, 1, 0)
    if tally.failures:
        raise RuntimeError(f"warm-up failed: {tally.failures[:3]}")
    if processed:
        wait_processed(database_url, timeout=120)


def surge_numbers(base: str, numbers: list[int], clients: int, processes: int, retry_every: int) -> tuple[Tally, float]:
    tally, lock = Tally(), threading.Lock()
    started = time.perf_counter()
    shares = [numbers[i::clients] for i in range(clients)]
    workers = [threading.Thread(target=_client, args=(base, share, retry_every, tally, lock)) for share in shares]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return tally, time.perf_counter() - started


def stored_messages(database_url: str) -> list[tuple[str, str, bool]]:
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT channel, external_id, processed_at IS NOT NULL FROM inbound_messages")).all()
    engine.dispose()
    return [tuple(row) for row in rows]


def check(tally: Tally, rows: list[tuple[str, str, bool]], messages: int, warm_up: int = 0) -> dict:
    from collections import Counter

    expected = {(channel_of(n), external_id(channel_of(n), n)) for n in range(messages + warm_up)}
    rows = [row for row in rows if not _warm_up_row(row, messages)]
    stored = Counter((channel, external) for channel, external, _done in rows)
    acknowledged = set(tally.acknowledged)
    return {
        "lost": len(acknowledged - set(stored)),
        "duplicated": sum(count - 1 for count in stored.values() if count > 1) + len(set(stored) - expected),
        "stored": len(rows),
        "distinct_acknowledged": len(acknowledged),
        "processed": sum(1 for *_key, done in rows if done),
    }


def _warm_up_row(row: tuple[str, str, bool], messages: int) -> bool:
    digits = row[1].rsplit("-", 1)[-1]
    return digits.isdigit() and int(digits) >= messages


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] if ordered else 0.0


def wait_processed(database_url: str, timeout: float) -> float | None:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        rows = stored_messages(database_url)
        if rows and all(done for *_key, done in rows):
            return round(time.monotonic() - started, 1)
        time.sleep(1.0)
    return None


def prepare(instance: Path, database_url: str) -> None:
    """Migrate and make the crisis the messages go to."""
    import subprocess

    from tests.servers import BIN, ROOT, server_env

    env = server_env(instance, database_url, **SECRETS)
    subprocess.run(
        [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    script = (
        "from wiki import create_app\n"
        "from wiki.auth.accounts import create_user\n"
        "from wiki.crises.services import create_crisis\n"
        "app = create_app()\n"
        "with app.test_request_context():\n"
        "    admin = create_user('surge-admin', 'surge password 1', role='admin')\n"
        "    create_crisis({'name': 'Haiti', 'slug': 'haiti', 'bbox': '-74.5,17.9,-71.6,20.1'}, admin)\n"
    )
    subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True, cwd=ROOT)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--retry-every", type=int, default=10)
    # Two processes of 16 threads each: on 2 cores, fewer processes batch more messages into each
    # disk sync (group commit is per process) and hand the write lock over less often; measured
    # against gunicorn.conf.py's default of 5 x 4 (--workers 5 --threads 4).
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (make run: 2 x cores + 1)")
    parser.add_argument("--threads", type=int, default=16, help="threads per gunicorn worker (make run: 4)")
    parser.add_argument(
        "--worker-connections",
        type=int,
        default=None,
        help="connections each gunicorn worker holds at once (default: gunicorn.conf.py's, 2 x threads)",
    )
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--no-worker",
        action="store_true",
        help="no background worker at all (intake alone; nothing is processed)",
    )
    # deploy/ runs the background jobs in a `crisiswiki worker` process of their own
    # (CRISISWIKI_WORKER_IN_SERVERS=false): processing a surge then shares the cores but not a
    # server process's GIL with the requests that answer the gateways.
    parser.add_argument(
        "--worker-in-servers",
        action="store_true",
        help="run the background jobs in the gunicorn processes (make run) instead of a worker process (deploy/)",
    )
    args = parser.parse_args()

    from tests.servers import gunicorn, worker

    with tempfile.TemporaryDirectory() as folder:
        instance = Path(folder) / "instance"
        instance.mkdir()
        database_url = args.database_url or f"sqlite:///{instance / 'crisiswiki.db'}"
        prepare(instance, database_url)
        workers = args.workers
        in_servers = args.worker_in_servers and not args.no_worker
        settings = {**SECRETS, "WORKER_IN_SERVERS": "true" if in_servers else "false"}
        if args.worker_connections:
            settings["WORKER_CONNECTIONS"] = str(args.worker_connections)
        if args.threads:
            settings["THREADS"] = str(args.threads)
        separate = not (args.no_worker or in_servers)
        with (
            gunicorn(instance, database_url, workers=workers, init=False, **settings) as base,
            worker(instance, database_url, **SECRETS) if separate else nullcontext(),
        ):
            warm_up(base, args.messages, database_url, processed=not args.no_worker)
            tally, seconds = surge(base, args.messages, args.clients, args.processes, args.retry_every)
            settled = None if args.no_worker else wait_processed(database_url, timeout=900)
            figures = check(tally, stored_messages(database_url), args.messages, WARM_UP)
    latencies = [value * 1000 for value in tally.latencies]
    first = min(tally.started) if tally.started else 0.0
    # The same without the first second, when 32 clients open their connections at once: for
    # reading the steady state beside the whole (the target is on the whole).
    steady = [latency * 1000 for latency, at in zip(tally.latencies, tally.started, strict=True) if at - first >= 1.0]
    slowest = sorted(zip(tally.latencies, tally.started, strict=True), reverse=True)[:20]
    result = {
        "messages": args.messages,
        "requests": tally.sent,
        "clients": args.clients,
        "client_processes": args.processes,
        "gunicorn_workers": workers,
        "threads": args.threads,
        "worker_connections": args.worker_connections or "gunicorn.conf.py (2 x threads)",
        "background_jobs": "none" if args.no_worker else ("in the servers" if in_servers else "a worker process"),
        "retry_every": args.retry_every,
        "database": "postgresql" if database_url.startswith("postgres") else "sqlite",
        "seconds": round(seconds, 2),
        "requests_per_second": round(tally.sent / seconds, 1),
        "ms_p50": round(percentile(latencies, 0.50), 2),
        "ms_p95": round(percentile(latencies, 0.95), 2),
        "ms_p99": round(percentile(latencies, 0.99), 2),
        "ms_max": round(max(latencies), 2) if latencies else None,
        "ms_p99_after_first_second": round(percentile(steady, 0.99), 2),
        "ms_mean": round(statistics.fmean(latencies), 2) if latencies else None,
        "failures": len(tally.failures),
        "failure_examples": tally.failures[:5],
        "slowest": [[round(latency * 1000, 1), round(at - first, 2)] for latency, at in slowest],
        "processed_all_after_s": settled,
        **figures,
        "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
        # The machine is shared: what else ran shows in the load average (cores busy) at the end.
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
    }
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
