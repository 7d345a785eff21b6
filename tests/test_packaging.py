"""The wheel is the product: built with `pip wheel --no-deps`, installed into a fresh virtualenv,
it sets up a database and serves pages, hashed static files and the API from a folder outside
the repository. In a checkout (the editable install the tests run in) the same files come from
the repository's top-level static/ and migrations/.

To stay within a minute or so, the fresh virtualenv does not download its dependencies: a `.pth`
file puts this test run's site-packages behind its own (the dependencies resolve there), and
the wheel itself is installed with `--no-deps --ignore-installed` into the new environment, so
`wiki` and `plugins` are imported from the wheel's files and the checkout is not on the path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from pathlib import Path

import pytest
import requests

from tests.postgres_cluster import free_port
from tests.servers import ROOT, stop
from wiki import create_app
from wiki.package_data import CHECKOUT, data_dir

# Files a working installation cannot do without, as paths inside the wheel.
EXPECTED_IN_WHEEL = (
    "wiki/_data/static/css/wiki.css",
    "wiki/_data/static/js/map-core.js",
    "wiki/_data/static/vendor/leaflet/leaflet.js",
    "wiki/_data/static/vendor/leaflet/images/marker-icon.png",
    "wiki/_data/migrations/alembic.ini",
    "wiki/_data/migrations/env.py",
    "wiki/_data/migrations/script.py.mako",
    "wiki/_data/migrations/versions/0001_core_schema.py",
    "wiki/templates/base.html",
    "wiki/translations/fr/LC_MESSAGES/messages.mo",
    "wiki/translations/ar/LC_MESSAGES/messages.mo",
    "plugins/validation/migrations/v0001_validation.py",
    "plugins/validation/translations/es/LC_MESSAGES/messages.mo",
    "wiki/demo/data/messages.csv.gz",  # the demo `crisiswiki init-db` loads
    "wiki/demo/data/LICENSE-CrisisLexT26",
    "wiki/demo/pages/main_page.md",
)


def test_a_checkout_serves_the_repositorys_own_static_files_and_migrations(tmp_path):
    # The editable install (make install) copies nothing into the package: the app reads the checkout.
    assert not (ROOT / "wiki" / "_data").exists()
    assert data_dir("static") == CHECKOUT / "static" == ROOT / "static"
    assert data_dir("migrations") == ROOT / "migrations"
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "instance")})
    assert Path(app.static_folder) == ROOT / "static"
    assert Path(app.extensions["migrate"].directory) == ROOT / "migrations"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (found,) = out.glob("crisiswiki-*.whl")
    return found


@pytest.mark.slow
def test_the_wheel_carries_templates_static_files_translations_and_migrations(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in EXPECTED_IN_WHEEL if name not in names] == []
    # Every file under static/ and migrations/ of the checkout, nothing left behind.
    for folder in ("static", "migrations"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                assert f"wiki/_data/{folder}/{path.relative_to(ROOT / folder).as_posix()}" in names
    assert not any("__pycache__" in name for name in names)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_the_installed_wheel_sets_up_a_database_and_serves_from_outside_the_repository(wheel, tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([sys._base_executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # The dependencies: this test run's site-packages, after the new environment's own.
    (site / "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "-q",
            "--no-deps",
            "--ignore-installed",
            "--no-index",
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    program = venv / "bin" / "crisiswiki"
    assert program.exists()
    elsewhere = tmp_path / "elsewhere"  # not the repository: nothing is found relative to the checkout
    elsewhere.mkdir()
    where = subprocess.run(
        [
            str(python),
            "-c",
            "import wiki, plugins.validation; print(wiki.__file__); print(plugins.validation.__file__)",
        ],
        cwd=elsewhere,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(Path(path).is_relative_to(site) for path in where), where

    env = {
        **{name: value for name, value in os.environ.items() if not name.startswith(("CRISISWIKI_", "PROMETHEUS"))},
        "CRISISWIKI_INSTANCE_PATH": str(elsewhere / "instance"),
        "CRISISWIKI_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "PYTHONPATH": "",
    }
    env.pop("DATABASE_URL", None)
    init = subprocess.run(
        [str(program), "init-db", "--no-demo"], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120
    )
    assert init.returncode == 0, init.stderr
    assert "Database is up to date" in init.stdout
    assert (elsewhere / "instance" / "crisiswiki.db").exists()
    created = subprocess.run(
        [str(program), "create-user", "ana", "--role", "coordinator", "--password", "a long enough password"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert created.returncode == 0, created.stderr

    port = free_port()
    env.update(CRISISWIKI_BIND=f"127.0.0.1:{port}", CRISISWIKI_WORKERS="1")
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(
        [str(program), "serve"], cwd=elsewhere, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if requests.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "crisiswiki serve did not come up"
            time.sleep(0.2)

        home = requests.get(f"{base}/", timeout=10)
        assert home.status_code == 200 and "text/html" in home.headers["Content-Type"]
        login = requests.get(f"{base}/login", timeout=10)
        assert login.status_code == 200 and 'name="password"' in login.text
        stylesheet = re.search(r'href="(/static/css/wiki\.[0-9a-f]{12}\.css)"', home.text)
        assert stylesheet, "the page links no hashed stylesheet"
        css = requests.get(base + stylesheet.group(1), timeout=10)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
        assert css.content == (ROOT / "static" / "css" / "wiki.css").read_bytes()
        assert "immutable" in css.headers["Cache-Control"]
        script = re.search(r'src="(/static/js/wiki\.[0-9a-f]{12}\.js)"', home.text)
        assert script and requests.get(base + script.group(1), timeout=10).status_code == 200
        api = requests.get(f"{base}/api/v1/crises", timeout=10)
        assert api.status_code == 200 and api.headers["Content-Type"].startswith("application/json")
        openapi = requests.get(f"{base}/api/v1/openapi.json", timeout=10)
        assert openapi.status_code == 200 and "paths" in openapi.json()
        ready = requests.get(f"{base}/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
    finally:
        stop(server)
        log.close()
    served = (tmp_path / "serve.log").read_text()
    assert "Traceback" not in served, served
