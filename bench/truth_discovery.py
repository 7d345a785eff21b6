"""Truth discovery on public crowd-label sets, side by side with Crowd-Kit, in one run.

For every set: majority voting (ties split evenly), a plain Dawid-Skene (50 EM iterations from
majority vote, the reference of the data folder's README), our truth discovery (the very model
the claims service runs, plugins/validation/truth/discovery.py, with its default settings) and
Crowd-Kit 1.4's aggregators (MajorityVote, Wawa, ZeroBasedSkill, DawidSkene,
OneCoinDawidSkene, GLAD, MACE, KOS where the set is binary, MMSR) with their own defaults, each
scored on the gold items exactly as the published figures are, with its time.

Honest splits: our defaults were chosen on three of the six public sets ("tune": bluebird, dog,
sentiment) and the other three are reported apart ("report": rte, web, product). Thirteen further
public sets from the same collection (bench/data/truth-inference-extra, see its README: relevance
judgements, content rating, fact checking, entity matching, sentiment), on which nothing was
tuned, are reported as "extra (held out)"; `--extra DIR` (repeatable) adds every folder under DIR
holding label.csv and truth.csv (or .csv.gz) instead, `--no-extra` leaves them out.

Also the simulated crisis (`simulated_crisis`, seeded, reported as "simulated"): the status of
roads, bridges, water points and clinics as some 80 sources of known reliability report it,
sparse as crisis reporting is (a few sources say much, most say little); none of our settings
was chosen on it. And three seeded sparse crowds of interchangeable workers (`sparse_crowd`),
where Dawid-Skene overfits and the vote is right: the case the guard's vote is for.

Before and after, in one run: "ours" is the engine with its model guard (discovery.py,
`_model_guard`: per attribute, the confusion model, the one-coin model or the plain vote,
whichever predicts held-out claims best); "ours_unguarded" is the same engine with the guard
off: confusion matrices always. "noise" is two paired standard errors of ours − max(MV, DS)
over the gold items: a difference within it is not told apart from chance.

Crowd-Kit is a benchmark dependency only (`pip install -e '.[bench]'`); without it the Crowd-Kit
columns are left out and the script says so. --quick: no Crowd-Kit, the six sets only.

`--crowdkit-from FILE` (repeatable; this script's JSON, or JSON lines of {"dataset", "claims",
"crowdkit"}) takes Crowd-Kit's figures for the sets FILE holds (same name, same number of claims)
from that earlier run instead of running its aggregators again (rows say
"crowdkit_from_earlier_run"); the sets it does not hold are run, unless they have more claims
than `--crowdkit-max-claims N` (then the row says Crowd-Kit was not run, and why).

Usage: python bench/truth_discovery.py [--data DIR] [--extra DIR | --no-extra] [--out FILE] [--repeat N]
       [--quick] [--crowdkit-from FILE ...] [--crowdkit-max-claims N]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import random
import sys
import time
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.validation.truth.datasets import (  # noqa: E402
    CrowdDataset,
    crowd_datasets,
    is_crowd_dataset,
    load_crowd_dataset,
)
from plugins.validation.truth.discovery import Claim, Settings, discover  # noqa: E402
from plugins.validation.truth.evaluation import accuracy  # noqa: E402
from plugins.validation.truth.voting import majority_vote  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CRISISWIKI_SHARED_DATA") or ROOT.parent / "shared" / "data") / "truth-inference"
DEFAULT_EXTRA = ROOT / "bench" / "data" / "truth-inference-extra"
DEFAULT_OUT = ROOT / "bench" / "results" / "truth_discovery.json"
SIMULATED_SEEDS = (2010, 2011, 2012)
SPARSE_SEEDS = (1, 2, 3)
TUNE = ("bluebird", "dog", "sentiment")  # our defaults were chosen on these
REPORT = ("rte", "web", "product")

# From the data folder's README: (best published figure, method and where).
PUBLISHED = {
    "bluebird": (0.917, "Minimax entropy (Zheng et al. 2017 result files)"),
    "rte": (0.931, "EBCC (Li et al., ICML 2019)"),
    "dog": (0.843, "Dawid–Skene (Zheng et al. 2017)"),
    "web": (0.823, "BWA (Li et al. 2019)"),
    "product": (0.940, "Dawid–Skene (Crowd-Kit, arXiv 2109.08584)"),
    "sentiment": (0.961, "EBCC (Li et al. 2019)"),
}
CROWDKIT_METHODS = (
    "MajorityVote",
    "Wawa",
    "ZeroBasedSkill",
    "DawidSkene",
    "OneCoinDawidSkene",
    "GLAD",
    "MACE",
    "KOS",
    "MMSR",
)


def simulated_crisis(seed: int = 2010, subjects: int = 400, sources: int = 80) -> CrowdDataset:
    """A crisis's categorical claims with the truth known: every subject (a road, a bridge, a
    water point, a clinic) has a true status among three or four; each source is reliable (right
    90 % of the time), mixed (65 %) or poor (40 %), and some poor ones lean towards one wrong
    status (alarmists: "closed", "contaminated"); how much a source says follows a long tail.
    Seeded, so the same seed gives the same set."""
    rng = random.Random(seed)
    kinds = {
        "road": ("open", "closed", "restricted"),
        "bridge": ("standing", "damaged", "collapsed"),
        "water point": ("safe", "contaminated", "dry"),
        "clinic": ("open", "closed", "overwhelmed", "destroyed"),
    }
    people = []
    for j in range(sources):
        kind = rng.choices(("reliable", "mixed", "poor"), weights=(0.3, 0.45, 0.25))[0]
        accuracy_of = {"reliable": 0.9, "mixed": 0.65, "poor": 0.4}[kind]
        alarmist = kind == "poor" and rng.random() < 0.5
        people.append((f"source {j}", accuracy_of, alarmist, 1.0 / (j + 1) ** 0.8))
    claims, truth = [], {}
    for n in range(subjects):
        kind = rng.choice(sorted(kinds))
        values = kinds[kind]
        subject = f"{kind} {n}"
        truth[subject] = rng.choice(values)
        witnesses = rng.choices(people, weights=[p[3] for p in people], k=rng.randint(2, 7))
        for name, right, alarmist, _activity in dict.fromkeys(witnesses):
            if rng.random() < right:
                said = truth[subject]
            elif alarmist:
                said = values[1] if truth[subject] != values[1] else values[2]
            else:
                said = rng.choice([v for v in values if v != truth[subject]])
            claims.append(Claim(subject, name, said, attribute=kind))
    return CrowdDataset(name=f"simulated crisis (seed {seed})", claims=claims, truth=truth)


def sparse_crowd(seed: int = 1, items: int = 300, per_item: int = 5, pool: int = 400) -> CrowdDataset:
    """Yes/no questions, each answered by 5 of 400 interchangeable workers who are right 70 % of
    the time (about four answers a worker): the case where a confusion matrix per worker is
    fitted to noise and the plain vote is the right model, as in crowd sets where Dawid-Skene
    loses to voting. Seeded. It shows what the guard's vote is for; it is not held-out evidence."""
    rng = random.Random(seed)
    truth = {f"item {j}": rng.choice(("yes", "no")) for j in range(items)}
    claims = []
    for item, answer in truth.items():
        for worker in rng.sample(range(pool), per_item):
            said = answer if rng.random() < 0.7 else ("no" if answer == "yes" else "yes")
            claims.append(Claim(item, f"worker {worker}", said))
    return CrowdDataset(name=f"sparse crowd (seed {seed})", claims=claims, truth=truth)


