"""Structured claims through the HTTP surface, with the validation plugin loaded: recording a
report's claims, the proposals truth discovery makes from them, who may do what, refusals, and
what each viewer may see."""

from __future__ import annotations

import pytest

import plugins.validation as validation
from tests.alerts_helpers import run_worker
from tests.reports_helpers import feature
from wiki import create_app
from wiki.extensions import db

CONTACT = "+509 3456 7890"


@pytest.fixture
def app(app_config):
    # Truth discovery re-runs in the background worker, which the tests run (run_worker): at
    # once, rather than after the delay that gathers a burst of clicks into one run.
    app = create_app({**app_config, "VALIDATION_TRUTH_RERUN_DELAY_MS": 0}, plugins=[validation])
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def verifier(app, client, make_user, login):
    person = make_user("verifier")
    login(person)
    return person


def submit(app, contact: str | None = None, name: str = "", **properties) -> int:
    """A report from a member of the public (a fresh client: the shared one may be logged in)."""
    source = {"name": name, "contact": contact} if contact else {"name": name}
    response = app.test_client().post("/api/v1/reports", json=feature(source=source, **properties))
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def claim(client, report_id: int, **body):
    return client.post(f"/api/v1/reports/{report_id}/claims", json=body)


def listing(client, settled: bool = True, **params) -> dict:
    """GET /api/v1/claims for the test crisis; `settled`: after the background worker re-ran
    truth discovery on every claim recorded so far."""
    if settled:
        run_worker(client.application)
    response = client.get("/api/v1/claims", query_string={"crisis": "quake", **params})
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["pending"] is False or not settled
    return body


def subjects(client, **params) -> list[dict]:
    return listing(client, **params)["subjects"]


