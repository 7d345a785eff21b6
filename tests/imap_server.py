"""A real IMAP server for the mail polling tests: Debian's dovecot-imapd (`make dovecot`
installs it), started on a free loopback port with its own configuration, users and mailboxes
in a temporary folder, and stopped afterwards. Skipped, with the reason, where dovecot is not
installed."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .postgres_cluster import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
USER, PASSWORD = "reports", "imap test password"

CONFIG = """protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
instance_name = crisiswiki-test-{port}
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
default_internal_user = {internal}
default_login_user = {login}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
"""


@dataclass
class ImapServer:
    host: str
    port: int
    user: str = USER
    password: str = PASSWORD

    def settings(self) -> dict:
        return {
            "IMAP_HOST": self.host,
            "IMAP_PORT": self.port,
            "IMAP_SECURITY": "none",
            "IMAP_USER": self.user,
            "IMAP_PASSWORD": self.password,
            "IMAP_ADDRESS": "reports@wiki.test",
        }


def _accounts() -> tuple[str, str, str, str]:
    """The mail user's uid/gid and dovecot's own users: unprivileged ones when run as root."""
    if os.geteuid() == 0:
        import grp
        import pwd

        nobody = pwd.getpwnam("nobody")
        group = grp.getgrgid(nobody.pw_gid).gr_name
        return "nobody", group, "dovecot", "dovenull"
    import grp
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    return me, grp.getgrgid(os.getegid()).gr_name, me, me


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    if not os.path.exists(DOVECOT):
        pytest.skip("dovecot is not installed (make dovecot installs Debian's dovecot-imapd)")
    # Not under pytest's tmp_path: dovecot's own unprivileged processes must reach the folder
    # (pytest's base folder is private to the user running the tests).
    root = Path(tempfile.mkdtemp(prefix="crisiswiki-dovecot-"))
    for folder in ("run", "state", "mail", "home"):
        (root / folder).mkdir(parents=True)
    uid, gid, internal, login = _accounts()
    for folder in (root, root / "run", root / "state"):
        folder.chmod(0o755)
    if os.geteuid() == 0:
        shutil.chown(root / "mail", uid, gid)
        shutil.chown(root / "home", uid, gid)
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (root / "users").chmod(0o644)
    port = free_port()
    config = root / "dovecot.conf"
    config.write_text(CONFIG.format(root=root, port=port, uid=uid, gid=gid, internal=internal, login=login))
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    output = process.stdout.read().decode(errors="replace") if process.poll() is not None else ""
                    raise RuntimeError(f"dovecot did not start: {output}") from None
                time.sleep(0.1)
        yield ImapServer("127.0.0.1", port)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
