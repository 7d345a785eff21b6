"""The coordinator's "Publish to HDX" button: the page queues a publication, the background worker's
"hdx" job publishes it to the CKAN-compatible server on loopback (tests/hdx/ckan_server.py), and
the page then shows the dataset's address, or what went wrong."""

from __future__ import annotations

import pytest

from tests.hdx.ckan_server import TOKEN
from tests.maps_helpers import add_reports
from wiki.hdx.jobs import publication
from wiki.workers import worker_for


@pytest.fixture
def app_config(app_config, ckan):
    return {
        **app_config,
        "BASE_URL": "https://wiki.example.org",
        "HDX_URL": ckan.url,
        "HDX_API_TOKEN": TOKEN,
        "HDX_ORGANISATION": "crisiswiki-test",
    }


@pytest.fixture
def coordinator(client, login, make_user, crisis):
    login(make_user("coordinator"))
    return client


def test_the_button_queues_a_publication_that_the_worker_publishes(app, coordinator, ckan):
    add_reports(app, "quake", [(-72.3, 18.5)], published=True, title="Clinic damaged")
    assert b'href="/c/quake/hdx"' in coordinator.get("/c/quake/").data  # found from the crisis's page
    page = coordinator.get("/c/quake/hdx")
    assert page.status_code == 200 and b"quake-field-reports" in page.data
    posted = coordinator.post("/c/quake/hdx", data={"countries": "HTI"})
    assert posted.status_code == 303
    with app.app_context():
        assert publication("quake")["state"] == "queued"
    assert ckan.datasets == {}  # nothing leaves during the request
    again = coordinator.post("/c/quake/hdx", data={"countries": "HTI"})
    assert again.status_code == 409 and b"already under way" in again.data

    worker_for(app).run_until_idle(timeout=120)
    dataset = ckan.datasets["quake-field-reports"]
    assert dataset["groups"] == [{"name": "hti"}]
    assert "Clinic damaged" in ckan.file("quake-field-reports", "quake-reports.csv")
    shown = coordinator.get("/c/quake/hdx")
    assert f"{ckan.url}/dataset/quake-field-reports".encode() in shown.data

    assert coordinator.post("/c/quake/hdx", data={"countries": "HTI"}).status_code == 303
    worker_for(app).run_until_idle(timeout=120)
    assert list(ckan.datasets) == ["quake-field-reports"] and ckan.datasets["quake-field-reports"]["revision"] == 2


def test_a_refused_publication_is_shown_on_the_page(app, coordinator):
    app.config["HDX_API_TOKEN"] = "a-wrong-token"
    assert coordinator.post("/c/quake/hdx", data={"countries": "HTI"}).status_code == 303
    worker_for(app).run_until_idle(timeout=120)
    with app.app_context():
        assert publication("quake")["state"] == "failed"
    assert b"refused the API token (403 Not Authorized" in coordinator.get("/c/quake/hdx").data


def test_bad_countries_and_a_site_not_set_up_are_refused_changing_nothing(app, coordinator):
    refused = coordinator.post("/c/quake/hdx", data={"countries": "Haiti"})
    assert refused.status_code == 422 and b"ISO3 codes" in refused.data
    app.config["HDX_URL"] = ""
    unset = coordinator.post("/c/quake/hdx", data={"countries": "HTI"})
    assert unset.status_code == 409 and b"set HDX_URL on the server" in unset.data
    with app.app_context():
        assert publication("quake") is None


def test_only_coordinators_may_publish(app, client, login, make_user, crisis):
    assert client.get("/c/quake/hdx").status_code == 401
    login(make_user("verifier"))
    assert b"/c/quake/hdx" not in client.get("/c/quake/").data
    assert client.post("/c/quake/hdx", data={"countries": "HTI"}).status_code == 403
    with app.app_context():
        assert publication("quake") is None
