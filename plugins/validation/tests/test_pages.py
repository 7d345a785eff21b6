"""The validation plugin's pages: The Matrix grid, the verifier queue, a source's record (and
who may see it), the related-reports finder and the combined assessment."""

from __future__ import annotations

import html
import json
import re

from plugins.validation.tests import helpers
from plugins.validation.tests.helpers import HAITI

# The plugin's fixtures: the app with the plugin loaded through its entry point, people, a client.
app_config, field_, people = helpers.app_config, helpers.field_, helpers.people

MATRIX = {"A": "GGYYOY", "B": "GGYOOY", "C": "GYYORO", "D": "YYOORR", "E": "OOORRR", "F": "YYORRR"}
VERDICT = {"G": "accept", "Y": "tend_to_accept", "O": "tend_to_reject", "R": "reject"}
CELL = re.compile(r'<td class="cell verdict-(\w+)( selected)?"( aria-current="true")? data-code="([A-F][1-6])"')


def cells(page: str) -> dict[str, tuple[str, bool]]:
    return {code: (verdict, bool(selected)) for verdict, selected, _current, code in CELL.findall(page)}


def known_source(field_, contact: str, outcome: str = "verified", lat: float = HAITI[0] + 1.0) -> None:
    """Give the source behind `contact` a track record: a report far from the others, verified
    (or refuted) by a coordinator."""
    report = field_.submit("Road report", "Road to Jacmel", lat=lat, sector="logistics", contact=contact)
    field_.patch(report, status=outcome)


def logged_in(app, login, person):
    client = app.test_client()
    login(person, client)
    return client


def test_the_report_page_shows_the_matrix_with_the_grading_highlighted(app, field_, login, people):
    report = field_.submit("Clinic collapsed", "Delmas clinic collapsed", contact="+50935000001")
    field_.grade(report, "B", 2)
    code = field_.report(report)["admiralty"]
    page = field_.client.get(f"/reports/{report}").get_data(as_text=True)  # an anonymous reader
    found = cells(page)
    assert len(found) == 36
    for letter, row in MATRIX.items():
        for column, colour in enumerate(row, start=1):
            assert found[f"{letter}{column}"][0] == VERDICT[colour], f"{letter}{column}"
    assert [c for c, (_v, selected) in found.items() if selected] == [code]
    # Not by colour only: the selected cell carries a text label, every cell its verdict in words.
    assert f'<strong class="selected-label">◆ {code}' in page
    assert "Tend to reject" in page and "++ Accept" in page
    assert 'class="score"' in page and "Why this score" in page
    verifier_page = logged_in(app, login, people["verifier"]).get(f"/reports/{report}").get_data(as_text=True)
    assert "✓1" in verifier_page  # the verifier's own cell, B2, is marked
    assert re.search(r'data-code="B2"[^>]*>.*?✓1', verifier_page)