def test_a_verifier_records_a_key_figure_and_everyone_sees_the_proposal(app, client, crisis, verifier):
    report = submit(app, contact=CONTACT, name="Marie", occurred_at="2010-01-14T09:00:00Z")
    response = claim(
        client, report, subject="HT0111", attribute="People displaced", value=12000, unit="people", as_of="2010-01-14"
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["created"] is True
    subject = body["subject"]
    assert (subject["subject"], subject["attribute"], subject["as_of"], subject["kind"], subject["unit"]) == (
        "HT0111",
        "people_displaced",
        "2010-01-14",
        "numeric",
        "people",
    )
    # Truth discovery has not run on it yet: the answer says so, and proposes nothing.
    assert subject["pending"] is True and subject["proposed_value"] is None and subject["confidence"] is None
    assert subject["computed_at"] is None and subject["values"][0]["probability"] is None
    assert listing(app.test_client(), settled=False)["subjects"][0]["pending"] is True
    public = subjects(app.test_client())  # after the worker ran
    assert [s["proposed_value"] for s in public] == [12000] and not public[0]["pending"]
    assert 0 < public[0]["confidence"] <= 1 and public[0]["computed_at"] is not None
    [value] = public[0]["values"]
    assert value["value"] == 12000 and value["probability"] == pytest.approx(1.0)
    assert value["claims"][0]["report_id"] == report and 0 < value["claims"][0]["source_reliability"] < 1


def test_as_of_defaults_to_the_day_the_reported_event_happened(app, client, crisis, verifier):
    first = submit(app, contact="a@example.org", occurred_at="2010-01-14T22:00:00Z")
    second = submit(app, contact="b@example.org", occurred_at="2010-01-14T06:00:00Z")
    claim(client, first, subject="Route Nationale 2", attribute="road_status", value="Closed")
    response = claim(client, second, subject="route nationale  2", attribute="road_status", value="closed")
    assert response.status_code == 201
    [subject] = subjects(client)
    assert subject["as_of"] == "2010-01-14" and subject["subject"] == "Route Nationale 2"
    assert subject["proposed_value"] == "Closed" and len(subject["values"][0]["claims"]) == 2


def test_claiming_again_replaces_the_reports_value(app, client, crisis, verifier):
    report = submit(app, contact=CONTACT)
    assert (
        claim(client, report, subject="Camp A", attribute="households", value=300, as_of="2010-01-20").status_code
        == 201
    )
    again = claim(client, report, subject="Camp A", attribute="households", value=320, as_of="2010-01-20")
    assert again.status_code == 200 and again.get_json()["created"] is False
    [subject] = subjects(client)
    assert subject["proposed_value"] == 320 and [v["value"] for v in subject["values"]] == [320]


def test_a_reliable_minority_outweighs_a_careless_majority(app, client, crisis, verifier):
    """Two careful sources and three careless ones report on eight roads (the careless are each
    right about a third of the time); on the ninth road the careless three agree, wrongly."""
    careful = {name: f"{name}@ngo.example" for name in ("R1", "R2")}
    careless = {"U1": [1, 0, 0, 1, 0, 0, 1, 0], "U2": [0, 1, 0, 0, 1, 0, 0, 1], "U3": [0, 0, 1, 0, 0, 1, 0, 0]}
    roads = ("open", "closed")

    def say(source: str, road: str, value: str) -> None:
        report = submit(app, contact=f"{source}@ngo.example", name=source, title=f"{road} is {value}")
        response = claim(client, report, subject=road, attribute="road_status", value=value, as_of="2010-01-15")
        assert response.status_code == 201, response.get_json()

    for j in range(8):
        truth, other = roads[j % 2], roads[1 - j % 2]
        for source in careful:
            say(source, f"Road {j}", truth)
        for source, right in careless.items():
            say(source, f"Road {j}", truth if right[j] else other)
    for source in careful:
        say(source, "Bridge road", "open")
    for source in careless:
        say(source, "Bridge road", "closed")

    [bridge] = subjects(client, subject="bridge road")
    assert bridge["proposed_value"] == "open" and bridge["confidence"] > 0.9
    reliability = {c["source"]["name"]: c["source_reliability"] for v in bridge["values"] for c in v["claims"]}
    assert min(reliability["R1"], reliability["R2"]) > max(reliability["U1"], reliability["U2"], reliability["U3"])
    assert [
        s["proposed_value"] for s in subjects(client, attribute="road_status") if s["subject"] != "Bridge road"
    ] == [roads[j % 2] for j in range(8)]


def test_anonymous_reports_are_pooled_so_many_count_as_one(app, client, crisis, verifier):
    known = submit(app, contact=CONTACT, name="Marie")
    claim(client, known, subject="Pont Rouge", attribute="bridge_status", value="standing", as_of="2010-01-13")
    for _ in range(5):
        claim(
            client, submit(app), subject="Pont Rouge", attribute="bridge_status", value="collapsed", as_of="2010-01-13"
        )
    [subject] = subjects(client)
    assert subject["proposed_value"] == "standing"
    collapsed = next(v for v in subject["values"] if v["value"] == "collapsed")
    assert [c["weight"] for c in collapsed["claims"]] == [0.2] * 5
    assert all(c["source"]["anonymous"] for c in collapsed["claims"])


def test_a_source_repeating_itself_through_several_reports_counts_once(app, client, crisis, verifier):
    first, second = submit(app, contact=CONTACT), submit(app, contact=CONTACT)
    claim(client, first, subject="Camp B", attribute="households", value=100, as_of="2010-01-20")
    claim(client, second, subject="Camp B", attribute="households", value=150, as_of="2010-01-20")
    [subject] = subjects(client)
    counted = {c["report_id"]: c["counted"] for v in subject["values"] for c in v["claims"]}
    assert counted == {first: False, second: True}
    assert subject["proposed_value"] == 150


def test_a_report_merged_as_a_duplicate_stops_counting(app, client, crisis, make_user, login, verifier):
    original = submit(app, contact="a@example.org")
    copy = submit(app, contact="b@example.org")
    claim(client, original, subject="Camp C", attribute="households", value=500, as_of="2010-01-20")
    claim(client, copy, subject="Camp C", attribute="households", value=900, as_of="2010-01-20")
    assert subjects(client)[0]["proposed_value"] is None  # two equal sources, far apart: a tie
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    assert coordinator.patch(f"/api/v1/reports/{copy}", json={"duplicate_of": original}).status_code == 200
    [subject] = subjects(client)
    assert subject["proposed_value"] == 500
    counted = {c["report_id"]: c["counted"] for v in subject["values"] for c in v["claims"]}
    assert counted == {original: True, copy: False}


@pytest.mark.parametrize(
    ("role", "status"), [(None, 401), ("volunteer", 403), ("verifier", 201), ("coordinator", 201), ("admin", 201)]
)
def test_only_coordinators_verifiers_and_admins_record_claims(app, client, crisis, make_user, login, role, status):
    report = submit(app, contact=CONTACT)
    if role:
        login(make_user(role))
    response = claim(client, report, subject="HT0111", attribute="people_displaced", value=10, as_of="2010-01-14")
    assert response.status_code == status
    assert (status == 201) == bool(subjects(app.test_client()))


def test_a_volunteer_may_not_record_claims_even_on_their_own_report(app, client, crisis, make_user, login):
    login(make_user("volunteer"))
    report = client.post("/api/v1/reports", json=feature()).get_json()["id"]
    assert claim(client, report, subject="X", attribute="road_status", value="open").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"attribute": "road_status", "value": "open"}, "subject"),
        ({"subject": "  ", "attribute": "road_status", "value": "open"}, "subject"),
        ({"subject": "x" * 201, "attribute": "road_status", "value": "open"}, "subject"),
        ({"subject": "RN2", "value": "open"}, "attribute"),
        ({"subject": "RN2", "attribute": "road status!", "value": "open"}, "attribute"),
        ({"subject": "RN2", "attribute": "road_status"}, "value"),
        ({"subject": "RN2", "attribute": "road_status", "value": None}, "value"),
        ({"subject": "RN2", "attribute": "road_status", "value": True}, "value"),
        ({"subject": "RN2", "attribute": "road_status", "value": ["open"]}, "value"),
        ({"subject": "RN2", "attribute": "road_status", "value": ""}, "value"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "unit": "km"}, "unit"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "unit": 3}, "unit"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "as_of": "15/01/2010"}, "as_of"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "as_of": "2999-01-01"}, "as_of"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "as_of": 20100115}, "as_of"),
        ({"subject": "RN2", "attribute": "road_status", "value": "open", "source": "me"}, "source"),
    ],
)
def test_invalid_claims_are_refused_with_422_naming_the_field(app, client, crisis, verifier, body, field):
    report = submit(app)
    response = claim(client, report, **body)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == field
    assert subjects(client) == []


