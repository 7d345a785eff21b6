"""Truth discovery, the majority-vote baseline and their evaluation: small hand-made cases, a
tiny fixture, and the smallest real benchmark set."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from plugins.validation.truth.datasets import crowd_datasets, load_crowd_dataset
from plugins.validation.truth.discovery import Claim, Settings, discover
from plugins.validation.truth.evaluation import accuracy, error_rate
from plugins.validation.truth.voting import majority_vote
from tests.fixtures import SHARED_DATA

BENCHMARK = SHARED_DATA / "truth-inference"
ROADS = ("open", "closed", "restricted")


def road_claims(seed: int, subjects: int = 30) -> list[Claim]:
    """Two careful sources who are always right and four careless ones who are right about a
    third of the time, about the same roads; then a road where the four agree on a wrong value."""
    rng = random.Random(seed)
    claims = []
    for j in range(subjects):
        truth = ROADS[j % 3]
        claims += [Claim(f"road {j}", careful, truth, "road_status") for careful in ("R1", "R2")]
        for careless in ("U1", "U2", "U3", "U4"):
            said = truth if rng.random() < 0.35 else rng.choice([v for v in ROADS if v != truth])
            claims.append(Claim(f"road {j}", careless, said, "road_status"))
    claims += [Claim("bridge road", careful, "open", "road_status") for careful in ("R1", "R2")]
    claims += [Claim("bridge road", careless, "closed", "road_status") for careless in ("U1", "U2", "U3", "U4")]
    return claims


def top(scores: dict) -> object:
    return max(scores, key=scores.get)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_reliable_minority_beats_an_unreliable_majority_once_reliabilities_are_learnt(seed):
    claims = road_claims(seed)
    assert top(majority_vote(claims)["bridge road"]) == "closed"
    found = discover(claims)
    assert found.subjects["bridge road"].proposed == "open"
    assert found.subjects["bridge road"].confidence > 0.9
    assert min(found.reliability["R1"], found.reliability["R2"]) > max(
        found.reliability[u] for u in ("U1", "U2", "U3", "U4")
    )
    assert all(found.subjects[f"road {j}"].proposed == ROADS[j % 3] for j in range(30))


def test_the_agreement_model_for_many_valued_attributes_learns_the_same(seed=0):
    found = discover(road_claims(seed), Settings(max_classes=2))  # forces the one-coin model
    assert found.subjects["bridge road"].proposed == "open"
    assert found.reliability["R1"] > 0.9 > 0.5 > found.reliability["U1"]


def test_a_reliable_minority_wins_on_key_figures_too():
    claims = []
    for j in range(12):
        truth = 1000 * (j + 1)
        claims += [Claim(f"area {j}", "R1", truth * 1.01), Claim(f"area {j}", "R2", truth * 0.99)]
        claims += [
            Claim(f"area {j}", u, truth * (0.2, 3.0, 7.0)[(i + j) % 3]) for i, u in enumerate(("U1", "U2", "U3"))
        ]
    claims += [Claim("target", "R1", 12000), Claim("target", "R2", 12100)]
    claims += [Claim("target", u, 50000) for u in ("U1", "U2", "U3")]
    assert top(majority_vote(claims)["target"]) == 50000
    found = discover(claims)
    target = found.subjects["target"]
    assert target.kind == "numeric"
    assert 12000 <= target.proposed <= 12100  # the two agreeing figures, averaged
    assert target.confidence > 0.9
    assert target.supporting == [True, True, False]
    assert found.reliability["R1"] > 0.8 > 0.3 > found.reliability["U1"]
    assert found.subjects["area 4"].proposed == pytest.approx(5000, rel=0.02)


def sparse_crowd(seed: int, items: int = 40, per_item: int = 5, pool: int = 60) -> tuple[list[Claim], dict]:
    """Yes/no questions, each answered by 5 of 60 interchangeable workers who are right 70 % of
    the time: every worker has only a few answers, so a confusion matrix per worker is fitted to
    noise, and the plain vote is the right model."""
    rng = random.Random(seed)
    truth = {f"item {j}": rng.choice(("a", "b")) for j in range(items)}
    claims = []
    for item, answer in truth.items():
        for worker in rng.sample(range(pool), per_item):
            said = answer if rng.random() < 0.7 else rng.choice([v for v in "ab" if v != answer])
            claims.append(Claim(item, f"worker {worker}", said))
    return claims, truth


@pytest.mark.parametrize("seed", [1, 10, 16])
def test_where_dawid_skene_overfits_and_the_vote_is_right_the_estimates_are_the_votes(seed):
    claims, truth = sparse_crowd(seed)
    voting = majority_vote(claims)
    unguarded = discover(claims, Settings(guard_folds=0))
    plain_ds = discover(claims, Settings(guard_folds=0, confusion_strength=0.0))
    assert accuracy(unguarded.posteriors(), truth) < accuracy(voting, truth) - 0.05
    assert accuracy(plain_ds.posteriors(), truth) < accuracy(voting, truth) - 0.05
    found = discover(claims)
    assert found.models == {"": "vote"}
    assert found.heldout[""]["vote"] > found.heldout[""]["confusion"]
    for item, shares in voting.items():
        assert found.posteriors()[item] == pytest.approx({"a": 0.0, "b": 0.0} | shares)
    assert accuracy(found.posteriors(), truth) == accuracy(voting, truth)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_where_sources_differ_the_guard_keeps_the_confusion_model(seed):
    found = discover(road_claims(seed))
    assert found.models == {"road_status": "confusion"}
    assert found.heldout["road_status"]["confusion"] > found.heldout["road_status"]["vote"]
    assert found.subjects["bridge road"].proposed == "open"


def crisis_statuses(seed: int, subjects: int = 240, sources: int = 60) -> tuple[list[Claim], dict]:
    """Statuses of roads, bridges and clinics from sources right 90, 65 or 40 % of the time,
    their errors spread evenly, most of them saying little (a long tail of activity): each
    source says too little about each attribute for a confusion matrix of its own."""
    rng = random.Random(seed)
    kinds = {
        "road": ("open", "closed", "restricted"),
        "bridge": ("standing", "damaged", "collapsed"),
        "clinic": ("open", "closed", "overwhelmed"),
    }
    people = [(f"source {j}", rng.choice((0.9, 0.65, 0.4)), 1.0 / (j + 1) ** 0.8) for j in range(sources)]
    claims, truth = [], {}
    for n in range(subjects):
        kind = rng.choice(sorted(kinds))
        values = kinds[kind]
        subject = f"{kind} {n}"
        truth[subject] = rng.choice(values)
        witnesses = rng.choices(people, weights=[p[2] for p in people], k=rng.randint(3, 6))
        for name, right, _activity in dict.fromkeys(witnesses):
            wrong = [v for v in values if v != truth[subject]]
            claims.append(Claim(subject, name, truth[subject] if rng.random() < right else rng.choice(wrong), kind))
    return claims, truth


def test_where_each_source_says_little_the_guard_takes_the_one_coin_model():
    """The one-coin model (a source right with r_s, its errors spread evenly) predicts a crisis's
    sparse statuses better than confusion matrices fitted to a few claims each; the guard takes
    it, and its estimates are better than the confusion model's and never below the vote."""
    guarded, unguarded = [], []
    for seed in range(6):
        claims, truth = crisis_statuses(seed)
        found = discover(claims)
        assert "one-coin" in found.models.values()
        for attribute, model in found.models.items():
            if model == "one-coin":
                assert found.heldout[attribute]["one-coin"] > found.heldout[attribute]["confusion"]
        guarded.append(accuracy(found.posteriors(), truth))
        unguarded.append(accuracy(discover(claims, Settings(guard_folds=0)).posteriors(), truth))
        assert guarded[-1] >= accuracy(majority_vote(claims), truth)
    assert sum(guarded) > sum(unguarded)


