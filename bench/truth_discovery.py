"""Truth discovery on the public crowd-label benchmark sets (../shared/data/truth-inference).

For every set: majority voting (ties split evenly) and our truth discovery (the very model the
claims service runs, plugins/validation/truth/discovery.py, with its default settings), scored
on the gold items exactly as the published figures in that folder's README are, next to the
best published figure. Prints a Markdown table and writes bench/results/truth_discovery.json.

Usage: python bench/truth_discovery.py [--data DIR] [--out FILE] [--repeat N]
The time is the best of N runs of discovery alone (loading the CSV files is not counted).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from plugins.validation.truth.datasets import crowd_datasets  # noqa: E402
from plugins.validation.truth.discovery import Settings, discover  # noqa: E402
from plugins.validation.truth.evaluation import accuracy  # noqa: E402
from plugins.validation.truth.voting import majority_vote  # noqa: E402

DEFAULT_DATA = Path(os.environ.get("CRISISWIKI_SHARED_DATA") or ROOT.parent / "shared" / "data") / "truth-inference"
DEFAULT_OUT = ROOT / "bench" / "results" / "truth_discovery.json"

# From the data folder's README: (Dawid-Skene reference run, best published figure, method and where).
PUBLISHED = {
    "bluebird": (0.898, 0.917, "Minimax entropy (Zheng et al. 2017 result files)"),
    "rte": (0.928, 0.931, "EBCC (Li et al., ICML 2019)"),
    "dog": (0.843, 0.843, "Dawid–Skene (Zheng et al. 2017)"),
    "web": (0.826, 0.823, "BWA (Li et al. 2019)"),
    "product": (0.940, 0.940, "Dawid–Skene (Crowd-Kit, arXiv 2109.08584)"),
    "sentiment": (0.960, 0.961, "EBCC (Li et al. 2019)"),
}


def run(data: Path, repeat: int) -> list[dict]:
    rows = []
    settings = Settings()
    for dataset in crowd_datasets(data):
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            found = discover(dataset.claims, settings)
            timings.append(time.perf_counter() - started)
        ours = accuracy(found.posteriors(), dataset.truth)
        voting = accuracy(majority_vote(dataset.claims), dataset.truth)
        ds_reference, best, method = PUBLISHED.get(dataset.name, (None, None, ""))
        rows.append(
            {
                "dataset": dataset.name,
                "items": dataset.items,
                "sources": dataset.sources,
                "claims": len(dataset.claims),
                "classes": dataset.classes,
                "gold": len(dataset.truth),
                "majority_vote": round(voting, 4),
                "ours": round(ours, 4),
                "dawid_skene_reference": ds_reference,
                "best_published": best,
                "best_published_method": method,
                # Against the best figure known for the set: the best published one or the README's DS run.
                "beats_majority_vote": ours > voting,
                "vs_best_known": round(ours - max(best, ds_reference), 4) if best is not None else None,
                "iterations": found.iterations,
                "converged": found.converged,
                "seconds": round(min(timings), 3),
            }
        )
    return rows


def markdown(rows: list[dict]) -> str:
    lines = [
        "| data set | items | sources | claims | majority voting | Dawid–Skene (README run) | ours | best published [method] "
        "| ours − best known | time (s) |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |",
    ]
    for row in rows:
        known = row["best_published"] is not None
        best = f"{row['best_published']:.3f} [{row['best_published_method']}]" if known else "—"
        reference = f"{row['dawid_skene_reference']:.3f}" if known else "—"
        delta = f"{row['vs_best_known']:+.3f}" if known else "—"
        lines.append(
            f"| {row['dataset']} | {row['items']:,} | {row['sources']:,} | {row['claims']:,} | {row['majority_vote']:.3f} | "
            f"{reference} | **{row['ours']:.3f}** | {best} | {delta} | {row['seconds']:.2f} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"No benchmark data at {args.data}", file=sys.stderr)
        return 1
    rows = run(args.data, max(args.repeat, 1))
    print(markdown(rows))
    largest = max(rows, key=lambda row: row["claims"])
    print(
        f"\nLargest set: {largest['dataset']} ({largest['claims']:,} claims) in {largest['seconds']:.2f} s "
        f"(target: under 10 s). Beats majority voting on {sum(r['beats_majority_vote'] for r in rows)} of {len(rows)} sets."
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "benchmark": "truth discovery on crowd labels",
                "data": str(args.data),
                "metric": "accuracy on the gold items; ties count 1/n",
                "settings": Settings().__dict__,
                "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
                "results": rows,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"Wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