def test_a_verifier_grades_from_the_report_page(app, field_, login, people):
    report = field_.submit("Bridge down", contact="+50935000002")
    verifier = logged_in(app, login, people["verifier"])
    page = verifier.get(f"/reports/{report}").get_data(as_text=True)
    assert '<label for="a-note">' in page and 'id="a-note" name="note"' in page
    # Every grade is a radio button with its label, and none is chosen in advance.
    for name, values in (("reliability", "ABCDEF"), ("credibility", "123456")):
        assert re.search(rf'<fieldset class="grades" id="a-{name}">\s*<legend>', page)
        radios = re.findall(
            rf'<label class="check"><input type="radio" name="{name}" value="(\w)" id="a-{name}-\1" required> ', page
        )
        assert radios == list(values), name
    assert "checked" not in page.split('class="stack assess"')[1].split("</form>")[0]
    # A grading without one of its parts is refused, naming the part, and changes nothing.
    for data, missing in (
        ({"credibility": "2"}, "reliability"),
        ({"reliability": "B"}, "credibility"),
        ({"reliability": "", "credibility": ""}, "reliability"),
    ):
        refused = verifier.post(f"/reports/{report}/grade", data=data)
        assert refused.status_code == 422, data
        assert f"({missing})" in refused.get_data(as_text=True), data
    assert (
        field_.client.get(f"/api/v1/reports/{report}/assessments", headers=field_.as_("verifier")).get_json()[
            "assessments"
        ]
        == []
    )
    assert field_.report(report)["assessment"]["state"] == "not_assessed"
    response = verifier.post(
        f"/reports/{report}/grade", data={"reliability": "A", "credibility": "2", "note": "seen it"}
    )
    assert response.status_code == 302
    after = verifier.get(f"/reports/{report}").get_data(as_text=True)
    assert "A2" in after and "seen it" in after
    bad = verifier.post(f"/reports/{report}/grade", data={"reliability": "Z", "credibility": "2"})
    assert bad.status_code == 422
    volunteer = logged_in(app, login, people["volunteer"])
    assert volunteer.post(f"/reports/{report}/grade", data={"reliability": "A", "credibility": "2"}).status_code == 403
    assert 'name="reliability"' not in volunteer.get(f"/reports/{report}").get_data(as_text=True)


def test_the_verifier_queue_lists_what_awaits_assessment_sorted_by_score(app, field_, login, people):
    known_source(field_, "+50935000003")
    known_source(field_, "+50935000006", outcome="refuted", lat=HAITI[0] + 1.5)
    unassessed = field_.submit("Looting rumour", "looting")
    strong = field_.submit(
        "Hospital damaged", "General hospital wing collapsed", contact="+50935000003", lat=HAITI[0] + 0.5
    )
    weak = field_.submit("Pharmacy looted", "Pharmacy on Delmas looted", contact="+50935000006", lat=HAITI[0] + 0.25)
    field_.patch(strong, status="under_review")
    graded = field_.submit("Graded already", contact="+50935000004", lat=HAITI[0] - 0.5)
    field_.grade(graded, "C", 3)
    verifier = logged_in(app, login, people["verifier"])
    page = verifier.get("/c/quake/verify?sort=score_desc").get_data(as_text=True)
    listed = [int(i) for i in re.findall(r'<tr id="r-\d+" data-report-id="(\d+)"', page)]
    assert field_.score(strong) > field_.score(weak) and field_.score(unassessed) is None
    assert listed == [strong, weak, unassessed]  # a report with no score comes last, whichever the order
    assert [
        int(i)
        for i in re.findall(
            r'<tr id="r-\d+" data-report-id="(\d+)"',
            verifier.get("/c/quake/verify?sort=score_asc").get_data(as_text=True),
        )
    ] == [weak, strong, unassessed]
    # Known sources, nothing known of the information: a score, "–" for the unknown part, no verdict, no cell.
    # One Matrix, for the report in focus, not one per row.
    assert page.count('class="matrix"') == 1 and 'class="matrix compact"' not in page
    assert not [c for c in CELL.findall(page) if c[1]]
    row = re.search(rf'<tr id="r-{strong}" data-report-id="{strong}".*?</tr>', page, re.S).group(0)
    assert re.search(r"<strong>[A-E]–</strong>", row) and "Partly assessed: no verdict yet" in row
    row = re.search(rf'<tr id="r-{unassessed}" data-report-id="{unassessed}".*?</tr>', page, re.S).group(0)
    assert '<span class="assessment-none">Not yet assessed</span>' in row and "no other report corroborates" in row
    assert "%" not in row and "verdict-" not in row
    everything = verifier.get("/c/quake/verify?all=1&sort=oldest").get_data(as_text=True)
    assert [int(i) for i in re.findall(r'<tr id="r-\d+" data-report-id="(\d+)"', everything)] == [
        unassessed,
        strong,
        weak,
        graded,
    ]
    assert verifier.get("/c/quake/verify?sort=place").status_code == 200
    assert verifier.get("/c/quake/verify?sort=sideways").status_code == 422
    assert logged_in(app, login, people["volunteer"]).get("/c/quake/verify").status_code == 403
    assert field_.client.get("/c/quake/verify").status_code == 401
    # Verifiers find the queue in the crisis's navigation; others do not.
    assert 'href="/c/quake/verify"' in verifier.get("/c/quake/").get_data(as_text=True)
    assert 'href="/c/quake/verify"' not in field_.client.get("/c/quake/").get_data(as_text=True)