def test_a_subject_keeps_one_kind_of_value_and_one_unit(app, client, crisis, verifier):
    first, second = submit(app, contact="a@example.org"), submit(app, contact="b@example.org")
    base = {"subject": "HT0111", "attribute": "people_displaced", "as_of": "2010-01-14"}
    assert claim(client, first, value=1000, unit="people", **base).status_code == 201
    words = claim(client, second, value="many", **base)
    assert words.status_code == 422 and words.get_json()["error"]["field"] == "value"
    households = claim(client, second, value=200, unit="households", **base)
    assert households.status_code == 422 and households.get_json()["error"]["field"] == "unit"
    assert claim(client, second, value=1100, unit="People", **base).status_code == 201


def test_malformed_requests_and_unknown_things(app, client, crisis, verifier):
    report = submit(app)
    assert client.post(f"/api/v1/reports/{report}/claims", data="subject=x").status_code == 415
    assert client.post(f"/api/v1/reports/{report}/claims", data="{", content_type="application/json").status_code == 400
    assert client.post(f"/api/v1/reports/{report}/claims", json=["x"]).status_code == 400
    assert claim(client, 999999, subject="x", attribute="a", value=1).status_code == 404
    missing = client.get("/api/v1/claims")
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "crisis"
    assert client.get("/api/v1/claims?crisis=nowhere").status_code == 404
    assert client.get("/api/v1/claims?crisis=quake&cursor=abc").status_code == 422
    assert client.get("/api/v1/claims?crisis=quake&limit=0").status_code == 422


