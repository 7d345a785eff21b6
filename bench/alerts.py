"""Benchmark: alerts with 10,000 subscriptions against a surge of 10,000 reports.

A fresh SQLite database (the embedded default, in a temporary folder) gets the migrations, one
crisis with 1,000 generated admin areas (a 40 x 25 grid over Haiti's box) and 10,000 confirmed
e-mail subscriptions, seeded: 40 % an admin area by P-code, 30 % a circle of 5-20 km, 20 % a
drawn quadrilateral, 10 % the whole crisis; most ask for one to three sectors, half for verified
reports only, some for keywords; 80 % immediate, 10 % hourly, 10 % daily. Then:

1. the surge: 10,000 reports imported through `crisiswiki import-reports` (the real intake path,
   which writes an alert event per report in each batch's transaction);
2. matching, in this process with the worker's own function (`match_batch`): events matched per
   second and deliveries made;
3. composing the messages that are due (`compose`), and sending them to a real SMTP server
   (aiosmtpd on loopback) with the mail sender: messages and mails per second; a surge becomes
   one message per subscriber, not one per alert;
4. a real `crisiswiki worker` process (default settings: the alert job looks for work every
   second when nothing wakes it) sends what the surge left for later (a subscriber gets one
   message a minute, of at most 100 alerts): how long until every immediate alert is sent;
5. verification to e-mail, on the quiet system: --verify reports are verified one by one,
   --gap seconds apart (the coordinators' service, as the API does); for each alert that reaches
   the SMTP server, the time from its report's verification commit to the server's acceptance.
   A subscriber who got a mail less than a minute before waits for the minute to end (alerts
   collapse), so p99 includes that wait; p50 and p99 over all such alerts, and over each
   subscriber's first mail.

Figures are printed and written to bench/results/alerts.json.

    .venv/bin/python bench/alerts.py [--subscriptions 10000] [--reports 10000] [--verify 100] [--quick]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results" / "alerts.json"
BIN = Path(sys.executable).parent
WEST, SOUTH, EAST, NORTH = -74.5, 17.9, -71.6, 20.1
COLUMNS, ROWS = 40, 25
SECTORS = ("cccm", "education", "shelter", "food", "health", "logistics", "nutrition", "protection", "wash")
WORDS = ("cholera", "flood", "bridge", "school", "clinic", "water", "shelter", "road", "market", "fire")
REPORT_ID = re.compile(rb"/reports/(\d+)")


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Inbox:
    """What the SMTP server accepted: when, to whom, which reports."""

    def __init__(self) -> None:
        self.received: list[tuple[float, str, list[int]]] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        reports = [int(found) for found in REPORT_ID.findall(envelope.original_content or envelope.content)]
        with self.lock:
            self.received.append((time.time(), envelope.rcpt_tos[0], sorted(set(reports))))
        return "250 OK"


def cell_polygon(column: int, row: int) -> dict:
    width, height = (EAST - WEST) / COLUMNS, (NORTH - SOUTH) / ROWS
    west, south = WEST + column * width, SOUTH + row * height
    ring = [[west, south], [west + width, south], [west + width, south + height], [west, south + height], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def boundaries() -> dict:
    features = []
    for column in range(COLUMNS):
        for row in range(ROWS):
            features.append(
                {
                    "type": "Feature",
                    "properties": {"adm2_pcode": f"HT{column:02d}{row:02d}", "adm2_name": f"Commune {column}-{row}"},
                    "geometry": cell_polygon(column, row),
                }
            )
    return {"type": "FeatureCollection", "features": features}


def subscription_input(rng: random.Random, crisis: str, n: int) -> dict:
    kind = rng.random()
    if kind < 0.4:
        area = {"pcode": f"HT{rng.randrange(COLUMNS):02d}{rng.randrange(ROWS):02d}"}
    elif kind < 0.7:
        area = {"point": [rng.uniform(WEST, EAST), rng.uniform(SOUTH, NORTH)], "radius_km": rng.uniform(5, 20)}
    elif kind < 0.9:
        lon, lat = rng.uniform(WEST, EAST - 0.3), rng.uniform(SOUTH, NORTH - 0.3)
        size = rng.uniform(0.05, 0.3)
        area = {
            "type": "Polygon",
            "coordinates": [
                [[lon, lat], [lon + size, lat], [lon + size * 1.2, lat + size], [lon, lat + size * 0.8], [lon, lat]]
            ],
        }
    else:
        area = None
    data = {
        "crisis": crisis,
        "area": area,
        "sectors": rng.sample(SECTORS, rng.randint(1, 3)) if area is None or rng.random() < 0.7 else [],
        "statuses": ["verified"] if area is None or rng.random() < 0.5 else [],
        "keywords": rng.choice(WORDS) if rng.random() < 0.05 else "",
        "frequency": rng.choices(("immediate", "hourly", "daily"), (8, 1, 1))[0],
        "deliver": {"email": f"subscriber{n}@example.org"},
    }
    return data


def write_reports_csv(path: Path, count: int, rng: random.Random) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["title", "description", "lat", "lon", "sector", "id"])
        for n in range(count):
            word = rng.choice(WORDS)
            writer.writerow(
                [
                    f"Surge report {n}: {word}",
                    f"Seen near the {word}; people need help.",
                    f"{rng.uniform(SOUTH, NORTH):.5f}",
                    f"{rng.uniform(WEST, EAST):.5f}",
                    rng.choice(SECTORS),
                    f"surge-{n}",
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--reports", type=int, default=10_000)
    parser.add_argument("--verify", type=int, default=None, help="reports verified one by one for the latency (100)")
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between two verifications")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--quick", action="store_true", help="2,000 subscriptions, 2,000 reports, 40 verifications")
    args = parser.parse_args()
    if args.quick:
        args.subscriptions, args.reports = 2000, 2000
    if args.verify is None:
        args.verify = 40 if args.quick else 100
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp(prefix="crisiswiki-alerts-bench-"))
    instance = folder / "instance"
    env = {
        **os.environ,
        "CRISISWIKI_INSTANCE_PATH": str(instance),
        "CRISISWIKI_SECRET_KEY": "bench",
        "CRISISWIKI_BASE_URL": "http://wiki.bench",
        "CRISISWIKI_DISABLED_PLUGINS": "validation",  # measured on its own (bench/validation_scoring.py)
        "CRISISWIKI_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    env.pop("DATABASE_URL", None)
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp_port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    env.update(
        CRISISWIKI_MAIL_SERVER="127.0.0.1",
        CRISISWIKI_MAIL_PORT=str(smtp_port),
        CRISISWIKI_MAIL_DEFAULT_SENDER="crisiswiki <alerts@wiki.bench>",
    )
    os.environ.update(env)
    log(f"instance in {instance}")
    subprocess.run(
        [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=PROJECT
    )

    from sqlalchemy import func, select

    from wiki import create_app
    from wiki.alerts.compose import compose_many, due_subscriptions
    from wiki.alerts.jobs import COMPOSE_TRANSACTION
    from wiki.alerts.matcher import match_batch
    from wiki.alerts.subscriptions import confirm, create_subscription
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.database import chunked, write_transaction
    from wiki.extensions import db
    from wiki.mail import deliver_pending
    from wiki.maps.boundaries import import_boundaries
    from wiki.models import AlertDelivery, AlertEvent, AlertMessage, AlertSubscription, MailMessage, Report, User
    from wiki.models.base import utcnow
    from wiki.reports.triage import update_report

    app = create_app({"ALERT_SUBSCRIBE_LIMIT": 10**9})
    results: dict = {
        "when": datetime.now(UTC).isoformat(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "database": "sqlite",
        "subscriptions": args.subscriptions,
        "reports": args.reports,
        "seed": args.seed,
    }
    with app.test_request_context():
        admin = create_user("bench-admin", "bench password 1", role="admin")
        crisis = create_crisis(
            {"name": "Bench earthquake", "slug": "bench", "bbox": f"{WEST},{SOUTH},{EAST},{NORTH}"}, admin
        )
        import_boundaries(crisis, 2, boundaries(), admin)
        owner = create_user("bench-responder", "bench password 1", role="volunteer")
        db.session.commit()
        started = time.perf_counter()
        for n in range(args.subscriptions):
            confirm(create_subscription(subscription_input(rng, crisis.slug, n), owner))
            if n % 1000 == 999:
                db.session.commit()
        db.session.execute(MailMessage.__table__.delete())  # the confirmation mails: confirmed above
        db.session.commit()
        results["subscribe_seconds"] = round(time.perf_counter() - started, 1)
        log(f"{args.subscriptions} subscriptions in {results['subscribe_seconds']} s")

    reports_csv = folder / "surge.csv"
    write_reports_csv(reports_csv, args.reports, rng)
    started = time.perf_counter()
    subprocess.run(
        [str(BIN / "crisiswiki"), "import-reports", str(reports_csv), "--crisis", "bench"],
        env=env,
        check=True,
        capture_output=True,
        cwd=PROJECT,
    )
    results["import_seconds"] = round(time.perf_counter() - started, 1)
    log(f"surge of {args.reports} reports imported in {results['import_seconds']} s")

    with app.app_context():
        events = db.session.scalar(select(func.count()).select_from(AlertEvent).where(AlertEvent.matched_at.is_(None)))
        started = time.perf_counter()
        first = None
        matched = made = 0
        while True:
            batch_started = time.perf_counter()
            done, new = match_batch()
            if first is None and done:
                first = time.perf_counter() - batch_started  # includes building the subscriptions' trees
            if not done:
                break
            matched, made = matched + done, made + new
        seconds = time.perf_counter() - started
        results["matching"] = {
            "events": events,
            "seconds": round(seconds, 2),
            "events_per_second": round(matched / seconds, 1),
            "first_batch_seconds": round(first or 0, 2),
            "batch": app.config["ALERT_MATCH_BATCH"],
            "deliveries": made,
        }
        log(f"matching: {results['matching']}")

        started = time.perf_counter()
        messages = 0
        for ids in chunked(due_subscriptions(utcnow(), 10**9), COMPOSE_TRANSACTION):
            messages += sum(message is not None for message in compose_many(list(ids), utcnow()))
        seconds = time.perf_counter() - started
        waiting = db.session.scalar(
            select(func.count()).select_from(AlertDelivery).where(AlertDelivery.state == "pending")
        )
        results["composing"] = {
            "messages": messages,
            "seconds": round(seconds, 2),
            "messages_per_second": round(messages / seconds, 1) if seconds else None,
            "deliveries_left_for_later": waiting,
        }
        log(f"composing: {results['composing']}")
        started = time.perf_counter()
        sent = 0
        while True:
            done = deliver_pending(limit=500)
            sent += done.sent
            if not done.sent and not done.failed:
                break
        seconds = time.perf_counter() - started
        results["mailing"] = {"sent": sent, "seconds": round(seconds, 2), "per_second": round(sent / seconds, 1)}
        log(f"mailing: {results['mailing']}")
        coordinator_id = create_user("bench-coordinator", "bench password 1", role="coordinator").id
        db.session.commit()

    if not args.verify:
        controller.stop()
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        print(json.dumps(results, indent=2))
        return
    # Verification to e-mail, with a real worker process and default settings.
    worker_log = open(folder / "worker.log", "ab")  # noqa: SIM115
    worker = subprocess.Popen(
        [str(BIN / "crisiswiki"), "worker"],
        env=env,
        cwd=PROJECT,
        stdout=worker_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    verified_at: dict[int, float] = {}
    try:
        # The surge's alerts beyond the first message of each subscriber (one message a minute),
        # sent by the worker; then the system is quiet again, and the latency is measured.
        started = time.perf_counter()
        while True:
            with app.app_context():
                waiting = db.session.scalar(
                    select(func.count())
                    .select_from(AlertDelivery)
                    .join(AlertSubscription, AlertSubscription.id == AlertDelivery.subscription_id)
                    .where(AlertDelivery.state == "pending", AlertSubscription.frequency == "immediate")
                ) + db.session.scalar(
                    select(func.count()).select_from(MailMessage).where(MailMessage.sent_at.is_(None))
                )
            if not waiting:
                break
            time.sleep(1)
        results["surge_drained_seconds"] = round(time.perf_counter() - started, 1)
        results["surge_mails"] = len(inbox.received)
        log(
            f"the surge's immediate alerts all sent {results['surge_drained_seconds']} s later ({len(inbox.received)} mails)"
        )
        surge_mails = len(inbox.received)
        with app.app_context():
            coordinator = db.session.get(User, coordinator_id)
            candidates = db.session.scalars(select(Report.id).where(Report.status == "new").order_by(Report.id)).all()
            chosen = rng.sample(list(candidates), args.verify)
            for report_id in chosen:
                with write_transaction():  # SQLite's write lock up front, as every writer takes it
                    update_report(db.session.get(Report, report_id), {"status": "verified"}, coordinator)
                verified_at[report_id] = time.time()
                time.sleep(args.gap)
        log(f"verified {len(chosen)} reports; waiting for the mails (alerts collapse to one a minute per subscriber)")
        deadline = time.time() + 150
        while time.time() < deadline:
            with app.app_context():
                pending = db.session.scalar(
                    select(func.count()).select_from(AlertEvent).where(AlertEvent.matched_at.is_(None))
                ) + db.session.scalar(
                    select(func.count())
                    .select_from(MailMessage)
                    .where(MailMessage.sent_at.is_(None), MailMessage.attempts < 10)
                )
            if not pending and time.time() > max(verified_at.values()) + 65:
                break
            time.sleep(1)
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(30)
        worker_log.close()
        controller.stop()
    latencies, first_per_subscriber = [], {}
    for received, recipient, report_ids in inbox.received[surge_mails:]:
        for report_id in report_ids:
            if report_id in verified_at:
                latency = received - verified_at[report_id]
                latencies.append(latency)
                if recipient not in first_per_subscriber:
                    first_per_subscriber[recipient] = latency
    firsts = list(first_per_subscriber.values())
    results["verification_to_email"] = {
        "verified": len(verified_at),
        "gap_seconds": args.gap,
        "mails": len(inbox.received) - surge_mails,
        "alerts": len(latencies),
        "p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "first_mail_of_a_subscriber_p50_ms": round(statistics.median(firsts) * 1000, 1) if firsts else None,
        "first_mail_of_a_subscriber_p99_ms": round(percentile(firsts, 0.99) * 1000, 1) if firsts else None,
        "settings": "ALERT_POLL_SECONDS=1, MAIL_POLL_SECONDS=5 (defaults); one crisiswiki worker process",
    }
    log(f"verification to e-mail: {results['verification_to_email']}")
    with app.app_context():
        results["messages_total"] = db.session.scalar(select(func.count()).select_from(AlertMessage))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