def correct_per_item(estimates: dict, truth: dict) -> np.ndarray:
    """Per gold item: 1 if its top value is the truth, 1/n on a tie of n with it, else 0."""
    return np.array(
        [accuracy({item: estimates[item]} if item in estimates else {}, {item: value}) for item, value in truth.items()]
    )


def dawid_skene(dataset: CrowdDataset, iterations: int = 50) -> dict:
    """A plain Dawid-Skene: full confusion matrices and class prior by EM, initialised from
    majority vote, a tiny pseudo-count only against log(0). The README's reference run."""
    items = {s: i for i, s in enumerate(dict.fromkeys(c.subject for c in dataset.claims))}
    workers = {w: j for j, w in enumerate(dict.fromkeys(c.source for c in dataset.claims))}
    values = sorted({c.value for c in dataset.claims})
    position = {v: k for k, v in enumerate(values)}
    item = np.array([items[c.subject] for c in dataset.claims])
    worker = np.array([workers[c.source] for c in dataset.claims])
    label = np.array([position[c.value] for c in dataset.claims])
    n, m, k = len(items), len(workers), len(values)
    posterior = np.bincount(item * k + label, minlength=n * k).reshape(n, k).astype(float)
    posterior /= posterior.sum(1, keepdims=True)
    for _ in range(iterations):
        counts = np.stack(
            [
                np.bincount(worker * k + label, weights=posterior[item, t], minlength=m * k).reshape(m, k)
                for t in range(k)
            ],
            axis=1,
        )
        confusion = np.log((counts + 1e-6) / (counts + 1e-6).sum(2, keepdims=True))
        prior = np.log(posterior.sum(0) / n + 1e-12)
        log_post = np.tile(prior, (n, 1))
        for t in range(k):
            log_post[:, t] += np.bincount(item, weights=confusion[worker, t, label], minlength=n)
        log_post -= log_post.max(1, keepdims=True)
        posterior = np.exp(log_post)
        posterior /= posterior.sum(1, keepdims=True)
    return {subject: dict(zip(values, posterior[i], strict=True)) for subject, i in items.items()}