def test_claims_are_listed_a_page_at_a_time(app, client, crisis, verifier):
    report = submit(app, contact=CONTACT)
    for n in range(5):
        claim(client, report, subject=f"Camp {n}", attribute="households", value=100 + n, as_of="2010-01-20")
    first = client.get("/api/v1/claims", query_string={"crisis": "quake", "limit": 3}).get_json()
    second = client.get(
        "/api/v1/claims", query_string={"crisis": "quake", "limit": 3, "cursor": first["next_cursor"]}
    ).get_json()
    assert [s["subject"] for s in first["subjects"] + second["subjects"]] == [f"Camp {n}" for n in range(5)]
    assert second["next_cursor"] is None


def test_source_contacts_never_appear_and_identities_only_for_verifiers(
    app, client, crisis, make_user, login, verifier
):
    report = submit(app, contact=CONTACT, name="Marie Joseph")
    created = claim(client, report, subject="HT0111", attribute="people_displaced", value=500, as_of="2010-01-14")
    assert CONTACT not in created.get_data(as_text=True)
    as_verifier = client.get("/api/v1/claims?crisis=quake")
    source = as_verifier.get_json()["subjects"][0]["values"][0]["claims"][0]["source"]
    assert source["name"] == "Marie Joseph" and "contact" not in source
    assert CONTACT not in as_verifier.get_data(as_text=True)
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    for viewer in (app.test_client(), coordinator):
        text = viewer.get("/api/v1/claims?crisis=quake").get_data(as_text=True)
        assert CONTACT not in text and "Marie Joseph" not in text
        assert (
            "source"
            not in viewer.get("/api/v1/claims?crisis=quake").get_json()["subjects"][0]["values"][0]["claims"][0]
        )


def test_claims_on_unpublished_reports_are_hidden_from_the_public(app, client, crisis, make_user, login, verifier):
    public_report = submit(app, contact="a@example.org")
    hidden_report = submit(app, contact="b@example.org")
    claim(client, public_report, subject="Camp D", attribute="households", value=100, as_of="2010-01-20")
    claim(client, hidden_report, subject="Camp D", attribute="households", value=5000, as_of="2010-01-20")
    claim(client, hidden_report, subject="Camp E", attribute="households", value=70, as_of="2010-01-20")
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    assert coordinator.patch(f"/api/v1/reports/{hidden_report}", json={"published": False}).status_code == 200
    public = subjects(app.test_client())
    assert [s["subject"] for s in public] == ["Camp D"]
    assert [v["value"] for v in public[0]["values"]] == [100]
    assert [c["report_id"] for c in public[0]["values"][0]["claims"]] == [public_report]
    assert {s["subject"] for s in subjects(client)} == {"Camp D", "Camp E"}


def test_discover_truth_command_reruns_a_crisis(app, client, runner, crisis, verifier):
    report = submit(app, contact=CONTACT)
    claim(client, report, subject="RN2", attribute="road_status", value="open", as_of="2010-01-15")
    result = runner.invoke(args=["discover-truth", "--crisis", "quake"])
    assert result.exit_code == 0, result.output
    assert "1 claims about 1 subjects from 1 sources" in result.output
    assert "road_status of RN2 on 2010-01-15: open" in result.output
    missing = runner.invoke(args=["discover-truth", "--crisis", "nowhere"])
    assert missing.exit_code != 0 and "There is no crisis nowhere" in missing.output


def test_the_claims_api_is_in_the_openapi_document(app, client):
    document = client.get("/api/v1/openapi.json").get_json()
    assert "post" in document["paths"]["/api/v1/reports/{report_id}/claims"]
    assert "get" in document["paths"]["/api/v1/claims"]
    assert {"ClaimInput", "ClaimSubject", "ClaimSubjectList", "ClaimRecorded"} <= set(document["components"]["schemas"])


