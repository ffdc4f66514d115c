"""Bootstrapping in a run: from each chosen label source, the chain's links in turn, then its students.

The chain (``training.bootstrap``) starts from every label source ``training.bootstrap_sources``
names. Links of one chain run one after the other; the links of the same depth of every chain
(every source and training seed) are independent and run side by side in the training pool. The
last link's labels are one more label source (``bootstrapped``), trained into students like the
others by the pipeline.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from labeling.config import ConfigError, ExperimentConfig, source_names
from labeling.data.stage import Splits
from labeling.exec.train_pool import JobRunner, TrainJob, run_jobs
from labeling.stages.bootstrap import FOLDS, link_labels, link_test, stage_names, train_link


def chain_starts(cfg: ExperimentConfig, sources: list) -> list:
    """The label sources ``training.bootstrap_sources`` names (none without a chain); a name matching none is an error."""
    if not cfg.training.bootstrap:
        return []
    names = {source: source_names(source.protocol, source.ensemble) for source in sources}
    known = set().union(*names.values())
    if missing := [w for w in cfg.training.bootstrap_sources if w not in known]:
        raise ConfigError(f"training.bootstrap_sources: {missing} name no label source of this run "
                          f"(it has {sorted(known)})")
    return [source for source in sources if names[source] & set(cfg.training.bootstrap_sources)]


def _previous(outcome, start, chained) -> tuple[np.ndarray, list[str]]:
    """The labels the next link of ``chained`` trains on, and the stages they came from."""
    if not outcome.links.get(chained):
        return outcome.labels[start], stage_names(outcome.judges[start])
    last = outcome.links[chained][-1]
    return link_labels(last, outcome.labels[start]), stage_names(last)


def run_chains(cfg: ExperimentConfig, splits: Splits, outcomes: list, sources: list, runner: JobRunner) -> list:
    """Train every chain, depth by depth; returns the bootstrapped label sources (empty without a chain).

    Each outcome (``SeedOutcome``) gets, per bootstrapped source, its links' fold models in
    ``links`` and the last link's labels in ``labels``.
    """
    chained = {start: replace(start, bootstrapped=True) for start in chain_starts(cfg, sources)}
    for depth, link in enumerate(cfg.training.bootstrap, 1):
        jobs = []
        for outcome in outcomes:
            for start, source in chained.items():
                labels, labels_from = _previous(outcome, start, source)
                args = (cfg, splits, start.name, depth, link)
                jobs += [TrainJob(("bootstrap", outcome.seed, source, depth, fold), train_link,
                                  (*args, fold, labels, labels_from, outcome.seed)) for fold in range(FOLDS)]
        done = run_jobs(jobs, runner)
        for outcome in outcomes:
            for source in chained.values():
                folds = [done[("bootstrap", outcome.seed, source, depth, fold)] for fold in range(FOLDS)]
                outcome.links.setdefault(source, []).append(folds)
    for outcome in outcomes:
        for start, source in chained.items():
            outcome.labels[source] = link_labels(outcome.links[source][-1], outcome.labels[start])
    return list(chained.values())


def link_test_predictions(outcomes: list) -> list[tuple[object, int, list[np.ndarray]]]:
    """Per bootstrapped source and link depth (1 = first): the link's test P(correct) per training seed."""
    first = outcomes[0]
    return [(source, depth, [link_test(o.links[source][depth - 1]) for o in outcomes])
            for source, links in first.links.items() for depth in range(1, len(links) + 1)]
