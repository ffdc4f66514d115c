"""Tests for labeling.data.splits: sizes, disjointness by id and text, determinism, errors."""

from __future__ import annotations

import random
from pathlib import Path

import datasets
import pytest

from labeling.data.registry import SCHEMA_FEATURES, load_rows
from labeling.data.splits import SPLIT_NAMES, SplitSizes, make_splits, normalize_text

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _pool(n: int, *, prefix: str = "p", duplicates: int = 0) -> datasets.Dataset:
    """n rows with distinct texts, then `duplicates` rows repeating earlier texts up to case/space."""
    texts = [f"Q: question {i} A: answer {i}" for i in range(n)]
    texts += [f"  q:  QUESTION {i}  a: answer {i} " for i in range(duplicates)]
    return datasets.Dataset.from_dict(
        {"id": [f"{prefix}/{i}" for i in range(len(texts))], "question": [t[:14] for t in texts],
         "answer": ["x"] * len(texts), "label": [i % 2 for i in range(len(texts))], "text": texts,
         "evidence": [""] * len(texts)},
        features=SCHEMA_FEATURES)


def _assert_disjoint(splits: dict[str, datasets.Dataset]) -> None:
    ids, texts = [], []
    for name in SPLIT_NAMES:
        ids += splits[name]["id"]
        texts += [normalize_text(t) for t in splits[name]["text"]]
    assert len(ids) == len(set(ids))
    assert len(texts) == len(set(texts))


def test_sizes_columns_and_disjointness_with_duplicate_texts():
    pool = _pool(100, duplicates=40)
    splits = make_splits(pool, SplitSizes(30, 40, 30), seed=0)
    assert [len(splits[name]) for name in SPLIT_NAMES] == [30, 40, 30]
    assert all(splits[name].column_names == pool.column_names for name in SPLIT_NAMES)
    _assert_disjoint(splits)


def test_duplicate_texts_count_once_towards_the_pool_size():
    pool = _pool(100, duplicates=40)  # 140 rows but only 100 distinct texts
    with pytest.raises(ValueError, match=r"140 rows \(100 with distinct texts\).*= 101"):
        make_splits(pool, SplitSizes(31, 40, 30), seed=0)


def test_same_seed_same_splits_and_pool_order_does_not_matter():
    pool = _pool(200)
    first = make_splits(pool, SplitSizes(50, 50, 50), seed=3)
    again = make_splits(pool, SplitSizes(50, 50, 50), seed=3)
    order = list(range(len(pool)))
    random.Random(0).shuffle(order)
    shuffled = make_splits(pool.select(order), SplitSizes(50, 50, 50), seed=3)
    for name in SPLIT_NAMES:
        assert list(first[name]["id"]) == list(again[name]["id"]) == list(shuffled[name]["id"])


def test_different_seeds_give_different_splits():
    pool = _pool(200)
    a = make_splits(pool, SplitSizes(50, 50, 50), seed=0)
    b = make_splits(pool, SplitSizes(50, 50, 50), seed=1)
    for name in SPLIT_NAMES:
        assert set(a[name]["id"]) != set(b[name]["id"])


def test_splits_are_shuffled_not_prefixes():
    splits = make_splits(_pool(200), SplitSizes(50, 50, 50), seed=0)
    assert list(splits["weak_train"]["id"]) != [f"p/{i}" for i in range(50)]


def test_too_small_pool_error_gives_the_numbers():
    with pytest.raises(ValueError, match=r"pool has 10 rows .* 5 \+ 5 \+ 1 = 11"):
        make_splits(_pool(10), SplitSizes(5, 5, 1), seed=0)


def test_test_pool_supplies_test_and_overlapping_train_texts_are_excluded():
    pool = _pool(120)
    test_pool = _pool(60, prefix="t")  # same texts as pool rows 0..59, different ids
    splits = make_splits(pool, SplitSizes(20, 20, 60), seed=0, test_pool=test_pool)
    assert all(item_id.startswith("t/") for item_id in splits["test"]["id"])
    assert len(splits["test"]) == 60
    _assert_disjoint(splits)
    train_ids = list(splits["weak_train"]["id"]) + list(splits["strong_train"]["id"])
    assert all(int(item_id.split("/")[1]) >= 60 for item_id in train_ids)
    with pytest.raises(ValueError, match=r"60 of them removed as they overlap the test.*= 61"):
        make_splits(pool, SplitSizes(31, 30, 60), seed=0, test_pool=test_pool)
    with pytest.raises(ValueError, match=r"test_pool has 60 rows .* test = 61"):
        make_splits(pool, SplitSizes(1, 1, 61), seed=0, test_pool=test_pool)


def test_bad_inputs_are_errors():
    with pytest.raises(ValueError, match="non-negative"):
        SplitSizes(-1, 2, 3)
    doubled = datasets.concatenate_datasets([_pool(5), _pool(5)])
    with pytest.raises(ValueError, match=r"duplicate id 'p/0' \(row 5\)"):
        make_splits(doubled, SplitSizes(1, 1, 1), seed=0)
    with pytest.raises(ValueError, match="lacks columns"):
        make_splits(_pool(5).remove_columns("text"), SplitSizes(1, 1, 1), seed=0)


def test_real_sciq_pool_with_test_split():
    pool = load_rows("sciq", source=DATA / "sciq", split="validation")
    test_pool = load_rows("sciq", source=DATA / "sciq", split="test")
    splits = make_splits(pool, SplitSizes(400, 400, 500), seed=0, test_pool=test_pool)
    assert [len(splits[name]) for name in SPLIT_NAMES] == [400, 400, 500]
    _assert_disjoint(splits)
    assert 0.4 <= sum(splits["weak_train"]["label"]) / 400 <= 0.6
