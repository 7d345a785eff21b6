"""`make bench`: crisiswiki, MediaWiki and the machine's ceiling, measured side by side in one run.

1. Generate the deterministic corpus (bench/corpus.py) and load it into a fresh instance.
2. Serve crisiswiki with gunicorn exactly as `make run` does (gunicorn.conf.py), and drive it
   from wrk over loopback: page views, page saves (1 and 8 clients), searches, report intake
   (16 clients, then count what reached the database), map viewports at three zooms.
3. The same page-view, save and search workloads against MediaWiki when `make bench-peer` has
   installed it (bench/peer/mediawiki.py).
4. The ceiling: the same rendered page as a static file from nginx, and the same report rows
   inserted by a bare SQLite loop with the same durability settings.
5. Write bench/results/latest.json and bench/results/latest.md.

Usage: python bench/run.py [--quick] [--no-peer] [--only WORKLOAD[,WORKLOAD]] [--reuse-instance]

--only runs the named crisiswiki workloads alone (page_view, page_save, search, intake, map),
without MediaWiki, the nginx ceiling or the feature benchmarks (the bare SQLite ceiling is kept
when intake is among them), and writes bench/results/only-<workloads>.json and .md.
--reuse-instance starts from a copy of the instance prepared by an earlier run on the same
corpus (saved in bench/work/instance-prepared), instead of loading, scoring and indexing the
corpus again (about 4 minutes): for measuring one workload again and again.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import requests
import sqlalchemy

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import corpus as corpus_module  # noqa: E402
from bench import wrk_runner  # noqa: E402

WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results"
BIN = Path(sys.executable).parent
PORT, NGINX_PORT = 5090, 8092


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


class Settings:
    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.pages = 300 if quick else 2000
        self.reports = 20_000 if quick else 100_000
        self.seconds = 5 if quick else 20
        self.save_seconds = 5 if quick else 15
        self.edited_pages = 100 if quick else 400  # MediaWiki's side edits its first 400 pages too


WORKLOADS = ("page_view", "page_save", "search", "intake", "map")


def prepare_instance(settings: Settings, reuse: bool = False, instance: Path | None = None) -> tuple[Path, dict]:
    """Load the corpus into a fresh instance (by default bench/work/instance, on SQLite; the
    database is DATABASE_URL's when it is set, as for every `crisiswiki` command)."""
    corpus = WORK / ("corpus-quick" if settings.quick else "corpus")
    instance = instance or WORK / "instance"
    prepared = WORK / ("instance-prepared-quick" if settings.quick else "instance-prepared")
    if reuse and (prepared / "loaded.json").exists():
        log(f"reusing the instance prepared earlier ({prepared})")
        shutil.rmtree(instance, ignore_errors=True)
        shutil.copytree(prepared, instance)
        os.environ.update(server_env(instance))
        return instance, json.loads((prepared / "loaded.json").read_text())
    manifest = corpus / "manifest.json"
    wanted = {"pages": settings.pages, "reports": settings.reports}
    if not manifest.exists() or {k: json.loads(manifest.read_text())[k] for k in wanted} != wanted:
        log(f"generating the corpus ({settings.pages} pages, {settings.reports} reports)")
        corpus_module.write(corpus, settings.pages, settings.reports)
    shutil.rmtree(instance, ignore_errors=True)
    instance.mkdir(parents=True)
    env = server_env(instance)
    subprocess.run(
        [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=ROOT
    )
    os.environ.update(env)
    from wiki import create_app

    app = create_app()
    from bench.load import load
    from wiki.database import write_lock_up_front

    # As a `crisiswiki` command writes: with the write lock taken up front (else every insert
    # logs a write-discipline warning with its stack, a million lines for the corpus).
    with write_lock_up_front():
        loaded = load(app, corpus, log=log)
    # rescore before reindex: a rescore queues every report for the index (its score is a search
    # filter), and the rebuild then settles that queue instead of the servers working through it
    # while they are being measured.
    for command in (["rescore"], ["reindex"]):
        if command[0] in app.cli.commands or _has_command(command[0]):
            started = time.perf_counter()
            result = subprocess.run(
                [str(BIN / "crisiswiki"), *command], env=env, capture_output=True, text=True, cwd=ROOT
            )
            loaded["timings"][f"{command[0]}_s"] = round(time.perf_counter() - started, 1)
            log(f"crisiswiki {command[0]}: exit {result.returncode} in {loaded['timings'][f'{command[0]}_s']} s")
    loaded["corpus"] = str(corpus)
    if reuse:
        shutil.rmtree(prepared, ignore_errors=True)
        shutil.copytree(instance, prepared)
        (prepared / "loaded.json").write_text(json.dumps(loaded))
    return instance, loaded


def _has_nginx() -> bool:
    return shutil.which("nginx") is not None or os.access("/usr/sbin/nginx", os.X_OK)


def _has_command(name: str) -> bool:
    result = subprocess.run([str(BIN / "crisiswiki"), "--help"], capture_output=True, text=True, cwd=ROOT)
    return f"  {name} " in result.stdout


def server_env(instance: Path, port: int = PORT) -> dict[str, str]:
    return {
        **os.environ,
        "CRISISWIKI_INSTANCE_PATH": str(instance),
        "CRISISWIKI_BIND": f"127.0.0.1:{port}",
        "CRISISWIKI_ANONYMOUS_SUBMIT_LIMIT": "100000000",
        "CRISISWIKI_LOG_LEVEL": "warning",
        # This checkout's code, whichever checkout the shared virtualenv's editable install points at
        # (the `crisiswiki` script would import that one's), as tests/servers.py does.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }


def start_gunicorn(instance: Path, port: int = PORT) -> subprocess.Popen:
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")],
        env=server_env(instance, port),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=open(instance / ("gunicorn.log" if port == PORT else f"gunicorn-{port}.log"), "ab"),  # noqa: SIM115
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if requests.get(base + "/api/v1/health", timeout=2).ok:
                return process
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=60)


def write_lines(lines: list[str]) -> str:
    handle = tempfile.NamedTemporaryFile("w", delete=False, suffix=".txt", dir=WORK)  # noqa: SIM115
    handle.write("\n".join(lines) + "\n")
    handle.close()
    return handle.name


# Read-only workloads (page views, searches) run this long unmeasured first, on both sides:
# the first requests of each server process and thread fill per-process caches (readers,
# column arrays, routes) that steady-state traffic finds full.
WARM_UP_SECONDS = 3


def crisiswiki_workloads(
    settings: Settings,
    loaded: dict,
    only: frozenset[str] = frozenset(WORKLOADS),
    base: str = f"http://127.0.0.1:{PORT}",
    instance_db: Path | str = WORK / "instance" / "crisiswiki.db",
) -> dict:
    """The workloads against `base`; `instance_db` is the database the server writes (the SQLite
    file, or a PostgreSQL URL), read to count what reached it and to wait for background work."""
    crisis = loaded["crisis"]
    results: dict = {}
    # The first pages are the ones the save workload edits (on both sides): views use the rest.
    edited = settings.edited_pages
    if "page_view" in only:
        pages = [f"/c/{crisis}/wiki/{urllib.parse.quote(slug)}" for slug in loaded["pages"][edited:]]
        # Every page once, as MediaWiki's parser cache is warmed: both sides are measured serving
        # pages they have rendered before (a miss renders the page, ~10 ms, and fills the cache).
        started = time.perf_counter()
        with requests.Session() as session:
            for path in pages:
                session.get(base + path, timeout=30)
        log(f"warmed the page cache: {len(pages)} pages in {time.perf_counter() - started:.1f} s")
    results["settled_s"] = {"start": settle(instance_db)}
    if "page_view" in only:
        log("workload 1: page views, logged out")
        view_env = {"WRK_PATHS": write_lines(pages)}
        wrk_runner.run(base, "paths.lua", WARM_UP_SECONDS, 8, 2, env=view_env)  # not measured (see WARM_UP_SECONDS)
        results["page_view"] = wrk_runner.run(base, "paths.lua", settings.seconds, 8, 2, env=view_env)

    if "page_save" in only:
        page_saves(settings, loaded, base, instance_db, results)

    search_paths = search_workload_paths(crisis) if "search" in only else []
    if search_paths:
        results["settled_s"]["search"] = settle(instance_db)
        log("workload 3: searches")
        search_env = {"WRK_PATHS": write_lines(search_paths)}
        # First every query answered afresh (Cache-Control: no-cache): the search engine itself.
        # Then as deployed, where anonymous answers are remembered per index version
        # (wiki/search/result_cache.py) and a fixed list of queries is answered from memory.
        fresh_env = {**search_env, "WRK_NO_CACHE": "1"}
        wrk_runner.run(base, "paths.lua", WARM_UP_SECONDS, 8, 2, env=fresh_env)  # not measured
        results["search_uncached"] = wrk_runner.run(base, "paths.lua", settings.seconds, 8, 2, env=fresh_env)
        wrk_runner.run(base, "paths.lua", WARM_UP_SECONDS, 8, 2, env=search_env)  # not measured
        results["search"] = wrk_runner.run(base, "paths.lua", settings.seconds, 8, 2, env=search_env)

    if "intake" in only:
        report_intake(settings, crisis, base, instance_db, results)

    viewports = map_viewport_paths(crisis) if "map" in only else {}
    if viewports:
        for zoom, paths in viewports.items():
            log(f"workload 5: map viewport at zoom {zoom}")
            results[f"map_zoom_{zoom}"] = wrk_runner.run(
                base, "paths.lua", settings.seconds // 2 or 3, 8, 2, env={"WRK_PATHS": write_lines(paths)}
            )
    return results


def database_engine(database: Path | str) -> sqlalchemy.Engine:
    """An engine on the server's database: a SQLite file's path, or a PostgreSQL URL."""
    from wiki.config import normalise_database_url

    url = f"sqlite:///{database}" if isinstance(database, Path) else normalise_database_url(database)
    return sqlalchemy.create_engine(url, poolclass=sqlalchemy.pool.NullPool)


def page_saves(settings: Settings, loaded: dict, base: str, instance_db: Path | str, results: dict) -> None:
    crisis, edited = loaded["crisis"], settings.edited_pages
    log("workload 2: page saves through the API, 1 and 8 clients")
    with database_engine(instance_db).connect() as conn:
        rows = conn.execute(
            sqlalchemy.text(
                "SELECT p.slug, p.current_revision_id FROM pages p JOIN crises c ON c.id = p.crisis_id "
                "WHERE c.slug = :crisis ORDER BY p.id LIMIT :edited"
            ),
            {"crisis": crisis, "edited": edited},
        ).all()
    saves = [f"/api/v1/pages/{crisis}/{urllib.parse.quote(slug)}\t{revision}" for slug, revision in rows]
    for clients in (1, 8):
        half = edited // 2
        env = {
            "WRK_PAGES": write_lines(saves[:half] if clients == 1 else saves[half:]),
            "WRK_TOKEN": loaded["token"],
            "WRK_THREADS": str(clients),
        }
        results[f"page_save_{clients}"] = wrk_runner.run(
            base, "page_save.lua", settings.save_seconds, clients, clients, env=env
        )
        results["settled_s"][f"page_save_{clients}"] = settle(instance_db)


def report_intake(settings: Settings, crisis: str, base: str, instance_db: Path | str, results: dict) -> None:
    log("workload 4: report intake, 16 clients")
    run_id = f"bench{int(time.time())}"
    ids_file = WORK / "intake-ids.txt"
    intake = wrk_runner.run(
        base,
        "report_intake.lua",
        settings.seconds,
        16,
        2,
        env={"WRK_CRISIS": crisis, "WRK_RUN": run_id, "WRK_IDS_OUT": str(ids_file)},
    )
    surge_ended = time.perf_counter()
    accepted = [int(i) for i in ids_file.read_text().split(",") if i]
    found = 0
    with database_engine(instance_db).connect() as conn:
        if accepted:
            stored = conn.execute(
                sqlalchemy.text("SELECT id FROM reports WHERE id >= :first"), {"first": min(accepted)}
            ).scalars()
            found = len(set(accepted) & set(stored))
        duplicates = conn.execute(
            sqlalchemy.text("SELECT count(*) - count(DISTINCT client_id) FROM reports WHERE client_id LIKE :run"),
            {"run": run_id + "-%"},
        ).scalar_one()
    intake.update(accepted=len(accepted), found=found, lost=len(set(accepted)) - found, duplicates=duplicates)
    results["report_intake"] = intake
    # The surge's reports are answered first; their scores and index entries follow. Counted from
    # the end of the surge (the check of the accepted ids above included).
    waited = settle(instance_db)
    results["settled_s"]["report_intake"] = None if waited is None else round(time.perf_counter() - surge_ended, 1)
    log(f"after the surge, every report was scored and indexed {results['settled_s']['report_intake']} s later")


def settle(database: Path | str, timeout: float = 300.0) -> float | None:
    """Wait until the server's background work is done (search queue empty; with the validation
    plugin, no report unscored or stale), so that each workload is measured on its own and not
    on the tail of the one before; returns the seconds waited (None: still busy at `timeout`).
    `database`: the SQLite file, or a PostgreSQL URL."""
    engine = database_engine(database)
    tables = set(sqlalchemy.inspect(engine).get_table_names())
    checks = ["SELECT count(*) FROM search_queue WHERE processed_at IS NULL"] if "search_queue" in tables else []
    if "validation_scores" in tables:
        checks += [
            "SELECT count(*) FROM reports LEFT JOIN validation_scores s ON s.report_id = reports.id WHERE s.report_id IS NULL",
            "SELECT count(*) FROM validation_scores WHERE stale",
        ]
    if "validation_stale_sources" in tables:  # a source marked stale: some of its scores are out of date
        checks.append("SELECT count(*) FROM validation_stale_sources")
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with engine.connect() as conn:
            if not any(conn.execute(sqlalchemy.text(check)).scalar_one() for check in checks):
                return round(time.perf_counter() - started, 1)
        time.sleep(0.5)
    return None


def search_workload_paths(crisis: str) -> list[str]:
    """The fixed query list as /api/v1/search requests (when the search feature is present)."""
    from flask import current_app  # noqa: F401

    from wiki import create_app

    app = create_app()
    if "api.search" not in {rule.endpoint for rule in app.url_map.iter_rules()}:
        return []
    paths = []
    for line in corpus_module.QUERIES:
        paths.append("/api/v1/search?" + urllib.parse.urlencode({"q": line}))
    for query, extra in zip(corpus_module.QUERIES, corpus_module.FILTERED * 6, strict=False):
        paths.append("/api/v1/search?" + urllib.parse.urlencode({"q": query}) + "&" + extra)
    return paths


def map_viewport_paths(crisis: str) -> dict[int, list[str]]:
    """Viewports around the towns at three zoom levels (country, region, town)."""
    from wiki import create_app

    app = create_app()
    endpoint = next((rule.rule for rule in app.url_map.iter_rules() if rule.endpoint == "api.map_reports"), None)
    if endpoint is None:
        return {}
    rng = random.Random(7)
    out: dict[int, list[str]] = {}
    for zoom, half in ((8, 1.6), (11, 0.2), (14, 0.025)):
        paths = []
        for _ in range(100):
            _name, lat, lon, _w = rng.choice(corpus_module.TOWNS)
            bbox = f"{lon - half:.4f},{lat - half / 2:.4f},{lon + half:.4f},{lat + half / 2:.4f}"
            paths.append(f"{endpoint}?crisis={crisis}&zoom={zoom}&bbox={bbox}")
        out[zoom] = paths
    return out


def nginx_ceiling(settings: Settings, loaded: dict) -> dict:
    """The same rendered page served as a static file by nginx."""
    slug = loaded["pages"][0]
    html = requests.get(
        f"http://127.0.0.1:{PORT}/c/{loaded['crisis']}/wiki/{urllib.parse.quote(slug)}", timeout=30
    ).content
    root = WORK / "nginx"
    shutil.rmtree(root, ignore_errors=True)
    (root / "www").mkdir(parents=True)
    (root / "www" / "page.html").write_bytes(html)
    conf = root / "nginx.conf"
    conf.write_text(f"""
worker_processes 2;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000;
  server {{ listen 127.0.0.1:{NGINX_PORT}; root {root}/www; }}
}}
""")
    subprocess.run(["nginx", "-c", str(conf)], check=True)
    try:
        result = wrk_runner.run(
            f"http://127.0.0.1:{NGINX_PORT}",
            "paths.lua",
            settings.seconds,
            8,
            2,
            env={"WRK_PATHS": write_lines(["/page.html"])},
        )
    finally:
        subprocess.run(["nginx", "-c", str(conf), "-s", "stop"], check=False)
    result["bytes"] = len(html)
    return result


def sqlite_ceiling(settings: Settings) -> dict:
    """The same report rows inserted by a bare loop, one transaction each, with the app's
    durability settings (WAL, synchronous=FULL): what the disk allows at best."""
    path = WORK / "ceiling.db"
    path.unlink(missing_ok=True)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute(
        "CREATE TABLE reports (id INTEGER PRIMARY KEY, crisis_id INT, title TEXT, description TEXT, lon REAL, lat REAL, "
        "sector TEXT, status TEXT, received_at TEXT, client_id TEXT UNIQUE)"
    )
    count, started = 0, time.perf_counter()
    deadline = started + settings.seconds
    while time.perf_counter() < deadline:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(
            "INSERT INTO reports (crisis_id, title, description, lon, lat, sector, status, received_at, client_id) "
            "VALUES (1, ?, 'Water point damaged, people queueing since morning.', -72.3, 18.5, 'wash', 'new', ?, ?)",
            (f"Intake report {count}", datetime.now(UTC).isoformat(), f"ceiling-{count}"),
        )
        conn.execute("COMMIT")
        count += 1
    elapsed = time.perf_counter() - started
    conn.close()
    return {"rows": count, "seconds": round(elapsed, 2), "rps": round(count / elapsed, 1)}


def plugin_benchmarks(settings: Settings) -> dict:
    """Feature benchmarks that live in their own scripts (scoring, truth discovery, ...): the
    script, its extra arguments, and the result it writes (bench/results/<name>.json); those on
    PostgreSQL are skipped, with the reason, where its server binaries are missing."""
    from tests.postgres_cluster import find_bindir

    out = {}
    for script_name, extra, name in (
        ("validation_scoring", [], "validation_scoring"),
        # Crowd-Kit's aggregators run live on every set of up to 30,000 claims; on the three
        # larger held-out sets they take minutes to tens of minutes each, so their figures come
        # from a run apart (bench/results/crowdkit_large_sets.jsonl), and the largest (fact_eval,
        # 216,725 claims: over 30 minutes) is left without them, as its row says.
        (
            "truth_discovery",
            ["--crowdkit-max-claims", "30000", "--crowdkit-from", "bench/results/crowdkit_large_sets.jsonl"],
            "truth_discovery",
        ),
        ("report_scoring", [], "report_scoring"),
        ("alerts", [], "alerts"),
        ("dashboard", [], "dashboard"),
        ("import_reports", [], "import_reports"),
        ("import_reports", ["--path", "web"], "import_reports_web"),
        ("crisis_day", [], "crisis_day"),
        ("crisis_day", ["--faults"], "crisis_day_faults"),
        # The same faults on its own durable PostgreSQL, restarted during the run too.
        ("crisis_day", ["--faults", "--postgres"], "crisis_day_faults_postgresql"),
        # The several-server profile: two app servers behind nginx on one PostgreSQL, without
        # faults, then with one app server SIGKILLed and started again (and the rest).
        ("crisis_day", ["--two-servers"], "crisis_day_two_servers"),
        ("crisis_day", ["--two-servers", "--faults"], "crisis_day_two_servers_faults"),
        ("clicks", [], "clicks"),
        ("truth_clicks", [], "truth_clicks"),
    ):
        script = ROOT / "bench" / f"{script_name}.py"
        if not script.exists():
            continue
        reason = None
        if {"--postgres", "--two-servers"} & set(extra) and find_bindir() is None:
            reason = "PostgreSQL's server binaries are not installed (`make postgres` installs them)"
        elif "--two-servers" in extra and not _has_nginx():
            reason = "nginx is not installed (`make bench-tools` installs nginx-light)"
        if reason:
            log(f"benchmark {name} skipped: {reason}")
            out[name] = {"skipped": reason}
            continue
        log(f"benchmark {name}")
        args = [sys.executable, str(script), *extra] + (["--quick"] if settings.quick else [])
        # Crowd-Kit's aggregators on 25 sets take most of half an hour on 2 cores.
        timeout = 2400 if script_name == "truth_discovery" else 900
        result = subprocess.run(args, capture_output=True, text=True, cwd=ROOT, timeout=timeout)
        path = RESULTS / f"{name}.json"
        out[name] = (
            json.loads(path.read_text())
            if result.returncode == 0 and path.exists()
            else {"error": (result.stderr or result.stdout)[-2000:]}
        )
    return out


def versions() -> dict:
    def first_line(command: list[str]) -> str:
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=10)
            return (result.stdout or result.stderr).strip().splitlines()[0]
        except (OSError, IndexError, subprocess.TimeoutExpired):
            return "not found"

    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "flask": version("flask"),
        "sqlalchemy": sqlalchemy.__version__,
        "sqlite": sqlite3.sqlite_version,
        "gunicorn": first_line([str(BIN / "gunicorn"), "--version"]),
        "wrk": first_line(["wrk", "--version"]),
        "nginx": first_line(["nginx", "-v"]),
        "kernel": platform.release(),
    }


