"""Health, readiness, metrics, the request id and JSON logs, and trusted proxies (wiki/operations,
wiki/metrics.py, wiki/network.py). Several gunicorn processes adding up their metrics, behind
nginx: tests/test_deploy.py."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import insert

from tests.reports_helpers import feature
from wiki import create_app
from wiki.extensions import db
from wiki.models.base import utcnow
from wiki.operations.logs import JsonFormatter


def test_healthz_answers_without_the_database(app_config, tmp_path):
    app = create_app({**app_config, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/folder/x.db"})
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["failing"] == ["database"]
    assert "database" in ready.get_json()["message"]


def test_readyz_is_ready_with_an_index_and_names_what_is_not(app, client, index):
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.get_json()
    body = ready.get_json()
    assert body["status"] == "ready"
    assert set(body["checks"]) == {"database", "search_index", "worker_backlog", "disk"}
    assert {queue["name"] for queue in body["checks"]["worker_backlog"]["queues"]} == {"search_index"}

    from wiki.search.models import SearchQueueEntry

    with app.app_context():
        db.session.execute(
            insert(SearchQueueEntry).values(
                kind="page", object_id=1, op="index", created_at=utcnow() - timedelta(hours=1)
            )
        )
        db.session.commit()
    late = client.get("/readyz")
    assert late.status_code == 503
    assert late.get_json()["failing"] == ["worker_backlog"]
    backlog = late.get_json()["checks"]["worker_backlog"]
    assert backlog["late"] == ["search_index"]
    assert backlog["queues"][0]["pending"] == 1 and backlog["queues"][0]["oldest_seconds"] >= 3599

    app.config["READY_MIN_FREE_BYTES"] = 2**62
    assert set(client.get("/readyz").get_json()["failing"]) == {"disk", "worker_backlog"}


def test_readyz_without_a_search_index(client, crisis):
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.get_json()["failing"] == ["search_index"]
    assert "crisiswiki reindex" in ready.get_json()["checks"]["search_index"]["error"]


def test_the_validation_plugin_reports_its_scoring_lag_through_the_hook(app_config, crisis, index):
    app = create_app({**app_config, "LOAD_ENTRYPOINT_PLUGINS": True})
    client = app.test_client()
    assert client.post("/api/v1/reports", json=feature()).status_code == 201
    from wiki.models import Report

    with app.app_context():
        db.session.execute(db.update(Report).values(received_at=utcnow() - timedelta(hours=2)))
        db.session.commit()
    body = client.get("/readyz").get_json()
    queues = {queue["name"]: queue for queue in body["checks"]["worker_backlog"]["queues"]}
    assert queues["scoring"]["pending"] == 1 and queues["scoring"]["oldest_seconds"] >= 7199
    assert "scoring" in body["checks"]["worker_backlog"]["late"]
    text = client.get("/metrics").get_data(as_text=True)
    assert 'crisiswiki_backlog_items{queue="scoring"} 1.0' in text
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _sample(text: str, prefix: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(prefix))


def test_metrics_count_requests_and_reports_and_are_for_allowed_addresses_only(client, crisis, index):
    before = client.get("/metrics").get_data(as_text=True)
    assert client.post("/api/v1/reports", json=feature()).status_code == 201
    assert client.get("/c/quake/").status_code == 200
    after = client.get("/metrics")
    assert after.status_code == 200 and after.mimetype == "text/plain"
    text = after.get_data(as_text=True)
    received = "crisiswiki_reports_received_total"
    assert _sample(text, received) == _sample(before, received) + 1
    assert 'crisiswiki_request_duration_seconds_bucket{endpoint="crises.home"' in text
    assert 'crisiswiki_requests_total{endpoint="api.create_report",method="POST",status="201"}' in text
    assert "crisiswiki_backlog_oldest_seconds" in text

    refused = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert refused.status_code == 403
    assert "METRICS_ALLOWED_ADDRESSES" in refused.get_data(as_text=True)


def test_an_undeclared_metric_is_an_error():
    from wiki import metrics

    with pytest.raises(KeyError, match="undeclared metric"):
        metrics.inc("reports_recieved")


def test_the_request_id_is_honoured_or_made_and_echoed(client, crisis):
    assert client.get("/healthz", headers={"X-Request-ID": "edge-42.a_b"}).headers["X-Request-ID"] == "edge-42.a_b"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != client.get("/healthz").headers["X-Request-ID"]
    # Not a plain token (a header injection attempt, too long): replaced, not echoed.
    assert client.get("/healthz", headers={"X-Request-ID": "a b<script>"}).headers["X-Request-ID"] != "a b<script>"
    assert len(client.get("/healthz", headers={"X-Request-ID": "x" * 129}).headers["X-Request-ID"]) == 32
    # Static files and error pages carry it too.
    assert "X-Request-ID" in client.get("/no-such-page").headers


def test_json_logs_carry_the_request_id(app_config, caplog):
    app = create_app({**app_config, "LOG_FORMAT": "json"})
    with caplog.at_level(logging.INFO, logger="crisiswiki.requests"):
        app.test_client().get("/healthz", headers={"X-Request-ID": "trace-7"})
    record = next(record for record in caplog.records if record.name == "crisiswiki.requests")
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "trace-7"
    assert line["path"] == "/healthz" and line["status"] == 200 and line["endpoint"] == "operations.healthz"
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(line)
    with app.app_context():
        db.engine.dispose()


def test_a_wrong_log_format_is_refused(app_config):
    with pytest.raises(ValueError, match="LOG_FORMAT"):
        create_app({**app_config, "LOG_FORMAT": "xml"})


@pytest.mark.parametrize(
    ("trusted", "peer", "forwarded", "allowed"),
    [
        ("127.0.0.1", "127.0.0.1", "203.0.113.9", False),  # through the proxy: the real client counts
        ("127.0.0.1", "192.0.2.8", "127.0.0.1", False),  # past the proxy: its own forged header is ignored
        ("", "192.0.2.8", "127.0.0.1", True),  # no TRUSTED_PROXIES: any peer is believed (as before)
    ],
)
def test_proxy_headers_are_believed_only_from_the_trusted_proxies(app_config, trusted, peer, forwarded, allowed):
    app = create_app({**app_config, "PROXY_FIX_X_FOR": 1, "TRUSTED_PROXIES": trusted})
    answer = app.test_client().get(
        "/metrics", environ_base={"REMOTE_ADDR": peer}, headers={"X-Forwarded-For": forwarded}
    )
    assert answer.status_code == (200 if allowed else 403)
    with app.app_context():
        db.engine.dispose()
