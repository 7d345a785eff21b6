"""The several-servers profile of `make bench`: two app servers behind nginx on one PostgreSQL.

1. A throwaway PostgreSQL cluster started here (tests/postgres_cluster.py's, restarted with the
   durable settings: fsync, synchronous_commit and full_page_writes on), one database in it.
2. The same corpus as bench/run.py loaded into it (run.py's prepare_instance, with DATABASE_URL
   and SEARCH_BACKEND=postgresql: the search backend several servers need).
3. Two gunicorn servers with the settings `make run` uses (gunicorn.conf.py; each runs the
   background jobs too, WORKER_IN_SERVERS=auto), sharing one instance folder, behind one nginx
   made of deploy/nginx's own files (an upstream of the two; anonymous page views answered from
   the app's page cache by nginx, as deployed).
4. run.py's workloads through nginx: page views logged out, page saves (1 and 8 clients),
   searches, report intake (16 clients, then the accepted reports counted in PostgreSQL), map
   viewports at three zooms.
5. Beside them the SQLite profile's figures: of the same run (bench/run.py --only ..., run here
   first) or, with --sqlite-from FILE, those of an earlier run (e.g. bench/results/latest.json,
   which `make bench` has just written), labelled with their date.
6. Write bench/results/two_servers.json and .md (with --quick too: "quick" says which).

Usage: python bench/two_servers.py [--quick] [--sqlite-from FILE]

Without PostgreSQL's server binaries (Debian's postgresql package: `make postgres`) it prints why
and exits 0, so that `make bench` goes on without this profile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import run, wrk_runner  # noqa: E402
from tests.postgres_cluster import Cluster, create_database, find_bindir  # noqa: E402

DEPLOY = ROOT / "deploy" / "nginx"
APP_PORTS = (5091, 5092)
NGINX_PORT = 8093
NGINX_ROOT = run.WORK / "nginx-two-servers"
# What deploy/nginx/crisiswiki-proxy.conf expects of the apps behind it, and the search backend
# several servers share (the Whoosh index is a folder of one machine's).
SETTINGS = {
    "CRISISWIKI_SEARCH_BACKEND": "postgresql",
    "CRISISWIKI_PROXY_FIX_X_FOR": "1",
    "CRISISWIKI_TRUSTED_PROXIES": "127.0.0.1",
}
DURABILITY = {
    "postgresql": "fsync=on, synchronous_commit=on, full_page_writes=on (PostgreSQL's defaults)",
    "sqlite": "WAL, synchronous=FULL (the app's settings)",
}
NGINX_CONF = """
{user}
worker_processes auto;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 1024; }}
http {{
    # Which app server answered each request ("-": nginx itself, from the page cache).
    log_format upstream '$upstream_addr';
    access_log {root}/upstream.log upstream buffer=256k flush=1s;
    sendfile on;
    keepalive_requests 100000;
    client_body_temp_path {root}/body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;
    include {root}/snippets/crisiswiki-maps.conf;
    upstream crisiswiki {{
        {servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        include {root}/snippets/crisiswiki-locations.conf;
    }}
}}
"""


def start_postgres() -> tuple[Cluster, str]:
    """A throwaway cluster as the test suite starts one, then restarted durable (the suite's runs
    with fsync off: no figure here may be bought with durability)."""
    cluster = Cluster()
    try:
        cluster.start()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={cluster.port} -c unix_socket_directories={cluster.root} "
            "-c max_connections=300"
        )
        cluster._run(
            "pg_ctl", "-D", str(cluster.data), "-o", options, "-l", str(cluster.root / "server.log"), "-w", "restart"
        )
        cluster.options = options  # what Cluster.restart() starts it with again: durable too
        server = f"postgresql://postgres@127.0.0.1:{cluster.port}"
        return cluster, create_database(server, "crisiswiki_bench")
    except BaseException:
        cluster.stop()
        raise


def postgres_settings(url: str) -> dict:
    with run.database_engine(url).connect() as conn:
        return {
            name: conn.exec_driver_sql(f"SHOW {name}").scalar_one()
            for name in ("server_version", "fsync", "synchronous_commit", "full_page_writes", "max_connections")
        }


def start_nginx(
    instance: Path, root: Path, app_ports: tuple[int, ...] = APP_PORTS, port: int = NGINX_PORT
) -> subprocess.Popen:
    """nginx with deploy/nginx's files (paths pointed at this instance) in front of the apps on
    `app_ports`, listening on `port`."""
    shutil.rmtree(root, ignore_errors=True)
    snippets = root / "snippets"
    snippets.mkdir(parents=True)
    for name in ("crisiswiki-maps.conf", "crisiswiki-proxy.conf", "crisiswiki-locations.conf"):
        text = (DEPLOY / name).read_text()
        text = text.replace("/var/lib/crisiswiki/instance", str(instance)).replace("/etc/nginx/snippets", str(snippets))
        (snippets / name).write_text(text)
    headers = subprocess.run(
        [str(run.BIN / "crisiswiki"), "nginx-headers"],
        env=run.server_env(instance),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    (snippets / "crisiswiki-security-headers.conf").write_text(headers.stdout)
    conf = root / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user="user root;" if os.geteuid() == 0 else "",
            root=root,
            port=port,
            servers="\n        ".join(f"server 127.0.0.1:{app_port};" for app_port in app_ports),
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    subprocess.run([nginx, "-t", "-q", "-e", str(root / "error.log"), "-c", str(conf), "-p", str(root)], check=True)
    process = subprocess.Popen(
        [nginx, "-e", str(root / "error.log"), "-c", str(conf), "-p", str(root), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=2).ok:
                return process
        except requests.RequestException:
            pass
        time.sleep(0.1)
    run.stop(process)
    raise RuntimeError(f"nginx did not start: {(root / 'error.log').read_text()[-2000:]}")


def sqlite_profile(quick: bool, source: Path | None) -> dict:
    """The SQLite profile's figures: run now (bench/run.py --only <every workload>), or read
    from an earlier result file."""
    if source is None:
        run.log("the SQLite profile (one gunicorn server, no nginx), same workloads: bench/run.py --only")
        command = [sys.executable, str(ROOT / "bench" / "run.py"), "--only", ",".join(run.WORKLOADS)]
        subprocess.run(command + (["--quick"] if quick else []), cwd=ROOT, check=True)
        source = run.RESULTS / ("only-" + "-".join(sorted(run.WORKLOADS)) + ("-quick" if quick else "") + ".json")
        same_run = True
    else:
        same_run = False
    data = json.loads(source.read_text())
    return {
        "source": str(source.relative_to(ROOT) if source.is_relative_to(ROOT) else source),
        "same_run": same_run,
        "when": data["when"],
        "quick": data["quick"],
        "corpus": data["corpus"],
        "crisiswiki": data["crisiswiki"],
        "ceiling": data.get("ceiling"),
    }


def two_server_workloads(settings: run.Settings) -> dict:
    if not wrk_runner.wrk_available():
        raise SystemExit("wrk is missing: run `make bench` (it installs Debian's wrk) or apt-get install wrk")
    cluster, url = start_postgres()
    processes = []
    try:
        run.log(f"PostgreSQL cluster up ({cluster.bindir}), database {url}")
        os.environ.update(SETTINGS, DATABASE_URL=url)
        instance, loaded = run.prepare_instance(settings, instance=run.WORK / "instance-two-servers")
        for port in APP_PORTS:
            processes.append(run.start_gunicorn(instance, port))
        run.log(f"two gunicorn servers on {APP_PORTS}; nginx in front on {NGINX_PORT}")
        processes.append(start_nginx(instance, NGINX_ROOT))
        results = run.crisiswiki_workloads(settings, loaded, base=f"http://127.0.0.1:{NGINX_PORT}", instance_db=url)
        two = {"postgresql": postgres_settings(url), "load_timings": loaded["timings"], "crisiswiki": results}
    finally:
        for process in reversed(processes):
            run.stop(process)
        cluster.stop()
    # Both servers must have answered (else this measured one server behind nginx).
    two["answered_by"] = answered_by(NGINX_ROOT / "upstream.log")
    return two


def answered_by(log: Path) -> dict[str, int]:
    """How many requests each app server answered, from nginx's log (read once nginx has stopped
    and flushed it); "nginx" counts what nginx answered itself from the page cache."""
    counts: dict[str, int] = {}
    for line in log.read_text().splitlines() if log.exists() else []:
        for address in line.replace(" : ", ", ").split(", "):  # a retried request names each server tried
            key = "nginx" if address.strip() == "-" else address.strip()
            counts[key] = counts.get(key, 0) + 1
    return counts


def row_cells(data: dict | None) -> tuple[str, str]:
    if not data or data.get("rps") is None:
        return "n/a", "n/a"
    return f"{data['rps']:,.1f}/s", run.lat(data)


ROWS = (
    ("page view, logged out (req/s)", "page_view"),
    ("page save, 1 client (saves/s)", "page_save_1"),
    ("page save, 8 clients (saves/s)", "page_save_8"),
    ("search, every answer fresh (queries/s)", "search_uncached"),
    ("search, as deployed (queries/s)", "search"),
    ("report intake, 16 clients (reports/s)", "report_intake"),
    ("map viewport, zoom 8 (req/s)", "map_zoom_8"),
    ("map viewport, zoom 11 (req/s)", "map_zoom_11"),
    ("map viewport, zoom 14 (req/s)", "map_zoom_14"),
)


def markdown(results: dict) -> str:
    two, sqlite = results["two_servers"]["crisiswiki"], (results.get("sqlite") or {}).get("crisiswiki") or {}
    sqlite_label = "SQLite, one server"
    if results.get("sqlite"):
        info = results["sqlite"]
        sqlite_label += f" ({'this run' if info['same_run'] else info['source'] + ', ' + info['when'][:10]})"
    lines = [
        f"| workload | two servers + nginx, PostgreSQL | p50 / p99 | {sqlite_label} | p50 / p99 | two servers / SQLite |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, key in ROWS:
        ours, theirs = two.get(key), sqlite.get(key)
        lines.append(
            f"| {name} | {' | '.join(row_cells(ours))} | {' | '.join(row_cells(theirs))} | "
            f"{run.ratio(ours and ours.get('rps'), theirs and theirs.get('rps'))} |"
        )
    lines.append("")
    for label, data in (("Two servers, PostgreSQL", two), ("SQLite", sqlite)):
        intake = data.get("report_intake")
        if intake:
            lines.append(
                f"{label}: report intake: {intake.get('accepted', 0)} reports answered 201, {intake.get('found', 0)} "
                f"of them found in the database afterwards; lost: {intake.get('lost', 'n/a')}, "
                f"duplicated: {intake.get('duplicates', 'n/a')}; non-2xx answers: "
                f"{ {s: n for s, n in intake.get('statuses', {}).items() if not 200 <= int(s) < 300} or 'none' }; "
                f"socket errors: {intake.get('errors')}; scored and searchable "
                f"{(data.get('settled_s') or {}).get('report_intake')} s after the surge."
            )
    pg = results["two_servers"]["postgresql"]
    lines += [
        "",
        f"Durability: PostgreSQL {pg['server_version']} with fsync={pg['fsync']}, synchronous_commit="
        f"{pg['synchronous_commit']}, full_page_writes={pg['full_page_writes']}; SQLite: {DURABILITY['sqlite']}.",
        "Two servers: each gunicorn with gunicorn.conf.py's settings (as `make run`), background jobs in the servers "
        "(WORKER_IN_SERVERS=auto), SEARCH_BACKEND=postgresql, one shared instance folder; nginx with deploy/nginx's "
        "files, so anonymous page views are answered by nginx from the app's page cache. SQLite: one gunicorn, "
        "wrk straight at it (no nginx), Whoosh search.",
        "Search as deployed: the PostgreSQL backend remembers no answers (wiki/search/result_cache.py: it has no "
        "index version to go by), so on two servers both search rows measure fresh answers.",
        f"Machine: {results['cores']} cores shared with other jobs (load average after: "
        f"{results['load_average_after']}): every figure is an upper bound on latency and a lower bound on what "
        "an idle machine does; the same wrk client runs on the same cores as the servers.",
        f"Requests answered, by whom (nginx's log): {results['two_servers'].get('answered_by')}.",
    ]
    return "\n".join(lines)


def report(results: dict) -> str:
    quick, corpus = results["quick"], results["corpus"]
    return (
        f"# crisiswiki: two app servers behind nginx on one PostgreSQL ({'quick' if quick else 'full'})\n\n"
        f"{results['when']} · {results['cores']} cores · {corpus['pages']} pages, {corpus['reports']} reports · "
        "`python bench/two_servers.py" + (" --quick" if quick else "") + "`\n\n" + markdown(results)
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="crisiswiki: two app servers behind nginx on one PostgreSQL")
    parser.add_argument("--quick", action="store_true", help="the small corpus and short runs of run.py --quick")
    parser.add_argument(
        "--sqlite-from",
        type=Path,
        default=None,
        help="show the SQLite figures of this earlier result file (e.g. bench/results/latest.json) "
        "instead of running the SQLite profile first",
    )
    args = parser.parse_args()
    if find_bindir() is None:
        print(
            "two-servers profile skipped: PostgreSQL's server binaries (initdb, postgres) are not installed "
            "(`make postgres` installs Debian's postgresql package)"
        )
        return
    if shutil.which("nginx") is None and not os.access("/usr/sbin/nginx", os.X_OK):
        print("two-servers profile skipped: nginx is not installed (`make bench-tools` installs nginx-light)")
        return
    started = time.perf_counter()
    settings = run.Settings(args.quick)
    run.WORK.mkdir(parents=True, exist_ok=True)
    run.RESULTS.mkdir(parents=True, exist_ok=True)
    sqlite = sqlite_profile(args.quick, args.sqlite_from)
    two = two_server_workloads(settings)
    results = {
        "when": datetime.now(UTC).isoformat(),
        "quick": settings.quick,
        "cores": os.cpu_count(),
        "load_average_after": [round(value, 2) for value in os.getloadavg()],
        "corpus": {"pages": settings.pages, "reports": settings.reports, "seed": run.corpus_module.SEED},
        "durability": DURABILITY,
        "versions": run.versions(),
        "two_servers": two,
        "sqlite": sqlite,
    }
    results["elapsed_s"] = round(time.perf_counter() - started, 1)
    name = "two_servers"  # with "quick" inside: one file, the last run's
    (run.RESULTS / f"{name}.json").write_text(json.dumps(results, indent=2, default=str))
    text = report(results)
    (run.RESULTS / f"{name}.md").write_text(text + "\n")
    print(text)
    run.log(f"done in {results['elapsed_s']} s")


if __name__ == "__main__":
    main()
