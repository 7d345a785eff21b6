"""No verdict that nobody made: until a verifier has graded a report or there is real evidence
about it, it is "not yet assessed" everywhere (report page, queue, finder, API, map, exports,
search), never F6 or "Reject". A source's channel, account or organisation is no evidence;
its track record is. "Cannot be judged" (F, 6) is a verifier's statement, kept as graded."""

from __future__ import annotations

import csv
import io
import re

from plugins.validation.tests import helpers
from plugins.validation.tests.helpers import HAITI

# The plugin's fixtures: the app with the plugin loaded through its entry point, people, a client.
app_config, field_, people = helpers.app_config, helpers.field_, helpers.people

CLAIM = ("Delmas clinic collapsed", "The clinic building on Delmas 33 collapsed, patients moved outside")
BBOX = "-74.5,17.9,-71.6,20.1"
SELECTED = re.compile(r'<td class="cell verdict-\w+ selected"')


def known_source(field_, contact: str, count: int = 2) -> None:
    """A source with a track record: reports far from the others, verified by a coordinator."""
    for n in range(count):
        report = field_.submit(
            f"Road report {n}", "Road to Jacmel", lat=HAITI[0] + 1.0 + 0.3 * n, sector="logistics", contact=contact
        )
        field_.patch(report, status="verified")


def csv_row(field_, report_id: int, who: str | None = None) -> dict[str, str]:
    text = field_.client.get("/c/quake/reports.csv", headers=field_.as_(who)).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    header, tags = rows[0], rows[1]
    assert tags[header.index("assessment")] == "#meta+x_assessment"
    return next(dict(zip(header, row, strict=True)) for row in rows[2:] if row[0] == str(report_id))


def map_point(field_, report_id: int) -> dict:
    data = field_.client.get(
        "/api/v1/map/reports", query_string={"crisis": "quake", "bbox": BBOX, "zoom": 8}
    ).get_json()
    return next(f["properties"] for f in data["features"] if f["properties"].get("id") == report_id)


def panel_of(page: str) -> str:
    start = page.index('<section class="validation"')
    return page[start : page.index("</section>", start)]


def test_a_new_report_from_a_first_time_source_is_not_yet_assessed_everywhere(app, field_, login, people):
    report = field_.submit(*CLAIM, contact="+50938000001")
    reason = (
        "No verifier has graded it, nothing is known of its source yet, and no other report corroborates or "
        "contradicts it."
    )

    # The API: no score, no grading, no verdict, and why.
    properties = field_.client.get(f"/api/v1/reports/{report}").get_json()["properties"]
    assert (properties["score"], properties["admiralty"], properties["verdict"]) == (None, None, None)
    assert properties["assessment"] == {
        "state": "not_assessed",
        "reason": reason,
        "reliability": None,
        "credibility": None,
    }
    # The explanation says why there is no score.
    assert [(f["factor"], f["sentence"]) for f in properties["score_explanation"]] == [("no_score", reason)]

    # The report page: "Not yet assessed" with the reason, in the neutral style; no score, no verdict, no cell.
    panel = panel_of(field_.client.get(f"/reports/{report}").get_data(as_text=True))
    assert '<span class="assessment-none">Not yet assessed</span>' in panel and reason in panel
    assert not SELECTED.search(panel) and "aria-current" not in panel
    line = re.search(r'<p class="score-line assessment assessment-not_assessed">.*?</p>', panel, re.S).group(0)
    assert "F6" not in line and "Score" not in line and "Grading" not in line and "%" not in line
    assert "Why this score" not in panel and 'class="verdict ' not in panel and "cannot-judge" not in panel

    # The map: no score, no verdict, the state for the neutral marker.
    point = map_point(field_, report)
    assert point["score"] is None and point["verdict"] is None and point["admiralty"] is None
    assert point["assessment"] == {"state": "not_assessed", "reason": reason}

    # The exports: empty score and grading, the state in its own column; GeoJSON as the API.
    row = csv_row(field_, report)
    assert (row["score"], row["admiralty"], row["assessment"]) == ("", "", "not_assessed")
    exported = field_.client.get("/c/quake/reports.geojson").get_json()["features"][0]["properties"]
    assert exported["assessment"]["state"] == "not_assessed" and exported["admiralty"] is None

    # The related-reports finder, through the API and on its page.
    around = field_.submit("Clinic damaged", "Walls cracked", lat=HAITI[0] + 0.2, contact="+50938000002")
    found = field_.client.get(f"/api/v1/crises/quake/related?report={around}&radius_km=50").get_json()["features"]
    listed = next(f["properties"] for f in found if f["id"] == report)
    assert (listed["score"], listed["admiralty"], listed["verdict"]) == (None, None, None)
    assert listed["assessment"]["state"] == "not_assessed"
    page = field_.client.get(f"/c/quake/related?report={around}&radius_km=50").get_data(as_text=True)
    row_html = re.search(rf'<tr data-report-id="{report}">.*?</tr>', page, re.S).group(0)
    assert '<span class="assessment-none">Not yet assessed</span>' in row_html and "F6" not in row_html

    # The verifiers' queue.
    verifier = field_.client.application.test_client()
    login(people["verifier"], verifier)
    queue = verifier.get("/c/quake/verify").get_data(as_text=True)
    row_html = re.search(rf'<tr id="r-{report}" data-report-id="{report}".*?</tr>', queue, re.S).group(0)
    assert '<span class="assessment-none">Not yet assessed</span>' in row_html and reason in row_html
    assert not SELECTED.search(row_html) and "F6" not in row_html and "%" not in row_html
    # Verifiers see the source's summary: its prior is not presented as a reliability.
    summary = re.search(
        r'<p class="source-summary">(.*?)<a ', verifier.get(f"/reports/{report}").get_data(as_text=True), re.S
    ).group(1)
    assert "no track record and no verifier's grade yet" in summary and "Source reliability" not in summary


