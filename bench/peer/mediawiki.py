"""MediaWiki, the peer in the side-by-side benchmark: what a coordinator would otherwise install.

Usage: python bench/peer/mediawiki.py install [--parser-cache accel|db] | import [--corpus DIR] [--force]
       | warm | start | stop | status | run [--seconds N] [--save-body short|full]
`make bench-peer` = install + corpus (if missing) + import + warm; bench/run.py calls
`available()` and `run_workloads()`. install, import, start and stop need root: run as a normal
user, they re-run themselves through sudo.

How it is set up, and why
- Debian 12's own packages, as a coordinator would install them: `mediawiki` 1.39 (LTS),
  Apache 2.4 with mod_php 8.2 (libapache2-mod-php), php-sqlite3, php-apcu, php-intl,
  php-mbstring (apt-get --no-install-recommends, so the package's "recommends" do not pull in a
  MySQL server; php-cli, php-xml, php-curl and php-wikidiff2 are named instead).
- SQLite: no database server to run, the same storage as crisiswiki's default. The database
  lives in bench/work/mediawiki/data (owned by www-data), made by maintenance/install.php;
  install.php's LocalSettings.php is kept there as LocalSettings.base.php and
  /etc/mediawiki/LocalSettings.php is that plus the settings block below, rewritten by every
  `install` (so a change here reaches an existing install).
- Apache listens only on 127.0.0.1:8081 (ports.conf is replaced; the default :80 site and the
  package's /mediawiki alias are disabled); the wiki is the DocumentRoot of one virtual host on
  that address, AllowOverride None (no .htaccess lookups), no access log (gunicorn's bench has
  none either). mpm_prefork (mod_php needs it) with 12 processes started and up to 24: every
  wrk connection (8 at most) has a ready process, and more would only compete for the 2 cores.
  KeepAlive with unlimited requests per connection, as wrk and gunicorn do.
- PHP: OPcache on with validate_timestamps=0 (no stat() per included file; `start` always does
  a full stop/start, so new code or settings are picked up), 256 MB for code, 20,000 files;
  APCu on with 512 MB (enough to hold the parser output of every page), realpath cache 4 MB
  (Debian's /var/lib/mediawiki is a tree of symlinks). No JIT (Debian's default).
- MediaWiki: $wgMainCacheType, $wgParserCacheType, $wgMessageCacheType and sessions in APCu
  (CACHE_ACCEL) - the fastest caches a single-server MediaWiki has (`install --parser-cache db`
  puts the parser cache in SQLite's objectcache table instead: measured here, a warm page view
  costs the same ~21-25 ms of server CPU either way); the localisation cache as
  CDB files in $wgCacheDirectory; sidebar cache on; $wgJobRunRate = 0 (jobs run by `import`
  with runJobs.php, never inside a measured request); uploads, InstantCommons and pingback
  off; the default SQLite full-text search (SearchSqlite over the FTS `searchindex` table,
  filled by rebuildtextindex.php). The HTML file cache ($wgUseFileCache) stays off: the issue
  compares against MediaWiki serving page views from a warm parser cache.
- Users: "Admin" (install.php) and "BenchBot" (bot + sysop: the bot right marks the edits,
  noratelimit lifts the edit rate limits). Passwords are random, kept in
  bench/work/mediawiki/data/credentials.json (root only, 0600); all of it is on loopback.
- The parser cache lives in APCu, so it is empty after every Apache start: `warm()` requests
  every page once with a thread pool (30-120 s) and records the Apache process it warmed;
  `run_workloads()` warms first when that record does not match the running Apache.
- importDump.php imports the pages with today's timestamp (so recent changes holds them);
  control characters that XML 1.0 cannot carry (3 in the corpus' tweets) become U+FFFD, as
  MediaWiki's own input normalisation would make them. runJobs.php runs in batches with the
  hard open-file limit: 1.39's SQLite job queue keeps two descriptors open per job run.

Workloads (wrk over loopback, bench/wrk_runner.py), as for crisiswiki:
1. page view: random pages logged out, /index.php?title=<Title> (bench/wrk/paths.lua);
2. page save: api.php action=edit, form-encoded, as BenchBot (logged in once with
   action=clientlogin; cookie and CSRF token passed to bench/wrk/mediawiki_edit.lua), with 1
   client, then 8 (one wrk thread per client, each editing its own pages). By default the text
   is the same short body crisiswiki's page_save.lua sends (in wikitext), on the first 400 pages
   (the first 200 for 1 client, the next 200 for 8 clients); those 400 pages are left out of
   the page-view set, since their saved text is no longer a 5 KB situation report. With
   save_body="full" each save sends the page's whole original wikitext plus one line. An edit
   answered 200 without "result":"Success" counts as status 599 (a failure);
3. search: /index.php?search=<q>&fulltext=1&ns0=1 over the first field of each line of the
   corpus' queries.txt (bench/wrk/paths.lua), for at least 15 s (one search costs 0.6-1.4 s of CPU).
Each result also carries server_cpu_ms_per_request: Apache/PHP CPU time per request, which stays
put on a machine shared with other work where requests/s and latencies do not.

Measured here on 2026-11-25 (`run --seconds 10`; the 2 cores were shared with other engineers'
test runs, load average 3-9, so the rates are low and noisy - CPU per request is the steadier
figure): page view 22-65 req/s, p50 130-460 ms, 21-25 ms of CPU each (so ~70-80/s at best on
an idle 2-core machine); save, short body: 1 client 12-21/s (p50 35-85 ms), 8 clients 11-31/s
(p50 160-400 ms, p99 2-6.6 s: SQLite's single writer), 21-27 ms CPU each; save, full body:
1 client 5.8/s, 8 clients 6.5/s, ~37 ms CPU each; search 0.3-0.8 queries/s, p50 3-13 s,
0.6-1.4 s CPU each. No failed saves. The issue's 26 views/s at p50 ~300 ms is what this set-up
gives under that load; the parser cache in SQLite instead of APCu costs the same CPU per view.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from xml.sax.saxutils import escape

import requests

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import wrk_runner  # noqa: E402

HOST, PORT = "127.0.0.1", 8081
BASE_URL = f"http://{HOST}:{PORT}"
WORK = ROOT / "bench" / "work" / "mediawiki"
DATA = WORK / "data"
DEFAULT_CORPUS = ROOT / "bench" / "work" / "corpus"
CREDENTIALS = DATA / "credentials.json"
IMPORTED = DATA / "imported.json"
WARMED = WORK / "warmed.json"
WARM_UP_SECONDS = 3  # read-only workloads run this long unmeasured first (as bench/run.py does)
BASE_SETTINGS = DATA / "LocalSettings.base.php"
INSTALL_CHOICES = DATA / "install.json"
MW_IP = Path("/usr/share/mediawiki")
MW_WEBROOT = Path("/var/lib/mediawiki")
LOCAL_SETTINGS = Path("/etc/mediawiki/LocalSettings.php")
DB_NAME = "my_wiki"
BOT = "BenchBot"
SETTINGS_MARK = "# --- crisiswiki benchmark settings (bench/peer/mediawiki.py) ---"
XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# One MediaWiki search costs 0.6-1.4 s of CPU: with 8 connections on 2 cores a 5-second run would
# finish almost none (wrk's percentiles would then be empty), so searches run at least this long.
SEARCH_MIN_SECONDS = 15
SAVE_PAGES = 400  # the first 400 corpus pages take the saves (200 for 1 client, 200 for 8), as in bench/run.py
PACKAGES = [
    "mediawiki",
    "apache2",
    "libapache2-mod-php",
    "php-cli",
    "php-sqlite3",
    "php-apcu",
    "php-intl",
    "php-mbstring",
    "php-xml",
    "php-curl",
    "php-wikidiff2",
]
SITE_NAME = "crisiswiki-bench-mediawiki"
SITE_CONF = f"""# MediaWiki for the crisiswiki benchmark (bench/peer/mediawiki.py): loopback only.
ServerName {HOST}
KeepAlive On
MaxKeepAliveRequests 0
KeepAliveTimeout 5

