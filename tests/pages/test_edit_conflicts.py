"""Two people editing the same page: a merge or a conflict, never a silent overwrite."""

from __future__ import annotations

import itertools
import threading

from sqlalchemy import select

from wiki.extensions import db
from wiki.models import Page, Revision


def _base(app, slug):
    with app.app_context():
        return db.session.scalar(select(Page).where(Page.slug == slug)).current_revision_id


def test_conflict_screen_keeps_both_versions_and_refuses_unresolved_markers(app, client, crisis, make_user, login):
    alice, bob = client, app.test_client()
    login(make_user("coordinator"), alice)
    login(make_user("coordinator"), bob)
    alice.post("/c/quake/new", data={"title": "Sitrep", "body": "People displaced: 100\nSchools open: 3\n"})
    base = _base(app, "Sitrep")
    # Both open the editor at the same revision; Alice saves first.
    assert (
        alice.post(
            "/c/quake/wiki/Sitrep/edit",
            data={"body": "People displaced: 250\nSchools open: 3\n", "base_revision": base},
        ).status_code
        == 302
    )
    conflict = bob.post(
        "/c/quake/wiki/Sitrep/edit", data={"body": "People displaced: 300\nSchools open: 3\n", "base_revision": base}
    )
    assert conflict.status_code == 409
    html = conflict.data.decode()
    assert "Edit conflict" in html and "nothing is lost" in html
    assert "People displaced: 250" in html and "People displaced: 300" in html
    assert "&lt;&lt;&lt;&lt;&lt;&lt;&lt; current revision" in html  # the editor holds the merged text
    assert f'name="base_revision" value="{_base(app, "Sitrep")}"' in html
    # Saving with the markers still in is refused; nothing is written.
    marked = "<<<<<<< current revision\nPeople displaced: 250\n=======\nPeople displaced: 300\n>>>>>>> your edit\nSchools open: 3\n"
    again = bob.post(
        "/c/quake/wiki/Sitrep/edit",
        data={"body": marked, "base_revision": _base(app, "Sitrep"), "resolving_conflict": "1"},
    )
    assert again.status_code == 422 and b"conflict markers" in again.data
    resolved = bob.post(
        "/c/quake/wiki/Sitrep/edit",
        data={
            "body": "People displaced: 300\nSchools open: 3\n",
            "base_revision": _base(app, "Sitrep"),
            "resolving_conflict": "1",
        },
    )
    assert resolved.status_code == 302
    with app.app_context():
        bodies = [r.body for r in db.session.scalars(select(Revision).order_by(Revision.number))]
    assert bodies == [
        "People displaced: 100\nSchools open: 3\n",
        "People displaced: 250\nSchools open: 3\n",
        "People displaced: 300\nSchools open: 3\n",
    ]


def test_stale_edit_to_other_lines_is_merged_in_the_web_ui(app, client, crisis, make_user, login):
    login(make_user("coordinator"))
    client.post("/c/quake/new", data={"title": "Figures", "body": "a\nb\nc\nd\ne\n"})
    base = _base(app, "Figures")
    client.post("/c/quake/wiki/Figures/edit", data={"body": "A\nb\nc\nd\ne\n", "base_revision": base})
    response = client.post(
        "/c/quake/wiki/Figures/edit", data={"body": "a\nb\nc\nd\nE\n", "base_revision": base}, follow_redirects=True
    )
    assert b"your changes were merged" in response.data
    with app.app_context():
        page = db.session.scalar(select(Page).where(Page.slug == "Figures"))
        assert page.current_revision.body == "A\nb\nc\nd\nE\n" and page.current_revision.kind == "merge"


def test_concurrent_editors_lose_no_accepted_save(app, crisis, make_user, token_for):
    """8 threads race to save edits of one page, each always starting from the revision it last
    read. Every 200 is in the history, every refusal is a 409 conflict, nothing else happens."""
    token = token_for(make_user("coordinator"))
    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    lines = [f"line {i}" for i in range(8)]
    client.put("/api/v1/pages/quake/Shared", json={"body": "\n".join(lines)}, headers=headers)
    accepted: list[str] = []
    last_line = {worker: f"line {worker}" for worker in range(8)}
    statuses: list[int] = []
    lock = threading.Lock()

    def editor(worker: int) -> None:
        own = app.test_client()
        for attempt in range(6):
            page = own.get("/api/v1/pages/quake/Shared").get_json()
            body = page["body"].splitlines()
            body[worker] = f"line {worker} edited by worker {worker} attempt {attempt}"
            text = "\n".join(body) + "\n"
            response = own.put(
                "/api/v1/pages/quake/Shared",
                json={"body": text, "base_revision": page["base_revision"]},
                headers=headers,
            )
            with lock:
                statuses.append(response.status_code)
                if response.status_code == 200 and not response.get_json()["unchanged"]:
                    accepted.append(response.get_json()["revision"]["id"])
                    last_line[worker] = body[worker]

    threads = [threading.Thread(target=editor, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(statuses) <= {200, 409}
    with app.app_context():
        history = db.session.scalars(select(Revision).order_by(Revision.number)).all()
        numbers = [r.number for r in history]
        assert numbers == list(range(1, len(history) + 1))  # no gaps, no duplicates
        assert {r.id for r in history[1:]} == set(accepted)  # every accepted save is in the history
        assert all(r.parent_id == prev.id for prev, r in itertools.pairwise(history))
        final = history[-1].body.splitlines()
    # Only worker n edits line n, so its last accepted edit must be what the page says now:
    # merges never dropped another worker's change.
    assert final == [last_line[worker] for worker in range(8)]
    assert accepted  # the first save of each round always wins