@pytest.mark.parametrize("disabled", [[], ["validation"]])
def test_truth_discovery_is_a_plugin_that_the_validation_plugin_brings_and_takes_away(app_config, disabled):
    from wiki.plugins import loaded_plugin_names

    app = create_app({**app_config, "LOAD_ENTRYPOINT_PLUGINS": True, "DISABLED_PLUGINS": disabled})
    with app.app_context():
        loaded = set(loaded_plugin_names())
        db.engine.dispose()
    on = not disabled
    assert ("validation.truth" in loaded) is on and ("validation" in loaded) is on
    assert any(rule.rule == "/api/v1/claims" for rule in app.url_map.iter_rules()) is on
    assert ("discover-truth" in app.cli.commands) is on


@pytest.fixture
def fits(monkeypatch):
    """The runs of truth discovery (each a fit with its model guard), wherever they happen."""
    from plugins.validation.truth import proposals, refresh

    runs: list[int] = []
    for module in (proposals, refresh):
        real = module.discover

        def counted(claims, *args, real=real, **kwargs):
            runs.append(len(list(claims)))
            return real(claims, *args, **kwargs)

        monkeypatch.setattr(module, "discover", counted)
    return runs


def test_claims_in_a_row_are_answered_pending_and_rerun_once_by_the_worker(app, client, crisis, verifier, fits):
    reports = [submit(app, contact=f"s{n}@example.org", name=f"S{n}") for n in range(4)]
    for report, value in zip(reports, ("open", "open", "closed", "open"), strict=True):
        response = claim(client, report, subject="RN2", attribute="road_status", value=value, as_of="2010-01-15")
        assert response.status_code == 201 and response.get_json()["subject"]["pending"] is True
    assert fits == []  # no click paid for a run
    waiting = listing(client, settled=False)
    assert waiting["pending"] is True and waiting["subjects"][0]["proposed_value"] is None
    [subject] = subjects(client)
    assert fits == [4]  # one run for the four clicks
    assert subject["proposed_value"] == "open" and subject["pending"] is False
    run_worker(app)
    assert fits == [4]  # nothing left to do


def test_the_look_for_pending_crises_reads_the_pending_subjects_index(app, client, crisis, verifier):
    """The worker looks every few seconds; it reads the partial index of the subjects waiting for
    a run (v0011_pending_subjects), not every claim subject of every crisis."""
    from sqlalchemy import select

    from plugins.validation.truth import refresh
    from plugins.validation.truth.models import ClaimSubject

    report = submit(app, contact="s@example.org", name="S")
    assert claim(client, report, subject="RN2", attribute="road_status", value="open").status_code == 201
    with app.app_context():
        assert len(refresh.due()) == 1
        if db.engine.dialect.name == "sqlite":
            query = select(ClaimSubject.crisis_id).where(ClaimSubject.computed_at.is_(None)).distinct()
            sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
            plan = " ".join(str(row) for row in db.session.execute(db.text(f"EXPLAIN QUERY PLAN {sql}")))
            assert "ix_validation_claim_subjects_pending" in plan, plan
        else:  # PostgreSQL plans a table this small with a scan: the index is there, partial
            definition = db.session.scalar(
                db.text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_validation_claim_subjects_pending'")
            )
            assert "WHERE (computed_at IS NULL)" in definition, definition
        db.session.commit()
    run_worker(app)
    with app.app_context():
        assert refresh.due() == []