<VirtualHost {HOST}:{PORT}>
    ServerName {HOST}
    DocumentRoot {MW_WEBROOT}
    DirectoryIndex index.php
    <Directory {MW_WEBROOT}/>
        Options +FollowSymLinks
        AllowOverride None
        Require all granted
    </Directory>
    <Directory {MW_WEBROOT}/config>
        Options -FollowSymLinks
        Require all denied
    </Directory>
    <Directory {MW_WEBROOT}/images>
        Options -FollowSymLinks
        <IfModule php_module>
            php_admin_flag engine off
        </IfModule>
    </Directory>
    <Directory {MW_WEBROOT}/cache>
        Require all denied
    </Directory>
    ErrorLog ${{APACHE_LOG_DIR}}/{SITE_NAME}-error.log
</VirtualHost>
"""
PORTS_CONF = f"""# Written by bench/peer/mediawiki.py: Apache serves MediaWiki for the benchmark on loopback only.
Listen {HOST}:{PORT}
"""
PREFORK_CONF = """# Written by bench/peer/mediawiki.py, for a 2-core machine driven by at most 8 wrk connections:
# a ready process for every connection, not so many that they only fight over the cores.
<IfModule mpm_prefork_module>
    StartServers            12
    MinSpareServers         10
    MaxSpareServers         16
    ServerLimit             24
    MaxRequestWorkers       24
    MaxConnectionsPerChild  0
