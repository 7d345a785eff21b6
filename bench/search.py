"""Benchmark: search over 100,000 field reports and 5,000 wiki pages, on both search backends.

The corpus is bench/corpus.py's, generated deterministically (seeded): report text is the real
multilingual crisis messages of ../shared/data/crisislex-t26 (repeated to reach 100,000, with
synthetic points around Haitian towns), pages are situation-report-shaped Markdown built from
the same messages and rendered by the real Markdown renderer. Both go into a fresh database with
batched inserts, then the index is built with the real `crisiswiki reindex` code (timed).

Then 200 queries, drawn (seeded) from a fixed list of single words, two-word queries, phrases
and field queries, each with or without a filter (sector, status, type, bbox, date range), are
run as an anonymous visitor, twice: a first pass that warms the caches, then the measured pass.
Two figures per query:

    index    the backend alone: match, rank, count, facet counts (what the index costs)
    service  the whole search as GET /api/v1/search serves it, minus HTTP: the above plus
             reading the results from the database, snippets, facet labels, "did you mean"

Whoosh runs on SQLite (the embedded default), PostgreSQL full-text search on PostgreSQL: a
throwaway server (tests/postgres_cluster.py) unless --postgres-url names one. p50/p99 are
printed and written to bench/results/search.json. Target: index p50 under 20 ms on Whoosh.

    .venv/bin/python bench/search.py [--reports 100000] [--pages 5000] [--queries 200]
                                     [--backends whoosh,postgresql] [--postgres-url URL]
                                     [--keep FOLDER [--reuse]]
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))
RESULTS = PROJECT / "bench" / "results" / "search.json"
SEED = 5
SINGLE = [
    "earthquake",
    "water",
    "hospital",
    "bridge",
    "shelter",
    "food",
    "terremoto",
    "sismo",
    "flood",
    "typhoon",
    "evacuation",
    "Léogâne",
    "Leogane",
    "Jacmel",
    "fire",
    "injured",
    "cholera",
    "tents",
    "donations",
    "rescue",
    "damage",
    "help",
    "victims",
    "police",
    "school",
    "road",
    "power",
    "medical",
    "supplies",
    "families",
    "missing",
    "dead",
    "aftershock",
    "tsunami",
    "magnitude",
    "alluvione",
    "inundaciones",
    "heridos",
    "blessés",
    "meteor",
]
TWO_WORDS = [
    "road blocked",
    "medical supplies",
    "clean water",
    "damaged houses",
    "search rescue",
    "power outage",
    "volunteers needed",
    "collapsed building",
    "water shortage",
    "food distribution",
    "death toll",
    "relief effort",
    "emergency shelter",
    "red cross",
    "rescue teams",
    "people killed",
    "flood warning",
    "train crash",
    "explosion plant",
    "terremoto italia",
]
PHRASES = [
    '"water supply"',
    '"field hospital"',
    '"red cross"',
    '"death toll"',
    '"search and rescue"',
    '"costa rica"',
    '"situation report"',
    '"key figures"',
    '"power outage"',
    '"stay safe"',
]
FIELDS = [
    "title:water",
    "sector:health",
    "sector:wash water",
    "status:verified earthquake",
    "type:page cholera",
    "earthquake -tsunami",
    "flood OR flooding",
    "title:situation report",
]
FILTERS = [
    {},
    {"sector": "health"},
    {"sector": "wash"},
    {"status": "verified"},
    {"type": "report"},
    {"type": "page"},
    {"bbox": "-72.8,18.3,-72.2,18.7"},
    {"since": "2010-01-20"},
    {"since": "2010-01-15", "until": "2010-01-25"},
]


def query_list(count: int) -> list[dict]:
    """`count` queries drawn (seeded) from the fixed list: every query text with and without a filter."""
    from bench.corpus import QUERIES

    texts = list(dict.fromkeys(SINGLE + TWO_WORDS + PHRASES + FIELDS + QUERIES))
    rng = random.Random(SEED)
    templates = [{"q": text} for text in texts] + [{"q": text, **rng.choice(FILTERS[1:])} for text in texts]
    return [dict(item) for item in rng.sample(templates, min(count, len(templates)))] + [
        dict(rng.choice(templates)) for _ in range(max(0, count - len(templates)))
    ]


def load(app, report_count: int, page_count: int, log) -> dict:
    """The corpus into the app's (freshly migrated) database, without indexing it."""
    from sqlalchemy import insert, update

    from bench.corpus import pages, reports
    from wiki.auth.accounts import create_user
    from wiki.crises.services import create_crisis
    from wiki.extensions import db
    from wiki.markup import render_markdown, slugify
    from wiki.migrations import upgrade_all
    from wiki.models import Page, Report, Revision, Source

    timings = {}
    with app.app_context():
        upgrade_all()
        admin = create_user("bench-admin", "bench-admin-password", role="admin")
        crisis = create_crisis(
            {
                "name": "2010 Haiti earthquake (benchmark)",
                "slug": "haiti-bench",
                "bbox": "-74.5,17.9,-71.6,20.1",
                "start_date": "2010-01-12",
            },
            admin,
        )
        source = Source(name="benchmark", channel="import")
        db.session.add(source)
        db.session.commit()
        started = time.perf_counter()
        batch = []
        for feature in reports(report_count):
            props = feature["properties"]
            occurred = datetime.fromisoformat(props["occurred_at"])
            lon, lat = feature["geometry"]["coordinates"]
            batch.append(
                {
                    "crisis_id": crisis.id,
                    "title": props["title"],
                    "description": props["description"],
                    "lon": lon,
                    "lat": lat,
                    "place_name": props["place_name"],
                    "occurred_at": occurred,
                    "received_at": occurred,
                    "updated_at": occurred,
                    "sector": props["sector"],
                    "status": props["status"],
                    "published": True,
                    "sensitive": False,
                    "channel": "import",
                    "source_id": source.id,
                }
            )
            if len(batch) == 5000:
                db.session.execute(insert(Report), batch)
                db.session.commit()
                batch = []
        if batch:
            db.session.execute(insert(Report), batch)
            db.session.commit()
        timings["reports_load_s"] = round(time.perf_counter() - started, 1)
        log(f"  {report_count} reports in {timings['reports_load_s']} s")
        started = time.perf_counter()
        now = datetime(2010, 1, 20, tzinfo=UTC)
        for number, item in enumerate(pages(page_count)):
            rendered = render_markdown(item["markdown"], link_base="/c/haiti-bench/wiki/")
            page_id = db.session.execute(
                insert(Page).values(
                    crisis_id=crisis.id,
                    slug=slugify(item["title"]),
                    title=item["title"],
                    protected=False,
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]
            revision_id = db.session.execute(
                insert(Revision).values(
                    page_id=page_id,
                    number=1,
                    title=item["title"],
                    body=item["markdown"],
                    html=rendered.html,
                    categories="",
                    comment="benchmark",
                    kind="create",
                    author_name="benchmark",
                    created_at=now,
                )
            ).inserted_primary_key[0]
            db.session.execute(update(Page).where(Page.id == page_id).values(current_revision_id=revision_id))
            if number % 500 == 499:
                db.session.commit()
        db.session.commit()
        timings["pages_load_s"] = round(time.perf_counter() - started, 1)
        log(f"  {page_count} pages in {timings['pages_load_s']} s")
    return timings


def build(app, log) -> float:
    from wiki.search.indexer import rebuild

    with app.app_context():
        started = time.perf_counter()
        rebuild()
        seconds = time.perf_counter() - started
    log(f"  index built in {seconds:.1f} s")
    return round(seconds, 1)


def percentiles(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "p50_ms": round(statistics.median(ordered), 2),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 2),
        "mean_ms": round(statistics.fmean(ordered), 2),
        "max_ms": round(ordered[-1], 2),
    }