def test_the_guard_can_be_switched_off():
    found = discover(road_claims(0), Settings(guard_folds=0))
    assert found.models == {"road_status": "confusion"} and found.heldout == {}


def test_discovery_converges_and_more_iterations_change_nothing():
    claims = road_claims(3)
    found = discover(claims)
    assert found.converged and found.iterations < Settings().max_iterations
    longer = discover(claims, Settings(tolerance=1e-12, max_iterations=2000))
    for subject, estimate in found.subjects.items():
        assert estimate.probabilities == pytest.approx(longer.subjects[subject].probabilities, abs=1e-4)
    stopped = discover(claims, Settings(max_iterations=1))
    assert not stopped.converged and stopped.iterations == 1


def test_the_order_of_the_claims_does_not_matter():
    claims = road_claims(4)
    shuffled = list(claims)
    random.Random(1).shuffle(shuffled)
    first, second = discover(claims), discover(shuffled)
    assert {s: e.proposed for s, e in first.subjects.items()} == {s: e.proposed for s, e in second.subjects.items()}
    assert first.reliability == pytest.approx(second.reliability)


def test_an_even_split_between_equal_sources_is_a_tie_with_no_proposal():
    found = discover([Claim("road", "a", "open"), Claim("road", "b", "closed")])
    estimate = found.subjects["road"]
    assert estimate.proposed is None and estimate.probabilities == pytest.approx([0.5, 0.5])
    figures = discover([Claim("camp", "a", 100), Claim("camp", "b", 1000)]).subjects["camp"]
    assert figures.proposed is None and figures.confidence == pytest.approx(0.5)
    assert majority_vote([Claim("road", "a", "open"), Claim("road", "b", "closed")])["road"] == {
        "open": 0.5,
        "closed": 0.5,
    }


