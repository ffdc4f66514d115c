"""Results of one experiment: the table (markdown, JSON, CSV), the plot, a manifest, examples."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from eval import (
    N_BINS,
    ResultRow,
    auroc,
    bootstrap_accuracy,
    bootstrap_brier,
    bootstrap_ece,
    bootstrap_mean,
    bootstrap_pgr,
    correctness,
    plot_results,
    results_markdown,
    write_results,
)

from labeling.config import ExperimentConfig, chain_description
from labeling.data.stage import Splits, data_stage_path
from labeling.experiment.bootstrap import link_test_predictions
from labeling.experiment.gaps import gap_pairs, gaps_section, in_id_order, paired_gaps
from labeling.experiment.manifest import machine_summary, stage_paths, transcript_stats
from labeling.experiment.probe import transcript_diagnostic
from labeling.experiment.supervision import supervision_rows, supervision_section, write_figures
from labeling.stages.bootstrap import FOLDS
from labeling.store import atomic_write_parquet, atomic_write_text

log = logging.getLogger(__name__)


def _correct(prob_rows: Sequence[np.ndarray], labels: np.ndarray) -> np.ndarray:
    """[n_seeds, n_items] correctness of thresholded probabilities."""
    return np.stack([correctness(p, labels) for p in prob_rows])


def source_label(cfg: ExperimentConfig, protocol: str, ensemble: str) -> str:
    """How a label source is named in tables: the protocol, plus the ensemble when it is not a single judge."""
    name = "no oversight" if protocol == "none" else protocol
    if ensemble == "prompted":
        return f"{name}, prompted judge"
    return name if ensemble == "single" else f"{name}, {ensemble.replace('_', ' ')} (k={len(cfg.debate.seeds)})"


WEAK_FLOOR_ROW, CEILING_ROW = "weak floor (weak model, gold labels)", "ceiling (strong model, gold labels)"


def student_methods(cfg: ExperimentConfig, outcomes: list) -> list[tuple[str, tuple]]:
    """Each student's table name and its (label source, loss label) key, in table order."""
    show_loss = len(cfg.training.student_losses) > 1
    return [
        (f"student <- {source_label(cfg, source.protocol, source.ensemble)} labels{chain_suffix(cfg, source)}"
         + (f", {loss} loss" if show_loss else ""), (source, loss))
        for source, loss in outcomes[0].students
    ]


def chain_suffix(cfg: ExperimentConfig, source) -> str:
    """What a bootstrapped source adds to its rows' names, e.g. ``, bootstrapped via 16 layers``."""
    return f", bootstrapped via {chain_description(cfg.training.bootstrap)}" if source.bootstrapped else ""


def build_rows(
    cfg: ExperimentConfig, splits: Splits, outcomes: list
) -> tuple[list, dict[str, np.ndarray], dict[str, tuple[np.ndarray, np.ndarray]]]:
    """Accuracy (and PGR for students), ECE and Brier rows, CIs over test items and training seeds.

    Also returns, per test-set method, its [n_seeds, n_items] correctness (for paired comparisons), and
    per row its [n_seeds, n_items] probabilities with the labels they are scored against (for figures).
    """
    boot = cfg.eval.boot
    test_y = splits["test"]["label"].to_numpy()
    train_y = splits["strong_train"]["label"].to_numpy()

    correct_by_method: dict[str, np.ndarray] = {}
    probs_by_method: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    def row(method: str, role: str, probs: list[np.ndarray], labels: np.ndarray, note: str = "", pgr=None):
        correct, stacked = _correct(probs, labels), np.stack(probs)
        if labels is test_y:
            correct_by_method[method] = correct
        probs_by_method[method] = (stacked, labels)
        return ResultRow(
            method=method,
            role=role,
            accuracy=bootstrap_accuracy(correct, **boot),
            pgr=pgr,
            auroc=float(np.mean([auroc(p, labels) for p in probs])),
            note=note,
            ece=bootstrap_ece(stacked, labels, N_BINS, **boot),
            brier=bootstrap_brier(stacked, labels, **boot),
        )

    weak_probs = [o.floor.predictions["test"] for o in outcomes]
    ceiling_probs = [o.ceiling.predictions["test"] for o in outcomes]
    weak_c, ceil_c = _correct(weak_probs, test_y), _correct(ceiling_probs, test_y)
    rows = [row(WEAK_FLOOR_ROW, "weak", weak_probs, test_y), row(CEILING_ROW, "ceiling", ceiling_probs, test_y)]
    gap_note = ""
    if ceil_c.mean() <= weak_c.mean():
        gap_note = "ceiling not above weak floor: PGR meaningless"
        log.warning("the ceiling (%.3f) is not above the weak floor (%.3f): PGR is meaningless", ceil_c.mean(), weak_c.mean())
    for method, key in student_methods(cfg, outcomes):
        probs = [o.students[key].predictions["test"] for o in outcomes]
        pgr = bootstrap_pgr(weak_c, ceil_c, _correct(probs, test_y), **boot)
        rows.append(row(method, "student", probs, test_y, note=gap_note, pgr=pgr))
    rows += [row(method, "judge", probs, test_y) for method, probs in judge_test_predictions(cfg, outcomes)]
    for source, depth, probs in link_test_predictions(outcomes):
        link = cfg.training.bootstrap[depth - 1].describe()
        made_by = "the source's" if depth == 1 else f"link {depth - 1}'s"
        rows.append(row(f"bootstrap link {depth} ({link}) <- {source_label(cfg, source.protocol, source.ensemble)} labels",
                        "bootstrap", probs, test_y, note=f"trained on {made_by} labels; its {FOLDS} fold models averaged"))
    for method, labels, gold, note in label_quality_inputs(cfg, outcomes, train_y):
        rows.append(row(method, "judge", labels, gold, note=note))
    return rows, correct_by_method, probs_by_method


