"""Truth discovery: estimate the true value of every claim subject and the reliability of every
source together, by expectation-maximisation.

Majority voting trusts every source equally. Here a source that agrees with the estimated truth
earns a higher reliability, and a higher reliability makes its claims weigh more, until the two
estimates settle; so a reliable minority can outweigh an unreliable majority.

One model serves every kind of claim, because a source's reliability is shared across all it says:
- Categorical claims about an attribute with a small set of values (a road "open"/"closed", a crowd
  label) use Dawid and Skene's confusion matrices: each source has, per attribute, a matrix of
  P(claims l | truth is k), which also learns biased sources (one who always says "closed"). The
  matrices are shrunk towards the source's overall reliability (its record on every attribute).
- Numeric claims (key figures) and categorical attributes with many values use an agreement
  model: with probability r_s a source's claim is right (a numeric one lies near the truth, on a
  scale where 10,000 and 11,000 are as close as 100 and 110), otherwise it is anything.
- Each source's reliability r_s, the expected share of its claims that are right, has a Beta
  prior (a new source starts at the prior mean; the verifiers' grade can set it per source).

A source with few claims counts for little: its confusion matrix is fitted to those very claims,
so they carry little information until it has a record (on real crowd data this is what keeps
occasional, careless workers from swaying the result). Claims carry weights: evidence that is
not independent (say, many anonymous sources, which the claims service pools into one source)
can share one unit of weight, so a hundred unknown voices do not outvote a known one by numbers.

Dawid-Skene is the better model where sources differ and say enough; a one-coin model (each
source right with r_s, its errors spread evenly: Dawid-Skene's "one-coin" special case) is the
better one where each source says little about each attribute; a plain vote is better where
sources are interchangeable. Which of the three an attribute's claims support is decided on the
claims themselves, by cross-validation (`_model_guard`).

Pure numpy; a set of 25,000 claims takes under a second to fit, and a few seconds with the
guard's refits (ten folds, two models each; bench/truth_discovery.py). The largest held-out set
(216,725 claims) takes about 11 s; on some sets of 100,000 claims the EM stops at
`max_iterations` without converging (bench/truth_discovery.py says which).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CATEGORICAL = "categorical"
NUMERIC = "numeric"
_TIE = 1e-9  # posteriors closer than this are a tie
_R_MIN, _R_MAX = 1e-4, 1 - 1e-4


@dataclass(frozen=True)
class Claim:
    """One source's claim about one subject. A text value is categorical, a number numeric."""

    subject: Hashable
    source: Hashable
    value: str | float
    attribute: Hashable = ""  # categorical subjects of one attribute share its set of values
    weight: float = 1.0


@dataclass(frozen=True)
class Settings:
    prior_reliability: float = 0.7  # a new source's reliability before any agreement is seen
    prior_strength: float = 4.0  # ... worth this many claims
    # A confusion row's Dirichlet prior is centred on the source's one-coin matrix (r_s on the
    # diagonal) with this many claims' worth of weight: partial pooling, so a source with few
    # claims is treated about as a one-coin source and a full matrix is learnt only where its
    # claims support one. Chosen, with `smoothing`, on three of the six public sets (bluebird,
    # dog, sentiment); bench/truth_discovery.py reports the others apart.
    confusion_strength: float = 2.0
    smoothing: float = 0.01  # pseudo-count added to every confusion cell and class
    numeric_tolerance: float = 0.1  # relative spread of right numeric claims (0.1 = about 10 %)
    max_classes: int = 10  # attributes with more values use the agreement model
    max_iterations: int = 500
    tolerance: float = 1e-6  # stop when no posterior moves more than this
    # The model guard (see `_model_guard`): per attribute, the model (confusion matrices,
    # one-coin, plain vote) whose predictions of held-out claims are likelier, over this many
    # folds of the claims (fewer than 2: no guard, the confusion model always); leaving out one
    # claim at a time where
    # there are at most `guard_leave_one_out` claims, as a few random folds of a small set would
    # make the choice a matter of chance.
    guard_folds: int = 10
    guard_leave_one_out: int = 60


