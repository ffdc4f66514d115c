"""``w2s compare``: one experiment per entry of the grid, then Lang-style comparison tables.

An entry is a dataset, optionally with its own settings (``overrides``: e.g. the quotes ablation
or debaters without the passage). Every entry runs the whole pipeline (shared stages are reused
through their config hashes, so an entry that only changes what the judge reads retrains only the
judges); the comparison is computed from the files each run wrote (``results.json`` and
``test_correct.parquet``), so it can be redone without retraining. Each student is tested
against the baseline method on the same test items with a paired bootstrap.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
from eval import N_BINS, Estimate, paired_difference, plot_grouped_bars

from labeling.config import CompareDataset, ExperimentConfig
from labeling.config.loading import apply_overrides, validate
from labeling.exec.backends import BackendSpec
from labeling.experiment.pipeline import run_pipeline, write_report_page
from labeling.experiment.preflight import check_experiment
from labeling.experiment.supervision import (
    plot_compare_supervision,
    supervision_compare_markdown,
    supervision_compare_rows,
)
from labeling.store import atomic_write_text

log = logging.getLogger(__name__)


def compare_entries(cfg: ExperimentConfig) -> list[CompareDataset]:
    """The grid's entries (the data section's dataset when none are listed)."""
    return cfg.compare.datasets or [CompareDataset(dataset=cfg.data.dataset, source=cfg.data.source)]


def entry_config(cfg: ExperimentConfig, entry: CompareDataset) -> ExperimentConfig:
    """The experiment config of one entry: its dataset, its own results folder, its overrides."""
    data = cfg.data.model_copy(update={"dataset": entry.dataset, "source": entry.source})
    sub = cfg.model_copy(update={"name": f"{cfg.name}/{entry.label}", "data": data})
    if not entry.overrides:
        return sub
    merged = apply_overrides(sub.model_dump(mode="json"), entry.overrides)
    return validate(ExperimentConfig, merged, f"compare entry {entry.label!r}")


def dataset_configs(cfg: ExperimentConfig) -> list[ExperimentConfig]:
    """One experiment config per entry of the grid, each with its own results folder."""
    return [entry_config(cfg, e) for e in compare_entries(cfg)]


def baseline_method(cfg: ExperimentConfig) -> str:
    """The method every student is compared with: ``compare.baseline``, or plain fine-tuning on the floor's labels."""
    if cfg.compare.baseline:
        return cfg.compare.baseline
    name = "student <- no oversight labels"
    losses = cfg.training.student_losses
    return name if len(losses) == 1 else f"{name}, {losses[0].label} loss"


def _correct_matrix(frame: pd.DataFrame, method: str) -> np.ndarray:
    part = frame[frame["method"] == method].sort_values(["seed", "id"])
    seeds = part["seed"].unique()
    return np.stack([part[part["seed"] == s]["correct"].to_numpy(dtype=bool) for s in seeds])


def comparison_rows(cfg: ExperimentConfig, dataset: str, results_dir: Path) -> list[dict]:
    """Rows of one dataset: accuracy, PGR, and the paired difference to the baseline, with CIs."""
    data = json.loads((results_dir / "results.json").read_text())
    correct = pd.read_parquet(results_dir / "test_correct.parquet")
    baseline = baseline_method(cfg)
    if baseline not in set(correct["method"]):
        raise ValueError(f"compare.baseline {baseline!r} is not a method of {results_dir}/results.json")
    base = _correct_matrix(correct, baseline)
    ceiling = next(r for r in data["rows"] if r["role"] == "ceiling")
    at_chance = ceiling["accuracy"]["lo"] is not None and ceiling["accuracy"]["lo"] <= 0.5
    rows = []
    for r in data["rows"]:
        if r["note"].startswith("label quality"):
            continue
        entry = {"dataset": dataset, "method": r["method"], "role": r["role"], "accuracy": r["accuracy"], "pgr": r["pgr"],
                 "ece": r.get("ece"), "brier": r.get("brier")}  # older results.json files have neither
        if r["role"] == "student" and r["method"] != baseline:
            diff = paired_difference(_correct_matrix(correct, r["method"]), base, **cfg.eval.boot)
            entry["vs_baseline"] = diff.to_dict()
        entry["note"] = "ceiling at chance: PGR meaningless" if at_chance and r["role"] != "weak" else ""
        rows.append(entry)
    return rows