def judge_test_predictions(cfg: ExperimentConfig, outcomes: list) -> list[tuple[str, list[np.ndarray]]]:
    """Each judge row's method name and test P(correct) per training seed (ensemble members averaged).

    With and without transcripts per label source, then the A/B-swapped transcripts per protocol.
    """
    first = outcomes[0]
    found = []
    for source in first.judges:
        if source.protocol == "none" and source.ensemble != "prompted":
            continue  # the fine-tuned no-transcript judge is the weak floor row
        name = f"judge <- {source_label(cfg, source.protocol, source.ensemble)}"
        without_t = [np.mean([j.predictions["test_plain"] for j in o.judges[source]], axis=0) for o in outcomes]
        if source.protocol != "none":
            with_t = [np.mean([j.predictions["test"] for j in o.judges[source]], axis=0) for o in outcomes]
            found.append((f"{name}, test with transcripts", with_t))
        found.append((f"{name}, test without transcripts", without_t))
    for protocol in first.swapped_test:
        swapped = [o.swapped_test[protocol] for o in outcomes]
        found.append((f"judge <- {protocol}, test with A/B-swapped transcripts", swapped))
    return found


def label_quality_inputs(
    cfg: ExperimentConfig, outcomes: list, gold: np.ndarray
) -> list[tuple[str, list[np.ndarray], np.ndarray, str]]:
    """Per label source: the row's method name, soft labels, gold labels and note (label quality on strong_train).

    The soft labels (one array per training seed) and gold labels cover only the items that have a label.
    """
    found = []
    for source in outcomes[0].labels:
        labels = [o.labels[source] for o in outcomes]
        name = source_label(cfg, source.protocol, source.ensemble) + chain_suffix(cfg, source)
        # Items without a label (every transcript behind them failed) are the same for every training seed.
        labeled = ~np.any(np.isnan(np.stack(labels)), axis=0)
        note = "label quality" + ("" if labeled.all() else f"; {int((~labeled).sum())} items without a label (failed transcripts)")
        found.append((f"weak labels <- {name} (on strong_train)", [p[labeled] for p in labels], gold[labeled], note))
    return found


def run_gaps(cfg: ExperimentConfig, students: list[tuple[str, tuple]], rows: list, correct: dict[str, np.ndarray],
             test_ids: list[str]) -> list:
    """Ceiling minus weak floor and each student minus the no-oversight student, paired over test items and seeds.

    ``students`` is :func:`student_methods`' list. Items are put in id order first, as `w2s compare` reads
    them back, so both report the same CI for a student's difference.
    """
    pairs = gap_pairs(WEAK_FLOOR_ROW, CEILING_ROW, [(method, source, loss) for method, (source, loss) in students])
    accuracy = {row.method: row.accuracy for row in rows}
    return paired_gaps(pairs, in_id_order(correct, test_ids), accuracy, **cfg.eval.boot)


def correctness_frame(correct: dict[str, np.ndarray], test_ids: list[str], seeds: list[int]) -> pd.DataFrame:
    """Long table (method, seed, id, correct) of every test-set method, for paired comparisons later."""
    parts = [
        pd.DataFrame({"method": method, "seed": seeds[i], "id": test_ids, "correct": matrix[i]})
        for method, matrix in correct.items()
        for i in range(matrix.shape[0])
    ]
    return pd.concat(parts, ignore_index=True)


