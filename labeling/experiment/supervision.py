"""Student vs weak supervisor and calibration figures: a run's section and plots, and their comparison rows.

Each student is compared on the test items with two supervisors (``eval.deception`` defines the rates):

- ``weak floor``: the weak model trained on gold labels, without transcripts, of the same training seed
  (the no-oversight supervisor, and the one reference shared by every student, so methods compare);
- ``its labeler``: the judges whose labels trained the student, on the test items with their own
  transcripts (members averaged: the predictions of the table's ``judge <- X, test with transcripts``
  row), i.e. how the supervisor that fed the student errs; for a bootstrapped student, the chain's last
  link; left out where it is the weak floor itself (the no-oversight single judge).

The ceiling of the same training seed says where the strong model knows the answer.
Everything is computed from predictions already loaded; nothing is trained.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from eval import (
    N_BINS,
    SupervisionRow,
    correctness,
    plot_reliability,
    plot_supervision,
    student_vs_supervisor,
    supervision_markdown,
)

from labeling.config import ExperimentConfig
from labeling.stages.bootstrap import link_test

SECTION_TITLE = "Student vs weak supervisor"
WEAK_FLOOR, LABELER = "weak floor", "its labeler"


def labeler_test_probs(outcomes: list, source) -> list[np.ndarray]:
    """The label source's test P(correct) per training seed: its members' test predictions (with transcripts)
    averaged; for a bootstrapped source, the chain's last link (its fold models averaged)."""
    if source.bootstrapped:
        return [link_test(o.links[source][-1]) for o in outcomes]
    return [np.mean([j.predictions["test"] for j in o.judges[source]], axis=0) for o in outcomes]


def supervision_rows(
    cfg: ExperimentConfig,
    outcomes: list,
    test_y: np.ndarray,
    students: list[tuple[str, object]],
    correct: dict[str, np.ndarray],
    weak_and_ceiling: tuple[str, str],
) -> list[SupervisionRow]:
    """Each student (method name, label source) against the weak floor and against its labeler, with CIs.

    ``correct`` holds every test-set method's ``[n_seeds, n_items]`` correctness; ``weak_and_ceiling``
    names the weak floor's and the ceiling's rows in it.
    """
    boot = cfg.eval.boot
    weak, ceiling = (correct[name] for name in weak_and_ceiling)
    rows = []
    for method, source in students:
        rows.append(student_vs_supervisor(method, WEAK_FLOOR, correct[method], weak, ceiling, **boot))
        if source.bootstrapped or (source.protocol, source.ensemble) != ("none", "single"):
            labeler = np.stack([correctness(p, test_y) for p in labeler_test_probs(outcomes, source)])
            rows.append(student_vs_supervisor(method, LABELER, correct[method], labeler, ceiling, **boot))
    return rows


def supervision_section(rows: list[SupervisionRow]) -> str:
    """The results.md section: the table and what its columns mean."""
    if not rows:
        return ""
    return (
        f"## {SECTION_TITLE}\n\n"
        "Test items, pooled over training seeds, 95% bootstrap CIs over seeds and items (README, Metrics). "
        f"Supervisor `{WEAK_FLOOR}`: the weak model trained on gold labels; `{LABELER}`: the judges that labeled "
        "the student, on the test items with their transcripts. Correction = 100 - inheritance (binary items). "
        "Blind spot: the supervisor wrong and the ceiling right; deception gap: the blind-spot error minus the "
        "error where supervisor and ceiling are both right (in the spirit of Yang et al. 2024, not their score).\n\n"
        + supervision_markdown(rows)
    )


def _panels(rows: list, probs: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, dict]:
    """Reliability-diagram panels: weak floor and ceiling, students, judges (test items), weak labels (strong_train)."""
    panels: dict[str, dict] = {"weak floor and ceiling (test)": {}, "students (test)": {}, "judges (test)": {},
                               "weak labels (strong_train)": {}}
    for row in rows:
        if row.note.startswith("label quality"):
            name = "weak labels (strong_train)"
        else:
            name = {"student": "students (test)", "judge": "judges (test)"}.get(row.role, "weak floor and ceiling (test)")
        label = row.method.split(" <- ", 1)[-1] if " <- " in row.method else row.method  # the panel names the role
        panels[name][label] = probs[row.method]
    return {name: series for name, series in panels.items() if series}


def write_figures(rows: list, probs: dict, supervision: list[SupervisionRow], out: Path, title: str) -> None:
    """``results_reliability.png`` (every row with probabilities) and ``results_supervision.png`` (the section's rates)."""
    plot_reliability(_panels(rows, probs), out / "results_reliability.png", title=title, n_bins=N_BINS)
    plot_supervision({"test items": supervision}, out / "results_supervision.png", title=title)


def supervision_compare_rows(dataset: str, results_dir: Path) -> list[dict]:
    """A run's student-vs-supervisor rows (from its results.json; none in older files), tagged with the dataset."""
    meta = json.loads((results_dir / "results.json").read_text()).get("meta", {})
    return [{"dataset": dataset, **row} for row in meta.get("student_vs_supervisor", [])]


def _by_dataset(rows: list[dict]) -> dict[str, list[SupervisionRow]]:
    found: dict[str, list[SupervisionRow]] = {}
    for row in rows:
        found.setdefault(row["dataset"], []).append(SupervisionRow.from_dict(row))
    return found


def supervision_compare_markdown(rows: list[dict]) -> str:
    """One student-vs-supervisor table per dataset (compare.md)."""
    parts = [f"\n### {SECTION_TITLE.lower()}: {dataset} (test items; see each run's results.md)\n\n"
             + supervision_markdown(found) for dataset, found in _by_dataset(rows).items()]
    return "".join(parts)


def plot_compare_supervision(rows: list[dict], path: Path) -> Path:
    """compare_supervision.png: the inheritance scatter, one panel per dataset."""
    return plot_supervision(_by_dataset(rows), path, title="Students vs their weak supervisors")