</IfModule>
"""
PHP_INI = """; Written by bench/peer/mediawiki.py: MediaWiki as fast as Debian's PHP makes it.
opcache.enable = 1
opcache.memory_consumption = 256
opcache.interned_strings_buffer = 32
opcache.max_accelerated_files = 20000
opcache.validate_timestamps = 0
apc.enabled = 1
apc.shm_size = 512M
apc.ttl = 0
realpath_cache_size = 4096K
realpath_cache_ttl = 3600
memory_limit = 256M
"""


def log(message: str) -> None:
    print(f"[mediawiki {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _run(
    command: list[str],
    *,
    user: str | None = None,
    check: bool = True,
    quiet: bool = False,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> subprocess.CompletedProcess:
    if user:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(
        command, capture_output=True, text=True, env={**os.environ, **(env or {})}, check=False, timeout=timeout
    )
    if check and result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        )
    if not quiet and result.stdout.strip():
        for line in result.stdout.strip().splitlines()[-5:]:
            log(f"  {line}")
    return result


def _maintenance(script: str, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run a MediaWiki maintenance script as www-data (the owner of the SQLite files)."""
    return _run(["php", str(MW_IP / "maintenance" / script), *args], user="www-data", timeout=timeout)


def _as_root(action: str, *args: str) -> bool:
    """Re-run this CLI action through sudo when not root; True when it did (and succeeded)."""
    if os.geteuid() == 0:
        return False
    if shutil.which("sudo") is None:
        raise SystemExit(f"`{action}` changes the system (packages, Apache): run it as root")
    subprocess.run(["sudo", sys.executable, str(Path(__file__).resolve()), action, *args], check=True)
    return True


def _systemd() -> bool:
    return Path("/run/systemd/system").is_dir()  # sd_booted(): systemd is the init


# --- install -------------------------------------------------------------------------------------


def _missing_packages() -> list[str]:
    missing = []
    for package in PACKAGES:
        result = subprocess.run(
            ["dpkg-query", "-W", "-f", "${Status}", package], capture_output=True, text=True, check=False
        )
        if "install ok installed" not in result.stdout:
            missing.append(package)
    return missing


def _apt_install(packages: list[str]) -> None:
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    command = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *packages]
    if subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env}, check=False).returncode != 0:
        _run(["apt-get", "update", "-q"], quiet=True, env=env)
        _run(command, quiet=True, env=env)


def _php_version() -> str:
    return _run(["php", "-r", "echo PHP_MAJOR_VERSION . '.' . PHP_MINOR_VERSION;"], quiet=True).stdout.strip()


def _configure_apache() -> None:
    Path("/etc/apache2/ports.conf").write_text(PORTS_CONF)
    Path("/etc/apache2/mods-available/mpm_prefork.conf").write_text(PREFORK_CONF)
    Path(f"/etc/apache2/sites-available/{SITE_NAME}.conf").write_text(SITE_CONF)
    php_ini = Path(f"/etc/php/{_php_version()}/apache2/conf.d/99-{SITE_NAME}.ini")
    php_ini.write_text(PHP_INI)
    _run(["a2dismod", "-q", "-f", "mpm_event", "mpm_worker"], check=False, quiet=True)
    _run(["a2enmod", "-q", "mpm_prefork", f"php{_php_version()}"], quiet=True)
    _run(["a2dissite", "-q", "000-default", "default-ssl"], check=False, quiet=True)
    _run(["a2disconf", "-q", "mediawiki", "other-vhosts-access-log"], check=False, quiet=True)
    _run(["a2ensite", "-q", SITE_NAME], quiet=True)
    _run(["apache2ctl", "configtest"], quiet=True)


def _parser_cache() -> str:
    """ "accel" (APCu, the default) or "db" (SQLite's objectcache), as chosen at install."""
    try:
        return json.loads(INSTALL_CHOICES.read_text())["parser_cache"]
    except (OSError, ValueError, KeyError):
        return "accel"


