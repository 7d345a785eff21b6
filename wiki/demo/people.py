"""The demo's people, one per role (and a responder, who needs no role of their own: a volunteer
account with alert subscriptions). Their passwords are random, kept with the administrator's in
the instance folder (demo-logins.txt, readable by its owner only) so that `make run` and
`crisiswiki demo-login` can print them."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from ..auth.accounts import create_user
from ..models import User

LOGINS_FILE = "demo-logins.txt"
# username, role, display name, what they do in the walkthrough (printed with the login)
PEOPLE = (
    ("cora", "coordinator", "Cora (coordinator)", "coordinator: pages, sitreps, inbox, layers"),
    ("vera", "verifier", "Vera (verifier)", "verifier: the verify queue, gradings"),
    ("victor", "verifier", "Victor (verifier)", "verifier"),
    ("val", "volunteer", "Val (volunteer)", "volunteer: the report form"),
    ("remy", "volunteer", "Rémy (responder, WASH cluster)", "responder: search, the map, alerts"),
)


@dataclass
class DemoPeople:
    admin: User
    coordinator: User
    verifiers: list[User]
    volunteer: User
    responder: User


def logins_path() -> Path:
    return Path(current_app.instance_path) / LOGINS_FILE


def create_people(admin: User) -> DemoPeople:
    made: dict[str, User] = {}
    lines = []
    for username, role, display, job in PEOPLE:
        password = secrets.token_urlsafe(9)
        made[username] = create_user(
            username, password, role=role, display_name=display, email=f"{username}@demo.example.org"
        )
        lines.append(f"{username}\t{password}\t{job}\n")
    path = logins_path()
    path.write_text("".join(lines))
    path.chmod(0o600)
    return DemoPeople(admin, made["cora"], [made["vera"], made["victor"]], made["val"], made["remy"])


def read_logins() -> list[tuple[str, str, str]]:
    """[(username, password, what they do)] of the demo's people, if the demo was loaded."""
    path = logins_path()
    if not path.exists():
        return []
    return [tuple(line.split("\t", 2)) for line in path.read_text().splitlines() if line.count("\t") == 2]