@dataclass
class SubjectEstimate:
    subject: Hashable
    kind: str
    values: list  # candidate values
    probabilities: list[float]  # P(truth = value), same order
    proposed: Any  # the most probable value (numbers: the centre of the likeliest cluster); None on a tie
    confidence: float  # P(proposed), or for numbers P(truth within tolerance of proposed)
    supporting: list[bool] = field(default_factory=list)  # per value: does it agree with the proposal?

    def posterior(self) -> dict[Any, float]:
        return dict(zip(self.values, self.probabilities, strict=True))


@dataclass
class Discovery:
    subjects: dict[Hashable, SubjectEstimate] = field(default_factory=dict)
    reliability: dict[Hashable, float] = field(default_factory=dict)
    claims: dict[Hashable, float] = field(default_factory=dict)  # weighted claims per source
    iterations: int = 0
    converged: bool = True
    # per categorical attribute: the model its estimates come from, "confusion" (Dawid-Skene),
    # "one-coin" or "vote" (the guard found that one predicts held-out claims better)
    models: dict[Hashable, str] = field(default_factory=dict)
    # per categorical attribute: held-out log-likelihood per claim of each model ("confusion";
    # "confusion as one-coin": the confusion fit read with the sources' reliabilities only;
    # "one-coin": the one-coin model's own fit; "vote"), as the guard measured
    heldout: dict[Hashable, dict[str, float]] = field(default_factory=dict)

    def posteriors(self) -> dict[Hashable, dict[Any, float]]:
        return {subject: estimate.posterior() for subject, estimate in self.subjects.items()}


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return CATEGORICAL
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"a claim's value is text or a finite number, not {value!r}")
    return NUMERIC


class _Index(dict):
    """Hashable -> 0, 1, 2, ... in order of first appearance."""

    def add(self, key: Hashable) -> int:
        index = self.get(key)
        if index is None:
            index = self[key] = len(self)
        return index


@dataclass
class _ConfusionBlock:
    """The categorical claims about one attribute with few values (Dawid-Skene)."""

    values: list[str]
    subjects: list[int]  # global subject index of each local subject
    item: np.ndarray  # per claim: local subject index
    source: np.ndarray
    label: np.ndarray
    weight: np.ndarray
    claim: np.ndarray  # per claim: global claim index
    attribute: Hashable = ""
    one_coin: bool = False  # the one-coin model: P(claims l | truth k) = r_s if l == k, else (1 - r_s) / (K - 1)
    posterior: np.ndarray = None  # (subjects, classes)
    log_confusion: np.ndarray = None  # (sources, truth, claimed) of the last M-step
    log_classes: np.ndarray = None  # the class prior of the last M-step

    def votes(self) -> np.ndarray:
        """Each subject's weighted share of the votes per class (majority voting)."""
        k = len(self.values)
        votes = np.bincount(self.item * k + self.label, weights=self.weight, minlength=len(self.subjects) * k)
        votes = votes.reshape(len(self.subjects), k)
        return votes / np.maximum(votes.sum(1, keepdims=True), 1e-300)

    def start(self) -> None:
        self.posterior = self.votes()

    def update(self, reliability: np.ndarray, settings: Settings) -> float:
        """M-step (confusion matrices and class prior from the posterior), then E-step."""
        k, m = len(self.values), len(reliability)
        wrong = (1 - reliability) / max(k - 1, 1)
        one_coin = np.repeat(wrong[:, None, None], k, axis=1).repeat(k, axis=2)
        one_coin[:, np.arange(k), np.arange(k)] = reliability[:, None]
        if self.one_coin:
            log_confusion = self.log_confusion = np.log(one_coin)
        else:
            counts = np.empty((m, k, k))
            cell = self.source * k + self.label
            for truth in range(k):
                counts[:, truth, :] = np.bincount(
                    cell, weights=self.weight * self.posterior[self.item, truth], minlength=m * k
                ).reshape(m, k)
            counts += settings.confusion_strength * one_coin + settings.smoothing
            log_confusion = self.log_confusion = np.log(counts / counts.sum(2, keepdims=True))
        classes = self.posterior.sum(0) + settings.smoothing
        self.log_classes = np.log(classes / classes.sum())
        log_post = np.tile(self.log_classes, (len(self.subjects), 1))
        contribution = log_confusion[self.source, :, self.label] * self.weight[:, None]
        for truth in range(k):
            log_post[:, truth] += np.bincount(self.item, weights=contribution[:, truth], minlength=len(self.subjects))
        log_post -= log_post.max(1, keepdims=True)
        posterior = np.exp(log_post)
        posterior /= posterior.sum(1, keepdims=True)
        change = float(np.abs(posterior - self.posterior).max()) if posterior.size else 0.0
        self.posterior = posterior
        return change

    def correct(self) -> np.ndarray:
        """Per claim: the probability that it is right."""
        return self.posterior[self.item, self.label]