def _settings_block(parser_cache: str) -> str:
    return f"""
{SETTINGS_MARK}
# Everything below is rewritten by `python bench/peer/mediawiki.py install`.
$wgServer = "{BASE_URL}";
$wgCanonicalServer = "{BASE_URL}";
$wgScriptPath = "";
$wgSitename = "Crisis Bench";
$wgMainCacheType = CACHE_ACCEL;
$wgParserCacheType = {"CACHE_ACCEL" if parser_cache == "accel" else "CACHE_DB"};
$wgMessageCacheType = CACHE_ACCEL;
$wgSessionCacheType = CACHE_ACCEL;
$wgCacheDirectory = "{DATA / "cache"}";
$wgEnableSidebarCache = true;
$wgUseFileCache = false;
$wgJobRunRate = 0;
$wgEnableUploads = false;
$wgUseInstantCommons = false;
$wgPingback = false;
$wgSearchType = null;
$wgGroupPermissions['bot']['noratelimit'] = true;
$wgGroupPermissions['sysop']['noratelimit'] = true;
$wgShowExceptionDetails = true;
"""


def _write_local_settings(parser_cache: str) -> None:
    base = BASE_SETTINGS.read_text()
    text = base.split(SETTINGS_MARK)[0].rstrip() + "\n" + _settings_block(parser_cache)
    LOCAL_SETTINGS.parent.mkdir(parents=True, exist_ok=True)
    LOCAL_SETTINGS.write_text(text)
    LOCAL_SETTINGS.chmod(0o644)


def _installed_db() -> bool:
    return (DATA / f"{DB_NAME}.sqlite").exists() and BASE_SETTINGS.exists() and CREDENTIALS.exists()


def _run_installer() -> None:
    log("running MediaWiki's maintenance/install.php (SQLite)")
    if LOCAL_SETTINGS.exists():  # an install from an earlier, removed data folder: keep a copy, start over
        LOCAL_SETTINGS.replace(LOCAL_SETTINGS.with_suffix(".php.bak"))
    shutil.rmtree(DATA, ignore_errors=True)
    (DATA / "cache").mkdir(parents=True)
    credentials = {
        "admin": "Admin",
        "admin_password": secrets.token_urlsafe(18),
        "bot": BOT,
        "bot_password": secrets.token_urlsafe(18),
    }
    confdir = Path(tempfile.mkdtemp(prefix="mw-install-"))
    _run(["chown", "-R", "www-data:www-data", str(DATA), str(confdir)], quiet=True)
    passfile = confdir / "pass"
    passfile.write_text(credentials["admin_password"])
    _run(["chown", "www-data", str(passfile)], quiet=True)
    try:
        _run(
            [
                "php",
                str(MW_IP / "maintenance" / "install.php"),
                "--dbtype",
                "sqlite",
                "--dbpath",
                str(DATA),
                "--dbname",
                DB_NAME,
                "--server",
                BASE_URL,
                "--scriptpath",
                "",
                "--lang",
                "en",
                "--skins",
                "Vector",
                "--passfile",
                str(passfile),
                "--confpath",
                str(confdir),
                "Crisis Bench",
                credentials["admin"],
            ],
            user="www-data",
            quiet=True,
        )
        shutil.copy(confdir / "LocalSettings.php", BASE_SETTINGS)
    finally:
        shutil.rmtree(confdir, ignore_errors=True)
    _write_local_settings("accel")
    _maintenance("createAndPromote.php", "--bot", "--sysop", credentials["bot"], credentials["bot_password"])
    CREDENTIALS.write_text(json.dumps(credentials))
    CREDENTIALS.chmod(0o600)


def install(parser_cache: str | None = None) -> None:
    """Install and configure Debian's MediaWiki with Apache on 127.0.0.1:8081 (idempotent).
    parser_cache: "accel" (APCu) or "db" (SQLite); by default the earlier choice, else "accel"."""
    parser_cache = parser_cache or _parser_cache()
    if parser_cache not in ("accel", "db"):
        raise ValueError("parser_cache is 'accel' or 'db'")
    if _as_root("install", "--parser-cache", parser_cache):
        return
    missing = _missing_packages()
    if missing:
        log(f"apt-get install {' '.join(missing)}")
        _apt_install(missing)
    _configure_apache()
    if not _installed_db():
        _run_installer()
    else:
        log("MediaWiki already installed in bench/work/mediawiki/data: settings rewritten")
    _write_local_settings(parser_cache)
    INSTALL_CHOICES.write_text(json.dumps({"parser_cache": parser_cache}))
    WARMED.unlink(missing_ok=True)
    _run(["chown", "-R", "www-data:www-data", str(DATA)], quiet=True)
    _run(["chown", "root:root", str(CREDENTIALS)], quiet=True)
    _maintenance("update.php", "--quick")  # a no-op on a fresh install; brings the schema up after a package upgrade
    _restart()
    log(f"MediaWiki answers on {BASE_URL} ({versions()['mediawiki']})")


