"""The demo `make run` loads into an empty database: every feature has something to show, it
respects who may see what (wiki/visibility.py), it loads in well under a minute, and
`crisiswiki demo --reset` starts it again. Loaded once per database (it takes seconds), with
the validation plugin from its entry point as `make run` has it."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from wiki import create_app
from wiki.demo.messages import read_messages
from wiki.demo.regions import region_boundaries
from wiki.extensions import db
from wiki.models import AdminArea, Crisis, InboundMessage, Layer, Page, Report, Source, User
from wiki.models.alerts import AlertSubscription

LOGIN = re.compile(r"username (\S+), password (\S+)")


@pytest.fixture(scope="module")
def demo(tmp_path_factory, static_build):
    """A site with the demo loaded by `crisiswiki init-db`, and what the command printed. On SQLite,
    as `make run` has it (the import and scoring paths it uses are tested on PostgreSQL too)."""
    folder = tmp_path_factory.mktemp("demo")
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'crisiswiki.db'}",
            "INSTANCE_PATH": str(folder / "instance"),
            "WTF_CSRF_ENABLED": False,
            "LOAD_ENTRYPOINT_PLUGINS": True,
            "SECRET_KEY": "test",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "STATIC_BUILD_DIR": str(static_build),  # the session's (a build of its own costs seconds)
            "WORKER_IN_SERVERS": False,
        }
    )
    runner = app.test_cli_runner()
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    logins = dict(LOGIN.findall(runner.invoke(args=["demo-login"]).output))
    yield app, result.output, logins
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _login(app, logins, username):
    client = app.test_client()
    response = client.post("/login", data={"username": username, "password": logins[username]})
    assert response.status_code == 302, username
    return client


def test_the_vendored_messages_are_real_cleaned_and_modest():
    messages = read_messages()
    assert 1500 < len(messages) < 5000
    assert {m.event for m in messages} == {"yolanda", "bohol"}
    texts = " ".join(m.text for m in messages)
    assert "http" not in texts and "RT @" not in texts
    assert not re.search(r"@(?!user\b)\w", texts)  # every handle replaced by "@user"
    assert any("Tacloban" in m.text for m in messages)


def test_the_regions_are_approximations_with_demo_pcodes_inside_the_country():
    regions = region_boundaries()
    features = regions["features"]
    assert len(features) == 17
    assert {f["properties"]["adm1_pcode"] for f in features} >= {"PH07", "PH08", "PH13"}
    assert all("Approximate" in f["properties"]["note"] for f in features)


def test_init_db_loads_every_feature_in_well_under_a_minute(demo):
    app, output, logins = demo
    seconds = float(re.search(r"in ([\d.]+) s\.", output).group(1))
    assert seconds < 60, output
    assert set(logins) == {"admin", "cora", "vera", "victor", "val", "remy"}
    with app.app_context():
        crises = {c.slug: c for c in db.session.scalars(select(Crisis))}
        assert set(crises) == {"yolanda-2013", "bohol-2013"}
        yolanda = crises["yolanda-2013"]

        def count(model, *where):
            return db.session.scalar(select(func.count()).select_from(model).where(*where))

        reports = count(Report, Report.crisis_id == yolanda.id)
        assert reports > 900
        assert count(Report) > 1800
        # Every report inside the crisis's area and assigned a region by the imported boundaries.
        west, south, east, north = yolanda.bbox
        outside = count(
            Report,
            Report.crisis_id == yolanda.id,
            (Report.lon < west) | (Report.lon > east) | (Report.lat < south) | (Report.lat > north),
        )
        assert outside == 0
        assert count(Report, Report.crisis_id == yolanda.id, Report.adm1_pcode.is_(None)) == 0
        assert count(Report, Report.crisis_id == yolanda.id, Report.adm1_pcode == "PH08") > reports / 3
        assert count(AdminArea, AdminArea.crisis_id == yolanda.id, AdminArea.level == 1) == 17
        assert count(Layer, Layer.crisis_id == yolanda.id) == 2
        statuses = dict(
            db.session.execute(
                select(Report.status, func.count()).where(Report.crisis_id == yolanda.id).group_by(Report.status)
            ).all()
        )
        assert statuses["verified"] > 50 and statuses["refuted"] > 10 and statuses["new"] > 500
        assert count(Report, Report.crisis_id == yolanda.id, Report.sensitive.is_(True)) >= 5
        assert count(Report, Report.crisis_id == yolanda.id, Report.withdrawn_at.is_not(None)) == 1
        assert count(InboundMessage, InboundMessage.crisis_id == yolanda.id) == 36
        assert count(InboundMessage, InboundMessage.processed_at.is_(None)) == 0
        assert count(AlertSubscription, AlertSubscription.crisis_id == yolanda.id) == 3
        assert count(Page, Page.crisis_id == yolanda.id) >= 6
        roles = dict(db.session.execute(select(User.username, User.role)).all())
        assert {roles[name] for name in ("admin", "cora", "vera", "val")} == {
            "admin",
            "coordinator",
            "verifier",
            "volunteer",
        }


def test_the_demo_has_scores_verdicts_and_a_verifier_queue(demo):
    app, _output, logins = demo
    client = app.test_client()
    listed = client.get("/api/v1/reports?crisis=yolanda-2013&limit=1000").get_json()["features"]
    scores = [f["properties"]["score"] for f in listed if f["properties"].get("score") is not None]
    assert len(scores) > 500 and min(scores) < 0.4 and max(scores) > 0.8
    assert any(f["properties"].get("verdict") for f in listed)
    vera = _login(app, logins, "vera")
    queue = vera.get("/c/yolanda-2013/verify")
    assert queue.status_code == 200 and b"Tacloban" in queue.data


def test_the_demo_respects_who_sees_what(demo):
    app, _output, logins = demo
    with app.app_context():
        withdrawn = db.session.scalar(select(Report.id).where(Report.withdrawn_at.is_not(None)))
        sensitive = db.session.scalars(
            select(Report).where(Report.sensitive.is_(True), Report.withdrawn_at.is_(None))
        ).first()
        with_contact = db.session.scalar(
            select(Report.id)
            .join(Source, Source.id == Report.source_id)
            .where(Source.contact_hash.is_not(None), Report.sensitive.is_(False), Report.withdrawn_at.is_(None))
            .limit(1)
        )
        sensitive_id, exact = sensitive.id, (sensitive.lon, sensitive.lat)
    anonymous = app.test_client()
    assert anonymous.get(f"/api/v1/reports/{withdrawn}").status_code == 404
    coarse = anonymous.get(f"/api/v1/reports/{sensitive_id}").get_json()
    assert coarse["properties"]["location_coarsened"] is True
    assert tuple(coarse["geometry"]["coordinates"]) != pytest.approx(exact)
    assert coarse["properties"].get("place_name") in (None, "")
    public = anonymous.get(f"/api/v1/reports/{with_contact}").get_json()["properties"]
    assert not (public.get("source") or {}).get("contact")
    verifier = _login(app, logins, "vera")
    shown = verifier.get(f"/api/v1/reports/{with_contact}").get_json()["properties"]
    assert shown["source"]["contact"].startswith("+63")
    assert verifier.get(f"/api/v1/reports/{withdrawn}").status_code == 200


def test_the_pages_say_what_is_real_and_embed_live_maps(demo):
    app, _output, _logins = demo
    client = app.test_client()
    home = client.get("/c/yolanda-2013/")
    assert home.status_code == 200 and b"assigned by the demo loader" in home.data
    about = client.get("/c/yolanda-2013/wiki/About_the_demo_data").data.decode()
    assert "CrisisLexT26" in about and "approximations" in about and "{" not in about
    sitrep = client.get("/c/yolanda-2013/wiki/Situation_Report_No._2").data.decode()
    assert sitrep.count('class="crisiswiki-map"') == 2
    layers = [int(i) for i in re.findall(r'data-map-layers="(\d+)"', sitrep)]
    assert len(layers) == 2
    for layer in layers:
        data = client.get(f"/api/v1/layers/{layer}").get_json()
        assert data["features"] and "made up" in data["metadata"]["title"]
    boundaries = client.get("/api/v1/crises/yolanda-2013/boundaries?level=1").get_json()
    assert len(boundaries["features"]) == 17
    assert json.dumps(boundaries).count("PH08") >= 1


def test_the_inbox_and_the_responders_alerts_are_there_for_their_people(demo):
    app, _output, logins = demo
    cora = _login(app, logins, "cora")
    inbox = cora.get("/c/yolanda-2013/inbox")
    assert inbox.status_code == 200 and b"+63 918 555" in inbox.data
    remy = _login(app, logins, "remy")
    mine = remy.get("/api/v1/subscriptions").get_json()
    assert len(mine["subscriptions"] if isinstance(mine, dict) else mine) == 3


def test_demo_reset_loads_it_again(demo):
    app, _output, _logins = demo
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--reset", "--yes"])
    assert result.exit_code == 0, result.output
    assert "Demo administrator: username admin" in result.output and "username vera" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Crisis)) == 2
        assert db.session.scalar(select(func.count()).select_from(Report)) > 1800
