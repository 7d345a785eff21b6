"""The OpenAPI document is generated from the routes that serve the API (wiki.api.spec): every
API route declares its operation, the document passes openapi-spec-validator, has unique
operationIds, tags, servers, security schemes and examples, and a client generated from it by
openapi-python-client (into a temporary folder) submits a report and reads it back from the app
served on a loopback port."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import serve
from wiki.api.spec import undocumented_routes


@pytest.fixture
def app_config(app_config):
    return {**app_config, "SERVER_NAME": None, "LOAD_ENTRYPOINT_PLUGINS": True}  # plugins' routes too


def test_every_api_route_declares_its_operation(app):
    assert undocumented_routes(app) == []


def test_the_document_is_valid_openapi_with_ids_tags_servers_security_and_examples(app, client):
    from openapi_spec_validator import validate

    document = client.get("/api/v1/openapi.json").get_json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": "http://localhost", "description": "this site"}]
    operations = [op for item in document["paths"].values() for op in item.values()]
    ids = [op["operationId"] for op in operations]
    assert len(ids) == len(set(ids)) and all(op.get("tags") for op in operations)
    assert {"bearer", "session", "basic"} <= document["components"]["securitySchemes"].keys()
    assert document["components"]["schemas"]["ReportInput"]["examples"][0]["properties"]["title"]
    # The plugins' routes and the parameters they add to core operations are in it.
    assert "/api/v1/reports/{report_id}/assessments" in document["paths"]
    names = [p["name"] for p in document["paths"]["/api/v1/reports"]["get"]["parameters"]]
    assert "min_score" in names
    # Path parameters come from the URL rules' converters.
    [report_id] = [p for p in document["paths"]["/api/v1/reports/{report_id}"]["get"]["parameters"]]
    assert report_id["in"] == "path" and report_id["schema"]["type"] == "integer"


def test_a_route_without_an_operation_is_named(app):
    from flask import Blueprint

    extra = Blueprint("undocumented", __name__, url_prefix="/api/v1")
    extra.add_url_rule("/nothing-said", "nothing", lambda: "")
    app.register_blueprint(extra)
    assert undocumented_routes(app) == ["GET /api/v1/nothing-said (undocumented.nothing)"]


@pytest.mark.skipif(
    shutil.which("openapi-python-client") is None
    and not (Path(sys.executable).parent / "openapi-python-client").exists(),
    reason="openapi-python-client is in the test extra",
)
def test_a_generated_client_submits_and_reads_a_report(app, crisis, make_user, token_for, tmp_path):
    token = token_for(make_user("coordinator"))
    with serve(app) as base:
        import requests

        document = requests.get(f"{base}/api/v1/openapi.json", timeout=30).json()
        assert document["servers"][0]["url"] == base
        (tmp_path / "openapi.json").write_text(json.dumps(document))
        (tmp_path / "config.yml").write_text(
            "post_hooks: []\nproject_name_override: crisiswiki-client\npackage_name_override: crisiswiki_client\n"
        )
        generator = Path(sys.executable).parent / "openapi-python-client"
        subprocess.run(
            [
                str(generator),
                "generate",
                "--path",
                str(tmp_path / "openapi.json"),
                "--config",
                str(tmp_path / "config.yml"),
                "--meta",
                "none",
                "--output-path",
                str(tmp_path / "crisiswiki_client"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )
        sys.path.insert(0, str(tmp_path))
        try:
            package = importlib.import_module("crisiswiki_client")
            create = importlib.import_module("crisiswiki_client.api.reports.api_create_report")
            read = importlib.import_module("crisiswiki_client.api.reports.api_get_report")
            models = importlib.import_module("crisiswiki_client.models")
            client = package.AuthenticatedClient(base_url=base, token=token)
            body = models.ReportInput.from_dict(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [-72.34, 18.54]},
                    "properties": {"crisis": "quake", "title": "Generated client report", "sector": "health"},
                }
            )
            created = create.sync_detailed(client=client, body=body)
            assert created.status_code == 201, created.content
            report_id = created.parsed.id
            feature = read.sync(report_id=report_id, client=client)
            assert feature.to_dict()["properties"]["title"] == "Generated client report"
            assert feature.to_dict()["geometry"]["coordinates"] == [-72.34, 18.54]
        finally:
            sys.path.remove(str(tmp_path))
            for name in [name for name in sys.modules if name.startswith("crisiswiki_client")]:
                del sys.modules[name]
