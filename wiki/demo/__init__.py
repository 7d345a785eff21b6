"""The demo `make run` loads into an empty database (and `crisiswiki demo --reset` loads again):
two crises in the Philippines, Typhoon Yolanda (November 2013) and the Bohol earthquake
(October 2013), with about 2,000 field reports made from real public messages posted during
them (messages.py says what is real and what the loader makes up), regions with demo P-codes
(regions.py: approximate shapes), layers of evacuation centres and health facilities (made up),
situation reports with live maps, an inbox of SMS, alert subscriptions, and one login per role.

Reports go in through the bulk import (wiki.reports.importer), as a coordinator's CSV would; the
verifiers' gradings go to whichever plugin grades reports, through the `demo_loaded` hook (the
validation plugin records them and scores the crisis in one batch). Nothing is fetched: the
messages are in data/, the rest comes from packages the app already uses.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from flask import current_app
from shapely import unary_union
from shapely.geometry import shape
from sqlalchemy import select

from .. import plugins
from ..alerts.subscriptions import create_subscription
from ..channels.base import Incoming
from ..channels.intake import store_messages
from ..channels.processing import process_messages
from ..crises.services import create_crisis
from ..errors import DomainError
from ..extensions import db
from ..maps.boundaries import import_boundaries
from ..maps.layers import create_layer
from ..models import Crisis, Report, User
from ..pages.revisions import create_page
from ..pages.sitrep import SITREP_CATEGORY
from ..reports.import_files import detect_mapping, open_table
from ..reports.importer import import_reports
from ..reports.triage import withdraw_report
from .facilities import facility_layers
from .messages import Message, Placer, csv_text, make_sources, read_messages, sector_of, title_of
from .people import DemoPeople, create_people
from .regions import region_boundaries

HERE = Path(__file__).parent
SEED = 2013
INBOX_MESSAGES = {"yolanda": 36, "bohol": 12}  # kept out of the reports, for the inbox
OUTCOME_SHARE = 0.2  # of the related messages: verified or refuted by a verifier
GRADED_SHARE = 0.12  # of the related messages: graded in The Matrix


@dataclass(frozen=True)
class CrisisSpec:
    event: str
    name: str
    slug: str
    glide: str
    bbox: str
    start: date
    description: str


CRISES = (
    CrisisSpec(
        "yolanda",
        "Typhoon Yolanda (Haiyan), Philippines",
        "yolanda-2013",
        "TC-2013-000139-PHL",
        "121.0,9.3,126.2,12.9",
        date(2013, 11, 8),
        "Demo workspace. The field reports are real public messages posted during the typhoon "
        "(CrisisLexT26, MIT licence); their places were assigned by the demo loader (from place names "
        "in the text through the gazetteer, else a town of the affected area), not given by their "
        "authors. Regions are approximate shapes with demo P-codes.",
    ),
    CrisisSpec(
        "bohol",
        "Bohol earthquake, Philippines",
        "bohol-2013",
        "EQ-2013-000134-PHL",
        "123.3,9.5,124.7,10.5",
        date(2013, 10, 15),
        "Demo workspace. The field reports are real public messages posted after the earthquake "
        "(CrisisLexT26, MIT licence); their places were assigned by the demo loader, not given by "
        "their authors. Regions are approximate shapes with demo P-codes.",
    ),
)
DEMO_SLUGS = tuple(spec.slug for spec in CRISES)


@dataclass
class DemoSummary:
    crises: list[str] = field(default_factory=list)
    reports: int = 0
    placed_by_name: int = 0
    outcomes: int = 0
    gradings: int = 0
    inbox: int = 0
    subscriptions: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def load_demo(admin: User) -> DemoSummary:
    """Load the demo into an empty database; returns what was made and how long each step took."""
    rng = random.Random(SEED)
    summary = DemoSummary()
    clock = _Clock(summary)
    people = create_people(admin)
    messages = read_messages()
    boundaries = region_boundaries()
    # Land as the regions draw it (simplified), so that every report gets its region.
    land = unary_union([shape(feature["geometry"]) for feature in boundaries["features"]])
    clock.lap("people and regions")
    for spec in CRISES:
        crisis = create_crisis(
            {
                "name": spec.name,
                "slug": spec.slug,
                "glide": spec.glide,
                "bbox": spec.bbox,
                "start_date": spec.start.isoformat(),
                "description": spec.description,
            },
            admin,
        )
        import_boundaries(crisis, 1, boundaries, people.coordinator)
        layers = {}
        if spec.event == "yolanda":
            for key, (meta, geojson) in facility_layers().items():
                layers[key] = create_layer(crisis, meta, geojson, people.coordinator).id
        clock.lap(f"{spec.slug}: crisis, regions, layers")
        own = [m for m in messages if m.event == spec.event]
        inbox, reports = _split(own, INBOX_MESSAGES[spec.event], rng)
        stats = _import_reports(crisis, reports, land, rng, people, spec.event)
        summary.reports += stats["reports"]
        summary.placed_by_name += stats["placed_by_name"]
        summary.outcomes += stats["outcomes"]
        clock.lap(f"{spec.slug}: reports imported")
        gradings = _gradings(crisis, stats["graded"], people, rng)
        summary.gradings += len(gradings)
        plugins.call("demo_loaded", crisis=crisis, gradings=gradings)
        clock.lap(f"{spec.slug}: gradings and scores")
        _withdraw_one(crisis, people)
        summary.inbox += _fill_inbox(crisis, inbox, rng)
        clock.lap(f"{spec.slug}: inbox")
        _pages(crisis, spec, layers, stats, len(gradings), people)
        summary.subscriptions += _subscriptions(crisis, spec, people)
        clock.lap(f"{spec.slug}: pages and subscriptions")
        summary.crises.append(spec.slug)
    return summary


class _Clock:
    def __init__(self, summary: DemoSummary) -> None:
        self.summary = summary
        self.last = time.monotonic()

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.summary.seconds[name] = round(now - self.last, 2)
        self.last = now


def _split(messages: list[Message], inbox_size: int, rng: random.Random) -> tuple[list[Message], list[Message]]:
    """Some of the newest messages for the inbox (a third of them off-topic, for the spam button),
    every other related message as a report (off-topic ones are left out)."""
    related = [m for m in messages if m.related]
    unrelated = [m for m in messages if not m.related]
    late = related[-inbox_size * 3 :]
    inbox = rng.sample(late, inbox_size - inbox_size // 3) + rng.sample(unrelated, min(len(unrelated), inbox_size // 3))
    chosen = {id(m) for m in inbox}
    return inbox, [m for m in related if id(m) not in chosen]


def _import_reports(crisis, messages, land, rng, people: DemoPeople, event: str) -> dict:
    placer = Placer(crisis, land, rng, event)
    sources = make_sources(rng, event)
    rows, graded = [], []
    outcomes = 0
    for number, message in enumerate(messages, start=1):
        pool = sources.get(message.source_kind)
        source = rng.choice(pool) if pool else None  # unlabelled: no source (anonymous)
        lon, lat, place = placer.place(message.text)
        status = "new"
        roll = rng.random()
        if roll < OUTCOME_SHARE:
            status = "verified" if rng.random() < (source.reliability if source else 0.5) else "refuted"
            outcomes += 1
        elif roll < OUTCOME_SHARE + 0.05:
            status = "under_review"
        reported = message.posted + timedelta(minutes=rng.randrange(2, 90))
        rows.append(
            {
                "id": f"{event}-{number}",
                "title": title_of(message.text),
                "description": message.text,
                "lat": lat,
                "lon": lon,
                "place_name": place,
                "occurred_at": message.posted.isoformat(),
                "received_at": reported.isoformat(),
                "sector": sector_of(message),
                "status": status,
                "sensitive": "yes" if _sensitive(message) else "no",
                "source_name": source.name if source else "",
                "source_contact": source.contact if source else "",
                "source_organisation": source.organisation if source else "",
            }
        )
        if status in ("verified", "refuted") or rng.random() < GRADED_SHARE:
            graded.append((f"import:{crisis.slug}:{event}-{number}", status, source))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{event}-messages.csv"
        path.write_text(csv_text(rows), encoding="utf-8")
        table = open_table(path)
        result = import_reports(
            table,
            crisis,
            detect_mapping(table.columns),
            filename="CrisisLexT26 messages (demo)",
            user=people.coordinator,
            listed_failures=20,
        )
    if result.failed:
        raise RuntimeError(f"the demo's reports did not import: {result.failures}")
    return {
        "reports": result.imported,
        "placed_by_name": placer.found,
        "outcomes": outcomes,
        "graded": graded,
    }


def _sensitive(message: Message) -> bool:
    from .messages import SENSITIVE

    return bool(SENSITIVE.search(message.text))


LETTERS = "ABCDE"


def _gradings(crisis, graded, people: DemoPeople, rng: random.Random) -> list[dict]:
    """What the demo's verifiers said of some reports: the source's reliability as they judged
    it (a letter near the truth), and the information's credibility (confirmed, probably true,
    possibly true ... improbable), after the outcome when there is one."""
    ids = dict(db.session.execute(select(Report.client_id, Report.id).where(Report.crisis_id == crisis.id)).all())
    gradings = []
    for client_id, status, source in graded:
        reliability = source.reliability if source else 0.5
        letter = LETTERS[min(4, max(0, int((1 - reliability) * 6 + rng.uniform(-0.8, 0.8))))]
        if status == "verified":
            credibility = rng.choice((1, 2))
        elif status == "refuted":
            credibility = rng.choice((4, 5))
        else:
            credibility = rng.choice((2, 3, 3, 4))
        verifier = rng.choice(people.verifiers)
        gradings.append(
            {"report_id": ids[client_id], "verifier_id": verifier.id, "reliability": letter, "credibility": credibility}
        )
    return gradings


def _withdraw_one(crisis, people: DemoPeople) -> None:
    """A report naming a missing person, withdrawn from public view to shield the people in it."""
    report = db.session.scalars(
        select(Report).where(Report.crisis_id == crisis.id, Report.sensitive.is_(True)).order_by(Report.id)
    ).first()
    if report is not None:
        withdraw_report(report, people.coordinator, "Names a private person and where they were last seen (demo).")


def _fill_inbox(crisis, messages: list[Message], rng: random.Random) -> int:
    incoming = [
        Incoming(
            external_id=f"demo-{crisis.slug}-{n}",
            sender=f"+63 918 555 {rng.randrange(1000, 9999)}",
            text=message.text,
            raw=message.text.encode(),
            recipient="+63 917 000 2013",
            sent_at=message.posted,
        )
        for n, message in enumerate(messages, start=1)
    ]
    stored = store_messages("smssync", incoming, crisis_hint=crisis.slug)
    process_messages([message_id for message_id, _again in stored])
    return len(stored)


def _substitute(text: str, values: dict) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


def _pages(crisis, spec: CrisisSpec, layers: dict, stats: dict, gradings: int, people: DemoPeople) -> None:
    values = {
        "reports": f"{stats['reports']:,}",
        "found": f"{stats['placed_by_name']:,}",
        "outcomes": f"{stats['outcomes']:,}",
        "gradings": f"{gradings:,}",
        **layers,
    }
    if spec.event == "bohol":
        pages = (("Main Page", "bohol_main.md", ["Overview"]),)
    else:
        pages = (
            ("Main Page", "main_page.md", ["Overview"]),
            ("About the demo data", "about.md", ["Overview"]),
            ("Situation Report No. 1", "sitrep_1.md", [SITREP_CATEGORY]),
            ("Situation Report No. 2", "sitrep_2.md", [SITREP_CATEGORY]),
            ("Key figures", "key_figures.md", ["Figures"]),
            ("Contacts", "contacts.md", ["Coordination"]),
        )
    for title, filename, categories in pages:
        body = _substitute((HERE / "pages" / filename).read_text(encoding="utf-8"), values)
        create_page(crisis, title, body, people.coordinator, "Demo content", categories)


def _subscriptions(crisis, spec: CrisisSpec, people: DemoPeople) -> int:
    """The responder's alerts: verified health and water reports in Eastern Visayas (a feed),
    and new situation reports by e-mail (its confirmation mail waits in /admin/mail)."""
    if spec.event != "yolanda":
        return 0
    wanted = [
        {
            "crisis": crisis.slug,
            "area": {"pcode": "PH08"},
            "sectors": ["health", "wash"],
            "statuses": ["verified"],
            "deliver": {"feed": True},
            "frequency": "immediate",
        },
        {"crisis": crisis.slug, "kind": "sitreps", "deliver": {"email": people.responder.email}, "frequency": "daily"},
        {
            "crisis": crisis.slug,
            "area": {"point": [125.0, 11.24], "radius_km": 15},
            "min_score": 0.7,
            "deliver": {"feed": True},
            "frequency": "hourly",
        },
    ]
    # Links in the confirmation mail point at the site as `make run` serves it, unless BASE_URL says.
    base = current_app.config.get("BASE_URL") or f"http://{os.environ.get('CRISISWIKI_BIND', '127.0.0.1:5000')}"
    with current_app.test_request_context("/", base_url=base):
        made = 0
        for data in wanted:
            try:
                with db.session.begin_nested():
                    create_subscription(data, people.responder)
                made += 1
            except DomainError:  # a score without a plugin that scores: that one is left out
                pass
        db.session.commit()
    return made


def demo_crises() -> list[Crisis]:
    return list(db.session.scalars(select(Crisis).where(Crisis.slug.in_([spec.slug for spec in CRISES]))))