def ratio(a: float | None, b: float | None) -> str:
    if not a or not b:
        return "n/a"
    return f"{a / b:.1f}×" if a / b >= 1 else f"{a / b:.2f}×"


def markdown_table(results: dict) -> str:
    cw, mw, ceiling = results["crisiswiki"], results.get("mediawiki") or {}, results["ceiling"]

    def cell(data: dict | None, key: str = "rps", unit: str = "/s") -> str:
        if not data or data.get(key) is None:
            return "n/a"
        return f"{data[key]:,.1f}{unit}" if unit == "/s" else f"{data[key]:,.1f} {unit}"

    rows = [
        ("page view (req/s)", cw.get("page_view"), mw.get("page_view"), ceiling.get("nginx_page")),
        ("page save, 1 client (saves/s)", cw.get("page_save_1"), mw.get("page_save_1"), None),
        ("page save, 8 clients (saves/s)", cw.get("page_save_8"), mw.get("page_save_8"), None),
        ("search, every answer fresh (queries/s)", cw.get("search_uncached"), mw.get("search"), None),
        ("search, as deployed: anonymous answers remembered (queries/s)", cw.get("search"), mw.get("search"), None),
        ("report intake, 16 clients (reports/s)", cw.get("report_intake"), None, ceiling.get("sqlite_insert")),
    ]
    lines = [
        "| workload | crisiswiki | p50 / p99 | MediaWiki | p50 / p99 | ceiling | crisiswiki/MediaWiki | crisiswiki/ceiling |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, ours, theirs, top in rows:
        if results.get("only") and ours is None:
            continue
        lines.append(
            f"| {name} | {cell(ours)} | {lat(ours)} | {cell(theirs)} | {lat(theirs)} | {cell(top)} | "
            f"{ratio(ours and ours.get('rps'), theirs and theirs.get('rps'))} | "
            f"{ratio(ours and ours.get('rps'), top and top.get('rps'))} |"
        )
    for key in sorted(k for k in cw if k.startswith("map_zoom_")):
        data = cw[key]
        lines.append(
            f"| map viewport, zoom {key.split('_')[-1]} (req/s) | {cell(data)} | {lat(data)} | n/a | n/a | n/a | n/a | n/a |"
        )
    intake = cw.get("report_intake") or {}
    lines += [
        "",
        f"Report intake: {intake.get('accepted', 0)} reports answered 201, {intake.get('found', 0)} of them found in "
        f"the database afterwards; lost: {intake.get('lost', 'n/a')}, duplicated: {intake.get('duplicates', 'n/a')}.",
    ]
    settled = cw.get("settled_s") or {}
    if settled.get("report_intake") is not None:
        lines.append(
            f"Every one of them was scored and searchable {settled['report_intake']} s after the surge ended "
            "(scoring and indexing run behind intake). Each workload starts once the server's background work "
            f"is done; seconds waited: {settled}."
        )
    return "\n".join(lines)


def lat(d: dict | None) -> str:
    return f"{d['p50_ms']:.1f} / {d['p99_ms']:.1f} ms" if d and "p50_ms" in d else "n/a"


def parse_only(value: str) -> frozenset[str]:
    names = frozenset(name.strip() for name in value.split(",") if name.strip())
    unknown = names - set(WORKLOADS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"workloads are {', '.join(WORKLOADS)} (comma-separated), not {value!r}")
    return names


def main() -> None:
    parser = argparse.ArgumentParser(description="crisiswiki benchmarks")
    parser.add_argument("--quick", action="store_true", help="a smaller corpus and shorter runs (under 3 minutes)")
    parser.add_argument("--no-peer", action="store_true", help="skip MediaWiki even if it is installed")
    parser.add_argument(
        "--only",
        type=parse_only,
        default=None,
        help=f"only these crisiswiki workloads, comma-separated ({', '.join(WORKLOADS)}); no MediaWiki, no features",
    )
    parser.add_argument(
        "--reuse-instance", action="store_true", help="start from the instance an earlier run prepared (same corpus)"
    )
    args = parser.parse_args()
    if not wrk_runner.wrk_available():
        raise SystemExit("wrk is missing: run `make bench` (it installs Debian's wrk) or apt-get install wrk")
    settings = Settings(args.quick)
    only = args.only or frozenset(WORKLOADS)
    started = time.perf_counter()
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    instance, loaded = prepare_instance(settings, reuse=args.reuse_instance)
    server = start_gunicorn(instance)
    nginx = None
    try:
        cw = crisiswiki_workloads(settings, loaded, only)
        if args.only is None:
            log("ceiling: nginx static page")
            nginx = nginx_ceiling(settings, loaded)
    finally:
        stop(server)
    ceiling = {"nginx_page": nginx}
    if "intake" in only:
        log("ceiling: bare SQLite insert loop")
        ceiling["sqlite_insert"] = sqlite_ceiling(settings)
    mediawiki = None
    if not args.no_peer and args.only is None:
        try:
            from bench.peer import mediawiki as peer

            if peer.available():
                log("MediaWiki workloads")
                mediawiki = peer.run_workloads(
                    Path(loaded["corpus"]), settings.seconds, 8, 8, 8, save_seconds=settings.save_seconds
                )
            else:
                log("MediaWiki is not installed: run `make bench-peer` to add it to the comparison")
        except ImportError:
            log("bench/peer/mediawiki.py is missing: MediaWiki not compared")
    results = {
        "when": datetime.now(UTC).isoformat(),
        "quick": settings.quick,
        "only": sorted(only) if args.only else None,
        "cores": os.cpu_count(),
        # What else ran on the machine meanwhile (it is shared): cores busy, at the end.
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "corpus": {"pages": settings.pages, "reports": settings.reports, "seed": corpus_module.SEED},
        "load_timings": loaded["timings"],
        "versions": versions(),
        "crisiswiki": cw,
        "mediawiki": mediawiki,
        "ceiling": ceiling,
        "features": plugin_benchmarks(settings) if args.only is None else None,
    }
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    name = "latest-quick" if settings.quick else "latest"
    if args.only:
        name = "only-" + "-".join(sorted(only)) + ("-quick" if settings.quick else "")
    (RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    table = markdown_table(results)
    header = (
        f"# crisiswiki benchmark ({'quick' if settings.quick else 'full'})\n\n{results['when']} · {results['cores']} cores · "
        f"{settings.pages} pages, {settings.reports} reports · "
        + ", ".join(f"{k} {v}" for k, v in results["versions"].items())
        + "\n\n"
    )
    (RESULTS / f"{name}.md").write_text(header + table + "\n")
    print(header + table)
    log(f"done in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
