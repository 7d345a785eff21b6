"""What the API fuzzing found, kept as plain tests: numbers too large for an id column (64-bit
on SQLite, 32-bit on PostgreSQL) in a path, a query, a form or a JSON body were 500s (the
database driver overflowed); they are "no such thing" now, 404 or 422 like any other wrong id."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.security

HUGE = 10**20


@pytest.fixture(scope="module")
def admin(client_for):
    return client_for("admin", "session")


@pytest.fixture(scope="module")
def world(world_for):
    return world_for("admin-regressions")


def test_a_huge_id_in_the_path_is_a_404_for_every_method(admin):
    client, headers, csrf = admin
    api = {**headers, "X-CSRFToken": csrf}
    assert client.get(f"/api/v1/layers/{HUGE}", headers=api).status_code == 404
    assert client.delete(f"/api/v1/layers/{HUGE}", headers=api).status_code == 404  # not 405
    assert client.patch(f"/api/v1/reports/{HUGE}", json={"status": "verified"}, headers=api).status_code == 404
    assert client.get(f"/reports/{HUGE}").status_code == 404
    assert client.get(f"/api/v1/reports/{2**31}").status_code == 404  # just past PostgreSQL's INTEGER


def test_huge_ids_in_bodies_and_queries_are_refused_or_ignored(admin, world):
    client, headers, csrf = admin
    api = {**headers, "X-CSRFToken": csrf}
    report, crisis = world.reports["duplicate"], world.crisis
    assert client.patch(f"/api/v1/reports/{report}", json={"duplicate_of": HUGE}, headers=api).status_code == 422
    assert (
        client.post(f"/reports/{report}/merge", data={"duplicate_of": str(HUGE), "csrf_token": csrf}).status_code == 422
    )
    page = world.pages["api"]
    assert (
        client.put(f"/api/v1/pages/{crisis}/{page}", json={"body": "x", "base_revision": HUGE}, headers=api).status_code
        == 422
    )
    assert client.get(f"/c/{crisis}/wiki/{world.pages['revert']}/diff?from=1&to={HUGE}").status_code == 404
    assert (
        client.post(f"/api/v1/layers/{world.layers['view']}/revert", json={"revision": HUGE}, headers=api).status_code
        == 404
    )
    assert client.get(f"/api/v1/reports?cursor={HUGE}").status_code == 200
    assert client.get(f"/c/{crisis}/reports?cursor={HUGE}").status_code == 200
    assert client.get(f"/api/v1/crises/{crisis}/related?report={HUGE}").status_code == 404
    combined = client.post(
        f"/api/v1/crises/{crisis}/combined-assessments", json={"report_ids": [report, HUGE], "title": "x"}, headers=api
    )
    assert combined.status_code == 422
    assert client.get(f"/c/{crisis}/verify?page={HUGE}").status_code == 422


def test_a_nul_character_in_a_crisis_name_is_a_404(admin):
    client, headers, _csrf = admin
    assert client.get("/api/v1/map/reports?crisis=x%00y", headers=headers).status_code == 404
    assert client.get("/api/v1/map/areas?crisis=x%00y", headers=headers).status_code == 404
    assert client.get("/c/x%00y/reports").status_code == 404