@dataclass
class _AgreementBlock:
    """Numeric claims and categorical ones with many values: right with probability r_s.

    Works on (claim, candidate) pairs, a candidate being a value claimed for the same subject:
    P(claim | truth = candidate) = r * match + (1 - r) * background."""

    candidate_subject: np.ndarray  # per candidate: local subject index
    pair_claim: np.ndarray  # per pair: index into the block's claims
    pair_candidate: np.ndarray
    match: np.ndarray
    background: np.ndarray
    source: np.ndarray  # per claim
    weight: np.ndarray
    claim: np.ndarray  # per claim: global claim index
    subject_count: int
    candidate_values: list = field(default_factory=list)
    subject_keys: list = field(default_factory=list)  # global subject index of each local subject
    posterior: np.ndarray = None  # per candidate
    _correct: np.ndarray = None

    def update(self, reliability: np.ndarray, settings: Settings) -> float:
        r = reliability[self.source[self.pair_claim]]
        right = r * self.match
        likelihood = right + (1 - r) * self.background
        log_post = np.bincount(
            self.pair_candidate,
            weights=self.weight[self.pair_claim] * np.log(likelihood),
            minlength=len(self.candidate_subject),
        )
        best = np.full(self.subject_count, -np.inf)
        np.maximum.at(best, self.candidate_subject, log_post)
        posterior = np.exp(log_post - best[self.candidate_subject])
        posterior /= np.bincount(self.candidate_subject, weights=posterior, minlength=self.subject_count)[
            self.candidate_subject
        ]
        change = 1.0 if self.posterior is None else float(np.abs(posterior - self.posterior).max())
        self.posterior = posterior
        self._correct = np.bincount(
            self.pair_claim, weights=posterior[self.pair_candidate] * right / likelihood, minlength=len(self.source)
        )
        return change

    def correct(self) -> np.ndarray:
        return self._correct


def _numeric_scale(values: np.ndarray) -> np.ndarray:
    """asinh: logarithmic for large numbers (relative differences count), linear near zero."""
    return np.arcsinh(values)


def discover(
    claims: Iterable[Claim],
    settings: Settings | None = None,
    priors: Mapping[Hashable, tuple[float, float]] | None = None,
) -> Discovery:
    """Estimate every subject's true value and every source's reliability from `claims`.

    `priors` maps a source to (prior reliability, strength in claims), overriding the default
    prior, e.g. from a verifier's grade of that source. A source's repeated claims about one
    subject should be reduced to one before calling (the latest), as they are not independent.

    Categorical attributes go through the model guard (`_model_guard`): where the one-coin
    model or a plain vote predicts held-out claims better than the confusion model, that one's
    estimates are kept."""
    settings = settings or Settings()
    claims = list(claims)
    if not claims:
        return Discovery()
    fit = _fit(claims, settings, priors)
    result = Discovery(iterations=fit.iterations, converged=fit.converged)
    if fit.confusion and settings.guard_folds >= 2:
        _model_guard(claims, settings, priors, fit, result)
    source_keys = list(fit.sources)
    result.reliability = {key: float(fit.reliability[i]) for i, key in enumerate(source_keys)}
    result.claims = {key: float(fit.claimed[i]) for i, key in enumerate(source_keys)}
    subject_keys = list(fit.subjects)
    for block in fit.confusion:
        result.models.setdefault(block.attribute, "confusion")
        for local, s in enumerate(block.subjects):
            result.subjects[subject_keys[s]] = _estimate(
                subject_keys[s], CATEGORICAL, block.values, block.posterior[local], None
            )
    if fit.agreement is not None:
        _agreement_estimates(fit.agreement, subject_keys, result, settings)
    return result


