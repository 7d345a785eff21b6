"""The coordinator's desk in a real browser (Debian's chromium through Playwright), under gunicorn
as `make run` serves it, on SQLite (the server side of each step is tested on both databases by
tests/test_desk.py and tests/test_validation_desk.py):

- a coordinator opens the dashboard, filters it, clicks a bar through to the reports behind it and
  opens one (its page maps it and what is near it), drafts a situation report and edits it;
- two verifiers share the queue by assignment, discuss a report in its internal notes (with a
  mention) and merge a suggested duplicate in one click.

Screenshots of the dashboard and of the drafted sitrep go to test-artifacts/screenshots/, or with
CRISISWIKI_DOCS=1 to docs/screenshots/, which the README shows:
`CRISISWIKI_DOCS=1 .venv/bin/python -m pytest -p no:xdist tests/desk/test_journeys.py`.
"""

from __future__ import annotations

import re

import pytest
import requests

from tests.browser_helpers import chromium, require_chromium, watched_page
from tests.servers import gunicorn
from tests.test_journeys import BBOX, DESKTOP, Site, _accounts, check_accessibility, login, poll, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
require_chromium()

DAY1, DAY2 = "2010-01-13T10:00:00Z", "2010-01-14T15:00:00Z"


PEOPLE = (
    ("cora", "coordinator", "Cora Coordinator"),
    ("vera", "verifier", "Vera Verifier"),
    ("vic", "verifier", "Vic Verifier"),
)


class Desk(Site):
    def report(self, title: str, lon: float, lat: float, **properties) -> int:
        return self.post_report(title, lon, lat, **properties)

    def change(self, report_id: int, **properties) -> None:
        response = self.api.patch(f"{self.base}/api/v1/reports/{report_id}", json=properties)
        assert response.status_code == 200, response.text

    def properties(self, report_id: int) -> dict:
        return self.api.get(f"{self.base}/api/v1/reports/{report_id}").json()["properties"]


@pytest.fixture(scope="module")
def desk(tmp_path_factory):
    instance = tmp_path_factory.mktemp("desk-journeys")
    database_url = f"sqlite:///{instance / 'crisiswiki.db'}"
    with gunicorn(instance, database_url, workers=2, MAP_TILE_URL="") as base:
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {_accounts(instance, database_url, PEOPLE)}"
        created = api.post(f"{base}/api/v1/crises", json={"name": "Coastal earthquake", "slug": "quake", "bbox": BBOX})
        assert created.status_code == 201, created.text
        yield Desk(base, api)


@pytest.fixture(scope="module")
def browser(desk):
    with chromium() as browser:
        yield browser


def bar_position(page, key: str) -> dict:
    """Where the first nonzero bar of chart `key` is on the screen (Chart.js's own element)."""
    return page.evaluate(
        """(key) => {
          const canvas = document.getElementById("canvas-" + key);
          canvas.scrollIntoView({ block: "center" });
          const chart = Chart.getChart(canvas);
          for (let series = 0; series < chart.data.datasets.length; series++) {
            const values = chart.data.datasets[series].data;
            const index = values.findIndex((value) => value > 0);
            if (index < 0) continue;
            const bar = chart.getDatasetMeta(series).data[index];
            const box = canvas.getBoundingClientRect();
            return { x: box.left + bar.x, y: box.top + (bar.y + bar.base) / 2, series, index };
          }
          return null;
        }""",
        key,
    )


def test_coordinator_filters_the_dashboard_opens_reports_from_a_bar_drafts_a_sitrep_and_edits_it(browser, desk):
    clinic = desk.report("Clinic damaged in Delmas", -72.30, 18.54, sector="health", occurred_at=DAY1)
    water = desk.report("No water at the camp", -72.33, 18.56, sector="wash", occurred_at=DAY2)
    desk.report("Road blocked near Léogâne", -72.63, 18.51, sector="logistics", occurred_at=DAY2)
    desk.report("Medicines short at the hospital", -72.34, 18.55, sector="health", occurred_at=DAY2)
    for verified in (clinic, water):
        desk.change(verified, status="verified")
    context = browser.new_context(**DESKTOP)
    page = watched_page(context, desk.base)
    login(page, desk.base, "cora")

    page.goto(f"{desk.base}/c/quake/dashboard")
    page.wait_for_function("() => document.querySelectorAll('canvas').length && "
                           "[...document.querySelectorAll('canvas')].every((c) => window.Chart && Chart.getChart(c))")  # fmt: skip
    assert "4 reports in this view" in page.inner_text("#dashboard-summary")
    check_accessibility(page, "dashboard")
    screenshot(page, "desk-dashboard.png", full_page=False)

    # Filtered to health: the state is in the address, and every chart counts the two health reports
    page.select_option("#df-sector", "health")
    page.click("#dashboard-filters button[type=submit]")
    page.wait_for_url(re.compile(r"/c/quake/dashboard\?.*sector=health"))
    assert "2 reports in this view" in page.inner_text("#dashboard-summary")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('canvas-reports_by_sector'))")

    # A bar of reports over time opens the reports behind it
    bar = bar_position(page, "reports_by_sector")
    assert bar is not None
    page.mouse.click(bar["x"], bar["y"])
    page.wait_for_url(re.compile(r"/c/quake/reports\?"))
    listed = page.inner_text("main")
    assert "sector=health" in page.url and "since=" in page.url
    assert ("Clinic damaged in Delmas" in listed) != ("Medicines short at the hospital" in listed)  # one day each
    assert "No water at the camp" not in listed
    page.click("main a[href^='/reports/']")
    page.wait_for_url(re.compile(r"/reports/\d+$"))
    # The report's small map: the report outlined on the offline basemap, the reports near it drawn
    page.wait_for_selector("#report-map[data-basemap='drawn'] path.report-here")
    page.wait_for_function("() => document.getElementById('report-map').dataset.total !== undefined")
    assert int(page.get_attribute("#report-map", "data-total")) >= 2  # itself and its neighbours
    check_accessibility(page, "report page with its map")

    # The sitrep, drafted from the dashboard's button for the two days
    page.goto(f"{desk.base}/c/quake/dashboard")
    page.click("#draft-sitrep summary")
    page.fill("#ds-from", "2010-01-13")
    page.fill("#ds-to", "2010-01-14")
    page.click("#draft-sitrep button[type=submit]")
    page.wait_for_url(re.compile(r"/c/quake/wiki/Situation_Report"))
    sitrep = page.url
    content = page.inner_text("main")
    assert "Clinic damaged in Delmas" in content and "No water at the camp" in content
    assert page.locator(f"main a[href='/reports/{clinic}']").count() >= 1  # statements cite their reports
    assert "Drafted from 4 reports" in page.inner_text(".flash")  # the verified ones and those awaiting
    page.wait_for_selector("div.crisiswiki-map.leaflet-container")
    check_accessibility(page, "drafted sitrep")
    screenshot(page, "desk-sitrep.png", full_page=False)

    # An ordinary page afterwards: edited, and the change is a revision
    page.goto(f"{sitrep}/edit")
    body = page.input_value("#body")
    assert "## Highlights" in body
    page.fill("#body", body.replace("## Highlights\n", "## Highlights\n\n- Water trucking starts tomorrow.\n", 1))
    page.fill("#comment", "Water trucking")
    page.click("form.stack button[type=submit]")
    page.wait_for_url(sitrep)
    assert "Water trucking starts tomorrow." in page.inner_text("main")
    history = desk.api.get(f"{sitrep.replace('/c/quake/wiki/', '/api/v1/pages/quake/')}/revisions")
    assert history.status_code == 200, history.text
    assert len(history.json()["revisions"]) == 2
    assert page.problems == []
    context.close()