def measure(app, queries: list[dict], log) -> dict:
    from flask_login import AnonymousUserMixin
    from werkzeug.datastructures import MultiDict

    from wiki.search.configured_backend import backend_for
    from wiki.search.query import SearchRequest
    from wiki.search.service import make_filters, search

    viewer = AnonymousUserMixin()
    index_ms, service_ms, totals, slowest = [], [], [], []
    with app.test_request_context("/api/v1/search"):
        backend = backend_for()
        requests = [SearchRequest.from_args(MultiDict(query)) for query in queries]
        for measured in (False, True):
            for search_request in requests:
                filters = make_filters(search_request, viewer)
                started = time.perf_counter()
                hits = backend.search(search_request.parsed, filters, 0, search_request.limit)
                index_time = (time.perf_counter() - started) * 1000
                started = time.perf_counter()
                page = search(search_request, viewer)
                service_time = (time.perf_counter() - started) * 1000
                if measured:
                    index_ms.append(index_time)
                    service_ms.append(service_time)
                    totals.append(hits.total)
                    slowest.append(
                        (round(service_time, 1), round(index_time, 1), hits.total, queries[len(index_ms) - 1])
                    )
                assert page.total == hits.total
    result = {
        "index": percentiles(index_ms),
        "service": percentiles(service_ms),
        "median_results": statistics.median(totals),
        "queries_with_results": sum(1 for total in totals if total),
        "slowest": [
            {"service_ms": service, "index_ms": index, "results": total, "query": query}
            for service, index, total, query in sorted(slowest, key=lambda item: -item[0])[:8]
        ],
    }
    log(f"  index   p50 {result['index']['p50_ms']} ms  p99 {result['index']['p99_ms']} ms")
    log(f"  service p50 {result['service']['p50_ms']} ms  p99 {result['service']['p99_ms']} ms")
    return result


