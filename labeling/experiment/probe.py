"""The transcript-information diagnostic: do the transcripts carry the label for a cheap reader?

For each debated protocol, a reference classifier (``eval.transcript_probe``: hashed word n-grams,
L2-regularised logistic regression) reads exactly what the weak judge reads -- the judge inputs of the
first debate seed's transcripts, built by the judge's own view functions -- fitted on weak_train with
gold labels (failed transcripts skipped, as for the judge) and scored on test, once per training seed
(the seed salts the feature hash). It is also fitted on the same items without the transcript, so the
report shows what the transcript adds for this reader beside what it adds for the judge.

A bag of n-grams cannot see whether a transcript repeats *this item's* candidate answer (the words
differ per item), which is the simplest way a transcript can carry the label. So a third input marks
every mention of the candidate answer inside the transcript with one token, ``CANDIDATE_MARK``, that
the classifier can weigh like any other word.

It is a diagnostic only: computed at report time from transcripts already read, it makes no stage,
never labels strong_train and no student trains on it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from eval import bootstrap_accuracy, correctness, paired_difference
from eval.transcript_probe import ProbeSettings, fit_probe

from labeling.config import ExperimentConfig
from labeling.data.judge_input import candidate_pattern, judge_text
from labeling.data.stage import Splits
from labeling.stages.trained import TrainedModel, plain_view, transcript_view
from labeling.stages.transcripts import TranscriptSet

log = logging.getLogger(__name__)

SECTION_TITLE = "Transcript-information diagnostic (reference classifier, not a label source)"
WITH_TRANSCRIPT, ITEM_ONLY = "item + transcript", "item only"
MARKED = "item + transcript, candidate's mentions marked"
CANDIDATE_MARK = "candidate_answer_mention"  # one word token for the tokenizer (\w+)


@dataclass(frozen=True)
class ProbeResult:
    """One protocol's reference classifier and judge on the same test items, per training seed.

    Probability matrices are ``[n_training_seeds, n_test_items]``; the judge is the fine-tuned judge
    of the same transcripts (first debate seed) with the same training seed. ``probe`` is None when
    the usable weak_train items hold one class only (nothing to fit).
    """

    protocol: str
    debate_seed: int
    fit_items: int
    failed_skipped: int
    probe: dict[str, np.ndarray] | None  # input (WITH_TRANSCRIPT / ITEM_ONLY / MARKED) -> P(correct)
    judge: dict[str, np.ndarray]  # WITH_TRANSCRIPT / ITEM_ONLY -> the weak judge's P(correct)


def mark_candidate(transcript: str, answer: str) -> str:
    """``transcript`` with each mention of ``answer`` (its words in order, any case) replaced by ``CANDIDATE_MARK``."""
    pattern = candidate_pattern(answer)
    return transcript if pattern is None else pattern.sub(CANDIDATE_MARK, transcript)


def probe_inputs(split: pd.DataFrame, transcripts: TranscriptSet) -> dict[str, list[str]]:
    """The classifier's three inputs for ``split``, one text per item.

    The judge's inputs with and without the transcript (built by the judge's own view functions), and the
    judge's input with the candidate answer's mentions in the transcript marked.
    """
    with_transcript = transcript_view(split, transcripts.texts, transcripts.judge_input)  # checks every item has one
    marked = [
        judge_text(item, mark_candidate(transcripts.texts[item_id], answer), transcripts.judge_input, answer)
        for item_id, item, answer in zip(with_transcript.ids, split["text"], split["answer"].astype(str))
    ]
    return {WITH_TRANSCRIPT: with_transcript.texts, ITEM_ONLY: plain_view(split).texts, MARKED: marked}


def fit_and_score(
    splits: Splits, transcripts: TranscriptSet, seeds: list[int]
) -> tuple[dict[str, np.ndarray] | None, int]:
    """Fit the reference classifier on weak_train's usable items per input and seed; test P(correct).

    Returns the ``[n_seeds, n_test]`` probabilities per input (None when only one class is left to
    fit on) and the number of weak_train items fitted on.
    """
    weak_train = splits["weak_train"]
    usable = weak_train[transcripts.finished(weak_train["id"].astype(str).tolist())]
    labels = usable["label"].astype(int).to_numpy()
    if len(set(labels.tolist())) < 2:
        return None, len(usable)
    train_texts, test_texts = probe_inputs(usable, transcripts), probe_inputs(splits["test"], transcripts)
    probs = {
        name: np.stack([fit_and_predict(texts, labels, test_texts[name], seed) for seed in seeds])
        for name, texts in train_texts.items()
    }
    return probs, len(usable)


def fit_and_predict(train_texts: list[str], labels: np.ndarray, test_texts: list[str], seed: int) -> np.ndarray:
    """One reference classifier's test P(correct); a fit that did not converge is logged, not hidden."""
    model = fit_probe(train_texts, labels, seed=seed)
    if not model.converged:
        log.warning("transcript diagnostic: the reference classifier (seed %d) stopped after %d iterations "
                    "without converging", seed, model.iterations)
    return model.predict_proba(test_texts)


def fine_tuned_judge(outcome, protocol: str) -> TrainedModel:
    """``protocol``'s weak judge on the first debate seed with ``outcome``'s training seed.

    That is the first member of any of its fine-tuned label sources (single, either ensemble).
    """
    fine_tuned = [js for src, js in outcome.judges.items() if src.protocol == protocol and src.ensemble != "prompted"]
    return fine_tuned[0][0]