@dataclass
class _Fit:
    sources: _Index
    subjects: _Index
    confusion: list[_ConfusionBlock]
    agreement: _AgreementBlock | None
    reliability: np.ndarray
    claimed: np.ndarray
    iterations: int
    converged: bool


def _fit(
    claims: list[Claim],
    settings: Settings,
    priors: Mapping[Hashable, tuple[float, float]] | None,
    one_coin: bool = False,
) -> _Fit:
    """The EM itself: the blocks with their posteriors, and the sources' reliabilities; with
    `one_coin`, every categorical block is the one-coin model instead of confusion matrices."""
    sources, subjects = _Index(), _Index()
    source_of = np.empty(len(claims), dtype=np.int64)
    subject_of = np.empty(len(claims), dtype=np.int64)
    weight = np.empty(len(claims))
    kinds: dict[int, str] = {}
    attribute_of: dict[int, Hashable] = {}
    for n, claim in enumerate(claims):
        kind = _kind(claim.value)
        if not claim.weight > 0:
            raise ValueError(f"a claim's weight must be positive, not {claim.weight!r}")
        s = subjects.add(claim.subject)
        if kinds.setdefault(s, kind) != kind:
            raise ValueError(f"subject {claim.subject!r} has both text and numeric claims")
        attribute_of.setdefault(s, claim.attribute)
        source_of[n], subject_of[n], weight[n] = sources.add(claim.source), s, claim.weight
    m = len(sources)
    alpha = np.full(m, settings.prior_reliability * settings.prior_strength)
    beta = np.full(m, (1 - settings.prior_reliability) * settings.prior_strength)
    for source, (mean, strength) in (priors or {}).items():
        if source in sources:
            alpha[sources[source]], beta[sources[source]] = mean * strength, (1 - mean) * strength
    claimed = np.bincount(source_of, weights=weight, minlength=m)

    confusion, agreement = _build_blocks(claims, subject_of, source_of, weight, kinds, attribute_of, settings)
    reliability = np.clip(alpha / (alpha + beta), _R_MIN, _R_MAX)
    if agreement is not None:
        agreement.update(reliability, settings)
    for block in confusion:
        block.one_coin = one_coin
        block.start()
    iterations, converged = 0, False
    while iterations < settings.max_iterations:
        iterations += 1
        correct = np.zeros(len(claims))
        for block in [*confusion, agreement]:
            if block is not None and block.correct() is not None:
                correct[block.claim] = block.correct()
        earned = np.bincount(source_of, weights=weight * correct, minlength=m)
        reliability = np.clip((alpha + earned) / (alpha + beta + claimed), _R_MIN, _R_MAX)
        change = max(block.update(reliability, settings) for block in [*confusion, agreement] if block is not None)
        if change < settings.tolerance:
            converged = True
            break
    return _Fit(sources, subjects, confusion, agreement, reliability, claimed, iterations, converged)


