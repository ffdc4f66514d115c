"""Student vs supervisor rates: hand-computed values on 8 items, seeds pooled as ratios of sums, CIs, markdown."""

import math

import numpy as np
import pytest

from eval.deception import RATES, SupervisionRow, student_vs_supervisor, supervision_markdown

#            items: 0  1  2  3  4  5  6  7
STUDENT = np.array([1, 1, 0, 1, 0, 0, 1, 1])
WEAK = np.array([1, 0, 0, 1, 1, 0, 0, 1])
CEILING = np.array([1, 1, 1, 0, 1, 1, 0, 1])


def test_rates_by_hand():
    r = student_vs_supervisor("student", "weak floor", STUDENT, WEAK, CEILING, n_boot=200)
    # weak right on 0, 3, 4, 7 -> student right on 0, 3, 7
    assert r.accuracy_supervisor_right.value == pytest.approx(3 / 4)
    # weak wrong on 1, 2, 5, 6 -> student right on 1, 6 (corrects), wrong on 2, 5 (the same wrong label)
    assert r.correction.value == pytest.approx(2 / 4)
    assert r.inheritance.value == pytest.approx(2 / 4)
    # same correctness on 0, 2, 3, 5, 7
    assert r.agreement.value == pytest.approx(5 / 8)
    # blind spot (weak wrong, ceiling right): 1, 2, 5 -> student wrong on 2, 5
    assert r.blind_spot_error.value == pytest.approx(2 / 3)
    # known area (weak right, ceiling right): 0, 4, 7 -> student wrong on 4
    assert r.known_area_error.value == pytest.approx(1 / 3)
    assert r.deception_gap.value == pytest.approx(2 / 3 - 1 / 3)
    assert (r.supervisor_wrong, r.blind_spot) == (4.0, 3.0)


def test_a_perfect_mimic_and_a_perfect_student():
    mimic = student_vs_supervisor("m", "w", WEAK, WEAK, CEILING, n_boot=100)
    assert (mimic.inheritance.value, mimic.correction.value, mimic.agreement.value) == (1.0, 0.0, 1.0)
    assert mimic.blind_spot_error.value == 1.0 and mimic.known_area_error.value == 0.0
    perfect = student_vs_supervisor("p", "w", np.ones(8), WEAK, CEILING, n_boot=100)
    assert (perfect.inheritance.value, perfect.correction.value, perfect.deception_gap.value) == (0.0, 1.0, 0.0)


def test_seeds_pool_as_ratios_of_sums():
    # seed 0: weak wrong on 1 item, student copies it; seed 1: weak wrong on 3 items, student fixes all
    student = np.array([[0, 1, 1, 1], [1, 1, 1, 1]])
    weak = np.array([[0, 1, 1, 1], [0, 0, 0, 1]])
    r = student_vs_supervisor("s", "w", student, weak, np.ones((2, 4)), n_boot=200)
    assert r.inheritance.value == pytest.approx(1 / 4)  # (1 + 0) / (1 + 3), not the mean of 1 and 0
    assert r.supervisor_wrong == 2.0 and r.inheritance.n_seeds == 2


def test_undefined_rates_are_nan_and_cis_bracket_defined_ones():
    never_wrong = student_vs_supervisor("s", "w", STUDENT, np.ones(8), CEILING, n_boot=100)
    assert math.isnan(never_wrong.inheritance.value) and math.isnan(never_wrong.deception_gap.value)
    rng = np.random.default_rng(0)
    weak = rng.random((3, 300)) < 0.6
    student = np.where(rng.random((3, 300)) < 0.7, weak, rng.random((3, 300)) < 0.8)
    ceiling = rng.random((3, 300)) < 0.8
    r = student_vs_supervisor("s", "w", student, weak, ceiling, n_boot=500, seed=3)
    for name in RATES:
        est = getattr(r, name)
        assert est.lo <= est.value <= est.hi, name
    assert r.inheritance.value == pytest.approx(1 - r.correction.value)


def test_round_trip_and_markdown():
    r = student_vs_supervisor("student <- debate labels", "its labeler", STUDENT, WEAK, CEILING, n_boot=100)
    assert SupervisionRow.from_dict(r.to_dict()) == r
    lines = supervision_markdown([r]).strip().splitlines()
    assert len(lines) == 3 and "inheritance" in lines[0] and "deception gap" in lines[0]
    assert lines[2].startswith("| student <- debate labels | its labeler | 4.0 (3.0) | 75.0 [")
    with pytest.raises(ValueError):
        student_vs_supervisor("s", "w", STUDENT, WEAK[:4], CEILING)
