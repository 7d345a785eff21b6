"""`crisiswiki publish-hdx`: a crisis's public reports and layers as an HDX dataset, published to a
CKAN-compatible site through CKAN's action API. The site is a real HTTP server on a loopback
port (tests/hdx/ckan_server.py: CKAN's endpoints and answers, storing what it is sent), so the
tests assert the dataset, the metadata and the files that arrive, the update on re-publishing,
and the refusals; only what the public may see is in the files."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest
from sqlalchemy import select

from tests.hdx.ckan_server import TOKEN, CkanServer
from tests.maps_helpers import add_reports, adm1_collection, adm2_collection, point_layer
from wiki.extensions import db
from wiki.models import Report
from wiki.models.base import utcnow

DATASET = "quake-field-reports"
SECRET_POINT = ("-72.318765", "18.543219")
CONTACT = "+50937001234"


@pytest.fixture
def app_config(app_config):
    return {
        **app_config,
        "SERVER_NAME": None,
        "BASE_URL": "https://wiki.example.org",
        "HDX_API_TOKEN": TOKEN,
        "HDX_ORGANISATION": "crisiswiki-test",
        "HDX_MAINTAINER": "publisher",
    }


@pytest.fixture
def reports(app, crisis):
    public = add_reports(app, "quake", [(-72.3, 18.5), (-72.31, 18.51)], published=True, sector="health")
    secret = add_reports(app, "quake", [(-72.318765, 18.543219)], published=True, sensitive=True, title="Sensitive")
    hidden = add_reports(app, "quake", [(-72.2, 18.6)], published=False, title="Unpublished")
    withdrawn = add_reports(
        app, "quake", [(-72.25, 18.55)], published=False, withdrawn_at=utcnow(), withdrawn_reason="shield"
    )
    with app.app_context():
        for report in db.session.scalars(select(Report)):
            report.source.contact = CONTACT
            report.source.name = "Marie Witness"
            report.source.organisation = "Neighbourhood committee"
            report.place_name = "Safe house on Rue Capois" if report.sensitive else "Hospital"
        db.session.commit()
    return public, secret[0], hidden[0], withdrawn[0]


def publish(runner, *args: str):
    return runner.invoke(args=["publish-hdx", "--crisis", "quake", *args])


def test_publishing_creates_the_dataset_with_hdx_metadata_and_only_public_files(runner, ckan, reports):
    public, secret, _hidden, _withdrawn = reports
    result = publish(runner, "--url", ckan.url, "--country", "HTI")
    assert result.exit_code == 0, result.output
    assert f"Created dataset {DATASET}: {ckan.url}/dataset/{DATASET}" in result.output

    dataset = ckan.datasets[DATASET]
    assert dataset["title"] == "Test earthquake: field reports"
    assert dataset["owner_org"] == "crisiswiki-test" and dataset["maintainer"] == "publisher"
    assert dataset["groups"] == [{"name": "hti"}]
    assert dataset["license_id"] == "cc-by"
    assert dataset["methodology"] == "Direct Observational Data/Anecdotal Data"
    assert "grid cell of about 10 km" in dataset["caveats"] and "withdrawn" in dataset["caveats"]
    assert dataset["dataset_source"] and "HXL" in dataset["notes"]
    assert [tag["name"] for tag in dataset["tags"]] == ["hxl", "geodata"]
    today = utcnow().date().isoformat()
    assert dataset["dataset_date"] == f"[{today}T00:00:00 TO {today}T23:59:59]"
    assert dataset["private"] is False
    # Every call carried the API token in the Authorization header.
    assert {auth for _action, auth in ckan.calls} == {TOKEN}
    assert ckan.actions() == ["package_show", "package_create", "resource_create", "resource_create"]

    resources = {r["name"]: r for r in dataset["resources"]}
    assert set(resources) == {"quake-reports.csv", "quake-reports.geojson"}
    assert resources["quake-reports.csv"]["format"] == "CSV" and resources["quake-reports.csv"]["url_type"] == "upload"
    assert resources["quake-reports.geojson"]["format"] == "GeoJSON"

    table = ckan.file(DATASET, "quake-reports.csv")
    rows = list(csv.reader(io.StringIO(table)))
    assert rows[1][:3] == ["#meta+id", "#crisis+code", "#description+title"]  # the HXL hashtag row
    assert sorted(int(row[0]) for row in rows[2:]) == sorted([*public, secret])  # no unpublished, no withdrawn
    features = json.loads(ckan.file(DATASET, "quake-reports.geojson"))["features"]
    assert sorted(feature["id"] for feature in features) == sorted([*public, secret])
    by_id = {feature["id"]: feature for feature in features}
    assert by_id[secret]["properties"]["location_coarsened"] is True
    assert by_id[public[0]]["properties"]["url"] == f"https://wiki.example.org/reports/{public[0]}"
    for text in (table, json.dumps(features)):
        for leak in (*SECRET_POINT, CONTACT, "Marie Witness", "Neighbourhood committee", "Safe house", "Unpublished"):
            assert leak not in text
    assert "#contact" not in rows[1] and "source" not in by_id[public[0]]["properties"]


def test_publishing_again_updates_the_same_dataset_and_its_resources(
    app, client, runner, ckan, reports, make_user, token_for
):
    token = token_for(make_user("coordinator"))
    headers = {"Authorization": f"Bearer {token}"}
    layer = client.post(
        "/api/v1/layers", json={"title": "Sites", "crisis": "quake", "geojson": point_layer()}, headers=headers
    )
    layer_id = layer.get_json()["metadata"]["id"]
    assert publish(runner, "--url", ckan.url, "--country", "HTI").exit_code == 0
    first = {r["name"]: r["id"] for r in ckan.datasets[DATASET]["resources"]}
    assert set(first) == {"quake-reports.csv", "quake-reports.geojson", f"quake-layer-{layer_id}.geojson"}
    assert "Field hospital" in ckan.file(DATASET, f"quake-layer-{layer_id}.geojson")

    later = add_reports(app, "quake", [(-72.29, 18.52)], published=True, title="Bridge down")
    assert client.delete(f"/api/v1/layers/{layer_id}", headers=headers).status_code in (200, 204)
    del ckan.calls[:]
    result = publish(runner, "--url", ckan.url, "--country", "HTI")
    assert result.exit_code == 0, result.output
    assert f"Updated dataset {DATASET}" in result.output and "deleted 1" in result.output

    assert list(ckan.datasets) == [DATASET] and ckan.datasets[DATASET]["revision"] == 2
    assert ckan.actions() == ["package_show", "package_update", "resource_update", "resource_update", "resource_delete"]
    second = {r["name"]: r["id"] for r in ckan.datasets[DATASET]["resources"]}
    assert second == {name: first[name] for name in ("quake-reports.csv", "quake-reports.geojson")}  # same resources
    assert "Bridge down" in ckan.file(DATASET, "quake-reports.csv")
    assert later[0] in [f["id"] for f in json.loads(ckan.file(DATASET, "quake-reports.geojson"))["features"]]


def test_a_wrong_token_is_a_clear_error_and_publishes_nothing(app, runner, reports):
    with CkanServer("the-real-token") as site:
        result = publish(runner, "--url", site.url, "--country", "HTI")
    assert result.exit_code == 1
    assert f"The CKAN site at {site.url} refused the API token (403 Not Authorized" in result.output
    assert "HDX_API_TOKEN" in result.output and "'crisiswiki-test'" in result.output
    assert site.datasets == {} and site.uploads == {}
    assert site.actions() == ["package_show", "package_create"]


def test_the_site_refusing_the_metadata_is_a_clear_error(runner, ckan, reports):
    result = publish(runner, "--url", ckan.url, "--country", "HTI", "--organisation", "nobody")
    assert result.exit_code == 1
    assert "refused the dataset (409 Validation Error): owner_org: ['Organization does not exist']" in result.output
    assert ckan.datasets == {}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--country", "HTI"], "Give the CKAN site with --url (or set HDX_URL)"),
        (["--url", "URL", "--crisis", "nowhere", "--country", "HTI"], "There is no crisis 'nowhere'"),
        (["--url", "URL"], "has no GLIDE number to take one from: give --country with the ISO3 code"),
        (["--url", "URL", "--country", "Haiti"], "'Haiti' is not an ISO 3166-1 alpha-3 country code"),
        (["--url", "URL", "--country", "HTI", "--name", "Quake Reports!"], "is not 2 to 100 lowercase letters"),
        (["--url", "ftp://example.org", "--country", "HTI"], "is not the address of a CKAN site"),
        (["--url", "URL", "--country", "HTI", "--organisation", ""], "HDX needs the organisation"),
    ],
)
def test_bad_options_are_refused_saying_what_to_give_and_change_nothing(runner, ckan, reports, args, message):
    result = publish(runner, *[ckan.url if arg == "URL" else arg for arg in args])
    assert result.exit_code == 1 and message in result.output, result.output
    assert ckan.datasets == {} and ckan.calls == []


def test_a_missing_token_is_refused_before_calling_the_site(app, runner, ckan, reports):
    app.config["HDX_API_TOKEN"] = ""
    result = publish(runner, "--url", ckan.url, "--country", "HTI")
    assert result.exit_code == 1 and "set HDX_API_TOKEN (CRISISWIKI_HDX_API_TOKEN)" in result.output
    assert ckan.calls == []


def test_the_files_alone_are_written_without_a_site(runner, reports, tmp_path):
    public, _secret, _hidden, _withdrawn = reports
    result = publish(runner, "--country", "hti", "--output-dir", str(tmp_path / "hdx"))
    assert result.exit_code == 0, result.output
    written = sorted(path.name for path in (tmp_path / "hdx").iterdir())
    assert written == ["dataset.json", "quake-reports.csv", "quake-reports.geojson"]
    metadata = json.loads((tmp_path / "hdx" / "dataset.json").read_text())
    assert metadata["name"] == DATASET and metadata["groups"] == [{"name": "hti"}]
    assert re.fullmatch(r"\[\d{4}-\d\d-\d\dT00:00:00 TO \d{4}-\d\d-\d\dT23:59:59\]", metadata["dataset_date"])
    table = (tmp_path / "hdx" / "quake-reports.csv").read_text()
    assert len(list(csv.reader(io.StringIO(table)))) == 2 + len(public) + 1


def test_the_crisis_boundaries_are_published_as_the_map_api_serves_them(client, runner, ckan, reports, tmp_path):
    for level, document in ((1, adm1_collection()), (2, adm2_collection())):
        path = tmp_path / f"adm{level}.geojson"
        path.write_text(json.dumps(document))
        imported = runner.invoke(args=["import-boundaries", str(path), "--crisis", "quake", "--level", str(level)])
        assert imported.exit_code == 0, imported.output
    result = publish(runner, "--url", ckan.url, "--country", "HTI")
    assert result.exit_code == 0, result.output
    dataset = ckan.datasets[DATASET]
    resources = {r["name"]: r for r in dataset["resources"]}
    assert {"quake-adm1.geojson", "quake-adm2.geojson"} <= set(resources)
    assert (
        resources["quake-adm2.geojson"]["format"] == "GeoJSON"
        and "P-code" in resources["quake-adm2.geojson"]["description"]
    )
    assert "boundaries" in dataset["notes"]
    for level, pcodes in ((1, ["HT01", "HT02"]), (2, ["HT0101", "HT0102", "HT0201", "HT0202"])):
        published = json.loads(ckan.file(DATASET, f"quake-adm{level}.geojson"))
        assert [feature["properties"]["pcode"] for feature in published["features"]] == pcodes
        served = client.get(f"/api/v1/crises/quake/boundaries?level={level}&tolerance=0").get_json()
        assert published == served  # the same document as the map API's, geometry as imported
