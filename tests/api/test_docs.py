"""The API page (/api/docs): Swagger UI vendored from npm draws the generated OpenAPI document, from
this site only and under the site's Content-Security-Policy (checked in chromium: the operations
are listed, nothing is refused, nothing goes to another host)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.live_server import serve

pytestmark = pytest.mark.one_database  # the API page and its document, not the database

VENDOR = Path(__file__).resolve().parents[2] / "static" / "vendor" / "swagger-ui"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SERVER_NAME": None}


def test_the_api_page_loads_vendored_swagger_ui_and_the_generated_document(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "vendor/swagger-ui/swagger-ui-bundle" in html and 'data-openapi="/api/v1/openapi.json"' in html
    assert "<script>" not in html and "style=" not in html and "://" not in html.split("<body>")[1]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    for name in ("swagger-ui-bundle.js", "swagger-ui.css", "LICENSE", "NOTICE"):
        assert (VENDOR / name).is_file(), name


@pytest.mark.browser
@pytest.mark.timeout(300)
def test_the_api_page_renders_the_operations_in_chromium_without_csp_violations(app):
    from tests.browser_helpers import chromium, require_chromium, watched_page

    require_chromium()
    with serve(app) as base, chromium() as browser:
        context = browser.new_context()
        page = watched_page(context, base)
        page.goto(f"{base}/api/docs")
        page.wait_for_selector(".opblock-summary", timeout=60_000)
        text = page.inner_text("#swagger-ui")
        assert "/api/v1/reports" in text and "Submit a field report" in text
        assert "/openrosa" not in text  # OpenRosa speaks XML to phones, not this API
        assert not page.problems, page.problems
        context.close()