def test_an_account_or_an_organisation_is_no_evidence(app_config, field_):
    """What the channel, an account or a known organisation suggest is a prior, not a basis:
    a lone report from a volunteer's account is not yet assessed (it used to show A6)."""
    report = field_.submit(*CLAIM, who="volunteer")
    properties = field_.report(report)
    assert properties["assessment"]["state"] == "not_assessed" and properties["score"] is None
    assert properties["admiralty"] is None


def test_the_reason_is_in_the_readers_language(field_):
    report = field_.submit(*CLAIM, contact="+50938000003")
    french = field_.client.get(f"/api/v1/reports/{report}", headers={"Accept-Language": "fr"}).get_json()["properties"]
    assert french["assessment"]["state"] == "not_assessed"
    assert french["assessment"]["reason"] and "No verifier" not in french["assessment"]["reason"]
    page = field_.client.get(f"/reports/{report}", headers={"Accept-Language": "ar"}).get_data(as_text=True)
    assert "Not yet assessed" not in page


def test_a_known_source_without_corroboration_is_partly_assessed_with_no_verdict(field_):
    contact = "+50938000010"
    known_source(field_, contact)
    report = field_.submit(*CLAIM, contact=contact)
    properties = field_.report(report)
    assessment = properties["assessment"]
    assert assessment["state"] == "partly_assessed"
    assert assessment["reliability"] in tuple("ABCDE") and assessment["credibility"] is None
    assert "no verdict" in assessment["reason"]
    assert properties["score"] is not None and properties["admiralty"] is None and properties["verdict"] is None
    # The score still comes with every factor, adding up to it.
    factors = properties["score_explanation"]
    assert [f["factor"] for f in factors] == [
        "base",
        "source",
        "status",
        "verifiers",
        "corroboration",
        "contradiction",
        "calibration",
    ]
    assert abs(sum(f["delta_score"] for f in factors) - properties["score"]) < 1e-3
    assert "2 verified and 0 refuted" in factors[1]["sentence"]

    panel = panel_of(field_.client.get(f"/reports/{report}").get_data(as_text=True))
    assert f"<strong>{assessment['reliability']}–</strong>" in panel  # the unknown part as "–", never 6
    assert '<span class="assessment-none">Partly assessed: no verdict yet</span>' in panel
    assert not SELECTED.search(panel) and "Why this score" in panel and 'class="verdict ' not in panel
    point = map_point(field_, report)
    assert point["assessment"]["state"] == "partly_assessed" and point["score"] == properties["score"]
    row = csv_row(field_, report)
    assert (
        row["admiralty"] == "" and float(row["score"]) == properties["score"] and row["assessment"] == "partly_assessed"
    )