# --- import --------------------------------------------------------------------------------------


def _read_pages(corpus_dir: Path) -> list[dict]:
    with (Path(corpus_dir) / "pages.jsonl").open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _xml_text(text: str) -> str:
    """Escaped for XML 1.0, which cannot hold most control characters (the corpus' tweets have
    a few): they become U+FFFD, as MediaWiki's own input normalisation would make them."""
    return escape(XML_INVALID.sub("\ufffd", text))


def _dump_xml(pages: list[dict], path: Path) -> None:
    """A MediaWiki XML export (schema 0.11) holding one revision of each page."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # today: the pages show in recent changes
    with path.open("w", encoding="utf-8") as out:
        out.write('<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">\n')
        for page in pages:
            out.write(
                f"<page><title>{_xml_text(page['title'])}</title><ns>0</ns><revision>"
                f"<timestamp>{stamp}</timestamp>"
                f"<contributor><username>{BOT}</username></contributor><comment>Imported for the benchmark</comment>"
                "<model>wikitext</model><format>text/x-wiki</format>"
                f'<text xml:space="preserve">{_xml_text(page["wikitext"])}</text></revision></page>\n'
            )
        out.write("</mediawiki>\n")


def run_jobs() -> None:
    """Run the job queue dry. MediaWiki 1.39's JobQueueDB on SQLite opens (and keeps) two file
    descriptors per job run, so runJobs.php dies at ~500 jobs under www-data's default limit of
    1,024 open files: it runs with the hard limit, 1,000 jobs per process."""
    for _ in range(500):
        if int(_maintenance("showJobs.php").stdout.strip() or 0) == 0:
            return
        _run(
            [
                "bash",
                "-c",
                'ulimit -n "$(ulimit -Hn)"; exec php "$0" --quiet --maxjobs 1000',
                str(MW_IP / "maintenance" / "runJobs.php"),
            ],
            user="www-data",
            quiet=True,
            timeout=3600,
        )
    raise RuntimeError("the job queue did not empty")


def import_pages(corpus_dir: Path | str = DEFAULT_CORPUS, force: bool = False) -> None:
    """Import the corpus' wikitext with importDump.php, then run the jobs and rebuild recent
    changes, the search index and the site statistics."""
    if _as_root("import", "--corpus", str(corpus_dir), *(["--force"] if force else [])):
        return
    if not _installed_db():
        raise SystemExit("MediaWiki is not installed: run `python bench/peer/mediawiki.py install` first")
    pages = _read_pages(Path(corpus_dir))
    titles = [page["title"] for page in pages]
    if not force and IMPORTED.exists() and json.loads(IMPORTED.read_text()).get("titles") == titles:
        log(f"the {len(titles)} pages are already imported")
        return
    dump = WORK / "import.xml"
    _dump_xml(pages, dump)
    _run(["chown", "www-data:www-data", str(dump)], quiet=True)
    timings = {}
    for name, script, args in (
        ("import", "importDump.php", ["--quiet", str(dump)]),
        ("jobs", "runJobs.php", []),
        ("recentchanges", "rebuildrecentchanges.php", []),
        ("textindex", "rebuildtextindex.php", []),
        ("sitestats", "initSiteStats.php", ["--update"]),
    ):
        log(f"{script} {' '.join(args)}")
        started = time.perf_counter()
        if script == "runJobs.php":
            run_jobs()
        else:
            _maintenance(script, *args, timeout=3600)
        timings[name] = round(time.perf_counter() - started, 1)
    dump.unlink(missing_ok=True)
    IMPORTED.write_text(json.dumps({"corpus": str(corpus_dir), "titles": titles, "timings_s": timings}))
    _run(["chown", "www-data:www-data", str(IMPORTED)], quiet=True)
    WARMED.unlink(missing_ok=True)
    log(f"imported {len(titles)} pages: {timings}")


# --- the server ----------------------------------------------------------------------------------


def _apache_pid() -> int | None:
    try:
        pid = int(Path("/var/run/apache2/apache2.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def answering() -> bool:
    """True when the MediaWiki API answers on 127.0.0.1:8081."""
    try:
        reply = requests.get(
            f"{BASE_URL}/api.php", params={"action": "query", "meta": "siteinfo", "format": "json"}, timeout=10
        )
        return reply.ok and "generator" in reply.json().get("query", {}).get("general", {})
    except (requests.RequestException, ValueError):
        return False


def _wait(until_up: bool, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if until_up and answering():
            return
        if not until_up and _apache_pid() is None:
            return
        time.sleep(0.3)
    raise RuntimeError(f"Apache did not {'start' if until_up else 'stop'} within {seconds:.0f} s")


def start() -> None:
    """Start Apache (a no-op when MediaWiki already answers)."""
    if answering():
        return
    if _as_root("start"):
        return
    if _systemd():
        _run(["systemctl", "start", "apache2"], quiet=True)
    else:
        _run(["apache2ctl", "start"], quiet=True)
    _wait(until_up=True)


def stop() -> None:
    """Stop Apache (and with it the APCu parser cache)."""
    if _apache_pid() is None:
        return
    if _as_root("stop"):
        return
    if _systemd():
        _run(["systemctl", "stop", "apache2"], check=False, quiet=True)
    else:
        _run(["apache2ctl", "stop"], check=False, quiet=True)
    _wait(until_up=False)
    if _parser_cache() == "accel":  # APCu went with Apache; a parser cache in SQLite stays warm
        WARMED.unlink(missing_ok=True)


def _restart() -> None:
    stop()
    start()


def available() -> bool:
    """True when MediaWiki is installed, the corpus imported, and it answers on 127.0.0.1:8081
    (Apache is started here when it is installed but not running)."""
    if not (IMPORTED.exists() and LOCAL_SETTINGS.exists() and SETTINGS_MARK in LOCAL_SETTINGS.read_text()):
        return False
    if not answering():
        try:
            start()
        except (RuntimeError, subprocess.CalledProcessError) as error:
            log(f"could not start Apache: {error}")
            return False
    return answering()


# --- workloads -----------------------------------------------------------------------------------


def title_path(title: str) -> str:
    """A title as MediaWiki writes it in a URL (spaces as underscores, wfUrlencode's safe set)."""
    return "/index.php?title=" + urllib.parse.quote(title.replace(" ", "_"), safe=";@$!*(),/~:")


def _imported_titles() -> list[str]:
    return json.loads(IMPORTED.read_text())["titles"]


def warm(threads: int = 4) -> dict:
    """Request every page once, logged out, so each page view is served from the parser cache."""
    start()
    titles = _imported_titles()
    started = time.perf_counter()
    failures = 0

    def fetch(title: str) -> bool:
        try:
            return requests.get(BASE_URL + title_path(title), timeout=120).status_code == 200
        except requests.RequestException:
            return False

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        for ok in pool.map(fetch, titles):
            failures += not ok
    elapsed = round(time.perf_counter() - started, 1)
    result = {
        "pages": len(titles),
        "failures": failures,
        "seconds": elapsed,
        "apache_pid": _apache_pid(),
        "at": time.time(),
        "parser_cache": _parser_cache(),
    }
    if not failures:
        try:
            WARMED.write_text(json.dumps(result))
        except OSError as error:  # not root: the next run warms again
            log(f"could not record the warm-up: {error}")
    log(f"warmed {len(titles)} pages in {elapsed} s ({failures} failures)")
    return result


def _is_warm() -> bool:
    if not WARMED.exists():
        return False
    record = json.loads(WARMED.read_text())
    same_cache = (
        record.get("apache_pid") == _apache_pid() or record.get("parser_cache") == "db"
    )  # APCu empties on restart
    return (
        same_cache and record.get("parser_cache") == _parser_cache() and time.time() - record.get("at", 0) < 12 * 3600
    )


def login() -> tuple[str, str]:
    """Log BenchBot in (action=clientlogin); returns the Cookie header and the CSRF token."""
    credentials = (
        json.loads(_run(["sudo", "cat", str(CREDENTIALS)], quiet=True).stdout)
        if os.geteuid()
        else json.loads(CREDENTIALS.read_text())
    )
    session = requests.Session()
    api = f"{BASE_URL}/api.php"
    token = session.get(
        api, params={"action": "query", "meta": "tokens", "type": "login", "format": "json"}, timeout=30
    ).json()["query"]["tokens"]["logintoken"]
    reply = session.post(
        api,
        data={
            "action": "clientlogin",
            "username": credentials["bot"],
            "password": credentials["bot_password"],
            "logintoken": token,
            "loginreturnurl": BASE_URL + "/",
            "format": "json",
        },
        timeout=30,
    ).json()
    if reply.get("clientlogin", {}).get("status") != "PASS":
        raise RuntimeError(f"MediaWiki login failed: {reply}")
    csrf = session.get(api, params={"action": "query", "meta": "tokens", "format": "json"}, timeout=30).json()["query"][
        "tokens"
    ]["csrftoken"]
    cookie = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
    return cookie, csrf


def _write(folder: Path, name: str, lines: list[str]) -> str:
    path = folder / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return str(path)


def _edit_lines(pages: list[dict], save_body: str) -> list[str]:
    """One line per page for mediawiki_edit.lua: the form-encoded title, then (full body only)
    the form-encoded original wikitext."""
    lines = []
    for page in pages:
        title = urllib.parse.quote_plus(page["title"])
        lines.append(f"{title}\t{urllib.parse.quote_plus(page['wikitext'])}" if save_body == "full" else title)
    return lines


def _apache_cpu_seconds() -> float:
    """CPU time (user + system) used so far by Apache and its PHP: every apache2 process, plus
    what the children that already exited left in their parent's account."""
    ticks, master = 0, str(_apache_pid())
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name, fields = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :].split()
        if name == "apache2":
            ticks += (
                int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if entry.name == master else 0)
            )
    return ticks / os.sysconf("SC_CLK_TCK")