def position_bias_estimates(cfg: ExperimentConfig, outcomes: list) -> dict:
    """Mean per-item position bias of each swapped protocol's judge, with a bootstrap CI."""
    return {
        protocol: bootstrap_mean(np.stack([o.position_bias[protocol] for o in outcomes]), **cfg.eval.boot)
        for protocol in outcomes[0].position_bias
    }


def write_examples(transcripts: dict, splits: Splits, path: Path, n: int = 3) -> None:
    """A few test-item transcripts in markdown, to read what the judge reads."""
    test = splits["test"].set_index("id")
    parts = ["# Example transcripts (test items)\n"]
    for (protocol, seed), read in transcripts.items():
        for item_id in [i for i in read.texts if i in test.index][:n]:
            item = test.loc[item_id]
            parts.append(
                f"## {protocol} seed {seed}: {item_id} (gold label {int(item['label'])}, stances {read.stances[item_id]})\n\n"
                f"{item['text']}\n\n{read.texts[item_id]}\n"
            )
    atomic_write_text(path, "\n".join(parts))


CALIBRATION = {
    "ece_bins": N_BINS,
    "ece": "binary: P(label = 1) against the 0/1 label in equal-width bins, per training seed, then averaged",
    "brier": "mean over seeds and items of (P(label = 1) - label)^2",
}


def write_report(
    cfg: ExperimentConfig,
    splits: Splits,
    transcripts: dict,
    outcomes: list,
    out: Path,
    *,
    seconds: float,
) -> list:
    """Write results.{md,json,csv} (the student-vs-supervisor and transcript sections after the table), the
    figures, manifest, examples; print."""
    rows, correct, probs = build_rows(cfg, splits, outcomes)
    methods = student_methods(cfg, outcomes)
    students = [(method, key[0]) for method, key in methods]
    gaps = run_gaps(cfg, methods, rows, correct, splits["test"]["id"].astype(str).tolist())
    supervision = supervision_rows(cfg, outcomes, splits["test"]["label"].to_numpy(), students, correct,
                                   (WEAK_FLOOR_ROW, CEILING_ROW))
    bias = position_bias_estimates(cfg, outcomes)
    diagnostic, diagnostic_numbers = transcript_diagnostic(cfg, splits, transcripts, outcomes)
    appendix = "\n".join(part for part in (gaps_section(gaps), supervision_section(supervision), diagnostic) if part)
    meta = {
        "machine": machine_summary(cfg, debated=bool(transcripts)),
        "calibration": CALIBRATION,
        "paired_differences": [g.to_dict() for g in gaps],
        "student_vs_supervisor": [r.to_dict() for r in supervision],
        "position_bias": {p: e.to_dict() for p, e in bias.items()},
        "transcript_probe": diagnostic_numbers,
        "experiment": cfg.name,
        "dataset": cfg.data.dataset,
        "split_sizes": {k: len(v) for k, v in splits.items()},
        "training_seeds": cfg.training.seeds,
        "debate_seeds": cfg.debate.seeds,
        "models": cfg.models.model_dump(mode="json"),
        "wall_seconds_this_invocation": round(seconds, 1),
        "transcripts": transcript_stats(transcripts),
        "stages": stage_paths(outcomes),
        "data_stage": str(data_stage_path(cfg)),
    }
    paths = write_results(rows, out, name="results", meta=meta, appendix=appendix)
    title = f"{cfg.name}: {cfg.data.dataset}, {len(splits['test'])} test items, training seeds {cfg.training.seeds}"
    plot_results(rows, out / "results.png", title=title)
    write_figures(rows, probs, supervision, out, title)
    write_examples(transcripts, splits, out / "transcript_examples.md")
    atomic_write_text(out / "manifest.json", json.dumps(meta, indent=2))
    atomic_write_parquet(
        correctness_frame(correct, splits["test"]["id"].astype(str).tolist(), [o.seed for o in outcomes]),
        out / "test_correct.parquet",
    )
    print(results_markdown(rows, title=title) + (f"\n{appendix}" if appendix else ""))
    for protocol, est in bias.items():
        print(
            f"position bias, judge <- {protocol}: P(correct | A argues correct) - P(correct | B argues correct) = "
            f"{est.value:+.3f} [{est.lo:+.3f}, {est.hi:+.3f}] over {est.n_items} test items"
        )
    log.info("results written to %s (%s)", out, ", ".join(p.name for p in paths.values()))
    return rows
