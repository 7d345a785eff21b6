"""Fixtures and factories for the validation plugin's tests (plugins/validation/tests/test_*.py).

The app is built with LOAD_ENTRYPOINT_PLUGINS=True, so the plugin is found the way a deployment
finds it: through the `crisiswiki.plugins` entry point. Everything is driven through the HTTP
surface and the CLI, never through the plugin's internals.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask.testing import FlaskClient

HAITI = (18.54, -72.34)  # Port-au-Prince (lat, lon)
WHEN = "2010-01-13T12:00:00Z"


@pytest.fixture
def app_config(app_config):
    # Maintenance passes after every response (the default spaces them a second apart).
    return {
        **app_config,
        "LOAD_ENTRYPOINT_PLUGINS": True,
        "ANONYMOUS_SUBMIT_LIMIT": 100000,
        "VALIDATION_MAINTAIN_EVERY_MS": 0,
        # Truth discovery's re-runs at once when a test runs the background worker (not after
        # the delay that gathers a burst of clicks into one run).
        "VALIDATION_TRUTH_RERUN_DELAY_MS": 0,
    }


@dataclass
class Field:
    """Drives the app through its API as the people of a crisis do."""

    client: FlaskClient
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    people: dict = field(default_factory=dict)

    def as_(self, who: str | None) -> dict[str, str]:
        return self.headers[who] if who else {}

    def submit(self, *args, **kwargs) -> int:
        """send a report (send's arguments) and close the answer; the new report's id."""
        response = self.send(*args, **kwargs)
        response.close()  # as a server does once it is sent: the plugin's after-response work runs
        return response.get_json()["id"]

    def send(
        self,
        title: str,
        description: str = "",
        lat: float = HAITI[0],
        lon: float = HAITI[1],
        sector: str = "health",
        when: str | None = WHEN,
        contact: str | None = None,
        name: str = "",
        who: str | None = None,
        sensitive: bool = False,
    ):
        """submit's request, its response not closed yet (the plugin's after-response work waits for that)."""
        properties = {
            "crisis": "quake",
            "title": title,
            "description": description,
            "sector": sector,
            "sensitive": sensitive,
            "source": {"name": name, "channel": "sms"},
        }
        if when:
            properties["occurred_at"] = when
        if contact:
            properties["source"]["contact"] = contact
        response = self.client.post(
            "/api/v1/reports",
            json={
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [lon, lat]},
                "properties": properties,
            },
            headers=self.as_(who),
        )
        assert response.status_code == 201, response.get_json()
        return response

    def report(self, report_id: int, who: str | None = "verifier") -> dict:
        response = self.client.get(f"/api/v1/reports/{report_id}", headers=self.as_(who))
        assert response.status_code == 200, response.get_json()
        return response.get_json()["properties"]

    def score(self, report_id: int) -> float:
        return self.report(report_id)["score"]

    def patch(self, report_id: int, **fields) -> dict:
        response = self.client.patch(f"/api/v1/reports/{report_id}", json=fields, headers=self.as_("coordinator"))
        assert response.status_code == 200, response.get_json()
        response.close()
        return response.get_json()["properties"]

    def grade(self, report_id: int, reliability: str, credibility: int, who: str = "verifier", note: str = ""):
        response = self.client.post(
            f"/api/v1/reports/{report_id}/assessments",
            json={"reliability": reliability, "credibility": credibility, "note": note},
            headers=self.as_(who),
        )
        response.close()
        return response

    def scores(self, who: str = "verifier") -> dict[int, tuple]:
        """Every report's (score, admiralty, explanation) as the API shows them."""
        found, cursor = {}, None
        while True:
            url = "/api/v1/reports?limit=1000" + (f"&cursor={cursor}" if cursor else "")
            body = self.client.get(url, headers=self.as_(who)).get_json()
            for feature in body["features"]:
                p = feature["properties"]
                found[p["id"]] = (p["score"], p["admiralty"], p["score_explanation"], p["score_stale"])
            cursor = body["next_cursor"]
            if not cursor:
                return found


@pytest.fixture
def people(app, crisis, make_user, token_for):
    made = {role: make_user(role) for role in ("verifier", "coordinator", "volunteer", "admin")}
    made["verifier2"] = make_user("verifier")
    made["volunteer2"] = make_user("volunteer")
    made["volunteer3"] = make_user("volunteer")
    return made


@pytest.fixture
def field_(client, people, token_for) -> Field:
    headers = {name: {"Authorization": f"Bearer {token_for(person)}"} for name, person in people.items()}
    return Field(client, headers, people)
