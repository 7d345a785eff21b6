"""The public crowd-label benchmark sets (../shared/data/truth-inference, and the further sets in
bench/data/truth-inference-extra): `label.csv` holds item,worker,label (a claim), `truth.csv`
item,truth (the gold answer); either may be gzip-compressed (`label.csv.gz`)."""

from __future__ import annotations

import csv
import gzip
from dataclasses import dataclass
from pathlib import Path

from .discovery import Claim


@dataclass(frozen=True)
class CrowdDataset:
    name: str
    claims: list[Claim]
    truth: dict[str, str]

    @property
    def items(self) -> int:
        return len({claim.subject for claim in self.claims})

    @property
    def sources(self) -> int:
        return len({claim.source for claim in self.claims})

    @property
    def classes(self) -> int:
        return len({claim.value for claim in self.claims})


def _open(folder: Path, name: str):
    """`name`.csv, or `name`.csv.gz (the sets kept in this repository are compressed)."""
    plain = folder / f"{name}.csv"
    if plain.is_file():
        return plain.open(newline="")
    return gzip.open(folder / f"{name}.csv.gz", "rt", newline="")


def is_crowd_dataset(folder: Path) -> bool:
    return all(
        (folder / f"{name}.csv").is_file() or (folder / f"{name}.csv.gz").is_file() for name in ("label", "truth")
    )


def load_crowd_dataset(folder: Path | str) -> CrowdDataset:
    """Labels are kept as text: they are categories, whatever digits name them."""
    folder = Path(folder)
    with _open(folder, "label") as handle:
        claims = [
            Claim(subject=row["item"], source=row["worker"], value=row["label"]) for row in csv.DictReader(handle)
        ]
    with _open(folder, "truth") as handle:
        truth = {row["item"]: row["truth"] for row in csv.DictReader(handle)}
    return CrowdDataset(name=folder.name, claims=claims, truth=truth)


def crowd_datasets(root: Path | str) -> list[CrowdDataset]:
    """Every set under `root` (a folder per set), smallest first."""
    found = [load_crowd_dataset(path) for path in sorted(Path(root).iterdir()) if is_crowd_dataset(path)]
    return sorted(found, key=lambda dataset: len(dataset.claims))
