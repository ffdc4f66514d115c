"""The data a run reads: the dataset registry, item files, seeded splits, the data stage, the judge's input format.

* ``load_rows`` / ``load_items_file`` / ``item_text``: every dataset normalized to one binary schema;
* ``make_splits``: seeded, leakage-free weak_train / strong_train / test splits;
* ``prepare_splits`` / ``data_semantic``: the data stage of a run; ``Splits``: its typed product;
* ``judge_text``: the one formatter of what a judge reads (item text plus an optional transcript).
"""

from labeling.data.judge_input import judge_text
from labeling.data.registry import DATASETS, available_splits, item_text, load_items_file, load_rows
from labeling.data.splits import SPLIT_NAMES, SplitSizes, make_splits
from labeling.data.stage import Splits, data_semantic, prepare_splits

__all__ = [
    "DATASETS",
    "SPLIT_NAMES",
    "SplitSizes",
    "Splits",
    "available_splits",
    "data_semantic",
    "item_text",
    "judge_text",
    "load_items_file",
    "load_rows",
    "make_splits",
    "prepare_splits",
]
