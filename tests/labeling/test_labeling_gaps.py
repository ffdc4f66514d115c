"""Paired differences in a run's results (ceiling over floor, students over the no-oversight student)."""

from __future__ import annotations

import numpy as np
import pytest

from eval import bootstrap_accuracy, paired_difference
from labeling.config.sources import LabelSource
from labeling.experiment.gaps import (
    SECTION_TITLE,
    Gap,
    cis_overlap,
    gap_pairs,
    gaps_section,
    in_id_order,
    paired_gaps,
)

BOOT = {"n_boot": 500, "alpha": 0.05, "seed": 0}
NONE, DEBATE = LabelSource("none", "single"), LabelSource("debate", "single")


def test_students_are_paired_with_the_no_oversight_student_of_their_loss() -> None:
    students = [
        ("s none xent", NONE, "xent"),
        ("s debate xent", DEBATE, "xent"),
        ("s none logconf", NONE, "logconf"),
        ("s debate logconf", DEBATE, "logconf"),
        ("s debate ensemble", LabelSource("debate", "debate_ensemble"), "xent"),
        ("s none bootstrapped", LabelSource("none", "single", bootstrapped=True), "xent"),
        ("s prompted", LabelSource("none", "prompted"), "xent"),
    ]
    assert gap_pairs("floor", "ceiling", students) == [
        ("ceiling", "floor", "gap"),
        ("s debate xent", "s none xent", "student"),
        ("s debate logconf", "s none logconf", "student"),
        ("s debate ensemble", "s none xent", "student"),
        ("s none bootstrapped", "s none xent", "student"),
        ("s prompted", "s none xent", "student"),
    ]
    # Without a no-oversight student only the ceiling-over-floor gap is left.
    assert gap_pairs("floor", "ceiling", [("s debate xent", DEBATE, "xent")]) == [("ceiling", "floor", "gap")]


def correctness(rng: np.random.Generator, accuracy: float, shape=(3, 400)) -> np.ndarray:
    return rng.random(shape) < accuracy


def estimates(correct: dict[str, np.ndarray]) -> dict:
    return {name: bootstrap_accuracy(matrix, **BOOT) for name, matrix in correct.items()}


def test_a_gap_hidden_by_overlapping_cis_is_found_by_pairing() -> None:
    rng = np.random.default_rng(0)
    floor = correctness(rng, 0.55)
    # The ceiling is the floor plus 25 extra items right per seed: the marginal CIs overlap, the paired CI does not reach 0.
    ceiling = floor.copy()
    for row in ceiling:
        row[np.flatnonzero(~row)[:25]] = True
    correct = {"floor": floor, "ceiling": ceiling}
    (gap,) = paired_gaps([("ceiling", "floor", "gap")], correct, estimates(correct), **BOOT)
    assert gap.difference.value == pytest.approx(25 / 400)
    assert gap.cis_overlap and gap.difference.lo > 0
    assert "overlap" in gap.reading() and "wide" in gap.reading()


def test_readings_of_separated_and_null_gaps_and_of_students() -> None:
    rng = np.random.default_rng(1)
    correct = {"floor": correctness(rng, 0.55), "ceiling": correctness(rng, 0.75),
               "same": correctness(rng, 0.55), "worse": correctness(rng, 0.40)}
    acc = estimates(correct)
    separated, null, better, worse, same = paired_gaps(
        [("ceiling", "floor", "gap"), ("same", "floor", "gap"), ("ceiling", "floor", "student"),
         ("worse", "floor", "student"), ("same", "floor", "student")], correct, acc, **BOOT)
    assert not separated.cis_overlap and separated.reading() == "the accuracy CIs separate: PGR is readable"
    assert null.difference.lo <= 0 and "not readable" in null.reading()
    assert better.reading().startswith("better") and worse.reading().startswith("worse")
    assert same.reading().startswith("no difference")
    assert separated.difference.value == pytest.approx(correct["ceiling"].mean() - correct["floor"].mean())


def test_pairs_missing_from_the_table_are_skipped_and_the_section_lists_the_rest() -> None:
    rng = np.random.default_rng(2)
    correct = {"floor": correctness(rng, 0.55), "ceiling": correctness(rng, 0.70)}
    gaps = paired_gaps([("ceiling", "floor", "gap"), ("student", "floor", "student")], correct,
                       estimates(correct), **BOOT)
    assert [(g.better, g.baseline) for g in gaps] == [("ceiling", "floor")]
    text = gaps_section(gaps)
    assert text.startswith(f"## {SECTION_TITLE}")
    assert f"| ceiling | floor | {gaps[0].difference.fmt()} | separate |" in text
    assert gaps_section([]) == ""
    assert Gap("a", "b", gaps[0].difference, False, "gap").to_dict()["reading"] == gaps[0].reading()


def test_ci_overlap_includes_touching_intervals() -> None:
    from eval import Estimate

    def est(lo: float, hi: float) -> Estimate:
        return Estimate((lo + hi) / 2, lo, hi, 10, 1, 10)

    assert cis_overlap(est(0.5, 0.6), est(0.6, 0.7)) and cis_overlap(est(0.6, 0.7), est(0.5, 0.65))
    assert not cis_overlap(est(0.5, 0.6), est(0.61, 0.7))


def test_a_run_and_w2s_compare_report_the_same_ci_for_a_student() -> None:
    """The run pairs matrices in split order; compare reads them back from test_correct.parquet in id order."""
    from labeling.experiment.compare import _correct_matrix
    from labeling.experiment.report import correctness_frame

    rng = np.random.default_rng(3)
    ids = [f"item-{i}" for i in rng.permutation(300)]  # split order is a seeded shuffle, not id order
    correct = {"student": correctness(rng, 0.6, (3, 300)), "baseline": correctness(rng, 0.55, (3, 300))}
    frame = correctness_frame(correct, ids, [0, 1, 2])
    from_compare = paired_difference(_correct_matrix(frame, "student"), _correct_matrix(frame, "baseline"), **BOOT)
    acc = estimates(correct)
    (gap,) = paired_gaps([("student", "baseline", "student")], in_id_order(correct, ids), acc, **BOOT)
    assert gap.difference == from_compare
    (unordered,) = paired_gaps([("student", "baseline", "student")], correct, acc, **BOOT)
    assert (unordered.difference.lo, unordered.difference.hi) != (from_compare.lo, from_compare.hi)
