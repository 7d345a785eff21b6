"""The validation plugin through the API: grading, scores on every report, min_score, exports,
the OpenAPI document, and the core working with the plugin disabled."""

from __future__ import annotations

import csv
import io
import re

import pytest

from plugins.validation.tests import helpers
from wiki import create_app
from wiki.extensions import db

# The plugin's fixtures: the app with the plugin loaded through its entry point, people, a client.
app_config, field_, people = helpers.app_config, helpers.field_, helpers.people


def test_verifier_grades_a_report_and_its_score_and_grading_change(field_):
    report = field_.submit("Clinic overwhelmed", "The clinic in Delmas has no more beds", contact="+50930000001")
    before = field_.report(report)
    assert before["score"] is None and before["assessment"]["state"] == "not_assessed"
    graded = field_.grade(report, "B", 1, note="called the clinic")
    assert graded.status_code == 201, graded.get_json()
    body = graded.get_json()
    assert (body["reliability"], body["credibility"], body["code"], body["note"]) == ("B", 1, "B1", "called the clinic")
    assert body["score"] > 0.5 and body["assessment"]["state"] == "graded" and body["verdict"] is not None
    after = field_.report(report)
    assert after["score"] == body["score"] and after["admiralty"] == body["admiralty"]
    verifiers = next(f for f in after["score_explanation"] if f["factor"] == "verifiers")
    assert "B1" in verifiers["sentence"] and verifiers["delta_log_odds"] > 0


def test_each_verifier_counts_once_and_the_history_of_gradings_is_kept(field_):
    report = field_.submit("Water point dry", contact="+50930000002")
    assert field_.grade(report, "C", 4).status_code == 201
    assert field_.grade(report, "B", 2).status_code == 201  # the same verifier changes their mind
    assert field_.grade(report, "D", 5, who="verifier2").status_code == 201
    history = field_.client.get(f"/api/v1/reports/{report}/assessments", headers=field_.as_("verifier")).get_json()
    assert [a["code"] for a in history["assessments"]] == ["D5", "B2", "C4"]
    verifiers = next(f for f in field_.report(report)["score_explanation"] if f["factor"] == "verifiers")
    assert verifiers["value"] == 2
    assert "B2" in verifiers["sentence"] and "D5" in verifiers["sentence"] and "C4" not in verifiers["sentence"]
    assert "disagree" in verifiers["sentence"]  # 2 against 5: the disagreement is shown


@pytest.mark.parametrize(
    ("body", "field_name"),
    [
        ({"reliability": "G", "credibility": 2}, "reliability"),
        ({"reliability": "", "credibility": 2}, "reliability"),
        ({"reliability": 2, "credibility": 2}, "reliability"),
        ({"credibility": 2}, "reliability"),
        ({"reliability": "B", "credibility": 0}, "credibility"),
        ({"reliability": "B", "credibility": 7}, "credibility"),
        ({"reliability": "B", "credibility": 2.5}, "credibility"),
        ({"reliability": "B", "credibility": True}, "credibility"),
        ({"reliability": "B", "credibility": "two"}, "credibility"),
        ({"reliability": "B"}, "credibility"),
        ({"reliability": "B", "credibility": 2, "note": 5}, "note"),
    ],
)
def test_bad_grades_are_refused_with_422_naming_the_field(field_, body, field_name):
    report = field_.submit("Road blocked")
    response = field_.client.post(f"/api/v1/reports/{report}/assessments", json=body, headers=field_.as_("verifier"))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field_name
    assert (
        field_.client.get(f"/api/v1/reports/{report}/assessments", headers=field_.as_("verifier")).get_json()[
            "assessments"
        ]
        == []
    )


def test_grading_needs_a_verifier_or_an_admin(field_):
    report = field_.submit("Bridge down")
    grade = {"reliability": "B", "credibility": 2}
    assert field_.client.post(f"/api/v1/reports/{report}/assessments", json=grade).status_code == 401
    for who in ("volunteer", "coordinator"):
        response = field_.grade(report, "B", 2, who=who)
        assert response.status_code == 403, who
        assert response.get_json()["error"]["code"] == "forbidden"
    assert field_.grade(report, "B", 2, who="admin").status_code == 201
    assert (
        field_.client.get(f"/api/v1/reports/{report}/assessments", headers=field_.as_("volunteer")).status_code == 403
    )
    assert field_.grade(999999, "B", 2).status_code == 404
    not_json = field_.client.post(f"/api/v1/reports/{report}/assessments", data="B2", headers=field_.as_("verifier"))
    assert not_json.status_code == 415