def _model_guard(
    claims: list[Claim],
    settings: Settings,
    priors: Mapping[Hashable, tuple[float, float]] | None,
    fit: _Fit,
    result: Discovery,
) -> None:
    """Per categorical attribute, keep the confusion model, or take the one-coin model or the
    plain vote instead, whichever predicts claims it has not seen best: model choice by
    cross-validated predictive likelihood (Stone 1974, "Cross-validatory choice and assessment
    of statistical predictions", JRSS B 36:111), on the claims themselves, never on known answers.

    The claims are dealt into `guard_folds` folds by a hash of their subject and source (the same
    claims, in any order, always give the same choice). For each fold, the confusion model and
    the one-coin model are fitted on the other folds, and each claim of the fold is predicted as
    P(label) = sum_t P(truth = t | other claims) * P(label | t): the confusion model with the
    source's fitted matrix (a source it has not seen: the one-coin prior), the one-coin model
    with the source's fitted reliability, the vote with the subject's vote shares and one
    symmetric matrix for everyone, its diagonal the vote's own agreement rate. The confusion fit
    is also read with each source's one reliability r_s only, and the better of its two readings
    counts for it, as its truth estimates mostly rest on r_s where sources have few claims each.

    Which model wins where (bench/truth_discovery.py): confusion matrices where sources say
    much and err in their own ways (every public crowd set); the one-coin model where each source
    says little about each attribute (a crisis's statuses of roads, bridges, clinics); the vote
    where sources are interchangeable and say little (Dawid-Skene overfits them). The confusion
    model is the default: another replaces it only when it predicts better by more than one
    standard error of the mean difference per claim, so that the noise of a small attribute's
    folds does not throw away a model that learnt who errs how. The reliabilities stay the
    confusion model's.
    """
    attribute_of_claim = [claim.attribute for claim in claims]
    blocks = {block.attribute: block for block in fit.confusion}
    models = ("confusion", "confusion as one-coin", "one-coin", "vote")
    totals = {attribute: {model: [] for model in (*models, "weight")} for attribute in blocks}
    if len(claims) <= settings.guard_leave_one_out:
        folds, fold = len(claims), np.arange(len(claims))
    else:
        folds = settings.guard_folds
        fold = np.array([zlib.crc32(repr((c.subject, c.source)).encode()) % folds for c in claims])
    for j in range(folds):
        train = [claims[n] for n in np.flatnonzero(fold != j)]
        held = [n for n in np.flatnonzero(fold == j) if attribute_of_claim[n] in blocks]
        if not train or not held:
            continue
        trained, trained_one_coin = _fit(train, settings, priors), _fit(train, settings, priors, one_coin=True)
        for block, one_coin in zip(trained.confusion, trained_one_coin.confusion, strict=True):
            chosen = [claims[n] for n in held if attribute_of_claim[n] == block.attribute]
            if chosen:
                tally = totals[block.attribute]
                confusion, as_one_coin, vote, weight = _predict(block, trained, chosen, settings, priors)
                own = _predict(one_coin, trained_one_coin, chosen, settings, priors)[0]
                for model, values in zip((*models, "weight"), (confusion, as_one_coin, own, vote, weight), strict=True):
                    tally[model].append(values)
    full_one_coin = None
    for attribute, tally in totals.items():
        weight = np.concatenate(tally["weight"]) if tally["weight"] else np.zeros(0)
        if not weight.sum():
            continue
        logs = {model: np.log(np.maximum(np.concatenate(tally[model]), 1e-300)) for model in models}
        result.heldout[attribute] = {
            model: round(float(np.average(value, weights=weight)), 6) for model, value in logs.items()
        }
        # The confusion fit counts by the better of its two readings.
        reading = max(("confusion", "confusion as one-coin"), key=result.heldout[attribute].get)
        model = _choose(logs, weight, confusion=reading)
        block = blocks[attribute]
        if model == "vote":
            block.posterior = block.votes()
        elif model == "one-coin":
            full_one_coin = full_one_coin or _fit(claims, settings, priors, one_coin=True)
            (own,) = [b for b in full_one_coin.confusion if b.attribute == attribute]
            block.posterior = own.posterior
        result.models[attribute] = model


def _choose(logs: dict[str, np.ndarray], weight: np.ndarray, confusion: str = "confusion") -> str:
    """The model to use, from each model's log-likelihood per held-out claim. The confusion
    model stays unless another predicts better by more than a standard error; when both the
    one-coin model and the vote do, the simpler vote wins unless the one-coin model in turn
    predicts better than the vote by more than a standard error (on tiny sets the one-coin
    model's reliabilities are fitted to noise, as the confusion matrices are). `confusion`
    names the confusion model's entry in `logs` (the better of its two readings)."""

    def better(model: str, than: str) -> bool:
        difference = logs[model] - logs[than]
        gain = np.average(difference, weights=weight)
        return gain > np.sqrt(np.average((difference - gain) ** 2, weights=weight) / max(len(weight) - 1, 1))

    one_coin, vote = better("one-coin", confusion), better("vote", confusion)
    if one_coin and (not vote or better("one-coin", "vote")):
        return "one-coin"
    return "vote" if vote or (one_coin and better("vote", "one-coin")) else "confusion"