def _measure(
    script: str, seconds: int, connections: int, threads: int, env: dict[str, str], timeout_s: int = 30
) -> dict:
    """wrk_runner.run, plus the server's CPU per request: Apache/PHP CPU seconds over the run
    (after the requests still in flight when wrk stops have finished) divided by the requests
    answered plus those in flight. On a machine shared with other work that figure stays put
    where requests/s and latencies do not."""
    before = _apache_cpu_seconds()
    result = wrk_runner.run(BASE_URL, script, seconds, connections, threads, env=env, timeout_s=timeout_s)
    used, deadline = _apache_cpu_seconds() - before, time.monotonic() + timeout_s
    while time.monotonic() < deadline:  # the last requests run on after wrk has hung up
        time.sleep(0.5)
        now = _apache_cpu_seconds() - before
        if now - used < 0.02:
            break
        used = now
    result["server_cpu_ms_per_request"] = round(1000 * used / max(result["requests"] + connections, 1), 1)
    return result


def run_workloads(
    corpus_dir: Path | str,
    seconds: int,
    connections_view: int,
    connections_save: int,
    connections_search: int,
    save_seconds: int | None = None,
    save_body: str = "short",
) -> dict:
    """Page views, page saves (1 client, then `connections_save`) and searches against MediaWiki."""
    if save_body not in ("short", "full"):
        raise ValueError("save_body is 'short' or 'full'")
    start()
    imported = _imported_titles()
    corpus_pages = {page["title"]: page for page in _read_pages(Path(corpus_dir))}
    if not set(imported) <= set(corpus_pages):  # another corpus (--quick): take the imported one's text
        corpus_pages = {page["title"]: page for page in _read_pages(Path(json.loads(IMPORTED.read_text())["corpus"]))}
    save_pages = [corpus_pages[title] for title in imported[:SAVE_PAGES]]
    view_titles = [title for title in imported if title in corpus_pages][SAVE_PAGES:] or imported
    if not _is_warm():
        log("the parser cache is cold (Apache restarted since the last warm-up): warming it")
        warm()
    results: dict = {}
    inputs = Path(tempfile.mkdtemp(prefix="mediawiki-bench-"))  # wrk's input files (paths, pages to edit)
    try:
        _workloads(
            results,
            inputs,
            view_titles,
            save_pages,
            corpus_dir,
            seconds,
            connections_view,
            connections_save,
            connections_search,
            save_seconds,
            save_body,
        )
    finally:
        shutil.rmtree(inputs, ignore_errors=True)
    results["versions"] = versions()
    cache = "APCu" if _parser_cache() == "accel" else "SQLite (CACHE_DB)"
    results["settings"] = {
        "parser_cache": f"{cache}, warm",
        "opcache": "on, validate_timestamps=0",
        "apcu": "on, 512 MB",
        "database": "SQLite",
        "search": "SearchSqlite (FTS)",
        "save_body": save_body,
        "mpm": "prefork, 12-24 processes",
    }
    return results