def test_every_report_carries_its_score_grading_and_explanation(field_):
    first = field_.submit("Shelter needed", "Families sleeping outside near the church", contact="+50930000003")
    field_.submit("Shelter needed", "Families outside near the church, no tents", lat=18.545, contact="+50930000004")
    listing = field_.client.get("/api/v1/reports?crisis=quake").get_json()  # anonymous reader
    assert len(listing["features"]) == 2
    for feature in listing["features"]:
        properties = feature["properties"]
        assert 0.0 < properties["score"] < 1.0
        # They corroborate each other, but nothing is known of their sources yet: a score, no verdict.
        assert properties["assessment"]["state"] == "partly_assessed"
        assert properties["assessment"]["reliability"] is None and properties["assessment"]["credibility"] in range(
            1, 6
        )
        assert properties["admiralty"] is None and properties["verdict"] is None
        assert "source" in properties["assessment"]["reason"]
        factors = [f["factor"] for f in properties["score_explanation"]]
        assert factors == ["base", "source", "status", "verifiers", "corroboration", "contradiction", "calibration"]
        assert all(f["sentence"] for f in properties["score_explanation"])
        # The explanation adds up: the deltas in log-odds give the score.
        total = sum(f["delta_log_odds"] for f in properties["score_explanation"])
        assert abs(1 / (1 + 2.718281828459045**-total) - properties["score"]) < 0.01
    single = field_.client.get(f"/api/v1/reports/{first}").get_json()["properties"]
    assert single["score"] == next(f["properties"]["score"] for f in listing["features"] if f["id"] == first)


