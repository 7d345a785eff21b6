"""Load the benchmark corpus into a crisiswiki database, fast.

Pages go through the real service layer (`create_page`: rendering, sanitising, link tables),
so what the page-view workload serves is exactly what a coordinator's save produces. The
100,000 reports go in with batched Core inserts (the API's per-request path is what the intake
workload measures); then the bulk hook `reports_imported` lets the features that follow
reports (admin areas, search, scores) catch up the way they do after an import.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import insert, select

CRISIS = "haiti-bench"
BATCH = 5000


def load(app, corpus: Path, page_limit: int | None = None, report_limit: int | None = None, log=print) -> dict:
    from wiki import plugins
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.extensions import db
    from wiki.models import ApiToken, Report, Source, User
    from wiki.pages.revisions import create_page
    from wiki.reports.input import normalise_contact

    timings = {}
    with app.test_request_context():
        admin = db.session.scalar(select(User).where(User.username == "bench-admin"))
        if admin is None:
            admin = create_user("bench-admin", "bench-admin-password", role="admin", display_name="Benchmark")
        _token, plain = ApiToken.issue(admin, "benchmark")
        db.session.commit()
        crisis = create_crisis(
            {
                "name": "2010 Haiti earthquake (benchmark)",
                "slug": CRISIS,
                "glide": "EQ-2010-000009-HTI",
                "bbox": "-74.5,17.9,-71.6,20.1",
                "start_date": "2010-01-12",
            },
            admin,
        )
        started = time.perf_counter()
        titles = []
        with (corpus / "pages.jsonl").open(encoding="utf-8") as handle:
            for n, line in enumerate(handle):
                if page_limit is not None and n >= page_limit:
                    break
                item = json.loads(line)
                revision = create_page(
                    crisis, item["title"], item["markdown"], admin, "benchmark corpus", ["Situation reports"]
                )
                titles.append(revision.page.slug)
                db.session.expunge_all()
                crisis = db.session.merge(crisis)
                admin = db.session.merge(admin)
        timings["pages_s"] = round(time.perf_counter() - started, 1)
        log(f"loaded {len(titles)} pages in {timings['pages_s']} s")

        started = time.perf_counter()
        now = datetime.now(UTC)
        sources: dict[str, int] = {}
        anonymous_source = db.session.execute(
            insert(Source).values(name="", channel="web", created_at=now).returning(Source.id)
        ).scalar_one()
        batch, report_ids, total = [], [], 0
        with (corpus / "reports.jsonl").open(encoding="utf-8") as handle:
            for n, line in enumerate(handle):
                if report_limit is not None and n >= report_limit:
                    break
                feature = json.loads(line)
                props = feature["properties"]
                contact = props["source"]["contact"]
                if contact:
                    digest = hashlib.sha256(normalise_contact(contact).encode()).hexdigest()
                    if digest not in sources:
                        sources[digest] = db.session.execute(
                            insert(Source)
                            .values(
                                contact_hash=digest,
                                contact=contact,
                                name=props["source"]["name"],
                                organisation="",
                                channel=props["source"]["channel"],
                                created_at=now,
                            )
                            .returning(Source.id)
                        ).scalar_one()
                    source_id = sources[digest]
                else:
                    source_id = anonymous_source
                lon, lat = feature["geometry"]["coordinates"]
                batch.append(
                    {
                        "crisis_id": crisis.id,
                        "title": props["title"],
                        "description": props["description"],
                        "lon": lon,
                        "lat": lat,
                        "place_name": props["place_name"],
                        "occurred_at": datetime.fromisoformat(props["occurred_at"]),
                        "received_at": now,
                        "updated_at": now,
                        "sector": props["sector"],
                        "status": props["status"],
                        "published": True,
                        "sensitive": False,
                        "channel": props["source"]["channel"],
                        "source_id": source_id,
                        "client_id": props["client_id"],
                    }
                )
                if len(batch) >= BATCH:
                    report_ids += _flush(db, Report, batch)
                    total += len(batch)
                    batch = []
        if batch:
            report_ids += _flush(db, Report, batch)
            total += len(batch)
        db.session.commit()
        timings["reports_s"] = round(time.perf_counter() - started, 1)
        log(f"loaded {total} reports in {timings['reports_s']} s")
        started = time.perf_counter()
        crisis = db.session.merge(crisis)
        for start in range(0, len(report_ids), BATCH):
            plugins.call("reports_imported", crisis=crisis, report_ids=report_ids[start : start + BATCH])
        timings["reports_imported_hooks_s"] = round(time.perf_counter() - started, 1)
        log(f"bulk hooks done in {timings['reports_imported_hooks_s']} s")
        return {"token": plain, "crisis": CRISIS, "pages": titles, "reports": total, "timings": timings}


def _flush(db, model, rows: list[dict]) -> list[int]:
    ids = list(db.session.scalars(insert(model).returning(model.id), rows))
    db.session.commit()
    return ids