def _workloads(
    results: dict,
    inputs: Path,
    view_titles: list[str],
    save_pages: list[dict],
    corpus_dir: Path | str,
    seconds: int,
    connections_view: int,
    connections_save: int,
    connections_search: int,
    save_seconds: int | None,
    save_body: str,
) -> None:
    log(f"page view: {len(view_titles)} pages, {connections_view} connections, {seconds} s")
    view_paths = _write(inputs, "paths-view.txt", [title_path(title) for title in view_titles])
    _measure(
        "paths.lua", WARM_UP_SECONDS, connections_view, 2, {"WRK_PATHS": view_paths}
    )  # not measured, as on our side
    results["page_view"] = _measure("paths.lua", seconds, connections_view, 2, {"WRK_PATHS": view_paths})

    cookie, csrf = login()
    half = len(save_pages) // 2
    for clients, pages in ((1, save_pages[:half]), (connections_save, save_pages[half:])):
        log(f"page save: {clients} client(s), {len(pages)} pages, {save_body} body")
        env = {
            "WRK_PAGES": _write(inputs, f"edits-{clients}.txt", _edit_lines(pages, save_body)),
            "WRK_COOKIE": cookie,
            "WRK_TOKEN": urllib.parse.quote_plus(csrf),
            "WRK_THREADS": str(clients),
            "WRK_BODY": save_body,
        }
        result = _measure("mediawiki_edit.lua", save_seconds or seconds, clients, clients, env)
        result["failed"] = sum(n for status, n in result["statuses"].items() if not 200 <= status < 300)
        results[f"page_save_{clients}"] = result

    queries = []
    for line in (Path(corpus_dir) / "queries.txt").read_text(encoding="utf-8").splitlines():
        query = line.split("\t")[0].strip()
        if query and query not in queries:
            queries.append(query)
    search_seconds = max(seconds, SEARCH_MIN_SECONDS)
    log(f"search: {len(queries)} queries, {connections_search} connections, {search_seconds} s")
    search_paths = _write(
        inputs,
        "paths-search.txt",
        ["/index.php?" + urllib.parse.urlencode({"search": q, "fulltext": "1", "ns0": "1"}) for q in queries],
    )
    _measure(
        "paths.lua", WARM_UP_SECONDS, connections_search, 2, {"WRK_PATHS": search_paths}, timeout_s=60
    )  # not measured
    results["search"] = _measure(
        "paths.lua", search_seconds, connections_search, 2, {"WRK_PATHS": search_paths}, timeout_s=60
    )