def crowdkit_available() -> str | None:
    try:
        from importlib.metadata import version

        import crowdkit  # noqa: F401

        return version("crowd-kit")
    except ImportError:
        return None


def crowdkit_runs(dataset: CrowdDataset, methods: tuple[str, ...]) -> dict[str, dict]:
    """Each Crowd-Kit aggregator, with its defaults: accuracy on the gold items and seconds."""
    import pandas as pd
    from crowdkit import aggregation

    frame = pd.DataFrame(
        {"task": [c.subject for c in dataset.claims], "worker": [c.source for c in dataset.claims]}
        | {"label": [c.value for c in dataset.claims]}
    )
    binary = dataset.classes == 2
    out = {}
    for name in methods:
        if name == "KOS" and not binary:
            continue
        started = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                predicted = getattr(aggregation, name)().fit_predict(frame)
            estimates = {task: {str(value): 1.0} for task, value in predicted.items()}
            out[name] = {"accuracy": round(accuracy(estimates, dataset.truth), 4)}
        except Exception as error:  # a method that fails is reported, not fatal
            out[name] = {"error": f"{type(error).__name__}: {str(error)[:200]}"}
        out[name]["seconds"] = round(time.perf_counter() - started, 3)
    return out


def split_of(name: str, extra: bool) -> str:
    if name.startswith(("simulated", "sparse")):
        return "simulated"
    if extra:
        return "extra"
    return "tune" if name in TUNE else "report" if name in REPORT else "other"


def earlier_crowdkit(paths: list[Path]) -> dict[tuple[str, int], dict]:
    """Crowd-Kit's figures from earlier result files, per (set, claims): its aggregators do not
    depend on our code, and on a busy machine they take most of the run (GLAD, MACE, MMSR on the
    sets of 100,000 claims and more: many minutes each). A file is this script's JSON output, or
    JSON lines of {"dataset", "claims", "crowdkit"} (one set a line, as a long run writes them)."""
    found = {}
    for path in paths:
        text = path.read_text()
        if path.suffix == ".jsonl":
            rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        else:
            rows = json.loads(text)["results"]
        found |= {(row["dataset"], row["claims"]): row["crowdkit"] for row in rows if row.get("crowdkit")}
    return found


