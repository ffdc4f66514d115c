"""The paired differences a run's table implies but cannot show, with their CIs.

Two accuracies whose CIs overlap may still differ, and two CIs that separate do not give the size of
the gap. So each run also reports, paired over the same test items and training seeds: the ceiling
minus the weak floor (the gap PGR divides by) and each student minus the student of the same loss on
the no-oversight labels (what the oversight protocol did for weak-to-strong generalization).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from eval import Estimate, paired_difference

SECTION_TITLE = "Paired differences"


@dataclass(frozen=True)
class Gap:
    """Accuracy of `better` minus `baseline` on the same test items and seeds; `cis_overlap` compares
    the two rows' own accuracy CIs."""

    better: str
    baseline: str
    difference: Estimate
    cis_overlap: bool
    kind: str  # "gap" (ceiling over floor) or "student" (a student over the no-oversight one)

    def reading(self) -> str:
        """One line on what the difference allows one to conclude."""
        d = self.difference
        if self.kind == "gap":
            if d.lo <= 0:
                return "the gap's CI reaches 0: PGR is not readable"
            if self.cis_overlap:
                return "the gap is above 0, but the two accuracy CIs overlap: PGR's CI is wide"
            return "the accuracy CIs separate: PGR is readable"
        if d.lo > 0:
            return "better than the no-oversight student"
        if d.hi < 0:
            return "worse than the no-oversight student"
        return "no difference detected (the CI spans 0)"

    def to_dict(self) -> dict[str, Any]:
        """Plain-dict form for results.json."""
        return {"better": self.better, "baseline": self.baseline, "kind": self.kind,
                "difference": self.difference.to_dict(), "cis_overlap": self.cis_overlap,
                "reading": self.reading()}


def cis_overlap(a: Estimate, b: Estimate) -> bool:
    """Whether two confidence intervals share a point."""
    return a.lo <= b.hi and b.lo <= a.hi


def gap_pairs(floor: str, ceiling: str, students: list[tuple[str, Any, str]]) -> list[tuple[str, str, str]]:
    """(better, baseline, kind) for the ceiling over the floor and each student over its no-oversight peer.

    `students` holds (table name, label source, loss); a student's baseline is the one trained with the
    same loss on the no-oversight labels (protocol ``none``, single judge, not bootstrapped).
    """
    pairs = [(ceiling, floor, "gap")]
    baseline = {loss: name for name, source, loss in students
                if source.protocol == "none" and source.ensemble == "single" and not source.bootstrapped}
    for name, _, loss in students:
        if loss in baseline and name != baseline[loss]:
            pairs.append((name, baseline[loss], "student"))
    return pairs


def in_id_order(correct: dict[str, np.ndarray], test_ids: list[str]) -> dict[str, np.ndarray]:
    """Each [seeds, items] matrix with its items sorted by id, the order `w2s compare` reads them back in
    from test_correct.parquet: the same bootstrap seed then draws the same resamples in both."""
    by_id = np.argsort(np.asarray(test_ids, dtype=object), kind="stable")
    return {method: matrix[:, by_id] for method, matrix in correct.items()}


def paired_gaps(pairs: list[tuple[str, str, str]], correct: dict[str, np.ndarray],
                accuracy: dict[str, Estimate], **boot: Any) -> list[Gap]:
    """Each pair's paired difference (``boot``: n_boot, alpha, seed) from the rows' [seeds, items] correctness."""
    return [Gap(better, baseline, paired_difference(correct[better], correct[baseline], **boot),
                cis_overlap(accuracy[better], accuracy[baseline]), kind)
            for better, baseline, kind in pairs if better in correct and baseline in correct]


def gaps_section(gaps: list[Gap]) -> str:
    """The markdown section after the results table (empty when there is nothing to compare)."""
    if not gaps:
        return ""
    level = f"{gaps[0].difference.level:.0%}"
    lines = [f"## {SECTION_TITLE}\n",
             f"Accuracy of the first row minus the second on the same test items and training seeds, points, "
             f"with a paired bootstrap {level} CI over seeds and items; \"accuracy CIs\" says whether the two "
             "rows' own CIs in the table above overlap.\n",
             "| row | minus | difference, points [CI] | accuracy CIs | reading |",
             "|---|---|---:|---|---|"]
    for gap in gaps:
        overlap = "overlap" if gap.cis_overlap else "separate"
        lines.append(f"| {gap.better} | {gap.baseline} | {gap.difference.fmt()} | {overlap} | {gap.reading()} |")
    return "\n".join(lines) + "\n"