def position_bias_rows(dataset: str, results_dir: Path) -> list[dict]:
    """Each swapped protocol's judge position bias (from the run's results.json), one row per protocol."""
    meta = json.loads((results_dir / "results.json").read_text()).get("meta", {})
    return [{"dataset": dataset, "protocol": p, "bias": est} for p, est in meta.get("position_bias", {}).items()]


def position_bias_markdown(rows: list[dict]) -> str:
    """The position-bias table: mean P(correct | A argues correct) - P(correct | B argues correct), in points."""
    if not rows:
        return ""
    parts = [
        "",
        "### position bias (judge of the first debate seed, test items, A/B swapped)",
        "",
        "| dataset | protocol | P(correct \\| A argues correct) − P(correct \\| B argues correct), points |",
        "|---|---|---:|",
    ]
    parts += [f"| {r['dataset']} | {r['protocol']} | {_fmt(r['bias'])} |" for r in rows]
    return "\n".join(parts + [""])


DIAGNOSTIC_COLUMNS = (
    ("judge_transcript_gain", "weak judge: gain from the transcript"),
    ("probe_transcript_gain", "reference classifier: gain from the transcript"),
    ("probe_marked_gain", "reference classifier, candidate's mentions marked: gain"),
    ("probe_minus_judge", "reference classifier minus judge"),
)


def diagnostic_rows(dataset: str, results_dir: Path) -> list[dict]:
    """Each debated protocol's transcript-information diagnostic (from the run's results.json), one row each."""
    meta = json.loads((results_dir / "results.json").read_text()).get("meta", {})
    protocols = (meta.get("transcript_probe") or {}).get("protocols", {})
    return [{"dataset": dataset, "transcripts": name, **numbers} for name, numbers in protocols.items()]


def diagnostic_markdown(rows: list[dict]) -> str:
    """The diagnostic table: what the transcripts add for the judge and for the reference classifier, in points."""
    if not rows:
        return ""
    parts = [
        "",
        "### transcript information (test items; paired differences, points; see each run's results.md)",
        "",
        "| dataset | transcripts | " + " | ".join(title for _, title in DIAGNOSTIC_COLUMNS) + " |",
        "|---|---|" + "---:|" * len(DIAGNOSTIC_COLUMNS),
    ]
    parts += [
        f"| {r['dataset']} | {r['transcripts']} | " + " | ".join(_fmt(r.get(key)) for key, _ in DIAGNOSTIC_COLUMNS) + " |"
        for r in rows
    ]
    return "\n".join(parts + [""])


def _fmt(est: dict | None, pct: bool = True) -> str:
    """An estimate from results.json in the one table format of ``eval`` (``Estimate.fmt``); – when absent."""
    if not est or est.get("value") is None:
        return "–"
    return Estimate.from_dict(est).fmt(pct)


def comparison_markdown(rows: list[dict], baseline: str) -> str:
    """One markdown table per dataset (Lang et al. Table 2 style, plus ECE and Brier), 95% CIs in brackets."""
    parts = []
    for dataset in dict.fromkeys(r["dataset"] for r in rows):
        parts += [
            f"### {dataset}",
            "",
            f"| method | accuracy % | PGR % | Δ accuracy vs `{baseline}` (points) | ECE % ({N_BINS} bins) | Brier | note |",
            "|---|---:|---:|---:|---:|---:|---|",
        ]
        for r in (r for r in rows if r["dataset"] == dataset):
            parts.append(
                f"| {r['method']} | {_fmt(r['accuracy'])} | {_fmt(r['pgr'])} | {_fmt(r.get('vs_baseline'))} "
                f"| {_fmt(r.get('ece'))} | {_fmt(r.get('brier'), pct=False)} | {r['note']} |"
            )
        parts.append("")
    return "\n".join(parts)


def _interval(est: dict | None):
    """(value, lo, hi) of an estimate dict, or None when it has no value."""
    if not est or est.get("value") is None:
        return None
    return est["value"], est.get("lo"), est.get("hi")