def run(
    datasets: list[tuple[CrowdDataset, bool]],
    repeat: int,
    with_crowdkit: bool,
    earlier: dict | None = None,
    crowdkit_max_claims: int | None = None,
) -> list[dict]:
    rows = []
    settings = Settings()
    for dataset, extra in datasets:
        print(f"  {dataset.name}: {len(dataset.claims):,} claims", file=sys.stderr, flush=True)
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            found = discover(dataset.claims, settings)
            timings.append(time.perf_counter() - started)
        estimates = found.posteriors()
        ours = accuracy(estimates, dataset.truth)
        unguarded = accuracy(discover(dataset.claims, replace(settings, guard_folds=0)).posteriors(), dataset.truth)
        votes = majority_vote(dataset.claims)
        voting = accuracy(votes, dataset.truth)
        reference_estimates = dawid_skene(dataset)
        reference = accuracy(reference_estimates, dataset.truth)
        floor = votes if voting >= reference else reference_estimates
        paired = correct_per_item(estimates, dataset.truth) - correct_per_item(floor, dataset.truth)
        noise = 2 * float(paired.std(ddof=1)) / math.sqrt(len(paired)) if len(paired) > 1 else 0.0
        best, method = PUBLISHED.get(dataset.name, (None, "")) if not extra else (None, "")
        row = {
            "dataset": dataset.name,
            "split": split_of(dataset.name, extra),
            "items": dataset.items,
            "sources": dataset.sources,
            "claims": len(dataset.claims),
            "classes": dataset.classes,
            "gold": len(dataset.truth),
            "majority_vote": round(voting, 4),
            "dawid_skene": round(reference, 4),
            "ours": round(ours, 4),
            "vs_floor": round(ours - max(voting, reference), 4),  # the better of MV and DS
            "noise": round(noise, 4),
            "beyond_noise": ours - max(voting, reference) < -noise,
            "ours_unguarded": round(unguarded, 4),
            "vs_floor_unguarded": round(unguarded - max(voting, reference), 4),
            "models": {str(attribute): model for attribute, model in found.models.items()},
            "heldout_log_likelihood": {str(attribute): value for attribute, value in found.heldout.items()},
            "best_published": best,
            "best_published_method": method,
            "iterations": found.iterations,
            "converged": found.converged,
            "seconds": round(min(timings), 3),
        }
        if with_crowdkit:
            runs = (earlier or {}).get((dataset.name, len(dataset.claims)))
            if runs is not None:
                row["crowdkit_from_earlier_run"] = True
            elif crowdkit_max_claims is not None and len(dataset.claims) > crowdkit_max_claims:
                runs, row["crowdkit_not_run"] = {}, f"more than {crowdkit_max_claims:,} claims (--crowdkit-max-claims)"
            else:
                runs = crowdkit_runs(dataset, CROWDKIT_METHODS)
            scored = {name: r["accuracy"] for name, r in runs.items() if "accuracy" in r}
            top = max(scored, key=scored.get) if scored else None
            row["crowdkit"] = runs
            row["crowdkit_best"] = top
            row["vs_crowdkit_best"] = round(ours - scored[top], 4) if top else None
        rows.append(row)
    return rows


SPLIT_NAMES = {"tune": "tuned on", "report": "held out", "extra": "extra (held out)", "simulated": "simulated"}