def test_a_status_change_of_a_report_with_claims_queues_a_rerun_not_a_fit(
    app, client, crisis, make_user, login, verifier, fits
):
    original = submit(app, contact="a@example.org")
    copy = submit(app, contact="b@example.org")
    claim(client, original, subject="Camp F", attribute="households", value=500, as_of="2010-01-20")
    claim(client, copy, subject="Camp F", attribute="households", value=900, as_of="2010-01-20")
    assert subjects(client)[0]["proposed_value"] is None and fits == [2]  # a tie
    coordinator = app.test_client()
    login(make_user("coordinator"), coordinator)
    assert coordinator.patch(f"/api/v1/reports/{copy}", json={"duplicate_of": original}).status_code == 200
    assert fits == [2]  # the request did not fit
    [waiting] = listing(client, settled=False)["subjects"]
    assert waiting["pending"] is True and waiting["proposed_value"] is None and waiting["computed_at"] is None
    [subject] = subjects(client)
    assert fits == [2, 1] and subject["proposed_value"] == 500 and subject["pending"] is False
    # A status change of a report without claims queues nothing.
    other = submit(app, contact="c@example.org")
    assert coordinator.patch(f"/api/v1/reports/{other}", json={"status": "verified"}).status_code == 200
    assert listing(client, settled=False)["pending"] is False


def test_the_worker_waits_the_delay_so_that_a_burst_of_clicks_costs_one_run(app, client, crisis, verifier, fits):
    from wiki.workers import worker_for

    report = submit(app, contact=CONTACT)
    claim(client, report, subject="Camp G", attribute="households", value=80, as_of="2010-01-20")
    app.config["VALIDATION_TRUTH_RERUN_DELAY_MS"] = 3_600_000
    with app.app_context():
        worker_for(app).run_due()  # the job sees the crisis pending and waits
    assert fits == [] and listing(client, settled=False)["pending"] is True
    claim(client, submit(app, contact="d@example.org"), subject="Camp G", attribute="households", value=80,
          as_of="2010-01-20")  # fmt: skip
    app.config["VALIDATION_TRUTH_RERUN_DELAY_MS"] = 0  # as if the delay had passed
    assert subjects(client)[0]["proposed_value"] == 80 and fits == [2]


def test_a_claim_recorded_while_the_worker_fits_leaves_the_crisis_pending_for_one_more_run(
    app, client, crisis, verifier, monkeypatch
):
    from plugins.validation.truth import refresh

    first, second = submit(app, contact="e@example.org"), submit(app, contact="f@example.org")
    claim(client, first, subject="Camp H", attribute="households", value=200, as_of="2010-01-20")
    real, runs = refresh.discover, []

    def discover_while_a_claim_arrives(claims, *args, **kwargs):
        runs.append(len(claims))
        if len(runs) == 1:  # a verifier records a claim while the first run fits
            response = claim(client, second, subject="Camp H", attribute="households", value=200, as_of="2010-01-20")
            assert response.status_code == 201
        return real(claims, *args, **kwargs)

    monkeypatch.setattr(refresh, "discover", discover_while_a_claim_arrives)
    [subject] = subjects(client)
    assert runs == [1, 2]  # the first run was not current: its values were kept pending, and it ran again
    assert subject["pending"] is False and len(subject["values"][0]["claims"]) == 2


def test_two_processes_workers_rerun_a_crisis_once_between_them(app, client, crisis, verifier, fits):
    """The job's deployment-wide lock (wiki/workers.py): two workers sharing the instance folder,
    as two server processes do, never both re-run; the one that saw the crisis first does."""
    from wiki.workers import Worker, collect_jobs

    claim(client, submit(app, contact=CONTACT), subject="Camp J", attribute="households", value=40, as_of="2010-01-20")
    first, second = Worker(app, collect_jobs(app)), Worker(app, collect_jobs(app))
    app.config["VALIDATION_TRUTH_RERUN_DELAY_MS"] = 3_600_000
    with app.app_context():
        first.run_due()  # it takes the job's lock and waits out the delay, keeping it
    app.config["VALIDATION_TRUTH_RERUN_DELAY_MS"] = 0
    with app.app_context():
        second.run_until_idle()  # the lock is taken: nothing to do here
        assert fits == []
        first.run_until_idle()
        assert fits == [1]
        second.run_until_idle()
    assert fits == [1] and listing(client, settled=False)["pending"] is False
