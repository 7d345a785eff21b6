"""Benchmark: how well the gazetteer finds the place in messages as they arrive in a crisis.

The labelled set (tests/data/places/messages.jsonl, 186 messages; how it was made:
tests/data/places/README.md) is run through wiki.places.detect against two crises built on a
fresh SQLite database from tests/gazetteer_fixtures.py (Haiti: admin levels 1 and 2 with French
and Creole names, a layer of named places, and the GeoNames cities in its area; eastern Libya:
the same with Arabic names). A detection counts when it is the labelled place; an ambiguous
answer (choices offered) counts as no detection.

    precision = right detections / detections          recall = right detections / messages with a place

    .venv/bin/python bench/gazetteer.py        (writes bench/results/gazetteer.json)
"""

from __future__ import annotations

import json
import platform
import sys
import tempfile
import time
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

MESSAGES = PROJECT / "tests" / "data" / "places" / "messages.jsonl"
RESULTS = PROJECT / "bench" / "results" / "gazetteer.json"


def load_messages() -> list[dict]:
    return [json.loads(line) for line in MESSAGES.read_text(encoding="utf-8").splitlines() if line.strip()]


def evaluate(app) -> dict:
    """Precision, recall and the misses, for an app whose database holds the crises of
    tests/gazetteer_fixtures.py (slugs "haiti" and "libya")."""
    from tests.gazetteer_fixtures import label_of
    from wiki.crises.services import get_crisis_or_404
    from wiki.places import detect, gazetteer_for

    messages = load_messages()
    detected = right = labelled = ambiguous = 0
    misses = []
    seconds = []
    with app.test_request_context():
        gazetteers = {slug: gazetteer_for(get_crisis_or_404(slug)) for slug in ("haiti", "libya")}
        for message in messages:
            started = time.perf_counter()
            found = detect(message["text"], gazetteers[message["crisis"]])
            seconds.append(time.perf_counter() - started)
            label = label_of(found.place)
            expected = message["place"] or ""
            labelled += bool(expected)
            ambiguous += found.ambiguous
            if label:
                detected += 1
                right += label == expected
            if label != expected:
                misses.append({"id": message["id"], "text": message["text"], "expected": expected, "found": label})
        sizes = {slug: len(gazetteer) for slug, gazetteer in gazetteers.items()}
    seconds.sort()
    return {
        "messages": len(messages),
        "with_a_place": labelled,
        "detections": detected,
        "right": right,
        "ambiguous": ambiguous,
        "precision": round(right / detected, 4) if detected else 0.0,
        "recall": round(right / labelled, 4) if labelled else 0.0,
        "ms_per_message_p50": round(seconds[len(seconds) // 2] * 1000, 3),
        "ms_per_message_p99": round(seconds[int(len(seconds) * 0.99)] * 1000, 3),
        "gazetteer_places": sizes,
        "misses": misses,
    }


def build_app(folder: Path):
    from tests.gazetteer_fixtures import load_crisis
    from wiki import create_app
    from wiki.auth.accounts import create_user
    from wiki.extensions import db
    from wiki.migrations import upgrade_all

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
            "INSTANCE_PATH": str(folder),
            "TESTING": True,
            "LOAD_ENTRYPOINT_PLUGINS": False,
            "SECRET_KEY": "bench",
            "SQLITE_SYNCHRONOUS": "OFF",
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        }
    )
    with app.app_context():
        upgrade_all()
    with app.test_request_context():
        admin = create_user("bench-admin", "bench password 1", role="admin")
        for key in ("haiti", "libya"):
            load_crisis(key, admin)
        db.session.remove()
    return app


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        app = build_app(Path(folder))
        started = time.perf_counter()
        figures = evaluate(app)
        figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["machine"] = {"python": platform.python_version(), "cores": __import__("os").cpu_count()}
    RESULTS.write_text(json.dumps(figures, indent=2, ensure_ascii=False) + "\n")
    print(
        f"gazetteer: {figures['messages']} messages, {figures['with_a_place']} name a place; "
        f"{figures['detections']} detections, {figures['right']} right, {figures['ambiguous']} ambiguous"
    )
    print(f"precision {figures['precision']:.3f}, recall {figures['recall']:.3f}")
    print(f"per message: p50 {figures['ms_per_message_p50']} ms, p99 {figures['ms_per_message_p99']} ms")
    for miss in figures["misses"]:
        print(f"  #{miss['id']}: expected {miss['expected'] or '-'}, found {miss['found'] or '-'}: {miss['text']}")


if __name__ == "__main__":
    main()
