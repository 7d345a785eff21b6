"""The public crowd-label benchmark sets (../shared/data/truth-inference): `label.csv` holds
item,worker,label (a claim), `truth.csv` item,truth (the gold answer)."""

from __future__ import annotations

import csv
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


def load_crowd_dataset(folder: Path | str) -> CrowdDataset:
    """Labels are kept as text: they are categories, whatever digits name them."""
    folder = Path(folder)
    with (folder / "label.csv").open(newline="") as handle:
        claims = [
            Claim(subject=row["item"], source=row["worker"], value=row["label"]) for row in csv.DictReader(handle)
        ]
    with (folder / "truth.csv").open(newline="") as handle:
        truth = {row["item"]: row["truth"] for row in csv.DictReader(handle)}
    return CrowdDataset(name=folder.name, claims=claims, truth=truth)


def crowd_datasets(root: Path | str) -> list[CrowdDataset]:
    """Every set under `root` (a folder per set), smallest first."""
    found = [load_crowd_dataset(path) for path in sorted(Path(root).iterdir()) if (path / "label.csv").is_file()]
    return sorted(found, key=lambda dataset: len(dataset.claims))