def test_corroboration_by_an_independent_report_gives_a_derived_verdict(field_):
    contact = "+50938000020"
    known_source(field_, contact)
    report = field_.submit(*CLAIM, contact=contact)
    first_time = field_.submit(*CLAIM, lat=HAITI[0] + 0.01, contact="+50938000021")  # another person, nearby
    properties = field_.report(report)
    assessment = properties["assessment"]
    assert assessment["state"] == "assessed"
    assert re.fullmatch(r"[A-E][1-5]", properties["admiralty"])
    assert properties["admiralty"] == f"{assessment['reliability']}{assessment['credibility']}"
    assert properties["verdict"] in ("accept", "tend_to_accept", "tend_to_reject", "reject")
    panel = panel_of(field_.client.get(f"/reports/{report}").get_data(as_text=True))
    assert [m.group(0) for m in SELECTED.finditer(panel)] and f'data-code="{properties["admiralty"]}"' in panel
    assert f'class="verdict verdict-{properties["verdict"]}"' in panel and "assessment-none" not in panel
    assert csv_row(field_, report)["admiralty"] == properties["admiralty"]

    # The corroborating report's own source is new: its information is corroborated, its source unknown.
    other = field_.report(first_time)
    assert other["assessment"]["state"] == "partly_assessed" and other["assessment"]["reliability"] is None
    assert other["assessment"]["credibility"] in range(1, 6) and other["admiralty"] is None
    assert "Nothing is known of its source yet" in other["assessment"]["reason"]
    assert "–" + str(other["assessment"]["credibility"]) in field_.client.get(f"/reports/{first_time}").get_data(
        as_text=True
    )


def test_a_verifiers_cannot_be_judged_is_a_grading_shown_apart_from_not_yet_assessed(app, field_, login, people):
    report = field_.submit(*CLAIM, contact="+50938000030")
    assert field_.grade(report, "F", 6).status_code == 201
    properties = field_.client.get(f"/api/v1/reports/{report}").get_json()["properties"]
    assert properties["admiralty"] == "F6" and properties["verdict"] == "reject"  # The Matrix's verdict for the cell
    assessment = properties["assessment"]
    assert (assessment["state"], assessment["reliability"], assessment["credibility"]) == ("graded", "F", 6)
    assert assessment["reason"] == "A verifier graded it: neither the source nor the information can be judged."
    # "Cannot be judged" is no evidence: still no score, and the explanation says so.
    assert properties["score"] is None
    [entry] = properties["score_explanation"]
    assert entry["factor"] == "no_score" and "cannot be judged" in entry["sentence"]

    panel = panel_of(field_.client.get(f"/reports/{report}").get_data(as_text=True))
    assert """<span class="cannot-judge">Cannot be judged (a verifier's grading)</span>""" in panel
    assert '<span class="verdict verdict-reject">Reject</span>' in panel and "<strong>F6</strong>" in panel
    assert "Not yet assessed" not in panel and "assessment-none" not in panel
    assert [m.group(0) for m in SELECTED.finditer(panel)] == ['<td class="cell verdict-reject selected"']
    point = map_point(field_, report)
    assert point["assessment"]["state"] == "graded" and point["admiralty"] == "F6" and point["verdict"] == "reject"
    row = csv_row(field_, report)
    assert (row["score"], row["admiralty"], row["assessment"]) == ("", "F6", "graded")

    # Only the part the verifier could not judge stays F or 6; a judged part comes from the evidence.
    second = field_.submit("Water point dry", "No water at the Delmas camp", sector="wash", contact="+50938000031")
    assert field_.grade(second, "F", 2).status_code == 201
    graded = field_.report(second)
    assert graded["assessment"]["state"] == "graded" and graded["admiralty"][0] == "F" and graded["score"] is not None
    assert graded["assessment"]["reason"] == "A verifier graded it: the source's reliability cannot be judged."