def markdown(rows: list[dict]) -> str:
    crowdkit = any("crowdkit" in row for row in rows)
    head = "| set | split | claims | classes | MV | DS | before (no guard) | **ours** | ours − max(MV, DS) ± noise | model |"
    rule = "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
    if crowdkit:
        head += " best Crowd-Kit | ours − best Crowd-Kit |"
        rule += " --- | ---: |"
    head += " best published | time (s) |"
    rule += " --- | ---: |"
    lines = [head, rule]
    for row in rows:
        line = (
            f"| {row['dataset']} | {SPLIT_NAMES.get(row['split'], row['split'])} | {row['claims']:,} | {row['classes']} | {row['majority_vote']:.3f} | "
            f"{row['dawid_skene']:.3f} | {row['ours_unguarded']:.3f} | **{row['ours']:.3f}** | "
            f"{row['vs_floor']:+.3f} ± {row['noise']:.3f} | {', '.join(sorted(set(row['models'].values())))} |"
        )
        if crowdkit:
            top = row.get("crowdkit_best")
            line += (
                f" {top} {row['crowdkit'][top]['accuracy']:.3f} | {row['vs_crowdkit_best']:+.3f} |"
                if top
                else " — | — |"
            )
        best = f"{row['best_published']:.3f} [{row['best_published_method']}]" if row["best_published"] else "—"
        line += f" {best} | {row['seconds']:.2f} |"
        lines.append(line)
    for split, totals in summary(rows).items():
        line = (
            f"{SPLIT_NAMES[split].capitalize()} ({totals['sets']} sets): below majority vote on "
            f"{totals['below_majority_vote']}, below the better of MV and DS on {totals['below_max_mv_ds']} "
            f"(worst {totals['worst_vs_floor']:+.3f}), beyond noise on {totals['below_max_mv_ds_beyond_noise']}"
        )
        if "at_or_above_best_crowdkit" in totals:
            line += f", at or above the best Crowd-Kit method on {totals['at_or_above_best_crowdkit']}"
            if totals["with_crowdkit"] < totals["sets"]:
                line += f" of the {totals['with_crowdkit']} it ran on"
        line += (
            f"; before the guard: below MV on {totals['unguarded_below_majority_vote']}, below max(MV, DS) on "
            f"{totals['unguarded_below_max_mv_ds']}"
        )
        lines += ["", line + "."]
    if crowdkit:
        lines += [
            "",
            "Crowd-Kit, every method (accuracy / seconds; * taken from the earlier run, --crowdkit-from):",
            "",
        ]
        names = [n for n in CROWDKIT_METHODS if any(n in row.get("crowdkit", {}) for row in rows)]
        lines.append("| set | " + " | ".join(names) + " |")
        lines.append("| --- |" + " ---: |" * len(names))
        for row in rows:
            cells = []
            for name in names:
                r = row["crowdkit"].get(name)
                if r is None:
                    cells.append("—")
                elif "error" in r:
                    cells.append("error")
                else:
                    cells.append(f"{r['accuracy']:.3f} / {r['seconds']:.1f}")
            star = " *" if row.get("crowdkit_from_earlier_run") else ""
            if row.get("crowdkit_not_run"):
                cells = [f"not run: {row['crowdkit_not_run']}"] + [""] * (len(names) - 1)
            lines.append(f"| {row['dataset']}{star} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: list[dict]) -> dict:
    out = {}
    for split in ("tune", "report", "extra", "simulated"):
        chosen = [r for r in rows if r["split"] == split]
        if not chosen:
            continue
        out[split] = {
            "sets": len(chosen),
            "below_majority_vote": sum(r["ours"] < r["majority_vote"] for r in chosen),
            "below_max_mv_ds": sum(r["vs_floor"] < 0 for r in chosen),
            "worst_vs_floor": min(r["vs_floor"] for r in chosen),
            "below_max_mv_ds_beyond_noise": sum(r["beyond_noise"] for r in chosen),
            "unguarded_below_majority_vote": sum(r["ours_unguarded"] < r["majority_vote"] for r in chosen),
            "unguarded_below_max_mv_ds": sum(r["vs_floor_unguarded"] < 0 for r in chosen),
        }
        compared = [r for r in chosen if r.get("crowdkit_best")]
        if compared:
            out[split]["with_crowdkit"] = len(compared)
            out[split]["at_or_above_best_crowdkit"] = sum(r["vs_crowdkit_best"] >= 0 for r in compared)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--extra", type=Path, action="append", default=[])
    parser.add_argument("--no-extra", action="store_true", help="leave out the further held-out sets")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--crowdkit-from",
        type=Path,
        action="append",
        default=[],
        help="take Crowd-Kit's figures for the sets it holds from this earlier result file, .json or .jsonl "
        "(repeatable; the others are run)",
    )
    parser.add_argument(
        "--crowdkit-max-claims",
        type=int,
        help="run Crowd-Kit live only on sets of at most this many claims (the others: from --crowdkit-from or not run)",
    )
    parser.add_argument("--quick", action="store_true", help="no Crowd-Kit, the six public sets only, one run each")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"No benchmark data at {args.data}", file=sys.stderr)
        return 1
    datasets = [(dataset, False) for dataset in crowd_datasets(args.data)]
    datasets += [(simulated_crisis(seed), True) for seed in SIMULATED_SEEDS]
    datasets += [(sparse_crowd(seed), True) for seed in SPARSE_SEEDS]
    if not args.extra and not args.no_extra and DEFAULT_EXTRA.is_dir():
        args.extra = [DEFAULT_EXTRA]
    for folder in [] if args.quick or args.no_extra else args.extra:
        found = sorted({path.parent for path in folder.rglob("label.csv*") if is_crowd_dataset(path.parent)})
        known = {dataset.name for dataset, _extra in datasets}
        datasets += [(load_crowd_dataset(path), True) for path in found if path.name not in known]
    version = None if args.quick else crowdkit_available()
    if not args.quick and version is None:
        print("Crowd-Kit is not installed (pip install -e '.[bench]'): its columns are left out", file=sys.stderr)
    rows = run(
        datasets,
        1 if args.quick else max(args.repeat, 1),
        version is not None,
        earlier_crowdkit(args.crowdkit_from),
        args.crowdkit_max_claims,
    )
    print(markdown(rows))
    largest = max(rows, key=lambda row: row["claims"])
    totals = summary(rows)
    print(f"\nLargest set: {largest['dataset']} ({largest['claims']:,} claims) in {largest['seconds']:.2f} s. {totals}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "truth discovery on crowd labels",
                "data": str(args.data),
                "extra": [str(path) for path in args.extra],
                "metric": "accuracy on the gold items; ties count 1/n",
                "settings": Settings().__dict__,
                "tuned_on": list(TUNE),
                "crowdkit": version,
                "crowdkit_from": [str(path) for path in args.crowdkit_from],
                "crowdkit_max_claims": args.crowdkit_max_claims,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "summary": totals,
                "results": rows,
                "markdown": markdown(rows),
            },
            indent=2,
        )
        + "\n"
    )
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