def test_a_sources_record_is_for_verifiers_and_admins_only_and_never_shows_the_contact(app, field_, login, people):
    contact = "+50935000005"
    first = field_.submit("Food distribution", contact=contact, name="Marie", sector="food")
    second = field_.submit("Water truck", contact=contact, sector="wash", lat=HAITI[0] + 0.5)
    field_.patch(first, status="verified")
    field_.grade(second, "B", 2)
    source = field_.client.get(f"/api/v1/reports/{first}", headers=field_.as_("verifier")).get_json()["properties"][
        "source"
    ]["id"]
    for who in ("verifier", "admin"):
        record = field_.client.get(f"/api/v1/sources/{source}/record", headers=field_.as_(who))
        assert record.status_code == 200, who
        body = record.get_json()
        assert body["verified"] == 1 and body["refuted"] == 0
        assert {r["id"] for r in body["reports"]} == {first, second}
        assert next(r for r in body["reports"] if r["id"] == second)["grades"] == ["B2"]
        assert [p["report_id"] for p in body["reliability_over_time"]] == [first]
        assert body["reliability"] > body["prior"]
        assert contact not in json.dumps(body) and "contact" not in body
    page = logged_in(app, login, people["verifier"]).get(f"/sources/{source}/record")
    assert page.status_code == 200 and contact not in page.get_data(as_text=True)
    assert "Reliability over time" in page.get_data(as_text=True)
    report_page = logged_in(app, login, people["verifier"]).get(f"/reports/{second}").get_data(as_text=True)
    assert f"{first}: Food distribution" in report_page and f"/sources/{source}/record" in report_page  # its history
    for who in ("volunteer", "coordinator"):
        assert field_.client.get(f"/api/v1/sources/{source}/record", headers=field_.as_(who)).status_code == 403, who
        assert logged_in(app, login, people[who]).get(f"/sources/{source}/record").status_code == 403, who
    assert field_.client.get(f"/api/v1/sources/{source}/record").status_code == 401
    assert field_.client.get(f"/sources/{source}/record").status_code in (401, 403)
    # Readers see the score and why, but neither the contact, nor the track record in figures, nor the record's link.
    public = field_.client.get(f"/reports/{second}").get_data(as_text=True)
    assert contact not in public and f"/sources/{source}/record" not in public
    public_api = json.dumps(field_.client.get(f"/api/v1/reports/{second}").get_json())
    assert contact not in public_api and "1 verified" not in public_api
    assert "1 verified" in json.dumps(field_.report(second))