def transcript_probes(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: dict[tuple[str, int], TranscriptSet],
    outcomes: list,
) -> list[ProbeResult]:
    """The diagnostic for every debated protocol (on its first debate seed's transcripts)."""
    first = cfg.debate.seeds[0]
    seeds = [o.seed for o in outcomes]
    results = []
    for protocol in (p for p in cfg.debate.protocols if p != "none"):
        read = transcripts[(protocol, first)]
        probs, fit_items = fit_and_score(splits, read, seeds)
        if probs is None:
            log.warning("transcript diagnostic, %s: weak_train's usable items hold one class; not fitted", protocol)
        judges = [fine_tuned_judge(o, protocol) for o in outcomes]
        results.append(ProbeResult(
            protocol=protocol,
            debate_seed=first,
            fit_items=fit_items,
            failed_skipped=len(splits["weak_train"]) - fit_items,
            probe=probs,
            judge={
                WITH_TRANSCRIPT: np.stack([j.predictions["test"] for j in judges]),
                ITEM_ONLY: np.stack([j.predictions["test_plain"] for j in judges]),
            },
        ))
    return results


def probe_estimates(cfg: ExperimentConfig, result: ProbeResult, test_labels: np.ndarray) -> dict:
    """One protocol's named accuracies and paired differences (the table's bootstrap settings)."""
    boot = cfg.eval.boot
    judge = {name: correctness(p, test_labels) for name, p in result.judge.items()}
    estimates = {
        "judge_with_transcript": bootstrap_accuracy(judge[WITH_TRANSCRIPT], **boot),
        "judge_transcript_gain": paired_difference(judge[WITH_TRANSCRIPT], judge[ITEM_ONLY], **boot),
    }
    if result.probe is not None:
        probe = {name: correctness(p, test_labels) for name, p in result.probe.items()}
        estimates = {
            "probe_item_only": bootstrap_accuracy(probe[ITEM_ONLY], **boot),
            "probe_with_transcript": bootstrap_accuracy(probe[WITH_TRANSCRIPT], **boot),
            "probe_transcript_gain": paired_difference(probe[WITH_TRANSCRIPT], probe[ITEM_ONLY], **boot),
            "probe_marked": bootstrap_accuracy(probe[MARKED], **boot),
            "probe_marked_gain": paired_difference(probe[MARKED], probe[ITEM_ONLY], **boot),
            **estimates,
            "probe_minus_judge": paired_difference(probe[WITH_TRANSCRIPT], judge[WITH_TRANSCRIPT], **boot),
        }
    return estimates


MEASURES = {
    "probe_item_only": f"reference classifier, {ITEM_ONLY}: accuracy",
    "probe_with_transcript": f"reference classifier, {WITH_TRANSCRIPT}: accuracy",
    "probe_transcript_gain": "reference classifier: gain from the transcript (paired difference)",
    "probe_marked": f"reference classifier, {MARKED}: accuracy",
    "probe_marked_gain": "reference classifier: gain from the marked transcript (paired difference)",
    "judge_with_transcript": f"weak judge, {WITH_TRANSCRIPT}: accuracy",
    "judge_transcript_gain": "weak judge: gain from the transcript (paired difference)",
    "probe_minus_judge": f"reference classifier minus weak judge, {WITH_TRANSCRIPT} (paired difference)",
}


def probe_section(cfg: ExperimentConfig, results: list[ProbeResult], test_labels: np.ndarray) -> tuple[str, dict]:
    """The results.md section (markdown) and the numbers for results.json / manifest.json."""
    level = f"{(1 - cfg.eval.alpha) * 100:g}% CI"
    lines = [
        f"## {SECTION_TITLE}",
        "",
        "What the transcripts tell a cheap reader: logistic regression on hashed word uni- and bigrams "
        "(`eval/transcript_probe.py`) over the judge's own inputs, fitted on weak_train with gold labels "
        "(failed transcripts skipped, as for the judge), scored on test, one fit per training seed. It never "
        "labels strong_train and no student trains on it. Differences are paired over the same items and seeds. "
        "A bag of n-grams cannot tell whether a transcript repeats the item's own candidate answer, so one "
        f"input also marks those mentions with one word (`{CANDIDATE_MARK}`). It reads the whole input (the "
        "judge's is cut at `training.judge.max_length` tokens); its accuracy is a floor on the information there.",
        "",
        f"| protocol (transcripts) | measure | % [{level}] | n items | seeds | note |",
        "|---|---|---:|---:|---:|---|",
    ]
    numbers: dict = {}
    for result in results:
        estimates = probe_estimates(cfg, result, test_labels)
        source = f"{result.protocol} (debate seed {result.debate_seed})"
        fitted = f"fitted on {result.fit_items} weak_train items"
        if result.failed_skipped:
            fitted += f" ({result.failed_skipped} failed transcripts skipped)"
        if result.probe is None:
            fitted = "reference classifier not fitted: the usable weak_train items hold one class"
        for i, (key, est) in enumerate((k, estimates[k]) for k in MEASURES if k in estimates):
            note = fitted if i == 0 else ""
            lines.append(f"| {source} | {MEASURES[key]} | {est.fmt()} | {est.n_items} | {est.n_seeds} | {note} |")
        numbers[f"{result.protocol}/seed{result.debate_seed}"] = {
            "fit_items": result.fit_items,
            "failed_skipped": result.failed_skipped,
            **{key: est.to_dict() for key, est in estimates.items()},
        }
    return "\n".join(lines) + "\n", {"reader": asdict(ProbeSettings()), "protocols": numbers}


def transcript_diagnostic(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: dict[tuple[str, int], TranscriptSet],
    outcomes: list,
) -> tuple[str, dict | None]:
    """The diagnostic's results.md section and numbers; ``("", None)`` when it is off or nothing was debated."""
    if not cfg.eval.transcript_probe or not transcripts:
        return "", None
    results = transcript_probes(cfg, splits, transcripts, outcomes)
    return probe_section(cfg, results, splits["test"]["label"].to_numpy())