def _predict(
    block: _ConfusionBlock,
    fit: _Fit,
    held: list[Claim],
    settings: Settings,
    priors: Mapping[Hashable, tuple[float, float]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P(label | the claims `block` was fitted on) of each held-out claim: under the block's own
    model (its confusion matrices, or the one-coin matrices of a one-coin block), under the
    sources' reliabilities alone, and under the vote; and the claims' weights. A claim of a value
    the fit has not seen is left out (weight 0), as no model can say anything of it."""
    k = len(block.values)
    position = {value: i for i, value in enumerate(block.values)}
    local = {s: i for i, s in enumerate(block.subjects)}
    shares = block.votes()
    own = float(np.sum(block.weight * shares[block.item, block.label]) / np.sum(block.weight))
    confusion, one_coin, vote = np.ones(len(held)), np.ones(len(held)), np.ones(len(held))
    weight = np.zeros(len(held))
    classes = np.exp(block.log_classes)
    for n, claim in enumerate(held):
        label = position.get(claim.value)
        if label is None:
            continue
        subject = local.get(fit.subjects.get(claim.subject))
        source = fit.sources.get(claim.source)
        if source is not None:
            column = np.exp(block.log_confusion[source, :, label])
            r = fit.reliability[source]
        else:
            r = (priors or {}).get(claim.source, (settings.prior_reliability, 0.0))[0]
            column = np.full(k, (1 - r) / max(k - 1, 1))
            column[label] = r
        truth = block.posterior[subject] if subject is not None else classes
        confusion[n] = float(truth @ column)
        one_coin[n] = truth[label] * r + (1 - truth[label]) * (1 - r) / max(k - 1, 1)
        share = shares[subject, label] if subject is not None else classes[label]
        vote[n] = share * own + (1 - share) * (1 - own) / max(k - 1, 1)
        weight[n] = claim.weight
    return confusion, one_coin, vote, weight


def _build_blocks(claims, subject_of, source_of, weight, kinds, attribute_of, settings):
    by_attribute: dict[Hashable, list[int]] = {}
    loose: list[int] = []  # claims for the agreement model
    values_of_attribute: dict[Hashable, dict[str, None]] = {}
    for n, claim in enumerate(claims):
        if kinds[subject_of[n]] == CATEGORICAL:
            attribute = attribute_of[subject_of[n]]
            by_attribute.setdefault(attribute, []).append(n)
            values_of_attribute.setdefault(attribute, {})[claim.value] = None
        else:
            loose.append(n)
    confusion = []
    domain_size: dict[Hashable, int] = {}
    for attribute, members in by_attribute.items():
        values = sorted(values_of_attribute[attribute])
        if len(values) > settings.max_classes:
            loose.extend(members)
            domain_size[attribute] = len(values)
            continue
        position = {value: i for i, value in enumerate(values)}
        local = _Index()
        item = np.array([local.add(subject_of[n]) for n in members], dtype=np.int64)
        chosen = np.array(members, dtype=np.int64)
        confusion.append(
            _ConfusionBlock(
                values=values,
                subjects=list(local),
                item=item,
                source=source_of[chosen],
                label=np.array([position[claims[n].value] for n in members], dtype=np.int64),
                weight=weight[chosen],
                claim=chosen,
                attribute=attribute,
            )
        )
    agreement = (
        _agreement_block(
            claims, sorted(loose), subject_of, source_of, weight, kinds, attribute_of, domain_size, settings
        )
        if loose
        else None
    )
    return confusion, agreement


def _agreement_block(claims, members, subject_of, source_of, weight, kinds, attribute_of, domain_size, settings):
    local = _Index()
    claims_of_subject: dict[int, list[int]] = {}
    for position, n in enumerate(members):
        claims_of_subject.setdefault(local.add(subject_of[n]), []).append(position)
    candidate_subject, candidate_value = [], []
    pair_claim, pair_candidate, match, background = [], [], [], []
    sigma = settings.numeric_tolerance
    for s, positions in claims_of_subject.items():
        numeric = kinds[subject_of[members[positions[0]]]] == NUMERIC
        given = [claims[members[p]].value for p in positions]
        distinct = sorted(set(given))
        first = len(candidate_subject)
        candidate_subject.extend([s] * len(distinct))
        candidate_value.extend(distinct)
        if numeric:
            x_claim = _numeric_scale(np.array(given, dtype=float))
            x_candidate = _numeric_scale(np.array(distinct, dtype=float))
            width = max(float(x_claim.max() - x_claim.min()), 1.0) + 4 * sigma
            gap = x_claim[:, None] - x_candidate[None, :]
            near = np.exp(-0.5 * (gap / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
            far = np.full_like(near, 1.0 / width)
        else:
            k = domain_size.get(attribute_of[subject_of[members[positions[0]]]], len(distinct))
            near = (np.array(given, dtype=object)[:, None] == np.array(distinct, dtype=object)[None, :]).astype(float)
            far = (1 - near) / max(k - 1, 1)
        rows, cols = np.meshgrid(np.array(positions), np.arange(len(distinct)), indexing="ij")
        pair_claim.append(rows.ravel())
        pair_candidate.append(cols.ravel() + first)
        match.append(near.ravel())
        background.append(far.ravel())
    chosen = np.array(members, dtype=np.int64)
    return _AgreementBlock(
        candidate_subject=np.array(candidate_subject, dtype=np.int64),
        pair_claim=np.concatenate(pair_claim),
        pair_candidate=np.concatenate(pair_candidate),
        match=np.concatenate(match),
        background=np.concatenate(background),
        source=source_of[chosen],
        weight=weight[chosen],
        claim=chosen,
        subject_count=len(local),
        candidate_values=candidate_value,
        subject_keys=list(local),
    )


def _agreement_estimates(block: _AgreementBlock, subject_keys: list, result: Discovery, settings: Settings) -> None:
    order = np.argsort(block.candidate_subject, kind="stable")
    bounds = np.searchsorted(block.candidate_subject[order], np.arange(block.subject_count + 1))
    for local, s in enumerate(block.subject_keys):
        chosen = order[bounds[local] : bounds[local + 1]]
        values = [block.candidate_values[c] for c in chosen]
        kind = CATEGORICAL if isinstance(values[0], str) else NUMERIC
        result.subjects[subject_keys[s]] = _estimate(
            subject_keys[s], kind, values, block.posterior[chosen], settings.numeric_tolerance
        )


def _estimate(
    subject: Hashable, kind: str, values: list, probabilities: np.ndarray, sigma: float | None
) -> SubjectEstimate:
    probabilities = np.asarray(probabilities, dtype=float)
    if kind == NUMERIC:
        return _numeric_estimate(subject, values, probabilities, sigma)
    best = int(np.argmax(probabilities))
    tied = int(np.sum(probabilities >= probabilities[best] - _TIE)) > 1
    return SubjectEstimate(
        subject=subject,
        kind=kind,
        values=list(values),
        probabilities=[float(p) for p in probabilities],
        proposed=None if tied else values[best],
        confidence=float(probabilities[best]),
        supporting=[not tied and i == best for i in range(len(values))],
    )


def _numeric_estimate(subject: Hashable, values: list, probabilities: np.ndarray, sigma: float) -> SubjectEstimate:
    """Numbers a few per cent apart agree: the proposal is the densest cluster of probability
    (candidates within the tolerance of one another), averaged on the asinh scale; it is a tie
    only when two clusters apart from each other are equally probable."""
    x = _numeric_scale(np.array(values, dtype=float))
    near = np.abs(x[:, None] - x[None, :]) <= sigma
    mass = near @ probabilities
    best = int(np.argmax(mass))
    rivals = (mass >= mass[best] - _TIE) & ~near[best]
    cluster = near[best]
    if rivals.any():
        proposed = None
    else:
        centre = float(np.sinh(np.dot(probabilities[cluster], x[cluster]) / probabilities[cluster].sum()))
        proposed = round(centre) if all(float(v).is_integer() for v in values) else centre
    return SubjectEstimate(
        subject=subject,
        kind=NUMERIC,
        values=list(values),
        probabilities=[float(p) for p in probabilities],
        proposed=proposed,
        confidence=min(float(mass[best]), 1.0),
        supporting=[proposed is not None and bool(c) for c in cluster],
    )