def test_a_combined_assessment_links_its_sources_and_can_withdraw_them(app, field_, login, people):
    originals = [
        field_.submit(
            "Camp flooded",
            f"Flooding at Champ de Mars ({n})",
            sector="cccm",
            contact=f"+5093510000{n}",
            lat=HAITI[0] + 0.002 * n,
        )
        for n in range(3)
    ]
    body = {
        "report_ids": originals[:2],
        "title": "Champ de Mars camp flooded",
        "description": "Two residents report flooding in the lower camp.",
        "withdraw_originals": True,
        "reliability": "B",
        "credibility": 2,
    }
    assert (
        field_.client.post(
            "/api/v1/crises/quake/combined-assessments", json=body, headers=field_.as_("volunteer")
        ).status_code
        == 403
    )
    bad = field_.client.post(
        "/api/v1/crises/quake/combined-assessments",
        json={**body, "report_ids": [originals[0]]},
        headers=field_.as_("verifier"),
    )
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "report_ids"
    created = field_.client.post("/api/v1/crises/quake/combined-assessments", json=body, headers=field_.as_("verifier"))
    assert created.status_code == 201, created.get_json()
    combined = created.get_json()
    assert combined["sources"] == originals[:2] and combined["withdrew_originals"]
    report = field_.report(combined["report_id"])
    assert report["title"] == "Champ de Mars camp flooded" and report["sector"] == "cccm"
    assert report["published"] is True
    for original in originals[:2]:
        assert field_.client.get(f"/api/v1/reports/{original}").status_code == 404  # shielded from the public
        assert field_.report(original)["published"] is False
    assert field_.client.get(f"/api/v1/reports/{originals[2]}").status_code == 200
    history = logged_in(app, login, people["coordinator"]).get(f"/reports/{originals[0]}").get_data(as_text=True)
    assert "Withdrawn from public view: combined into report" in history
    # Withdrawn for good: verifying an original later does not make it public again.
    field_.patch(originals[0], status="verified")
    assert field_.report(originals[0])["status"] == "verified"
    assert field_.client.get(f"/api/v1/reports/{originals[0]}").status_code == 404
    assert field_.client.get(f"/reports/{originals[0]}").status_code == 404
    page = logged_in(app, login, people["verifier"]).get(f"/reports/{combined['report_id']}").get_data(as_text=True)
    assert "combined assessment made from reports" in page
    assert f'/reports/{originals[0]}"' in page and f'/reports/{originals[1]}"' in page
    # The originals do not count as corroboration of each other through the report made from them.
    corroboration = next(f for f in field_.report(originals[0])["score_explanation"] if f["factor"] == "corroboration")
    assert corroboration["value"] == 1


def test_combined_assessment_through_the_finder_and_the_form(app, field_, login, people):
    ids = [
        field_.submit(
            "Road blocked",
            "Rubble on the road to Pétion-Ville",
            sector="logistics",
            contact=f"+5093520000{n}",
            lat=HAITI[0] + 0.003 * n,
        )
        for n in range(2)
    ]
    verifier = logged_in(app, login, people["verifier"])
    finder = verifier.get(f"/c/quake/related?report={ids[0]}&radius_km=5").get_data(as_text=True)
    assert f'name="ids" value="{ids[1]}"' in finder and f'name="ids" value="{ids[0]}"' in finder
    form = verifier.get(f"/c/quake/combine?ids={ids[0]}&ids={ids[1]}")
    assert form.status_code == 200 and 'name="title"' in form.get_data(as_text=True)
    saved = verifier.post(
        "/c/quake/combine",
        data={
            "ids": [str(i) for i in ids],
            "title": "Road to Pétion-Ville blocked",
            "description": "Confirmed by two drivers",
            "sector": "logistics",
            "lat": str(HAITI[0]),
            "lon": str(HAITI[1]),
            "withdraw_originals": "1",
        },
    )
    assert saved.status_code == 302
    new_id = int(saved.headers["Location"].rsplit("/", 1)[1])
    assert field_.report(new_id)["title"] == "Road to Pétion-Ville blocked"
    assert all(field_.report(i)["published"] is False for i in ids)
    assert (
        logged_in(app, login, people["volunteer"]).get(f"/c/quake/combine?ids={ids[0]}&ids={ids[1]}").status_code == 403
    )


