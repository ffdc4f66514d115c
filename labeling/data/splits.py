"""Seeded, leakage-free weak_train / strong_train / test splits of normalized rows.

The order of rows is a SHA-256 of (seed, role, id), so it does not depend on the order of the
pool, and a row keeps its relative place when the pool grows. Rows whose normalized text repeats
are reduced to one before drawing, so no text occurs in two splits (or twice in one).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, fields

import datasets

SPLIT_NAMES = ("weak_train", "strong_train", "test")
REQUIRED_COLUMNS = ("id", "text")


@dataclass(frozen=True)
class SplitSizes:
    """Number of rows wanted in each split."""

    weak_train: int
    strong_train: int
    test: int

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"SplitSizes.{item.name} must be a non-negative integer, got {value!r}")

    @property
    def train(self) -> int:
        """Rows needed from the training pool (weak + strong)."""
        return self.weak_train + self.strong_train


def normalize_text(text: str) -> str:
    """Text as compared for duplicates: NFKC, case-folded, whitespace runs collapsed."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _seeded_unique_order(pool: datasets.Dataset, seed: int, role: str,
                         what: str) -> tuple[list[int], list[str], list[str]]:
    """Indices of `pool` in seeded order, one per distinct normalized text; and its ids, texts."""
    missing = [col for col in REQUIRED_COLUMNS if col not in pool.column_names]
    if missing:
        raise ValueError(f"{what} lacks columns {missing}; it has {pool.column_names}")
    ids, texts = list(pool["id"]), list(pool["text"])
    seen_ids: set[str] = set()
    for index, item_id in enumerate(ids):
        if item_id in seen_ids:
            raise ValueError(f"{what} has duplicate id {item_id!r} (row {index})")
        seen_ids.add(item_id)

    def rank(index: int) -> bytes:
        return hashlib.sha256(f"{seed}\x1f{role}\x1f{ids[index]}".encode()).digest()

    order, seen_texts = [], set()
    for index in sorted(range(len(ids)), key=rank):
        key = normalize_text(texts[index])
        if key not in seen_texts:
            seen_texts.add(key)
            order.append(index)
    return order, ids, texts


def _too_few(what: str, n_rows: int, n_unique: int, wanted: str, extra: str = "") -> ValueError:
    return ValueError(f"{what} has {n_rows} rows ({n_unique} with distinct texts{extra}) "
                      f"but {wanted} are requested")


def make_splits(pool: datasets.Dataset, sizes: SplitSizes, *, seed: int,
                test_pool: datasets.Dataset | None = None) -> dict[str, datasets.Dataset]:
    """Draw weak_train, strong_train and test, disjoint by id and by normalized text.

    Without `test_pool` all three come from `pool`. With it, test comes from `test_pool` and
    training rows whose id or normalized text is in the drawn test are excluded. The same
    inputs and seed always give the same splits, each in its seeded order.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    order, ids, texts = _seeded_unique_order(pool, seed, "pool", "pool")
    n_rows = len(ids)
    w, s, t = sizes.weak_train, sizes.strong_train, sizes.test
    if test_pool is None:
        if len(order) < sizes.train + t:
            raise _too_few("pool", n_rows, len(order),
                           f"weak_train + strong_train + test = {w} + {s} + {t} = {sizes.train + t}")
        return {"weak_train": pool.select(order[:w]), "strong_train": pool.select(order[w:w + s]),
                "test": pool.select(order[w + s:w + s + t])}

    test_order, all_test_ids, _ = _seeded_unique_order(test_pool, seed, "test", "test_pool")
    if len(test_order) < t:
        raise _too_few("test_pool", len(all_test_ids), len(test_order), f"test = {t}")
    test_rows = test_pool.select(test_order[:t])
    test_ids = set(test_rows["id"])
    test_texts = {normalize_text(text) for text in test_rows["text"]}
    train_order = [i for i in order if ids[i] not in test_ids and normalize_text(texts[i]) not in test_texts]
    if len(train_order) < sizes.train:
        overlap = len(order) - len(train_order)
        raise _too_few("pool", n_rows, len(order), f"weak_train + strong_train = {w} + {s} = {sizes.train}",
                       f", {overlap} of them removed as they overlap the test")
    return {"weak_train": pool.select(train_order[:w]),
            "strong_train": pool.select(train_order[w:w + s]), "test": test_rows}