def plot_comparison(rows: list[dict], path: Path) -> Path:
    """PGR of each student method with CI bars, grouped by dataset (PNG)."""
    students = [r for r in rows if r["role"] == "student" and _interval(r["pgr"]) is not None]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    methods = list(dict.fromkeys(r["method"] for r in students))
    series = {
        method.replace("student <- ", ""): [
            next((_interval(r["pgr"]) for r in students if r["dataset"] == d and r["method"] == method), None)
            for d in datasets
        ]
        for method in methods
    }
    return plot_grouped_bars(
        datasets,
        series,
        path,
        ylabel="PGR % (95% CI)",
        title="Performance gap recovered per weak-label source",
        reference_lines=(0, 100),
        empty_note="no finite PGR (ceiling not above the weak floor?)",
    )


JUDGE_VIEWS = {", test with transcripts": "with transcripts", ", test without transcripts": "without transcripts"}


def plot_judge_transcripts(rows: list[dict], path: Path) -> Path:
    """Test accuracy of each judge with vs without its transcripts, with CI bars (PNG)."""
    cells: dict[str, dict[str, tuple]] = {}
    for r in rows:
        for suffix, view in JUDGE_VIEWS.items():
            if r["role"] == "judge" and r["method"].endswith(suffix):
                judge = f"{r['dataset']}: {r['method'][: -len(suffix)].replace('judge <- ', '')}"
                cells.setdefault(judge, {})[view] = _interval(r["accuracy"])
    judges = list(cells)
    series = {view: [cells[j].get(view) for j in judges] for view in JUDGE_VIEWS.values()}
    return plot_grouped_bars(
        judges,
        series,
        path,
        ylabel="judge test accuracy % (95% CI)",
        title="Weak judges: test accuracy with vs without the protocol's transcripts",
        reference_lines=(50,),
        empty_note="no judges (only the no-oversight protocol?)",
        zoom=True,
    )


def run_compare(cfg: ExperimentConfig, *, backend: BackendSpec | None = None) -> Path:
    """Run every dataset of the grid (reusing finished stages) and write the comparison."""
    rows: list[dict] = []
    bias: list[dict] = []
    diagnostics: list[dict] = []
    supervision: list[dict] = []
    entries = [(entry, entry_config(cfg, entry)) for entry in compare_entries(cfg)]
    for _, entry_cfg in entries:  # every entry's models before the first entry's first stage
        check_experiment(entry_cfg, chat_models=backend is None)
    for entry, entry_cfg in entries:
        results_dir = run_pipeline(entry_cfg, backend=backend)
        rows += comparison_rows(cfg, entry.label, results_dir)
        bias += position_bias_rows(entry.label, results_dir)
        diagnostics += diagnostic_rows(entry.label, results_dir)
        supervision += supervision_compare_rows(entry.label, results_dir)
    out = Path(cfg.output_dir) / cfg.name
    text = (comparison_markdown(rows, baseline_method(cfg)) + supervision_compare_markdown(supervision)
            + position_bias_markdown(bias) + diagnostic_markdown(diagnostics))
    atomic_write_text(out / "compare.md", text)
    summary = {"baseline": baseline_method(cfg), "rows": rows, "student_vs_supervisor": supervision,
               "position_bias": bias, "transcript_probe": diagnostics}
    atomic_write_text(out / "compare.json", json.dumps(summary, indent=2))
    flat = [
        {
            "dataset": r["dataset"],
            "method": r["method"],
            "role": r["role"],
            **{f"{k}_{part}": (r.get(k) or {}).get(part) for k in ("accuracy", "pgr", "vs_baseline", "ece", "brier")
               for part in ("value", "lo", "hi")},
            "note": r["note"],
        }
        for r in rows
    ]
    pd.DataFrame(flat).to_csv(out / "compare.csv", index=False)
    plot_comparison(rows, out / "compare_pgr.png")
    plot_judge_transcripts(rows, out / "compare_judges.png")
    plot_compare_supervision(supervision, out / "compare_supervision.png")
    print(text)
    write_report_page(out)
    log.info("comparison written to %s", out)
    return out