def test_the_related_reports_finder(app, field_, login, people):
    centre = field_.submit("Clinic collapsed", "Delmas clinic", contact="+50935300001")
    near = field_.submit(
        "Clinic damaged", "Delmas clinic walls", lat=HAITI[0] + 0.05, contact="+50935300002"
    )  # ~5.6 km
    far = field_.submit("Clinic burning", "Clinic fire", lat=HAITI[0] + 0.3, contact="+50935300003")  # ~33 km
    other_sector = field_.submit(
        "Water point", "Delmas water", sector="wash", lat=HAITI[0] + 0.01, contact="+50935300004"
    )
    late = field_.submit("Clinic reopened", when="2010-02-20T10:00:00Z", lat=HAITI[0] + 0.02, contact="+50935300005")
    hidden = field_.submit("Unpublished clinic report", lat=HAITI[0] + 0.009, contact="+50935300006")
    field_.patch(hidden, published=False)

    def found(query: str, who: str | None = None) -> list[int]:
        response = field_.client.get(f"/api/v1/crises/quake/related?{query}", headers=field_.as_(who))
        assert response.status_code == 200, response.get_json()
        return [f["id"] for f in response.get_json()["features"]]

    assert found(f"report={centre}") == [other_sector, late, near]  # default radius 20 km, nearest first
    assert found(f"report={centre}&radius_km=50") == [other_sector, late, near, far]
    assert found(f"report={centre}&radius_km=50", who="verifier") == [hidden, other_sector, late, near, far]
    assert found(f"report={centre}&sector=health&until=2010-01-31") == [near]
    assert found(f"lat={HAITI[0]}&lon={HAITI[1]}&radius_km=1") == [centre]
    feature = field_.client.get(f"/api/v1/crises/quake/related?report={centre}").get_json()["features"][0]
    assert {"distance_km", "score", "admiralty"} <= feature["properties"].keys()
    for bad, name in (
        ("radius_km=0", "radius_km"),
        ("radius_km=101", "radius_km"),
        ("lat=18.5", "lat"),
        ("sector=x", "sector"),
    ):
        response = field_.client.get(
            f"/api/v1/crises/quake/related?report={centre}&{bad}"
            if name != "lat"
            else f"/api/v1/crises/quake/related?{bad}"
        )
        assert response.status_code == 422 and response.get_json()["error"]["field"] == name, bad
    assert field_.client.get(f"/api/v1/crises/quake/related?report={hidden}").status_code == 404
    page = field_.client.get(f"/c/quake/related?report={centre}&radius_km=50")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    data = json.loads(html.unescape(re.search(r'data-features="([^"]*)"', text).group(1)))
    assert [f["properties"]["id"] for f in data["features"]] == [other_sector, late, near, far]
    assert data["radius_km"] == 50
    assert 'name="ids"' not in text  # only verifiers pick reports to combine
    assert field_.client.get("/c/quake/related?radius_km=500&report=1").status_code == 422


def test_the_finder_measures_a_sensitive_report_from_its_public_place(field_):
    secret = field_.submit(
        "Safe house",
        "Women's shelter",
        sector="protection",
        sensitive=True,
        contact="+50935400001",
        lat=18.5432,
        lon=-72.3371,
    )
    public = field_.client.get(f"/api/v1/reports/{secret}").get_json()
    shown_lon, shown_lat = public["geometry"]["coordinates"]
    assert (shown_lat, shown_lon) != (18.5432, -72.3371)
    tiny = "radius_km=1&sector=protection&lat=18.5432&lon=-72.3371"
    near_public = f"radius_km=1&sector=protection&lat={shown_lat}&lon={shown_lon}"
    assert [
        f["id"] for f in field_.client.get(f"/api/v1/crises/quake/related?{near_public}").get_json()["features"]
    ] == [secret]
    anonymous = field_.client.get(f"/api/v1/crises/quake/related?{tiny}").get_json()["features"]
    verifier = field_.client.get(f"/api/v1/crises/quake/related?{tiny}", headers=field_.as_("verifier")).get_json()[
        "features"
    ]
    assert [f["id"] for f in verifier] == [secret]
    assert all(f["geometry"]["coordinates"] == [shown_lon, shown_lat] for f in anonymous)