def run_backend(name: str, database_url: str, folder: Path, args, queries: list[dict], log) -> dict:
    from wiki import create_app

    log(f"{name}: loading {args.reports} reports and {args.pages} pages")
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_PATH": str(folder / "instance"),
            "SECRET_KEY": "bench",
            "LOAD_ENTRYPOINT_PLUGINS": False,
            "SEARCH_BACKEND": name,
            "WORKER_IN_SERVERS": "false",
            "SERVER_NAME": "bench.local",
        }
    )
    reused = folder / "LOADED"
    if args.reuse and reused.exists():  # the corpus and its index from an earlier run with --keep
        result = json.loads(reused.read_text())
        log(f"  reusing the corpus and index in {folder}")
    else:
        result = {"database": database_url.split(":", 1)[0], **load(app, args.reports, args.pages, log)}
        result["build_s"] = build(app, log)
        if args.keep:
            reused.write_text(json.dumps(result))
    result.update(measure(app, queries, log))
    with app.app_context():
        from wiki.extensions import db

        db.session.remove()
        db.engine.dispose()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=int, default=100_000)
    parser.add_argument("--pages", type=int, default=5_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--backends", default="whoosh,postgresql")
    parser.add_argument("--postgres-url", help="a PostgreSQL server (without database name); default: a throwaway one")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--keep", type=Path, help="build in this folder and keep it (to look at the index afterwards)")
    parser.add_argument(
        "--reuse", action="store_true", help="with --keep: measure the corpus and index an earlier run kept there"
    )
    args = parser.parse_args()

    def log(message: str) -> None:
        print(message, flush=True)

    queries = query_list(args.queries)
    results = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "reports": args.reports,
        "pages": args.pages,
        "queries": len(queries),
        "viewer": "anonymous",
        "backends": {},
    }
    folder = args.keep or Path(tempfile.mkdtemp(prefix="crisiswiki-bench-search-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        backends = [name.strip() for name in args.backends.split(",") if name.strip()]
        if "whoosh" in backends:
            results["backends"]["whoosh"] = run_backend(
                "whoosh", f"sqlite:///{folder / 'whoosh.db'}", folder / "whoosh", args, queries, log
            )
        if "postgresql" in backends:
            from tests.postgres_cluster import Cluster, create_database

            cluster = None
            server = args.postgres_url
            if not server:
                cluster = Cluster()
                server = cluster.start()
            try:
                url = create_database(server.rstrip("/"), "crisiswiki_bench_search")
                results["backends"]["postgresql"] = run_backend(
                    "postgresql", url, folder / "postgresql", args, queries, log
                )
            finally:
                if cluster is not None:
                    cluster.stop()
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(results["backends"], indent=2))


if __name__ == "__main__":
    main()