def test_figures_a_few_per_cent_apart_agree_rather_than_tie():
    estimate = discover([Claim("camp", "a", 12000), Claim("camp", "b", 12500)]).subjects["camp"]
    assert 12000 <= estimate.proposed <= 12500 and estimate.confidence == pytest.approx(1.0)


def test_many_voices_sharing_one_unit_of_weight_count_as_one_and_a_track_record_decides():
    pooled = [Claim("road", "known", "open")] + [Claim("road", "anonymous", "closed", weight=0.1) for _ in range(10)]
    assert discover(pooled).subjects["road"].proposed is None  # one unit of weight against one
    found = discover(pooled, priors={"known": (0.9, 10)})
    assert found.subjects["road"].proposed == "open"
    assert found.reliability["known"] > found.reliability["anonymous"]
    separate = [Claim("road", "known", "open")] + [Claim("road", f"anon{i}", "closed") for i in range(10)]
    assert discover(separate, priors={"known": (0.9, 10)}).subjects["road"].proposed == "closed"


def test_a_single_claim_is_proposed_and_its_source_keeps_about_its_prior():
    found = discover([Claim("camp", "a", 100)])
    assert found.subjects["camp"].proposed == 100
    assert 0.7 <= found.reliability["a"] < 0.8


def test_claims_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match="both text and numeric"):
        discover([Claim("camp", "a", 100), Claim("camp", "b", "many")])
    with pytest.raises(ValueError, match="text or a finite number"):
        discover([Claim("camp", "a", True)])
    with pytest.raises(ValueError, match="weight"):
        discover([Claim("camp", "a", 1, weight=0)])
    assert discover([]).subjects == {}


def test_accuracy_counts_ties_as_a_fraction_and_missing_estimates_as_wrong():
    estimates = {
        "a": {"x": 0.7, "y": 0.3},
        "b": {"x": 0.5, "y": 0.5},
        "c": {"y": 1.0},
        "d": {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3},
    }
    truth = {"a": "x", "b": "y", "c": "x", "d": "z", "e": "x"}
    assert accuracy(estimates, truth) == pytest.approx((1 + 0.5 + 0 + 1 / 3 + 0) / 5)
    assert error_rate(estimates, truth) == pytest.approx(1 - (1 + 0.5 + 1 / 3) / 5)
    with pytest.raises(ValueError):
        accuracy(estimates, {})


def test_a_tiny_benchmark_folder_is_loaded_and_scored(tmp_path):
    folder = tmp_path / "tiny"
    folder.mkdir()
    (folder / "label.csv").write_text("item,worker,label\n0,0,1\n0,1,1\n0,2,0\n1,0,0\n1,1,1\n2,0,0\n2,2,0\n")
    (folder / "truth.csv").write_text("item,truth\n0,1\n1,0\n2,0\n")
    dataset = load_crowd_dataset(folder)
    assert (dataset.name, dataset.items, dataset.sources, dataset.classes, len(dataset.claims)) == ("tiny", 3, 3, 2, 7)
    assert dataset.truth == {"0": "1", "1": "0", "2": "0"}
    # item 0: 1 wins; item 1: a 1-1 tie (half); item 2: 0 wins.
    assert accuracy(majority_vote(dataset.claims), dataset.truth) == pytest.approx(2.5 / 3)
    assert [d.name for d in crowd_datasets(tmp_path)] == ["tiny"]


def test_compressed_sets_are_loaded_like_plain_ones(tmp_path):
    """The further held-out sets kept in this repository are gzip-compressed (bench/data)."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    with gzip.open(folder / "label.csv.gz", "wt") as handle:
        handle.write("item,worker,label\n0,0,1\n0,1,1\n1,0,0\n")
    (folder / "truth.csv").write_text("item,truth\n0,1\n1,0\n")
    (tmp_path / "not a set").mkdir()
    dataset = load_crowd_dataset(folder)
    assert (dataset.items, dataset.sources, len(dataset.claims)) == (2, 2, 3)
    assert dataset.truth == {"0": "1", "1": "0"}
    assert [d.name for d in crowd_datasets(tmp_path)] == ["tiny"]
    kept = crowd_datasets(Path(__file__).resolve().parents[3] / "bench" / "data" / "truth-inference-extra")
    assert len(kept) == 13 and {"ZenCrowd_us", "fact_eval", "AdultContent", "Relevance"} <= {d.name for d in kept}
    assert all(len(d.truth) > 0 and len(d.claims) > len(d.truth) for d in kept)


@pytest.mark.skipif(not BENCHMARK.is_dir(), reason=f"the public benchmark data is not at {BENCHMARK}")
def test_on_the_smallest_real_benchmark_set_discovery_beats_majority_voting():
    dataset = min(crowd_datasets(BENCHMARK), key=lambda d: len(d.claims))
    voting = accuracy(majority_vote(dataset.claims), dataset.truth)
    found = discover(dataset.claims)
    ours = accuracy(found.posteriors(), dataset.truth)
    assert found.converged
    assert ours > voting + 0.05, (dataset.name, voting, ours)