def versions() -> dict:
    def output(command: list[str]) -> str:
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=10, check=False).stdout.strip()
        except OSError:
            return "not found"

    mediawiki = output(["dpkg-query", "-W", "-f", "${Version}", "mediawiki"]) or "not installed"
    try:
        general = requests.get(
            f"{BASE_URL}/api.php", params={"action": "query", "meta": "siteinfo", "format": "json"}, timeout=10
        ).json()["query"]["general"]
        mediawiki = f"{general['generator']} (Debian {mediawiki})"
    except (requests.RequestException, ValueError, KeyError):
        pass
    apache = output(["apache2", "-v"]).splitlines()
    return {
        "mediawiki": mediawiki,
        "php": output(["php", "-r", "echo PHP_VERSION;"]),
        "apache": apache[0].replace("Server version: ", "") if apache else "not found",
    }


def status() -> dict:
    return {
        "installed": LOCAL_SETTINGS.exists() and _installed_db(),
        "imported": IMPORTED.exists(),
        "answering": answering(),
        "warm": _is_warm(),
        "url": BASE_URL,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="MediaWiki for the side-by-side benchmark")
    parser.add_argument("action", choices=["install", "import", "warm", "start", "stop", "status", "run"])
    parser.add_argument("--corpus", default=str(DEFAULT_CORPUS), help="corpus folder (bench/corpus.py's output)")
    parser.add_argument("--force", action="store_true", help="import again even if this corpus was imported")
    parser.add_argument("--seconds", type=int, default=10, help="seconds per workload (run)")
    parser.add_argument(
        "--parser-cache",
        choices=["accel", "db"],
        help="install: where the parser cache lives (APCu by default; db = SQLite's objectcache table)",
    )
    parser.add_argument("--save-body", choices=["short", "full"], default="short", help="what each save sends (run)")
    args = parser.parse_args()
    if args.action == "install":
        install(args.parser_cache)
    elif args.action == "import":
        import_pages(args.corpus, force=args.force)
    elif args.action == "warm":
        print(json.dumps(warm()))
    elif args.action == "start":
        start()
    elif args.action == "stop":
        stop()
    elif args.action == "status":
        print(json.dumps(status(), indent=2))
    elif args.action == "run":
        if not available():
            raise SystemExit("MediaWiki is not installed and imported: run `make bench-peer`")
        print(json.dumps(run_workloads(args.corpus, args.seconds, 8, 8, 8, save_body=args.save_body), indent=2))


if __name__ == "__main__":
    main()