def test_two_verifiers_share_the_queue_discuss_a_report_and_merge_a_suggested_duplicate(browser, desk):
    lat, lon = 19.80, -72.80  # away from the other journey's reports
    first = desk.report(
        "Bridge collapsed at Gros-Morne", lon, lat, description="The Gros-Morne bridge collapsed, trucks stuck",
        sector="logistics", occurred_at=DAY1,
    )  # fmt: skip
    second = desk.report(
        "Gros-Morne bridge collapsed", lon + 0.002, lat, description="Bridge at Gros-Morne collapsed, trucks stuck",
        sector="logistics", occurred_at=DAY1,
    )  # fmt: skip
    other = desk.report("School roof down", lon, lat + 0.3, description="roof fell in", sector="education")
    vera_context, vic_context = browser.new_context(**DESKTOP), browser.new_context(**DESKTOP)
    vera, vic = watched_page(vera_context, desk.base), watched_page(vic_context, desk.base)
    login(vera, desk.base, "vera")
    login(vic, desk.base, "vic")

    def queue(page, query: str = "") -> list[int]:
        page.goto(f"{desk.base}/c/quake/verify{query}")
        return [
            int(i) for i in page.locator("tr[data-report-id]").evaluate_all("rows => rows.map(r => r.dataset.reportId)")
        ]

    # Each takes one from the shared queue; each sees their own, and what nobody has
    assert {first, second, other} <= set(queue(vera))
    vera.locator(f"tr[data-report-id='{first}'] .queue-take").click()
    vera.wait_for_load_state()
    queue(vic)
    vic.locator(f"tr[data-report-id='{other}'] .queue-take").click()
    vic.wait_for_load_state()
    assert queue(vera, "?assigned=me") == [first]
    assert queue(vic, "?assigned=me") == [other]
    assert first not in queue(vic, "?assigned=none") and second in queue(vic, "?assigned=none")
    queue(vic)
    assert "Vera Verifier" in vic.locator(f"tr[data-report-id='{first}'] td.assignee").inner_text()

    # Vera asks Vic about her report in its internal notes; Vic is told, reads it and answers
    vera.goto(f"{desk.base}/reports/{first}")
    vera.fill("#note-body", "@vic is this the bridge your driver saw?")
    vera.click("section.desk form.stack button[type=submit]")
    vera.wait_for_selector("ol.notes-list")
    vic.goto(f"{desk.base}/notices")
    vic.click(f"a[href='/reports/{first}#notes']")
    vic.wait_for_url(re.compile(rf"/reports/{first}"))
    assert "is this the bridge your driver saw?" in vic.inner_text("ol.notes-list")
    vic.fill("#note-body", "@vera yes, the same one: the second report repeats it.")
    vic.click("section.desk form.stack button[type=submit]")
    vic.wait_for_function("() => document.querySelectorAll('ol.notes-list li').length === 2")
    check_accessibility(vic, "report page with notes")

    # The duplicate is suggested on the report; merged in one click
    vera.goto(f"{desk.base}/reports/{first}")
    suggestion = vera.locator("ul.duplicates li", has_text="Gros-Morne bridge collapsed")
    suggestion.locator("button[type=submit]").click()
    vera.wait_for_load_state()
    assert poll(lambda: desk.properties(second)["status"] == "duplicate")
    assert desk.properties(second)["duplicate_of"] == first
    assert second not in queue(vera)
    vera.goto(f"{desk.base}/reports/{first}/timeline")
    timeline = vera.inner_text("main")
    assert f"Report {second} was merged into this one" in timeline and "Vic Verifier" in timeline
    assert vera.problems == [] and vic.problems == []
    vera_context.close()
    vic_context.close()
