"""Serve the app with gunicorn exactly as `make run` does, for tests that need real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from .postgres_cluster import free_port

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# `crisiswiki` run from this checkout's code (the venv's `crisiswiki` script runs the code of
# whichever checkout was installed into it last): run with cwd=ROOT.
CRISISWIKI = [sys.executable, "-c", "from wiki.console import main; main()"]


def server_env(instance: Path, database_url: str, **settings: str) -> dict[str, str]:
    env = {
        # Each server finds its own metrics folder (<instance>/metrics), not one a test made before.
        **{name: value for name, value in os.environ.items() if name != "PROMETHEUS_MULTIPROC_DIR"},
        "CRISISWIKI_INSTANCE_PATH": str(instance),
        "DATABASE_URL": database_url,
        "CRISISWIKI_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        # The checkout under test, whatever checkout the shared virtualenv's editable install
        # points at: `crisiswiki` (a console script) would otherwise import that one's code.
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH", "")])),
    }
    env.update({f"CRISISWIKI_{key}": value for key, value in settings.items()})
    return env


def worker_process(instance: Path, database_url: str, **settings: str) -> subprocess.Popen:
    """A `crisiswiki worker` process in a session of its own (kill it with os.killpg), logging
    to <instance>/worker.log."""
    env = server_env(instance, database_url, **settings)
    log = open(instance / "worker.log", "ab")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(
        [*CRISISWIKI, "worker"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class ServerURL(str):
    """The base URL of a server started here, with its process (to stop or restart it)."""

    process: subprocess.Popen

    def __reduce__(self):
        """Pickled (e.g. to a benchmark's client processes) as the plain URL: a process is not."""
        return (str, (str(self),))


@contextmanager
def gunicorn(
    instance: Path, database_url: str, workers: int = 3, init: bool = True, port: int | None = None, **settings: str
) -> Iterator[ServerURL]:
    """Run migrations, start gunicorn with gunicorn.conf.py on `port` (default: a free one); yields the base URL."""
    instance.mkdir(parents=True, exist_ok=True)
    env = server_env(instance, database_url, **settings)
    if init:
        subprocess.run(
            [str(BIN / "crisiswiki"), "init-db", "--no-demo"], env=env, check=True, capture_output=True, cwd=ROOT
        )
    port = port or free_port()
    env.update(CRISISWIKI_BIND=f"127.0.0.1:{port}", CRISISWIKI_WORKERS=str(workers))
    log = open(instance / "gunicorn.log", "ab")  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [str(BIN / "gunicorn"), "--config", str(ROOT / "gunicorn.conf.py")],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.process = process
    try:
        wait_until_up(base, process)
        yield base
    finally:
        stop(process)
        log.close()


@contextmanager
def worker(instance: Path, database_url: str, **settings: str) -> Iterator[subprocess.Popen]:
    """`crisiswiki worker` beside servers that run no background jobs themselves, as
    deploy/systemd/crisiswiki-worker.service runs it; stopped on leaving."""
    process = worker_process(instance, database_url, **{**settings, "WORKER_IN_SERVERS": "false"})
    try:
        yield process
    finally:
        stop(process)


def wait_until_up(base: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited with {process.returncode}")
        try:
            if requests.get(f"{base}/api/v1/health", timeout=2).status_code == 200:
                return
        except (requests.ConnectionError, requests.Timeout):
            pass
        time.sleep(0.1)
    raise TimeoutError("gunicorn did not come up")


def stop(process: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
