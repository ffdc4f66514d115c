"""The one ensemble function: members' P(correct) averaged per item over the members that have one.

A member has no value for an item (NaN) when the failure policy masked it: the member's transcript
of that item did not finish. An item no member labels stays NaN and is never guessed.
"""

from __future__ import annotations

import numpy as np


def ensemble_mean(member_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``[members, items]`` probabilities (NaN = no value) -> (mean per item, NaN where none; members used)."""
    probs = np.atleast_2d(np.asarray(member_probs, dtype=np.float64))
    present = ~np.isnan(probs)
    counts = present.sum(axis=0)
    total = np.where(present, probs, 0.0).sum(axis=0)
    mean = np.divide(total, counts, out=np.full(probs.shape[1], np.nan), where=counts > 0)
    return mean, counts