@pytest.mark.parametrize("role", [None, "coordinator"])
def test_a_new_reports_201_is_the_report_as_read_back(app, client, crisis, make_user, login, monkeypatch, role):
    """The answer to a new report says "no score yet" without asking the database for its score
    (it was just stored), and is the same JSON as the report read back and as a retry's answer."""
    from plugins.validation import background

    monkeypatch.setattr(background, "schedule", lambda: None)  # not scored in between
    if role:
        login(make_user(role))
    headers = {"Idempotency-Key": f"same-body-{role}"}
    report = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]},
        "properties": {"crisis": crisis, "title": "Bridge down", "source": {"contact": "+50930000077"}},
    }
    created = client.post("/api/v1/reports", json=report, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["properties"]["score"] is None and body["properties"]["assessment"]["state"] == "not_assessed"
    again = client.post("/api/v1/reports", json=report, headers=headers)
    assert again.status_code == 200 and again.get_json() == body
    assert client.get(f"/api/v1/reports/{body['id']}").get_json() == body


def test_min_score_narrows_report_lists(field_):
    weak = field_.submit("Rumour of looting", "looting downtown")
    strong = field_.submit("Hospital damaged", "General hospital wing collapsed", contact="+50930000005")
    unassessed = field_.submit("Market burning", "Smoke over the iron market", sector="food")
    assert field_.grade(weak, "E", 5).status_code == 201
    assert field_.grade(strong, "A", 1).status_code == 201
    threshold = (field_.score(weak) + field_.score(strong)) / 2
    ids = [f["id"] for f in field_.client.get(f"/api/v1/reports?min_score={threshold}").get_json()["features"]]
    assert ids == [strong]
    # A report with no score (not yet assessed) passes no threshold, not even 0.
    assert field_.score(unassessed) is None
    everything = field_.client.get("/api/v1/reports?min_score=0").get_json()["features"]
    assert {f["id"] for f in everything} == {weak, strong}
    for bad in ("x", "-0.1", "1.5", "nan"):
        response = field_.client.get(f"/api/v1/reports?min_score={bad}")
        assert response.status_code == 422 and response.get_json()["error"]["field"] == "min_score"
    csv_text = field_.client.get(f"/c/quake/reports.csv?min_score={threshold}").get_data(as_text=True)
    assert len(list(csv.reader(io.StringIO(csv_text)))) == 3  # header, HXL tags, one report
    # GIS clients filter the OGC API's report collection the same way, and its count follows.
    items = field_.client.get(f"/ogc/collections/quake-reports/items?min_score={threshold}").get_json()
    assert [f["id"] for f in items["features"]] == [strong] and items["numberMatched"] == 1


def test_csv_export_has_the_score_and_admiralty_columns(field_):
    report = field_.submit("Cholera cases", "Cases reported at the camp", contact="+50930000006")
    field_.grade(report, "B", 2)
    rows = list(csv.reader(io.StringIO(field_.client.get("/c/quake/reports.csv").get_data(as_text=True))))
    header, tags, values = rows[0], rows[1], rows[2]
    assert tags[header.index("score")] == "#meta+score"
    assert tags[header.index("admiralty")] == "#meta+x_admiralty"
    properties = field_.report(report)
    assert float(values[header.index("score")]) == pytest.approx(properties["score"], abs=1e-4)
    assert values[header.index("admiralty")] == properties["admiralty"]
    assert tags[header.index("assessment")] == "#meta+x_assessment" and values[header.index("assessment")] == "graded"
    geojson = field_.client.get("/c/quake/reports.geojson").get_json()
    assert geojson["features"][0]["properties"]["admiralty"] == properties["admiralty"]


def test_the_openapi_document_covers_the_plugins_routes_and_min_score(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1"):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        assert path in document["paths"], f"{path} is missing from the OpenAPI document"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in document["paths"][path], f"{method} {path} is missing"
    assert "/api/v1/reports/{report_id}/assessments" in document["paths"]
    parameters = document["paths"]["/api/v1/reports"]["get"]["parameters"]
    assert "min_score" in [p["name"] for p in parameters]
    ogc_parameters = document["paths"]["/ogc/collections/{collection_id}/items"]["get"]["parameters"]
    assert {"min_score", "max_score"} <= {p["name"] for p in ogc_parameters}
    assert "AssessmentInput" in document["components"]["schemas"]


def test_scores_can_be_kept_for_verifiers_only(app_config, field_):
    report = field_.submit("Fuel shortage", contact="+50930000007")
    app = create_app({**app_config, "VALIDATION_SCORES_VISIBLE_TO": "verifiers"})
    client = app.test_client()
    public = client.get(f"/api/v1/reports/{report}").get_json()["properties"]
    assert "score" not in public and "score_explanation" not in public
    assert client.get("/api/v1/reports?min_score=0.1").status_code == 403
    assert "assessment" not in public
    verifier = client.get(f"/api/v1/reports/{report}", headers=field_.as_("verifier")).get_json()["properties"]
    assert verifier["score"] is None and verifier["assessment"]["state"] == "not_assessed"
    assert "score" not in client.get("/c/quake/reports.csv").get_data(as_text=True).splitlines()[0].split(",")
    with app.app_context():
        db.engine.dispose()


def test_with_the_plugin_disabled_reports_have_no_score_and_the_core_works(app_config, field_, people, token_for):
    app = create_app({**app_config, "DISABLED_PLUGINS": ["validation"]})
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token_for(people['verifier'])}"}
    created = client.post(
        "/api/v1/reports",
        json={
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]},
            "properties": {"crisis": "quake", "title": "Market reopened", "sector": "food"},
        },
    )
    assert created.status_code == 201
    properties = created.get_json()["properties"]
    assert not {"score", "admiralty", "verdict", "score_explanation"} & properties.keys()
    report = properties["id"]
    assert (
        client.post(
            f"/api/v1/reports/{report}/assessments", json={"reliability": "B", "credibility": 2}, headers=headers
        ).status_code
        == 404
    )
    assert client.get("/c/quake/verify", headers=headers).status_code == 404
    assert client.get("/api/v1/reports?min_score=0.5").status_code == 200  # an unknown parameter is ignored
    assert "score" not in client.get("/c/quake/reports.csv").get_data(as_text=True).splitlines()[0].split(",")
    page = client.get(f"/reports/{report}").get_data(as_text=True)
    assert "matrix" not in page
    assert "/api/v1/reports/{report_id}/assessments" not in client.get("/api/v1/openapi.json").get_json()["paths"]
    with app.app_context():
        db.engine.dispose()


def test_search_filters_by_the_validation_score(app, field_):
    from wiki.search.indexer import build_if_missing, flush

    with app.app_context():
        build_if_missing()
    weak = field_.submit("Cholera rumour", "cholera cases rumoured downtown", lat=18.6)
    strong = field_.submit("Cholera confirmed", "cholera cases at the clinic", contact="+50930000011")
    unassessed = field_.submit("Cholera feared", "cholera feared at the camp", lat=18.8, sector="wash")
    assert field_.grade(weak, "D", 4).status_code == 201
    assert field_.grade(strong, "A", 1).status_code == 201
    with app.app_context():
        flush()
    threshold = (field_.score(weak) + field_.score(strong)) / 2
    found = field_.client.get(f"/api/v1/search?q=cholera&min_score={threshold}").get_json()
    assert [hit["id"] for hit in found["results"]] == [strong], found
    # The index holds no score for a report not yet assessed: min_score leaves it out, even at 0.
    assert field_.score(unassessed) is None
    found = field_.client.get("/api/v1/search?q=cholera&min_score=0").get_json()
    assert {hit["id"] for hit in found["results"]} == {weak, strong}, found
    assert field_.client.get("/api/v1/search?q=cholera").get_json()["total"] == 3
